/* The findings store (SPEC §6): findings of every rule with their full
 * documents, a bounded sample of the raw session records behind each
 * group (for drilldown), the alerts raised over the findings, and run
 * bookkeeping. One small interface so that a second backend (ClickHouse)
 * can sit behind it; the SQLite backend is lib/store_sqlite.c and its
 * schema is docs/SCHEMA.md. A store handle is used by one thread. */
#ifndef BW_STORE_H
#define BW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "bw_error.h"
#include "bw_record.h"
#include "bw_rule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this build writes (PRAGMA user_version). */
#define BW_STORE_SCHEMA 1

/* The default store file of the commands that read a store. */
#define BW_STORE_DEFAULT_PATH "beaconwatch.db"

typedef struct bw_store bw_store;

/* bw_store_open() flags. */
#define BW_STORE_READONLY 0x1u /* fail when the file is missing; never write */

/* Opens (creating and migrating when writable) the store at path. On
 * success *out owns the handle (free with bw_store_close). Errors:
 * BW_ERR_STORE (with SQLite's message in eb), BW_ERR_IO for a read-only
 * open of a missing file, BW_ERR_FORMAT for a file written by a newer
 * schema version. */
int bw_store_open(const char *path, unsigned flags, bw_store **out, bw_errbuf *eb);
/* Rolls back an open transaction and closes. Accepts NULL. */
void bw_store_close(bw_store *s);

/* Explicit transactions. Writes outside begin/commit each commit on their
 * own (slow); batch them. */
int bw_store_begin(bw_store *s, bw_errbuf *eb);
int bw_store_commit(bw_store *s, bw_errbuf *eb);
void bw_store_rollback(bw_store *s);

/* Stores one finding (the document is copied). ingested_us is the run's
 * event.ingested (alerts select on it). A finding with the same (rule, id)
 * is replaced: ids are SHA-256 of @timestamp and group, so a rerun over
 * the same data rewrites, and each new run adds history. */
int bw_store_put_finding(bw_store *s, const bw_finding *f, int64_t ingested_us,
                         bw_errbuf *eb);

/* Records that `rule` ran: at wall time run_us, for the data time now_us,
 * writing nfindings. Read back by bw_store_status. */
int bw_store_put_run(bw_store *s, const char *rule, int64_t run_us, int64_t now_us,
                     uint64_t nfindings, bw_errbuf *eb);

/* A stored finding, as read back. Pointers are valid during the callback. */
typedef struct bw_stored_finding {
    const char *rule;
    const char *id;
    int64_t ts_us;
    int64_t ingested_us;
    const char *host;      /* host.name / SrcIpAddr; "" when absent */
    const char *process;   /* process.name / DstIpAddr:port; "" when absent */
    const char *source_ip; /* "" when absent */
    double score;
    int alert;
    int schema; /* the schema version of the table the finding lives in */
    const char *json;
} bw_stored_finding;
typedef int (*bw_stored_finding_fn)(void *ctx, const bw_stored_finding *f);

/* Filter for bw_store_findings. NULL / BW_UNSET fields do not filter. */
typedef struct bw_finding_query {
    const char *rule;       /* exact rule name, or a prefix ending in '*' */
    const char *host;       /* exact */
    const char *process;    /* exact */
    int64_t since_us;       /* ts_us >= since_us */
    int64_t ingested_from;  /* ingested_us >= */
    int64_t ingested_to;    /* ingested_us <= */
    int only_alert;         /* only findings the rule flagged */
    int64_t limit;          /* <= 0: no limit */
} bw_finding_query;
void bw_finding_query_init(bw_finding_query *q);

/* Calls fn for each finding of every schema version (view
 * ml_beaconing_all), newest ingested first, then newest @timestamp, then
 * rule and id. A non-zero return from fn stops with BW_ERR_STOPPED. */
int bw_store_findings(bw_store *s, const bw_finding_query *q, bw_stored_finding_fn fn,
                      void *ctx, bw_errbuf *eb);

/* --- sampled session records ------------------------------------------ */

/* How the sampler keys records; the same keys as the elastic rule's
 * group_by, so a finding's (host.name, process.name) names its sample. */
typedef enum bw_sample_key {
    BW_SAMPLE_HOST_PROCESS = 0, /* (host_name, process_name) */
    BW_SAMPLE_SRC_DST_PORT,     /* (src ip, "dst:port") */
    BW_SAMPLE_SRC_DST,          /* (src ip, dst ip) */
    BW_SAMPLE_SRC               /* (src ip, "*") */
} bw_sample_key;

/* Parses "host_process", "src_dst_port", "src_dst", "src". 0 or -1. */
int bw_sample_key_parse(const char *s, bw_sample_key *out);

