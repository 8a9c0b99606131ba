/* Error codes to text, and the error-buffer helper (bw_error.h). */
#include "beaconwatch/bw_error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const messages[BW_ERR__COUNT] = {
    [BW_OK] = "ok",
    [BW_ERR_IO] = "input/output error",
    [BW_ERR_FORMAT] = "unsupported or malformed input format",
    [BW_ERR_NOMEM] = "out of memory",
    [BW_ERR_USAGE] = "usage error",
    [BW_ERR_LIMIT] = "a size limit was reached",
    [BW_ERR_CONFIG] = "configuration error",
    [BW_ERR_STORE] = "findings store error",
    [BW_ERR_STOPPED] = "stopped by request",
};

const char *bw_strerror(int err)
{
    if (err < 0 || err >= BW_ERR__COUNT || !messages[err])
        return "unknown error";
    return messages[err];
}

int bw_errf(bw_errbuf *eb, int err, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}
