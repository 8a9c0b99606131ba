/* One hexadecimal digit's value, for the parsers that decode escapes and
 * addresses (JSON \u escapes, IPv6 groups, URL %XX). */
#ifndef BW_UTIL_HEX_H
#define BW_UTIL_HEX_H

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

#endif
