/* One hexadecimal digit's value, for the parsers that decode escapes and
 * addresses (JSON \u escapes, IPv6 groups, URL %XX); and bytes as lower-
 * case hex, for finding ids (a snprintf per byte was most of an id's cost). */
#ifndef BW_UTIL_HEX_H
#define BW_UTIL_HEX_H

#include <stddef.h>

/* 0-15, or -1 when c is not a hex digit. */
static inline int bw_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Writes the n bytes of d as 2n lowercase hex digits and a NUL into out. */
static inline void bw_hex_encode(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

#endif
