/* libFuzzer target for the dashboard server's request helpers
 * (lib/serve_params.c): the input is a query string for bw_query_parse,
 * and, NUL-terminated, a header value for Accept-Encoding / If-None-Match,
 * a time, an integer, a rule filter and a --listen address. */
#include <stdlib.h>
#include <string.h>

#include "serve_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_query q;
    char err[128];
    /* An exact-size copy, so reading past n is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (bw_query_parse(buf, size, &q, err, sizeof err) == 0) {
        for (int i = 0; i < q.n; i++) {
            int64_t v;
            if (strlen(q.p[i].value) > BW_SERVE_MAX_VALUE)
                abort();
            bw_param_time(q.p[i].value, &v);
            bw_param_int(q.p[i].value, 0, BW_SERVE_MAX_OFFSET, &v);
            bw_param_rule_ok(q.p[i].value);
            if (!bw_query_get(&q, q.p[i].name))
                abort();
        }
    }
    free(buf);

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct sockaddr_storage a;
    socklen_t len;
    int lo;
    int64_t v;
    bw_accepts_gzip(s);
    bw_etag_match(s, "\"0123456789abcdef\"");
    bw_param_time(s, &v);
    bw_listen_parse(s, &a, &len, &lo);
    bw_secret_equal(s, "token");
    free(s);
    return 0;
}