/* Keeps, per group, the per_group records with the latest timestamps,
 * over at most max_groups groups and max_records records in all; what
 * does not fit is counted, never an error. One sampler per worker;
 * merge them before writing. */
typedef struct bw_sampler bw_sampler;
bw_sampler *bw_sampler_new(bw_sample_key key, uint32_t per_group, uint32_t max_groups,
                           uint64_t max_records);
void bw_sampler_free(bw_sampler *s); /* accepts NULL */
/* Copies what it keeps of rec. 0 or BW_ERR_NOMEM. */
int bw_sampler_add(bw_sampler *s, const bw_record *rec);
/* Moves everything of `from` into `into` (same key and per_group); from
 * is left empty, and its max_records budget moves to `into` too (give
 * each of N workers 1/N of the total). 0 or BW_ERR_NOMEM. */
int bw_sampler_merge(bw_sampler *into, bw_sampler *from);
typedef struct bw_sampler_stats {
    uint64_t groups, records;      /* held now */
    uint64_t seen;                 /* records offered with a key */
    uint64_t dropped_groups;       /* records of groups beyond max_groups */
    uint64_t dropped_budget;       /* records refused by max_records */
    uint64_t replaced;             /* older records pushed out by newer */
} bw_sampler_stats;
void bw_sampler_stats_get(const bw_sampler *s, bw_sampler_stats *st);

/* Writes the sample into the store (inside the caller's transaction when
 * one is open). Per group the store keeps at most per_group records, the
 * latest; records already stored are not duplicated. *written (may be
 * NULL) counts the rows offered. */
int bw_store_put_sample(bw_store *s, const bw_sampler *smp, uint32_t per_group,
                        uint64_t *written, bw_errbuf *eb);

/* A stored session record (drilldown); strings valid during the callback. */
typedef struct bw_stored_record {
    int64_t ts_us, duration_us, src_bytes, dst_bytes; /* BW_UNSET when unknown */
    const char *src_ip, *dst_ip;
    int32_t src_port, dst_port; /* -1 when unknown */
    const char *transport, *host_name, *process_name, *dst_domain, *event_action,
        *conn_state;
} bw_stored_record;
typedef int (*bw_stored_record_fn)(void *ctx, const bw_stored_record *r);

/* The sampled records of group (key_host, key_process), newest first, at
 * most limit (<= 0: all). */
int bw_store_sample(bw_store *s, const char *key_host, const char *key_process, int64_t limit,
                    bw_stored_record_fn fn, void *ctx, bw_errbuf *eb);

/* --- alerts ------------------------------------------------------------ */

/* A stored or new alert; pointers valid during the callback. */
typedef struct bw_alert {
    const char *id;         /* "<alert rule>:<finding rule>:<finding id>" */
    const char *rule;       /* alert rule name */
    const char *finding_rule, *finding_id;
    int64_t ts_us;          /* the finding's @timestamp */
    int64_t created_us;     /* when the alert was raised */
    const char *severity;   /* "low" */
    int risk;               /* 21 */
    const char *host, *process, *source_ip;
    const char *json;       /* the alert document */
} bw_alert;
typedef int (*bw_alert_fn)(void *ctx, const bw_alert *a);

/* Stores an alert unless one with the same id exists. *added = 1 when it
 * was new. */
int bw_store_put_alert(bw_store *s, const bw_alert *a, int *added, bw_errbuf *eb);

/* Stored alerts created at or after since_us (BW_UNSET: all), newest
 * first, at most limit (<= 0: all). */
int bw_store_alerts(bw_store *s, int64_t since_us, int64_t limit, bw_alert_fn fn, void *ctx,
                    bw_errbuf *eb);

/* One run of the alert rules over the store (SPEC §3 "Alerts"):
 * - elastic "Statistical Model Detected C2 Beaconing Activity": elastic
 *   findings with is_beaconing whose process.name is not in the 38-name
 *   exclusion list; "... with High Confidence": beaconing_score = 3;
 *   both over findings with event.ingested in [now - 1 h, now], at most
 *   max_per_rule (100) alerts per rule per run, severity low, risk 21,
 *   MITRE TA0011 / T1071, T1102, T1102.002;
 * - sentinel: every sentinel-family finding ingested in [now - 1 d, now]
 *   (the rule's daily schedule) becomes its alert document;
 * - beaconwatch "Periodic Callback (Beaconing) Detected": every beaconwatch
 *   finding that alerts (beacon.alert) ingested in [now - 1 d, now];
 *   severity from its score (>= 0.9 high / risk 73, >= 0.7 medium / 47,
 *   else low / 21), MITRE TA0011 / T1071, T1573, the finding's one-line
 *   explanation and its whole document.
 * max_per_rule counts new alerts: findings already alerted on are passed
 * over (up to 50 x max_per_rule candidates are read per rule).
 * New alerts are stored (de-duplicated by id) and passed to fn; alerts
 * that already existed are counted in *old. */
