/* The pure request helpers of the dashboard server: query-string parsing
 * with the caps of docs/api.md, parameter values (times, integers, rule
 * names), step widening, Accept-Encoding and If-None-Match matching, the
 * --listen address. No I/O; unit-tested and fuzzed. */
#ifndef BW_SERVE_PARAMS_H
#define BW_SERVE_PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BW_SERVE_MAX_URL 4096    /* request target, bytes (414 above) */
#define BW_SERVE_MAX_PARAMS 16   /* query parameters (400 above) */
#define BW_SERVE_MAX_VALUE 256   /* bytes of one decoded value (400 above) */
#define BW_SERVE_MAX_NAME 16     /* bytes of a parameter name */
#define BW_SERVE_MAX_LIMIT 1000  /* rows per page */
#define BW_SERVE_DEF_LIMIT 100
#define BW_SERVE_MAX_OFFSET 1000000
#define BW_SERVE_MAX_STEPS 1000  /* time steps per chart */

typedef struct bw_qparam {
    char name[BW_SERVE_MAX_NAME + 1];
    char value[BW_SERVE_MAX_VALUE + 1]; /* decoded, NUL-terminated */
} bw_qparam;

typedef struct bw_query {
    int n;
    bw_qparam p[BW_SERVE_MAX_PARAMS];
} bw_query;

/* Parses the query string s[0..n) (without '?'): '&'-separated name=value
 * pairs, percent-decoded, '+' as space; empty pairs are skipped. Names
 * must be one of the API's parameters and appear once; values must not
 * hold NUL or control bytes. Returns 0, or 400 with a message naming the
 * parameter in err (errlen bytes). */
int bw_query_parse(const char *s, size_t n, bw_query *q, char *err, size_t errlen);

/* The value of name, or NULL when absent. */
const char *bw_query_get(const bw_query *q, const char *name);

/* A time: RFC 3339 or epoch seconds (with an optional fraction). 0 or -1. */
int bw_param_time(const char *v, int64_t *us);

/* A decimal integer in [lo, hi]. 0 or -1. */
int bw_param_int(const char *v, int64_t lo, int64_t hi, int64_t *out);

/* A rule filter: letters, digits, '-', '_', optionally ending in '*'. */
int bw_param_rule_ok(const char *v);

/* The step (µs) of a chart over [from, to]: asked (> 0) or dflt, at least
 * one second and whole seconds, widened so that at most max_steps steps
 * cover the range. */
int64_t bw_param_step(int64_t from_us, int64_t to_us, int64_t asked_us, int64_t dflt_us,
                      int max_steps);

/* Number of steps of width step covering [from, to]. */
int64_t bw_param_nsteps(int64_t from_us, int64_t to_us, int64_t step_us);

/* True when an Accept-Encoding header value accepts gzip (a "gzip" or "*"
 * coding whose q is not 0). NULL: no. */
int bw_accepts_gzip(const char *accept_encoding);

/* True when an If-None-Match header value matches etag (a quoted tag, as
 * sent in ETag): "*", or any listed tag, weak or not, equal to it or to
 * it with a "-gz" suffix inside the quotes. */
int bw_etag_match(const char *if_none_match, const char *etag);

/* Parses "HOST:PORT" (IPv4 dotted quad, "localhost", or "[IPv6]") into
 * *addr / *len; *loopback = 1 for 127.0.0.0/8 and ::1. 0 or -1. */
int bw_listen_parse(const char *s, struct sockaddr_storage *addr, socklen_t *len,
                    int *loopback);

/* Compares two strings in time independent of where they differ. */
int bw_secret_equal(const char *a, const char *b);

#endif
