/* The rule registry's contract with each rule implementation
 * (rule_elastic.c, rule_sentinel.c, ...). rule.c dispatches the public
 * bw_rule_* calls to these operations. */
#ifndef BW_RULE_IMPL_H
#define BW_RULE_IMPL_H

#include "beaconwatch/bw_rule.h"

typedef struct bw_rule_ops {
    const char *name;
    /* Allocates the rule's private state with default parameters for the
     * named variant (e.g. "sentinel-panos" presets). NULL on ENOMEM. */
    void *(*create)(const char *variant);
    void (*destroy)(void *st);
    int (*set)(void *st, const char *key, const char *value, bw_errbuf *eb);
    size_t (*params)(const void *st, char *buf, size_t cap);
    void *(*clone)(const void *st); /* empty state, same params */
    /* Optional: an empty state with the same params that may share memory
     * with st's (e.g. one group table for all workers); every such clone is
     * merged into st (or st into one of them) before finish. NULL: clone. */
    void *(*clone_shared)(const void *st);
    int (*add)(void *st, const bw_record *rec);
    int (*merge)(void *into, void *from, bw_errbuf *eb);
    const char *const *columns;
    int ncols;
    int (*finish)(void *st, const bw_run *run, bw_finding_fn fn, void *ctx,
                  bw_errbuf *eb);
    size_t (*summary)(const void *st, char *buf, size_t cap);
} bw_rule_ops;

/* Implementations; each file defines one or more of these. */
extern const bw_rule_ops bw_rule_elastic_ops;
extern const bw_rule_ops bw_rule_sentinel_ops; /* also serves the presets */
extern const bw_rule_ops bw_rule_beaconwatch_ops;

#endif
