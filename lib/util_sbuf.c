/* The growable string buffer of util_sbuf.h. */
#include "util_sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bw_sbuf_put(bw_sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void bw_sbuf_cat(bw_sbuf *b, const char *s)
{
    bw_sbuf_put(b, s, strlen(s));
}

void bw_sbuf_printf(bw_sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if ((size_t)k < sizeof tmp) {
        bw_sbuf_put(b, tmp, (size_t)k);
        return;
    }
    char *big = malloc((size_t)k + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    bw_sbuf_put(b, big, (size_t)k);
    free(big);
}

/* Exact powers of ten (10^0 .. 10^22 are doubles without rounding). */
static const double pow10_exact[] = {1e0, 1e1, 1e2, 1e3, 1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

size_t bw_fmt_g6(double v, char *out)
{
    double a = fabs(v);
    /* %.6g rounds the exact binary value to six significant digits. With
     * a in [1e-5, 1e15), m = a * 10^k (or a / 10^-k) for the k that puts
     * m in [1e5, 1e6) is one correctly rounded operation on exact powers:
     * off from the exact product by at most 2^-53 of it (< 1.2e-10), so
     * rounding m to an integer gives the exact product's rounding unless
     * m's fraction lies within 1e-9 of a half; such values, and the
     * range's outside, go to snprintf. */
    if (!(a >= 1e-5 && a < 1e15))
        return (size_t)snprintf(out, BW_G6_LEN, "%.6g", v);
    int x = 0; /* decimal exponent: 10^x <= a < 10^(x+1), by comparisons */
    if (a >= 1) {
        while (x < 15 && a >= pow10_exact[x + 1])
            x++;
    } else {
        x = -1;
        while (a * pow10_exact[-x] < 1) /* exact enough: re-checked below */
            x--;
    }
    int k = 5 - x;
    double m = k >= 0 ? a * pow10_exact[k] : a / pow10_exact[-k];
    if (m < 1e5) { /* x was one too high (a just below a power of ten) */
        x--;
        k++;
        m = k >= 0 ? a * pow10_exact[k] : a / pow10_exact[-k];
    } else if (m >= 1e6) {
        x++;
        k--;
        m = k >= 0 ? a * pow10_exact[k] : a / pow10_exact[-k];
    }
    if (k > 15 || k < -15 || m < 1e5 || m >= 1e6)
        return (size_t)snprintf(out, BW_G6_LEN, "%.6g", v);
    double fl = floor(m), fr = m - fl;
    if (fabs(fr - 0.5) < 1e-9)
        return (size_t)snprintf(out, BW_G6_LEN, "%.6g", v);
    long r = (long)fl + (fr > 0.5);
    if (r == 1000000) { /* rounded up to the next power of ten */
        r = 100000;
        x++;
    }
    char dig[6];
    for (int i = 5; i >= 0; i--) {
        dig[i] = (char)('0' + r % 10);
        r /= 10;
    }
    int nd = 6; /* significant digits left after trailing zeros go */
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    size_t n = 0;
    if (v < 0)
        out[n++] = '-';
    if (x < -4 || x >= 6) { /* e style: d[.ddddd]e+XX */
        out[n++] = dig[0];
        if (nd > 1) {
            out[n++] = '.';
            for (int i = 1; i < nd; i++)
                out[n++] = dig[i];
        }
        out[n++] = 'e';
        out[n++] = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        out[n++] = (char)('0' + ax / 10);
        out[n++] = (char)('0' + ax % 10);
    } else if (x >= 0) { /* x + 1 integer digits, then the rest */
        for (int i = 0; i <= x; i++)
            out[n++] = dig[i];
        if (nd > x + 1) {
            out[n++] = '.';
            for (int i = x + 1; i < nd; i++)
                out[n++] = dig[i];
        }
    } else { /* 0.000ddd */
        out[n++] = '0';
        out[n++] = '.';
        for (int i = -1; i > x; i--)
            out[n++] = '0';
        for (int i = 0; i < nd; i++)
            out[n++] = dig[i];
    }
    out[n] = '\0';
    return n;
}
