/* A growable string buffer for building JSON documents and table cells.
 * Allocation failure is sticky (oom set, later appends ignored) so a
 * writer can check once at the end. */
#ifndef BW_UTIL_SBUF_H
#define BW_UTIL_SBUF_H

#include <stddef.h>

typedef struct bw_sbuf {
    char *p; /* NUL-terminated once anything was appended; owned, free() it */
    size_t n, cap;
    int oom;
} bw_sbuf;

void bw_sbuf_put(bw_sbuf *b, const char *s, size_t n);
void bw_sbuf_cat(bw_sbuf *b, const char *s);
void bw_sbuf_printf(bw_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Writes v as printf's "%.6g" would, byte for byte, into out (at least
 * BW_G6_LEN bytes, NUL-terminated); returns the length. Values from 1e-5
 * up to 1e15 that are not within a hair of a rounding tie are converted
 * with one exact scaling by a power of ten (a tenth of printf's time);
 * the rest go to snprintf. */
#define BW_G6_LEN 32
size_t bw_fmt_g6(double v, char *out);

#endif
