/* The normalized session record (SPEC §2) and the small value types it is
 * made of. Readers fill one record per session and hand it to a callback;
 * the strings in it are slices into the reader's buffers and are valid only
 * for the duration of that callback. */
#ifndef BW_RECORD_H
#define BW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A borrowed, not NUL-terminated string. n == 0 means absent or empty. */
typedef struct bw_str {
    const char *p;
    size_t n;
} bw_str;

/* An IPv4 or IPv6 address. IPv4 is stored as the IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) so both compare and hash the same way; family says which
 * one the input had (0 = absent). */
typedef struct bw_ip {
    uint8_t a[16];
    uint8_t family; /* 0, 4 or 6 */
} bw_ip;

/* Values unknown in the source are BW_UNSET (integers) or empty (strings). */
#define BW_UNSET INT64_MIN

/* Bits of bw_record.flags. */
#define BW_REC_CAT_NETWORK 0x1u /* event.category contains "network" */

typedef struct bw_record {
    int64_t ts_us;       /* start time, microseconds since the epoch, UTC */
    int64_t duration_us; /* BW_UNSET when unknown */
    int64_t src_bytes;   /* BW_UNSET when unknown */
    int64_t dst_bytes;   /* BW_UNSET when unknown */
    bw_ip src_ip;
    bw_ip dst_ip;
    int32_t src_port; /* -1 when unknown */
    int32_t dst_port; /* -1 when unknown */
    uint32_t flags;   /* BW_REC_* */
    bw_str transport;      /* "tcp", "udp", ... as written by the source */
    bw_str host_name;
    bw_str process_name;
    bw_str dst_domain;     /* FQDN or TLS SNI when the source has it */
    bw_str event_action;   /* empty for Zeek/eve: treat as finished session */
    bw_str event_category; /* as written: a string, or a JSON array text */
    bw_str conn_state;
} bw_record;

/* Resets every field to "unknown". */
void bw_record_clear(bw_record *r);

/* Parses a textual IPv4 or IPv6 address (IPv6 zone ids are rejected).
 * Returns 0 on success, -1 when s is not an address. */
int bw_ip_parse(const char *s, size_t n, bw_ip *out);

/* Writes the canonical text (RFC 5952 for IPv6) into buf; returns its
 * length. buf must hold BW_IP_STRLEN bytes. */
#define BW_IP_STRLEN 46
size_t bw_ip_format(const bw_ip *ip, char *buf);

/* True when ip lies in prefix/bits (an IPv4 prefix only matches IPv4). */
typedef struct bw_cidr {
    bw_ip net;
    int bits; /* prefix length in the address's own family */
} bw_cidr;
int bw_cidr_parse(const char *s, size_t n, bw_cidr *out);
int bw_cidr_contains(const bw_cidr *c, const bw_ip *ip);

/* Timestamps (SPEC §2): RFC 3339 / ISO 8601 with Z or an offset and 0-9
 * fraction digits; epoch seconds with fraction; epoch milliseconds (an
 * integer of 13 or more digits). Returns 0 and sets *us, or -1. */
int bw_time_parse(const char *s, size_t n, int64_t *us);

/* Writes RFC 3339 UTC with microseconds ("2026-01-01T00:00:00.000000Z");
 * buf must hold BW_TIME_STRLEN bytes; returns the length. */
#define BW_TIME_STRLEN 40
size_t bw_time_format(int64_t us, char *buf);

/* Like bw_time_format but with milliseconds, as Elasticsearch writes. */
size_t bw_time_format_ms(int64_t us, char *buf);

#ifdef __cplusplus
}
#endif
#endif
