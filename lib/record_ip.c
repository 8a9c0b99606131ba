/* The session record's value types: clearing a record, IPv4/IPv6 address
 * parsing and canonical printing (RFC 5952), CIDR prefixes. Hand-written
 * because inet_pton needs a NUL-terminated copy per field. */
#include "beaconwatch/bw_record.h"
#include "util_bytes.h"
#include "util_hex.h"

#include <string.h>

void bw_record_clear(bw_record *r)
{
    memset(r, 0, sizeof *r);
    r->duration_us = BW_UNSET;
    r->src_bytes = BW_UNSET;
    r->dst_bytes = BW_UNSET;
    r->src_port = -1;
    r->dst_port = -1;
}

/* Dotted quad, each part 0-255 in 1-3 digits. Unrolled: this runs twice
 * per record on every hot path. */
static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
    const char *p = s, *end = s + n;
    for (int part = 0; part < 4; part++) {
        unsigned v, d;
        if (p >= end || (d = (unsigned)(*p - '0')) > 9)
            return -1;
        v = d;
        p++;
        if (p < end && (d = (unsigned)(*p - '0')) <= 9) {
            v = v * 10 + d;
            p++;
            if (p < end && (d = (unsigned)(*p - '0')) <= 9) {
                v = v * 10 + d;
                p++;
                if (v > 255)
                    return -1;
            }
        }
        out[part] = (uint8_t)v;
        if (part < 3) {
            if (p >= end || *p != '.')
                return -1;
            p++;
        }
    }
    return p == end ? 0 : -1;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t words[8];
    int nw = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return -1;
    }
    while (i < n) {
        size_t start = i;
        unsigned v = 0;
        int nd = 0, h;
        if (nw >= 8)
            return -1;
        while (i < n && (h = bw_hexval(s[i])) >= 0) {
            v = v * 16 + (unsigned)h;
            if (++nd > 4)
                return -1;
            i++;
        }
        if (i < n && s[i] == '.') { /* embedded IPv4 tail */
            uint8_t v4[4];
            if (nw > 6 || parse_v4(s + start, n - start, v4) != 0)
                return -1;
            words[nw++] = (uint16_t)(v4[0] << 8 | v4[1]);
            words[nw++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = n;
            break;
        }
        if (nd == 0)
            return -1;
        words[nw++] = (uint16_t)v;
        if (i == n)
            break;
        if (s[i] != ':')
            return -1;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return -1;
            gap = nw;
            i++;
        } else if (i == n) {
            return -1; /* trailing single ':' */
        }
    }
    if (gap < 0 && nw != 8)
        return -1;
    if (gap >= 0 && nw > 7)
        return -1;
    memset(out, 0, 16);
    int tail = gap >= 0 ? nw - gap : 0;
    int head = gap >= 0 ? gap : nw;
    for (int k = 0; k < head; k++) {
        out[2 * k] = (uint8_t)(words[k] >> 8);
        out[2 * k + 1] = (uint8_t)words[k];
    }
    for (int k = 0; k < tail; k++) {
        int pos = 8 - tail + k;
        out[2 * pos] = (uint8_t)(words[head + k] >> 8);
        out[2 * pos + 1] = (uint8_t)words[head + k];
    }
    return 0;
}

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int bw_ip_parse(const char *s, size_t n, bw_ip *out)
{
    if (n == 0 || n >= BW_IP_STRLEN)
        return -1;
    if (parse_v4(s, n, out->a + 12) == 0) { /* the common case first */
        memcpy(out->a, v4_mapped, 12);
        out->family = 4;
        return 0;
    }
    if (!memchr(s, ':', n) || parse_v6(s, n, out->a) != 0)
        return -1;
    out->family = 6;
    return 0;
}

size_t bw_ip_format(const bw_ip *ip, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (ip->family == 0) {
        buf[0] = 0;
        return 0;
    }
    if (ip->family == 4) {
        for (int k = 12; k < 16; k++) {
            unsigned v = ip->a[k];
            if (v >= 100)
                buf[o++] = (char)('0' + v / 100);
            if (v >= 10)
                buf[o++] = (char)('0' + v / 10 % 10);
            buf[o++] = (char)('0' + v % 10);
            if (k < 15)
                buf[o++] = '.';
        }
        buf[o] = 0;
        return o;
    }
    uint16_t w[8];
    for (int k = 0; k < 8; k++)
        w[k] = (uint16_t)(ip->a[2 * k] << 8 | ip->a[2 * k + 1]);
    /* RFC 5952: compress the longest run (>= 2) of zero words, first wins. */
    int best = -1, bestlen = 1;
    for (int k = 0; k < 8;) {
        if (w[k] != 0) {
            k++;
            continue;
        }
        int j = k;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - k > bestlen) {
            best = k;
            bestlen = j - k;
        }
        k = j;
    }
    for (int k = 0; k < 8; k++) {
        if (k == best) {
            buf[o++] = ':';
            if (k == 0)
                buf[o++] = ':';
            k += bestlen - 1;
            continue;
        }
        int started = 0;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned nib = (w[k] >> sh) & 0xf;
            if (nib || started || sh == 0) {
                buf[o++] = hex[nib];
                started = 1;
            }
        }
        if (k < 7)
            buf[o++] = ':';
    }
    buf[o] = 0;
    return o;
}

int bw_cidr_parse(const char *s, size_t n, bw_cidr *out)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    if (bw_ip_parse(s, alen, &out->net) != 0)
        return -1;
    int max = out->net.family == 4 ? 32 : 128;
    int bits = max;
    if (slash) {
        size_t i = alen + 1;
        if (i >= n)
            return -1;
        bits = 0;
        for (; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            bits = bits * 10 + (s[i] - '0');
            if (bits > max)
                return -1;
        }
    }
    out->bits = bits;
    return 0;
}

int bw_cidr_contains(const bw_cidr *c, const bw_ip *ip)
{
    if (ip->family != c->net.family)
        return 0;
    /* the prefix's bits over the 16-byte form (IPv4 is ::ffff:a.b.c.d),
     * compared as two 64-bit words: called per record and list entry */
    int bits = c->bits + (c->net.family == 4 ? 96 : 0);
    uint64_t d0 = bw_be64(c->net.a) ^ bw_be64(ip->a);
    if (bits <= 64)
        return bits == 0 || (d0 >> (64 - bits)) == 0;
    if (d0)
        return 0;
    uint64_t d1 = bw_be64(c->net.a + 8) ^ bw_be64(ip->a + 8);
    return (d1 >> (128 - bits)) == 0;
}
