/* Request helpers of the dashboard server (serve_params.h): everything a
 * client controls passes through here, capped, before it reaches a query. */
#include "serve_params.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "beaconwatch/bw_record.h"
#include "util_hex.h"

/* The parameters of every endpoint (docs/api.md). */
static const char *const known[] = {"from",  "to",    "host",   "process", "rule", "step",
                                    "alert", "limit", "offset", "sort",    "id"};

/* Decodes s[0..n) into out (cap bytes with the NUL). Returns the length,
 * -1 for a bad escape or a control byte, -2 when too long. */
static long decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = bw_hexval(s[i + 1])) < 0 || (lo = bw_hexval(s[i + 2])) < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (o + 1 >= cap)
            return -2;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

static void fail(char *err, size_t errlen, const char *what, const char *name)
{
    if (errlen)
        snprintf(err, errlen, "%s%s%s%s", what, name ? " '" : "", name ? name : "",
                 name ? "'" : "");
}

int bw_query_parse(const char *s, size_t n, bw_query *q, char *err, size_t errlen)
{
    size_t i = 0;
    q->n = 0;
    while (i < n) {
        size_t end = i, eq;
        while (end < n && s[end] != '&')
            end++;
        if (end == i) {
            i++;
            continue;
        }
        for (eq = i; eq < end && s[eq] != '='; eq++)
            ;
        char name[BW_SERVE_MAX_NAME + 1];
        long nl = decode(s + i, eq - i, name, sizeof name);
        if (nl <= 0) {
            fail(err, errlen, "bad parameter name", NULL);
            return 400;
        }
        size_t k;
        for (k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(name, known[k]) == 0)
                break;
        if (k == sizeof known / sizeof known[0]) {
            fail(err, errlen, "unknown parameter", name);
            return 400;
        }
        if (bw_query_get(q, name)) {
            fail(err, errlen, "repeated parameter", name);
            return 400;
        }
        if (q->n == BW_SERVE_MAX_PARAMS) {
            fail(err, errlen, "too many parameters", NULL);
            return 400;
        }
        bw_qparam *p = &q->p[q->n];
        const char *v = eq < end ? s + eq + 1 : s + end;
        long vl = decode(v, (size_t)(s + end - v), p->value, sizeof p->value);
        if (vl == -2) {
            fail(err, errlen, "value too long: parameter", name);
            return 400;
        }
        if (vl < 0) {
            fail(err, errlen, "bad value: parameter", name);
            return 400;
        }
        memcpy(p->name, name, (size_t)nl + 1);
        q->n++;
        i = end + 1;
    }
    return 0;
}

const char *bw_query_get(const bw_query *q, const char *name)
{
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->p[i].name, name) == 0)
            return q->p[i].value;
    return NULL;
}

int bw_param_time(const char *v, int64_t *us)
{
    size_t n = strlen(v);
    int digits = 1;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((v[i] < '0' || v[i] > '9') && v[i] != '.')
            digits = 0;
    if (digits) {
        /* Epoch seconds: bw_time_parse would read 13 digits as ms. */
        char *end;
        double d = strtod(v, &end);
        if (*end || d > 1e11)
            return -1;
        *us = (int64_t)(d * 1e6 + 0.5);
        return 0;
    }
    return bw_time_parse(v, n, us) == 0 ? 0 : -1;
}

int bw_param_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long x;
    if (!*v || (*v != '-' && (*v < '0' || *v > '9')) || strlen(v) > 19)
        return -1;
    x = strtoll(v, &end, 10);
    if (*end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

int bw_param_rule_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '*' && i == n - 1);
        if (!ok)
            return 0;
    }
    return 1;
}

int64_t bw_param_nsteps(int64_t from_us, int64_t to_us, int64_t step_us)
{
    if (to_us < from_us || step_us <= 0)
        return 0;
    return (to_us - from_us) / step_us + 1;
}

int64_t bw_param_step(int64_t from_us, int64_t to_us, int64_t asked_us, int64_t dflt_us,
                      int max_steps)
{
    const int64_t sec = 1000000;
    int64_t step = asked_us > 0 ? asked_us : dflt_us;
    if (step < sec)
        step = sec;
    step = (step + sec - 1) / sec * sec;
    if (to_us > from_us && max_steps > 0 && bw_param_nsteps(from_us, to_us, step) > max_steps) {
        /* The smallest whole-second step that fits. */
        int64_t span = to_us - from_us;
        step = span / max_steps + 1;
        step = (step + sec - 1) / sec * sec;
        while (bw_param_nsteps(from_us, to_us, step) > max_steps)
            step += sec;
    }
    return step;
}

static int is_tchar(char c)
{
    return c && c != ',' && c != ';' && c != ' ' && c != '\t';
}

int bw_accepts_gzip(const char *h)
{
    if (!h)
        return 0;
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (is_tchar(*p))
            p++;
        size_t tl = (size_t)(p - tok);
        int match = (tl == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                    (tl == 1 && tok[0] == '*');
        int zero = 0;
        /* Parameters up to the next comma; only q matters. */
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                    char *end;
                    double qv = strtod(p + 2, &end);
                    if (end != p + 2 && qv <= 0.0)
                        zero = 1;
                    p = end != p + 2 ? end : p + 2;
                    continue;
                }
            }
            if (*p)
                p++;
        }
        if (match && !zero)
            return 1;
    }
    return 0;
}

int bw_etag_match(const char *h, const char *etag)
{
    size_t el;
    if (!h || !etag)
        return 0;
    el = strlen(etag);
    if (el < 2 || etag[0] != '"' || etag[el - 1] != '"')
        return 0;
    const char *body = etag + 1;
    size_t bl = el - 2;
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"') {
            while (*p && *p != ',')
                p++;
            continue;
        }
        const char *q = ++p;
        while (*p && *p != '"')
            p++;
        size_t ql = (size_t)(p - q);
        if (*p != '"')
            return 0; /* unterminated */
        if ((ql == bl && memcmp(q, body, bl) == 0) ||
            (ql == bl + 3 && memcmp(q, body, bl) == 0 && memcmp(q + bl, "-gz", 3) == 0))
            return 1;
        if (*p == '"')
            p++;
    }
    return 0;
}

int bw_listen_parse(const char *s, struct sockaddr_storage *addr, socklen_t *len,
                    int *loopback)
{
    char host[64];
    const char *colon;
    int64_t port;
    memset(addr, 0, sizeof *addr);
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host || colon == s)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    if (bw_param_int(colon + 1, 0, 65535, &port) != 0)
        return -1;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    if (s[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    if (s[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        return 0;
    }
    return -1;
}

int bw_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        d |= (unsigned char)(a[i % (la ? la : 1)] ^ b[i]);
    return d == 0 && la == lb;
}
