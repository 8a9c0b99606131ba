/* Seeded generator of realistic session logs (`beaconwatch generate`, the
 * benchmarks and the detection tests): a workplace of hosts browsing,
 * resolving names, running benign periodic software and, on a few hosts,
 * malicious beacons whose ground truth is kept as labels. The same options
 * give the same bytes on every machine; memory does not grow with the
 * number of records. */
#ifndef BW_GEN_H
#define BW_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "bw_error.h"
#include "bw_ingest.h"
#include "bw_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps on the options (bw_gen_new refuses more with BW_ERR_USAGE). */
#define BW_GEN_MAX_HOSTS 200000
#define BW_GEN_MAX_BEACONS 1000
#define BW_GEN_MAX_DURATION_US (366LL * 86400 * 1000000) /* one year */
#define BW_GEN_NAT_ADDR "10.19.0.1" /* the NAT gateway of opts.nat_hosts */
#define BW_GEN_NAT_HOST "nat-gw01"

typedef struct bw_gen_opts {
    uint64_t seed;       /* any value; equal seeds give equal output */
    uint64_t records;    /* exactly this many records are produced */
    int64_t start_us;    /* start of the run, microseconds since the epoch */
    int64_t duration_us; /* the records spread over about this long */
    uint32_t hosts;      /* workstations, 1 .. BW_GEN_MAX_HOSTS */
    int32_t beacons;     /* malicious beacons; -1 = default (3 + hosts/100,
                            at most 16); 0 = none */
    uint32_t evasions;   /* extra beacons that evade timing analysis, cycling
                            over Fibonacci-growing sleeps, exponentially
                            growing sleeps, working hours only and a schedule
                            change mid-run; 0 .. BW_GEN_MAX_BEACONS (default 0) */
    uint32_t nat_hosts;  /* hosts 1 .. nat_hosts sit behind one NAT gateway:
                            one source address and host name carrying all
                            their processes; 3 extra beacons (one per jitter
                            model) run on them. 0 (default) or 2 .. hosts */
    bw_format format;    /* output of bw_gen_write; not BW_FMT_AUTO */
} bw_gen_opts;

/* Defaults: seed 1, 1,000,000 records, start 2026-01-01T00:00:00Z,
 * 24 hours, 200 hosts, default beacons, Zeek TSV. */
void bw_gen_opts_init(bw_gen_opts *o);

/* The time span is a target, the record count is exact: background traffic
 * is scaled so that `records` records cover about `duration_us`. When the
 * periodic traffic of the hosts alone would exceed the count, the run ends
 * early (at `records` records). */

typedef struct bw_gen bw_gen;

/* BW_OK when bw_gen_new would accept the options, else BW_ERR_USAGE with
 * eb saying which one is wrong. */
int bw_gen_opts_check(const bw_gen_opts *o, bw_errbuf *eb);

/* Builds the simulated workplace (hosts, destinations, periodic software,
 * beacons). Returns NULL with eb set on bad options (BW_ERR_USAGE) or when
 * out of memory (BW_ERR_NOMEM). opts is copied. */
bw_gen *bw_gen_new(const bw_gen_opts *opts, bw_errbuf *eb);
/* Accepts NULL. */
void bw_gen_free(bw_gen *g);

/* The next record in time order (ts_us never decreases) with every field
 * the simulation knows, whatever the output format. Returns 1 and fills
 * rec, or 0 when `records` records have been produced. The strings in rec
 * are owned by the generator and valid until the next call. */
int bw_gen_next(bw_gen *g, bw_record *rec);

/* Writes all remaining records to out in opts.format, with the format's
 * header and footer (Zeek TSV: #separator ... #types, #close; ASIM CSV: the
 * column line). Output is buffered internally; out is not closed. Returns
 * 0 or BW_ERR_IO with eb set. */
int bw_gen_write(bw_gen *g, FILE *out, bw_errbuf *eb);

/* Records produced so far (by bw_gen_next or bw_gen_write). */
uint64_t bw_gen_count(const bw_gen *g);

/* Ground truth: one label per periodic flow, malicious or benign. A beacon
 * that rotates over several C2 addresses has one label per address, all
 * with the same id. Pointers are owned by the generator. */
typedef struct bw_gen_label {
    int id;                /* beacon / periodic source number */
    const char *kind;      /* "beacon" (malicious) or "benign" (periodic) */
    const char *src;       /* source address text */
    const char *host;      /* host name */
    const char *process;   /* process name */
    const char *dst;       /* destination address text */
    int dport;
    const char *transport; /* "tcp" or "udp" */
    double period_s;       /* nominal sleep */
    double jitter;         /* fraction of the period, see model */
    const char *model;     /* "cs": sleep = P * (1 - U(0, J));
                              "symmetric": P * (1 + U(-J, J));
                              "sliver": P + U(0, J * P) */
    const char *cls;       /* beacons: "standard", "nat" (behind the NAT
                              gateway), or the evasion: "fibonacci",
                              "exponential", "workhours", "schedule-change";
                              benign: "periodic" */
    double period2_s;      /* fibonacci / exponential: the longest sleep
                              before the sequence restarts at period_s;
                              schedule-change: the sleep after the change;
                              else 0 */
    int64_t change_us;     /* schedule-change: when the sleep changes, else
                              BW_UNSET */
    double missed;         /* probability that a beat is missing */
    double retry;          /* probability that a beat fails and is retried */
    uint64_t records;      /* records of this flow so far */
    int64_t first_us;      /* first and last record time, BW_UNSET if none */
    int64_t last_us;
} bw_gen_label;

size_t bw_gen_nlabels(const bw_gen *g);
/* i < bw_gen_nlabels(g); the pointer stays valid until bw_gen_free. */
const bw_gen_label *bw_gen_label_at(const bw_gen *g, size_t i);

/* Writes the labels as CSV with a header line: kind, src, host, process,
 * dst, dport, period_s, jitter, model, transport, missed, retry, id,
 * records, first_ts, last_ts, class, period2_s, change_ts. Call after
 * bw_gen_write for the counts.
 * Returns 0 or BW_ERR_IO with eb set. */
int bw_gen_write_labels(const bw_gen *g, FILE *out, bw_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
