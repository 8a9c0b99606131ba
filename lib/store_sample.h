/* The sampler's layout, shared by lib/store_sample.c (which fills it) and
 * the store backends (which write it out). Not public. */
#ifndef BW_STORE_SAMPLE_H
#define BW_STORE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "beaconwatch/bw_store.h"

/* String slots of a sampled record: offsets into the sampler's arena. */
enum { BW_SS_TRANSPORT, BW_SS_HOST, BW_SS_PROCESS, BW_SS_DOMAIN, BW_SS_ACTION, BW_SS_STATE,
       BW_SS__COUNT };

typedef struct bw_sample_rec {
    int64_t ts_us, duration_us, src_bytes, dst_bytes;
    bw_ip src_ip, dst_ip;
    int32_t src_port, dst_port;
    uint32_t s[BW_SS__COUNT];
} bw_sample_rec;

typedef struct bw_sample_group {
    char *key; /* host '\0' process '\0' */
    uint32_t hlen, plen;
    uint64_t hash;
    bw_sample_rec *recs; /* min-heap on ts_us */
    uint32_t n, cap;
} bw_sample_group;

struct bw_sampler {
    bw_sample_key key;
    uint32_t per_group, max_groups;
    uint64_t max_records, nrecords;
    uint64_t seed;
    bw_sample_group *groups;
    size_t ngroups, groups_cap;
    uint32_t *gtab; /* group index + 1 */
    size_t gtab_cap;
    char *arena; /* interned strings, offset 0 = "" */
    size_t arena_len, arena_cap;
    uint32_t *stab; /* arena offsets */
    size_t stab_cap, nstr;
    uint64_t seen, dropped_groups, dropped_budget, replaced, strings_dropped;
};

#endif