typedef struct bw_alert_opts {
    int64_t now_us;        /* BW_UNSET: wall clock */
    int elastic, sentinel; /* which families run */
    int max_per_rule;      /* <= 0: 100 */
    int in_transaction;    /* 1: the caller holds a transaction (watch's cycle);
                              else the run is its own transaction */
    int beaconwatch;       /* the beaconwatch family runs too */
} bw_alert_opts;
int bw_alerts_run(bw_store *s, const bw_alert_opts *o, bw_alert_fn fn, void *ctx,
                  uint64_t *added, uint64_t *old, bw_errbuf *eb);

/* --- read offsets (continuous mode checkpoints) ------------------------ */

/* How far a followed file has been read. A file is known by its identity
 * (device, inode), not its name, so a rename-and-create rotation keeps the
 * renamed file's offset and starts the new file at 0; size < offset means
 * copy-and-truncate. Written in the same transaction as the findings the
 * bytes produced, so a crash replays nothing twice and loses nothing. */
typedef struct bw_offset {
    uint64_t dev, ino;
    const char *path;   /* last name seen; copied by put */
    int64_t offset;     /* bytes consumed (up to the last complete line) */
    int64_t size;       /* file size when read */
    int64_t updated_us; /* wall time of the commit */
    int64_t head_len;   /* the first head_len bytes of the file ... */
    uint64_t head_hash; /* ... hash to this: a reused inode or a file
                           rewritten in place is noticed as a new file */
} bw_offset;
typedef int (*bw_offset_fn)(void *ctx, const bw_offset *o);
int bw_store_put_offset(bw_store *s, const bw_offset *o, bw_errbuf *eb);
int bw_store_del_offset(bw_store *s, uint64_t dev, uint64_t ino, bw_errbuf *eb);
/* Every checkpoint, ordered by path. */
int bw_store_offsets(bw_store *s, bw_offset_fn fn, void *ctx, bw_errbuf *eb);

/* A byte range [start, end) of a followed file that has been read, and
 * the time range of its records: scheduled runs re-read the segments that
 * overlap their window, so a restart needs no rule state. */
typedef struct bw_segment {
    uint64_t dev, ino;
    int64_t start, end;
    int64_t min_ts_us, max_ts_us;
    uint64_t records;
    const char *path; /* read back: the file's last known name ("" if none) */
} bw_segment;
typedef int (*bw_segment_fn)(void *ctx, const bw_segment *g);
int bw_store_put_segment(bw_store *s, const bw_segment *g, bw_errbuf *eb);
/* Forgets every segment of a file (its bytes were truncated away). */
int bw_store_del_segments(bw_store *s, uint64_t dev, uint64_t ino, bw_errbuf *eb);
/* Segments whose records overlap [from_us, to_us], by path then offset. */
int bw_store_segments(bw_store *s, int64_t from_us, int64_t to_us, bw_segment_fn fn, void *ctx,
                      bw_errbuf *eb);
/* Earliest and latest record time over all segments (BW_UNSET: none). */
int bw_store_time_range(bw_store *s, int64_t *min_us, int64_t *max_us, bw_errbuf *eb);
/* The data time (`now`) of the rule's last recorded run, BW_UNSET if none
 * or when it ran with its default time. */
int bw_store_last_run(bw_store *s, const char *rule, int64_t *now_us, bw_errbuf *eb);

/* --- housekeeping ------------------------------------------------------ */

/* Deletes findings, samples and alerts whose @timestamp / record time is
 * before cutoff_us. Counts go to the (nullable) outputs. */
int bw_store_retain(bw_store *s, int64_t cutoff_us, uint64_t *findings, uint64_t *samples,
                    uint64_t *alerts, bw_errbuf *eb);

/* What is in the store. */
typedef struct bw_store_rule_status {
    char rule[32];
    uint64_t findings;
    int64_t first_ts_us, last_ts_us; /* BW_UNSET when no findings */
    int64_t last_run_us, last_now_us; /* BW_UNSET when never recorded */
    uint64_t last_run_findings;
} bw_store_rule_status;
#define BW_STORE_MAX_RULES 16
typedef struct bw_store_status {
    int schema;
    uint64_t findings, samples, sample_groups, alerts;
    uint64_t files;           /* read offsets recorded */
    int64_t offsets_updated;  /* latest checkpoint, BW_UNSET when none */
    int nrules;
    bw_store_rule_status rules[BW_STORE_MAX_RULES];
} bw_store_status;
int bw_store_status_get(bw_store *s, bw_store_status *st, bw_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
