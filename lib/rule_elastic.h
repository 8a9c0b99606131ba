/* Internals of rule `elastic` (Elastic's Network Beaconing Identification
 * pivot transform, SPEC §3), exposed for its unit test: the bucket index
 * and the reduce step on bucket arrays, step by step. The rule itself is
 * bw_rule_elastic_ops (rule_impl.h). */
#ifndef BW_RULE_ELASTIC_H
#define BW_RULE_ELASTIC_H

#include <stddef.h>
#include <stdint.h>

/* The transform's parameters (names as in SPEC §3). */
typedef struct bw_elastic_params {
    int bucket_len;         /* time_bucket_length, seconds */
    int nbuckets;           /* number_buckets_in_range */
    int min_periods;        /* min_number_periods, >= 1 */
    double min_not_empty;   /* fraction of [a, b) that must be non-empty */
    double max_bytes_cov;   /* max_beaconing_bytes_cov */
    double max_count_rv;    /* max_beaconing_count_rv */
    double truncate_at[2];  /* lower and upper percentile, 0..1 */
    double min_autocov;     /* min_beaconing_count_autocovariance */
    double max_jitter;      /* fraction of the period, 0..1 */
    int ndest;              /* number_destination_ips, >= 1 */
} bw_elastic_params;

/* Fills p with the transform's defaults (60 s x 360, 6, 0.5, ...). */
void bw_elastic_params_default(bw_elastic_params *p);

/* The reduce result of one group: beacon_stats of the output document.
 * When full is 0 (too little data) only is_beaconing (0), interval and
 * non_empty are meaningful, as the transform's early return. */
typedef struct bw_elastic_stats {
    int full;
    int is_beaconing, score;
    int low_src, low_dst, low_count, periodic;
    int interval, non_empty;
    double mean_src, sd_src, pct_src[2];
    double mean_dst, sd_dst, pct_dst[2];
    double mean_counts, var_counts, pct_counts[2];
    double autocov;
    int period; /* max_autocovariance_period, in buckets */
} bw_elastic_stats;

/* Whole seconds of a microsecond time, rounded down (Instant.toEpochSecond). */
int64_t bw_elastic_floor_sec(int64_t us);

/* Bucket of an event at ts_us for a run at now_s: (now_s - event_s) div
 * bucket_len with both in whole seconds, 0 = newest; -1 when the event is
 * after now_s or the index is >= nbuckets (an event exactly at
 * now - window falls in bucket nbuckets: outside, as in the transform). */
int bw_elastic_bucket(int64_t now_s, int64_t ts_us, int bucket_len, int nbuckets);

/* Index of a percentile among m sorted values, as the transform picks it:
 * min((int)(pct * m + 0.5), m - 1). m >= 1. */
size_t bw_elastic_pct_index(double pct, size_t m);

/* Truncated statistics (step 4): out_pct = the truncate_at percentiles of
 * the non-zero values of v[0..n); *mean and *var = mean and population
 * variance of the values of v[a..b) inside [out_pct[0], out_pct[1]].
 * scratch holds n doubles. Needs at least one non-zero value. */
void bw_elastic_truncated(const double *v, int n, int a, int b, const double pct[2],
                          double *scratch, double out_pct[2], double *mean, double *var);

/* Doubles of scratch space bw_elastic_reduce / bw_elastic_periodicity need
 * for nbuckets buckets. */
size_t bw_elastic_work_size(int nbuckets);

/* Periodicity (step 7) over counts[a..b) (b - a >= 2 * min_periods):
 * returns the largest averaged autocorrelation and sets *period to its
 * period in buckets. work holds bw_elastic_work_size(nbuckets) doubles.
 * corr, when not NULL, receives the final correlation of every period
 * 2 .. (b - a) / min_periods (corr[0] is period 2). */
double bw_elastic_periodicity(const bw_elastic_params *p, const double *counts, int a, int b,
                              int *period, double *work, double *corr);

/* The whole reduce (steps 1-8) of one group. counts, src, dst are the
 * per-bucket event counts and byte sums (nbuckets each); src and dst are
 * turned into per-event means in place. */
void bw_elastic_reduce(const bw_elastic_params *p, const double *counts, double *src,
                       double *dst, double *work, bw_elastic_stats *out);

#endif
