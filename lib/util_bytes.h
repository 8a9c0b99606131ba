/* Loads of fixed-width big-endian numbers from byte arrays (addresses),
 * for the CIDR matching that runs per record. */
#ifndef BW_UTIL_BYTES_H
#define BW_UTIL_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint64_t bw_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#endif
