/* Detection rules behind one interface: a rule instance takes records one
 * at a time, instances fed by different worker threads are merged, and
 * finish() turns the accumulated state into findings. `detect` runs every
 * selected rule in one pass over the input. */
#ifndef BW_RULE_H
#define BW_RULE_H

#include <stdint.h>

#include "bw_error.h"
#include "bw_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bw_rule bw_rule;

/* Names of the built-in rules, NULL-terminated: "elastic", "sentinel",
 * "sentinel-panos", "sentinel-wiredata", ... */
const char *const *bw_rule_names(void);

/* A new instance of the named rule with default parameters; NULL with eb
 * set (BW_ERR_USAGE) for an unknown name, or on allocation failure. */
bw_rule *bw_rule_new(const char *name, bw_errbuf *eb);
/* Accepts NULL. */
void bw_rule_free(bw_rule *r);
const char *bw_rule_name(const bw_rule *r);

/* Sets one parameter by its name without the rule prefix
 * ("time_bucket_length", "group_by", "internal", "truncate_at", ...).
 * Unknown keys and bad values are BW_ERR_CONFIG with eb naming the key.
 * Must be called before the first bw_rule_add. */
int bw_rule_set(bw_rule *r, const char *key, const char *value, bw_errbuf *eb);

/* Writes "key = value" lines of every parameter (effective values) to buf;
 * returns the length it needed (like snprintf). */
size_t bw_rule_params(const bw_rule *r, char *buf, size_t cap);

/* A second, empty instance with the same parameters, for another worker. */
bw_rule *bw_rule_clone(const bw_rule *r, bw_errbuf *eb);

/* Like bw_rule_clone, for workers whose instances will all be merged into
 * r (or r into one of them) before it finishes: the rule may let them share
 * memory (beaconwatch: one group table, no duplicate groups, no merge
 * work). Adding to shared instances from different threads is safe; a
 * shared instance must not finish before the others are merged into it. */
bw_rule *bw_rule_clone_shared(const bw_rule *r, bw_errbuf *eb);

/* Offers one record. The rule filters it (scope, time window) itself.
 * Returns 0, or an error (e.g. BW_ERR_LIMIT when a cap is hit and the rule
 * cannot go on; hitting a cap that only drops data is counted instead). */
int bw_rule_add(bw_rule *r, const bw_record *rec);

/* Moves everything from `from` into `into` (same rule); `from` is left
 * empty. */
int bw_rule_merge(bw_rule *into, bw_rule *from, bw_errbuf *eb);

/* The time frame of a run. Unset values are BW_UNSET; the rule applies its
 * own defaults (elastic: now = latest event time; sentinel: the window
 * [now - 2 d, now - 1 d]). */
typedef struct bw_run {
    int64_t now_us;
    int64_t start_us;
    int64_t end_us;
    int64_t ingested_us; /* event.ingested of the findings; BW_UNSET = wall clock */
    int all;             /* elastic: also report non-beaconing groups */
} bw_run;

/* One finding. All pointers are valid only during the callback. */
typedef struct bw_finding {
    const char *rule;    /* rule name */
    const char *id;      /* stable id, e.g. SHA-256 hex of @timestamp + group */
    const char *index;   /* Elasticsearch index for bulk output, or NULL */
    int64_t ts_us;       /* @timestamp / TimeGenerated of the finding */
    double score;        /* rule's own scale, for sorting the table */
    int alert;           /* 1 when the rule flags it (is_beaconing, alert row) */
    const char *json;    /* the full document, one line of JSON, no newline */
    int ncols;           /* table / CSV cells, headers in bw_rule_columns() */
    const char *const *cols;
} bw_finding;

typedef int (*bw_finding_fn)(void *ctx, const bw_finding *f);

/* Table/CSV column headers of this rule's findings, and their count. */
const char *const *bw_rule_columns(const bw_rule *r, int *ncols);

/* Computes and reports the findings. Can be called once. */
int bw_rule_finish(bw_rule *r, const bw_run *run, bw_finding_fn fn, void *ctx,
                   bw_errbuf *eb);

/* Human-readable counters after finish ("groups 12, kept 3400 events, ..."). */
size_t bw_rule_summary(const bw_rule *r, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
