/* Dashboard queries over the findings store (docs/api.md): aggregates by
 * host or process over time, pages of findings and sampled records, and
 * the per-group facts of the drilldown. Backend-neutral: the SQLite
 * backend implements them in lib/store_sqlite_query.c; a ClickHouse
 * backend answers the same calls. A handle is used by one thread; the
 * server opens one read-only handle per worker thread. */
#ifndef BW_DASH_H
#define BW_DASH_H

#include <stdint.h>

#include "bw_error.h"
#include "bw_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which findings a dashboard query reads. Borrowed strings; NULL does not
 * filter. */
typedef struct bw_dash_filter {
    int64_t from_us, to_us; /* @timestamp in [from_us, to_us] */
    const char *host;       /* case-insensitive (ASCII) substring of host */
    const char *process;    /* case-insensitive (ASCII) substring of process */
    const char *rule;       /* exact rule name, or a prefix ending in '*' */
    int only_alert;         /* only findings the rule flagged */
} bw_dash_filter;

/* What is in the store, per rule (ordered by rule): number of findings,
 * first and last @timestamp, the wall time of the rule's last recorded
 * run (BW_UNSET when none). Strings valid during the callback. */
typedef struct bw_dash_rule {
    const char *rule;
    int64_t findings, first_us, last_us, last_run_us;
} bw_dash_rule;
typedef int (*bw_dash_rule_fn)(void *ctx, const bw_dash_rule *r);
int bw_dash_rules(bw_store *s, bw_dash_rule_fn fn, void *ctx, bw_errbuf *eb);

/* The newest finding's @timestamp, BW_UNSET when the store has none. */
int bw_dash_newest(bw_store *s, int64_t *ts_us, bw_errbuf *eb);

/* Counts of the filtered findings grouped by host (BW_DASH_BY_HOST) or by
 * process, and, when step_us > 0, by time step (bucket = (ts - from) /
 * step). For each group: the distinct values of the other key (processes
 * of a host, hosts of a process) and the number of findings. Rows come in
 * no particular order; key is valid during the callback. */
typedef enum bw_dash_by { BW_DASH_BY_HOST = 0, BW_DASH_BY_PROCESS } bw_dash_by;
typedef struct bw_dash_count {
    const char *key;
    int64_t bucket; /* 0 when step_us <= 0 */
    int64_t distinct, findings;
} bw_dash_count;
typedef int (*bw_dash_count_fn)(void *ctx, const bw_dash_count *c);
int bw_dash_counts(bw_store *s, const bw_dash_filter *f, bw_dash_by by, int64_t step_us,
                   bw_dash_count_fn fn, void *ctx, bw_errbuf *eb);

/* A finding as the dashboards show it; strings valid during the callback.
 * ind[] are elastic's four indicators (periodic, low count variation, low
 * source / destination bytes variation): 0 or 1, -1 when the rule has no
 * such field. explanation is the rule's own text (NULL for elastic, whose
 * indicators are the explanation); period_s the detected period
 * (beaconwatch's sleep, elastic's interval), < 0 when none; doc the full
 * document (NULL in pages of findings). */
typedef struct bw_dash_finding {
    const char *rule, *id, *host, *process, *source_ip;
    int64_t ts_us;
    double score;
    int alert;
    int ind[4];
    const char *explanation;
    double period_s;
    const char *doc;
} bw_dash_finding;
typedef int (*bw_dash_finding_fn)(void *ctx, const bw_dash_finding *f);

/* Sort orders of bw_dash_findings. */
typedef enum bw_dash_sort {
    BW_DASH_SORT_SCORE = 0, /* score descending, then newest, then rule, id */
    BW_DASH_SORT_TIME       /* newest first, then score descending */
} bw_dash_sort;

/* One page of the filtered findings: *total (may be NULL) gets the number
 * that match, fn is called for rows [offset, offset + limit). */
int bw_dash_findings(bw_store *s, const bw_dash_filter *f, bw_dash_sort sort, int64_t limit,
                     int64_t offset, int64_t *total, bw_dash_finding_fn fn, void *ctx,
                     bw_errbuf *eb);

/* The finding (rule, id) with its document: fn is called once, or not at
 * all when there is no such finding. */
int bw_dash_finding_get(bw_store *s, const char *rule, const char *id, bw_dash_finding_fn fn,
                        void *ctx, bw_errbuf *eb);

/* The newest finding of the rules matching rule_glob ("elastic",
 * "sentinel*") for the group (host, process); when there is none, the
 * newest for any (source IP, "dst:port") pair of the group's sampled
 * records (the key sentinel and the IP groupings use). fn is called once
 * or not at all. */
int bw_dash_verdict(bw_store *s, const char *rule_glob, const char *host, const char *process,
                    bw_dash_finding_fn fn, void *ctx, bw_errbuf *eb);

/* Sampled records of the group (host, process) with time in [from_us,
 * to_us] (BW_UNSET: unbounded), newest first: *total (may be NULL) gets
 * how many, *first_us / *last_us (may be NULL) their time range (BW_UNSET
 * when none), fn is called for rows [offset, offset + limit) (limit 0:
 * none). */
int bw_dash_records(bw_store *s, const char *host, const char *process, int64_t from_us,
                    int64_t to_us, int64_t limit, int64_t offset, int64_t *total,
                    int64_t *first_us, int64_t *last_us, bw_stored_record_fn fn, void *ctx,
                    bw_errbuf *eb);

/* The destinations of the group's sampled records in [from_us, to_us]:
 * by (ip, port, domain), most records first, at most limit. bytes is the
 * sum of both directions' known bytes. port -1 and domain NULL when
 * unknown. */
typedef struct bw_dash_dest {
    const char *ip, *domain;
    int32_t port;
    int64_t count, bytes;
} bw_dash_dest;
typedef int (*bw_dash_dest_fn)(void *ctx, const bw_dash_dest *d);
int bw_dash_destinations(bw_store *s, const char *host, const char *process, int64_t from_us,
                         int64_t to_us, int64_t limit, bw_dash_dest_fn fn, void *ctx,
                         bw_errbuf *eb);

/* A number that changes whenever another handle has committed a change to
 * the store since this handle last asked (SQLite: PRAGMA data_version):
 * what a response cache keys on. */
int bw_dash_data_version(bw_store *s, int64_t *v, bw_errbuf *eb);

/* Aborts a running query of this handle once the monotonic clock passes
 * deadline (seconds, cli-style CLOCK_MONOTONIC; <= 0: no deadline); the
 * query fails with BW_ERR_LIMIT. */
void bw_dash_deadline(bw_store *s, double deadline);

#ifdef __cplusplus
}
#endif
#endif
