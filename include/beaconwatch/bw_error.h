/* One error enum for the whole library; its values double as the exit-code
 * class the CLI picks (see docs/cli.md). The library never prints: detail
 * goes into a caller-supplied error buffer (bw_errbuf). */
#ifndef BW_ERROR_H
#define BW_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bw_err {
    BW_OK = 0,
    BW_ERR_IO,       /* open/read/write failed */
    BW_ERR_FORMAT,   /* input is not a supported format */
    BW_ERR_NOMEM,    /* allocation failed */
    BW_ERR_USAGE,    /* bad argument from the caller */
    BW_ERR_LIMIT,    /* a cap was hit and the operation cannot continue */
    BW_ERR_CONFIG,   /* bad configuration key or value */
    BW_ERR_STORE,    /* the findings store failed */
    BW_ERR_STOPPED,  /* a callback asked to stop */
    BW_ERR__COUNT
} bw_err;

/* Static English text for an error code; never NULL. */
const char *bw_strerror(int err);

/* Detail for the last error of an operation: "file:line: what". */
#define BW_ERRBUF_SIZE 512
typedef struct bw_errbuf {
    char msg[BW_ERRBUF_SIZE];
} bw_errbuf;

/* Formats into eb (may be NULL) and returns err, so callers can write
 * `return bw_errf(eb, BW_ERR_IO, "%s: %s", path, strerror(errno));`. */
int bw_errf(bw_errbuf *eb, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
