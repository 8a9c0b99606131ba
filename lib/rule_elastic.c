/* Rule `elastic`: a bit-exact re-implementation of Elastic's Network
 * Beaconing Identification pivot transform (SPEC §3). Records are filtered
 * as the transform's source query, grouped (host.name, process.name by
 * default), aggregated into compact per-group time slots, and reduced at
 * finish() exactly as the transform's reduce_script does, in double. */
#include "rule_elastic.h"
#include "util_sbuf.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "rule_impl.h"
#include "rule_lists.h"
#include "util_hex.h"

#if defined(__clang__)
/* The transform computes in Java doubles: no fused multiply-add. */
#pragma STDC FP_CONTRACT OFF
#endif

/* Index of the findings for Elasticsearch bulk output: our document
 * schema (the transform's fields plus source.ip), version 1.0.0. */
#define ELASTIC_INDEX "ml_beaconing-1.0.0"
#define DEFAULT_MAX_GROUPS 1000000u
#define MAX_KEY_PART 4096     /* longest host / process name used as a key */
#define MAX_BUCKETS 100000    /* cap on number_buckets_in_range */
#define MAX_DEST 1000         /* cap on number_destination_ips */

enum group_by { GB_HOST_PROCESS, GB_SRC_DST_PORT, GB_SRC_DST, GB_SRC };
static const char *const group_by_names[] = {"host_process", "src_dst_port", "src_dst", "src"};

/* ------------------------------------------------------------------ */
/* Reduce: the transform's reduce_script.                              */
/* ------------------------------------------------------------------ */

void bw_elastic_params_default(bw_elastic_params *p)
{
    p->bucket_len = 60;
    p->nbuckets = 360;
    p->min_periods = 6;
    p->min_not_empty = 0.5;
    p->max_bytes_cov = 0.05;
    p->max_count_rv = 0.1;
    p->truncate_at[0] = 0.1;
    p->truncate_at[1] = 0.8;
    p->min_autocov = 0.7;
    p->max_jitter = 0.0;
    p->ndest = 10;
}

/* Java's (int) cast of a double: truncation, NaN -> 0, saturating. */
static long long d2i(double x)
{
    if (x != x)
        return 0;
    if (x >= 2147483647.0)
        return 2147483647;
    if (x <= -2147483648.0)
        return -2147483648LL;
    return (long long)x;
}

int64_t bw_elastic_floor_sec(int64_t us)
{
    int64_t s = us / 1000000;
    if (us % 1000000 < 0)
        s--;
    return s;
}

int bw_elastic_bucket(int64_t now_s, int64_t ts_us, int bucket_len, int nbuckets)
{
    int64_t diff = now_s - bw_elastic_floor_sec(ts_us);
    if (diff < 0)
        return -1;
    int64_t b = diff / bucket_len;
    return b < nbuckets ? (int)b : -1;
}

size_t bw_elastic_pct_index(double pct, size_t m)
{
    long long k = d2i(pct * (double)m + 0.5);
    long long last = (long long)m - 1;
    if (k > last)
        k = last;
    return k < 0 ? 0 : (size_t)k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* mean() and variance() of the script with the skip "outside [lo, hi]". */
static double trunc_mean(const double *v, int a, int b, double lo, double hi)
{
    double m = 0, n = 0;
    for (int i = a; i < b; i++) {
        if (!(v[i] < lo || v[i] > hi)) {
            m += v[i];
            n += 1;
        }
    }
    return n > 0 ? m / n : 0.0;
}

static double trunc_var(double mean, const double *v, int a, int b, double lo, double hi)
{
    double s = 0, n = 0;
    for (int i = a; i < b; i++) {
        if (!(v[i] < lo || v[i] > hi)) {
            double x = v[i];
            s += (x - mean) * (x - mean);
            n += 1;
        }
    }
    return n > 0 ? s / n : 0.0;
}

void bw_elastic_truncated(const double *v, int n, int a, int b, const double pct[2],
                          double *scratch, double out_pct[2], double *mean, double *var)
{
    size_t m = 0;
    for (int i = 0; i < n; i++)
        if (v[i] != 0)
            scratch[m++] = v[i];
    qsort(scratch, m, sizeof *scratch, cmp_double);
    for (int k = 0; k < 2; k++)
        out_pct[k] = m ? scratch[bw_elastic_pct_index(pct[k], m)] : 0.0;
    *mean = trunc_mean(v, a, b, out_pct[0], out_pct[1]);
    *var = trunc_var(*mean, v, a, b, out_pct[0], out_pct[1]);
}

size_t bw_elastic_work_size(int nbuckets)
{
    /* sort scratch n; nCounts + xyCovCounts <= n; three per-period arrays
     * <= n each; three per-shift arrays <= 2n + 1 each; deviations n. */
    return (size_t)nbuckets * 14 + 16;
}

/* First index of the largest value in v[a..b) (the script's max()). */
static int argmax(int a, int b, const double *v)
{
    int imax = a;
    double mx = v[a];
    for (int i = a + 1; i < b; i++) {
        if (v[i] > mx) {
            imax = i;
            mx = v[i];
        }
    }
    return imax;
}

double bw_elastic_periodicity(const bw_elastic_params *p, const double *counts, int a, int b,
                              int *period_out, double *work, double *corr)
{
    int max_period = (b - a) / p->min_periods;
    int np = max_period - 1; /* slots for periods 2 .. max_period */
    double *ncounts = work;
    double *xycov_counts = ncounts + np;
    double *xvar_p = xycov_counts + np; /* per-period sums, fresh per period */
    double *yvar_p = xvar_p + np;
    double *xycov_p = yvar_p + np;
    double *yvar_i = xycov_p + np; /* per-shift sums of one window */
    double *xycov_i = yvar_i + (2 * (size_t)max_period + 1);
    double *sigma = xycov_i + (2 * (size_t)max_period + 1);
    double *dev = sigma + (2 * (size_t)max_period + 1); /* counts[i] - mean, i < b */

    for (int k = 0; k < np; k++)
        ncounts[k] = xycov_counts[k] = 0;

    for (int period = 2; period <= max_period; period++) {
        int mj = (int)d2i(p->max_jitter * period);
        int a_ = a + mj;
        int b_ = b - 2 * period;
        int nshift = 2 * mj + 1;
        /* Proper divisors q of period with 2 <= q < period / 2, ascending
         * (a number below 2^17 has at most 160 divisors). */
        int divs[160], nd = 0;
        for (int q = 2; q < period / 2; q++)
            if (period % q == 0)
                divs[nd++] = q;
        assert(nd <= 160);

        /* mean(a_ + period, a_ + period * (int)((b_ + 1 - a_) / period)) */
        double mean = 0;
        {
            double m = 0, n = 0;
            int end = a_ + period * ((b_ + 1 - a_) / period);
            for (int i = a_ + period; i < end; i++) {
                m += counts[i];
                n += 1;
            }
            mean = n > 0 ? m / n : 0.0;
        }

        for (int k = 0; k < period - 1; k++)
            xvar_p[k] = yvar_p[k] = xycov_p[k] = 0;
        /* The same subtraction the script repeats in every product, done
         * once: identical values, identical sums. */
        for (int i = a; i < b; i++)
            dev[i] = counts[i] - mean;

        for (int i = a_; i < b_ + 1; i += period) {
            double xvar = 0.0;
            for (int j = i + period; j < i + 2 * period; j++)
                xvar += dev[j] * dev[j];
            for (int jit = -mj; jit <= mj; jit++) {
                double yv = 0.0, xy = 0.0;
                for (int j = i + period; j < i + 2 * period; j++) {
                    double y = dev[j - period - jit];
                    yv += y * y;
                    xy += y * dev[j];
                }
                yvar_i[mj + jit] = yv;
                xycov_i[mj + jit] = xy;
            }
            /* Greedy: the shift with the largest correlation. */
            for (int s = 0; s < nshift; s++) {
                double z = sqrt(xvar * yvar_i[s]);
                sigma[s] = z == 0.0 ? 1.0 : xycov_i[s] / z;
            }
            int s = argmax(0, nshift, sigma);
            xvar_p[period - 2] += xvar;
            yvar_p[period - 2] += yvar_i[s];
            xycov_p[period - 2] += xycov_i[s];

            /* Proper divisors q (2 <= q < period / 2): same window, the
             * shift of largest covariance within q's own allowance. */
            for (int d = 0; d < nd; d++) {
                int q = divs[d];
                int qj = (int)d2i(p->max_jitter * q);
                int k = argmax(mj - qj, mj + qj + 1, xycov_i);
                xvar_p[q - 2] += xvar;
                yvar_p[q - 2] += yvar_i[k];
                xycov_p[q - 2] += xycov_i[k];
            }
        }

        double z = sqrt(xvar_p[period - 2] * yvar_p[period - 2]);
        ncounts[period - 2] += 1;
        xycov_counts[period - 2] = z == 0.0 ? 1.0 : xycov_p[period - 2] / z;

        /* Autocorrelation at the divisors: running mean over multiples. */
        for (int d = 0; d < nd; d++) {
            int q = divs[d];
            double n = ncounts[q - 2] + 1;
            double zq = sqrt(xvar_p[q - 2] * yvar_p[q - 2]);
            double c = zq == 0.0 ? 1.0 : xycov_p[q - 2] / zq;
            ncounts[q - 2] += 1;
            xycov_counts[q - 2] = ((n - 1) * xycov_counts[q - 2] + c) / n;
        }
    }

    if (corr)
        memcpy(corr, xycov_counts, (size_t)np * sizeof *corr);
    int best = argmax(0, np, xycov_counts);
    *period_out = best + 2;
    return xycov_counts[best];
}

static int count_nonzero(const double *v, int a, int b)
{
    int n = 0;
    for (int i = a; i < b; i++)
        n += v[i] != 0;
    return n;
}

void bw_elastic_reduce(const bw_elastic_params *p, const double *counts, double *src,
                       double *dst, double *work, bw_elastic_stats *out)
{
    int n = p->nbuckets;
    memset(out, 0, sizeof *out);

    for (int i = 0; i < n; i++) {
        if (counts[i] > 0) {
            src[i] /= counts[i];
            dst[i] /= counts[i];
        }
    }

    int a = 0, b = n;
    while (a < n && counts[a] == 0)
        a++;
    while (b > 0 && counts[b - 1] == 0)
        b--;
    int non_empty = count_nonzero(counts, a, b);
    out->interval = b - a;
    out->non_empty = non_empty;
    if (b - a < 2 * p->min_periods || non_empty < p->min_periods + 1)
        return;
    out->full = 1;

    if (count_nonzero(src, a, b) > p->min_periods) {
        double var;
        bw_elastic_truncated(src, n, a, b, p->truncate_at, work, out->pct_src, &out->mean_src,
                             &var);
        out->sd_src = sqrt(var);
        out->low_src = out->sd_src <= p->max_bytes_cov * fabs(out->mean_src);
    }
    if (count_nonzero(dst, a, b) > p->min_periods) {
        double var;
        bw_elastic_truncated(dst, n, a, b, p->truncate_at, work, out->pct_dst, &out->mean_dst,
                             &var);
        out->sd_dst = sqrt(var);
        out->low_dst = out->sd_dst <= p->max_bytes_cov * fabs(out->mean_dst);
    }
    if (non_empty > (int)d2i(p->min_not_empty * (b - a))) {
        bw_elastic_truncated(counts, n, a, b, p->truncate_at, work, out->pct_counts,
                             &out->mean_counts, &out->var_counts);
        out->low_count = sqrt(out->var_counts) <= p->max_count_rv * fabs(out->mean_counts);
    }

    out->autocov = bw_elastic_periodicity(p, counts, a, b, &out->period, work, NULL);
    out->periodic = out->autocov >= p->min_autocov;
    out->is_beaconing = out->low_src || out->low_dst || out->low_count || out->periodic;
    out->score = (out->low_count || out->periodic) + out->low_src + out->low_dst;
}

/* ------------------------------------------------------------------ */
/* State: groups of per-second (or per-bucket) slots.                   */
/* ------------------------------------------------------------------ */

/* Aggregate of the events of one second (now unknown while reading) or of
 * one bucket (now set before reading; sec is then the bucket's newest
 * second). */
typedef struct slot {
    int64_t sec;
    int64_t sb, db;  /* sums of source.bytes / destination.bytes */
    uint32_t count;
    uint32_t frac;   /* largest microsecond fraction within sec */
} slot;

/* A destination IP in the bounded table of 2 x number_destination_ips. */
typedef struct dstip {
    uint64_t count;
    int64_t first, last; /* seconds of the first and last event */
    bw_ip ip;
} dstip;

typedef struct group {
    uint64_t hash;
    const char *host, *proc; /* in the arena, NUL-terminated */
    uint32_t host_len, proc_len;
    int64_t last_us; /* latest event time */
    bw_ip last_src;  /* source.ip of the latest event */
    uint64_t events;
    slot *slots;
    uint32_t nslots, cap;
    int unsorted;
    dstip *ips;
    uint32_t nips, capips; /* grown on demand up to 2 x number_destination_ips */
} group;

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

typedef struct counters {
    uint64_t offered, out_of_scope, no_key, no_time, out_of_window, kept, dropped_cap, pruned;
    uint64_t evicted, sweeps; /* groups let go behind the window; sweeps that did it */
} counters;

typedef struct elastic {
    bw_elastic_params p;
    int group_by;
    int64_t now_s; /* set before reading, or BW_UNSET: latest event time */
    size_t max_groups;
    bw_cidr_list *internal, *reserved, *microsoft;
    bw_name_set *excluded, *special;
    uint64_t k0, k1; /* hash seed */

    group *groups;
    size_t ngroups, capgroups;
    uint32_t *table; /* group index + 1; 0 = empty; open addressing */
    size_t tcap;
    arena_block *arena;

    int64_t max_sec; /* latest second of any record; INT64_MIN before any */
    int64_t horizon; /* slots at or before this second were discarded */
    int64_t sweep_cut; /* cut of the last sweep: no group is newest at or before it */
    size_t last_freed; /* groups the last sweep evicted */
    size_t stale_new;  /* groups created since, already at or behind the cut */
    int64_t *newest;   /* per group: second of its newest event (dense, for sweeps) */
    size_t key_bytes, dead_bytes; /* arena bytes of held / evicted groups' keys */
    size_t peak;       /* most groups held at once */
    counters c;
    uint64_t reported, beaconing;
    int started;
} elastic;

/* SipHash-1-3: group keys are attacker-controlled (host and process names
 * in the logs), so the table's hash is keyed with a random seed. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                   \
    do {                                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                  \
    } while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)len << 56;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8); /* little-endian hosts; the hash is internal */
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t k = 0; i + k < len; k++)
        b |= (uint64_t)in[i + k] << (8 * k);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t key_hash(const elastic *e, const char *h, size_t hn, const char *p, size_t pn)
{
    uint64_t a = siphash13(e->k0, e->k1, h, hn);
    return siphash13(e->k0 ^ a, e->k1 + hn, p, pn);
}

static void seed(elastic *e)
{
    uint64_t k[2] = {0, 0};
    if (getentropy(k, sizeof k) != 0) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        k[0] = (uint64_t)tv.tv_sec * 1000003u ^ (uint64_t)tv.tv_usec;
        k[1] = (uint64_t)(uintptr_t)e ^ ((uint64_t)getpid() << 32);
    }
    e->k0 = k[0];
    e->k1 = k[1];
}

static char *arena_put(elastic *e, const char *s, size_t n)
{
    arena_block *b = e->arena;
    if (!b || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        e->arena = b = nb;
    }
    char *p = b->data + b->used;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    b->used += n + 1;
    return p;
}

/* Frees a list of key arena blocks. */
static void arena_free(arena_block *a)
{
    while (a) {
        arena_block *n = a->next;
        free(a);
        a = n;
    }
}

static void clear_data(elastic *e)
{
    for (size_t i = 0; i < e->ngroups; i++) {
        free(e->groups[i].slots);
        free(e->groups[i].ips);
    }
    free(e->groups);
    free(e->newest);
    free(e->table);
    arena_free(e->arena);
    e->arena = NULL;
    e->groups = NULL;
    e->newest = NULL;
    e->table = NULL;
    e->key_bytes = e->dead_bytes = e->peak = 0;
    e->ngroups = e->capgroups = e->tcap = 0;
    e->max_sec = INT64_MIN;
    e->horizon = INT64_MIN;
    e->sweep_cut = INT64_MIN;
    e->last_freed = e->stale_new = 0;
    memset(&e->c, 0, sizeof e->c);
}

static void destroy(void *st)
{
    elastic *e = st;
    if (!e)
        return;
    clear_data(e);
    bw_cidr_list_free(e->internal);
    bw_cidr_list_free(e->reserved);
    bw_cidr_list_free(e->microsoft);
    bw_name_set_free(e->excluded);
    bw_name_set_free(e->special);
    free(e);
}

static void *create(const char *variant)
{
    (void)variant;
    elastic *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    bw_elastic_params_default(&e->p);
    e->group_by = GB_HOST_PROCESS;
    e->now_s = BW_UNSET;
    e->max_groups = DEFAULT_MAX_GROUPS;
    e->max_sec = e->horizon = e->sweep_cut = INT64_MIN;
    seed(e);
    e->internal = bw_cidr_list_new();
    e->reserved = bw_cidr_list_new();
    e->microsoft = bw_cidr_list_new();
    e->excluded = bw_name_set_new();
    e->special = bw_name_set_new();
    if (!e->internal || !e->reserved || !e->microsoft || !e->excluded || !e->special ||
        bw_cidr_list_add_list(e->internal, BW_LIST_RFC1918) ||
        bw_cidr_list_add_list(e->reserved, BW_LIST_ELASTIC_RESERVED) ||
        bw_cidr_list_add_list(e->microsoft, BW_LIST_ELASTIC_MICROSOFT) ||
        bw_name_set_add_list(e->excluded, BW_LIST_ELASTIC_EXCLUDED) ||
        bw_name_set_add_list(e->special, BW_LIST_ELASTIC_SPECIAL)) {
        destroy(e);
        return NULL;
    }
    return e;
}

static void *clone_state(const void *st)
{
    const elastic *s = st;
    elastic *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->p = s->p;
    e->group_by = s->group_by;
    e->now_s = s->now_s;
    e->max_groups = s->max_groups;
    e->k0 = s->k0;
    e->k1 = s->k1;
    e->max_sec = e->horizon = e->sweep_cut = INT64_MIN;
    e->internal = bw_cidr_list_dup(s->internal);
    e->reserved = bw_cidr_list_dup(s->reserved);
    e->microsoft = bw_cidr_list_dup(s->microsoft);
    e->excluded = bw_name_set_dup(s->excluded);
    e->special = bw_name_set_dup(s->special);
    if (!e->internal || !e->reserved || !e->microsoft || !e->excluded || !e->special) {
        destroy(e);
        return NULL;
    }
    return e;
}

/* ---- parameters ---- */

static int parse_double(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end == ' ')
        end++;
    if (end == v || *end || errno || !(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

static int parse_long(const char *v, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long d = strtoll(v, &end, 10);
    if (end == v || *end || errno || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

/* Seconds with an optional unit: "60", "60s", "5m", "1h". */
static int parse_seconds(const char *v, long long lo, long long hi, long long *out)
{
    char buf[32];
    size_t n = strlen(v);
    long long mul = 1;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n + 1);
    switch (buf[n - 1]) {
    case 's': mul = 1; buf[--n] = 0; break;
    case 'm': mul = 60; buf[--n] = 0; break;
    case 'h': mul = 3600; buf[--n] = 0; break;
    default: break;
    }
    long long x;
    if (parse_long(buf, 1, hi, &x) || x * mul < lo || x * mul > hi)
        return -1;
    *out = x * mul;
    return 0;
}

/* Replaces one of the filter lists by the content of a list file
 * (config/lists/<name>.txt format: one entry a line, # comments). */
static int set_list_file(elastic *e, const char *key, const char *path, bw_errbuf *eb)
{
    int err = 0;
    char *text = NULL;
    size_t n = 0, cap = 0;
    bw_name_set *names = NULL;
    bw_cidr_list *ranges = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return bw_errf(eb, BW_ERR_IO, "elastic.%s: %s: %s", key, path, strerror(errno));
    for (;;) {
        if (n + 4096 > cap) {
            if (cap >= (size_t)16 << 20) {
                err = bw_errf(eb, BW_ERR_LIMIT, "elastic.%s: %s: larger than 16 MiB", key, path);
                goto out;
            }
            char *t = realloc(text, cap = cap ? 2 * cap : 65536);
            if (!t) {
                err = bw_errf(eb, BW_ERR_NOMEM, "elastic.%s: out of memory", key);
                goto out;
            }
            text = t;
        }
        size_t k = fread(text + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        err = bw_errf(eb, BW_ERR_IO, "elastic.%s: %s: read error", key, path);
        goto out;
    }
    if (strstr(key, "processes")) {
        if (!(names = bw_name_set_new())) {
            err = bw_errf(eb, BW_ERR_NOMEM, "elastic.%s: out of memory", key);
            goto out;
        }
        if ((err = bw_name_set_parse(names, text, n, path, eb)) != 0)
            goto out;
        bw_name_set **dst = key[0] == 'e' ? &e->excluded : &e->special;
        bw_name_set_free(*dst);
        *dst = names;
        names = NULL;
    } else {
        if (!(ranges = bw_cidr_list_new())) {
            err = bw_errf(eb, BW_ERR_NOMEM, "elastic.%s: out of memory", key);
            goto out;
        }
        if ((err = bw_cidr_list_parse(ranges, text, n, path, eb)) != 0)
            goto out;
        bw_cidr_list **dst = key[0] == 'r' ? &e->reserved : &e->microsoft;
        bw_cidr_list_free(*dst);
        *dst = ranges;
        ranges = NULL;
    }
out:
    fclose(f);
    free(text);
    bw_name_set_free(names);
    bw_cidr_list_free(ranges);
    return err;
}

static int set(void *st, const char *key, const char *value, bw_errbuf *eb)
{
    elastic *e = st;
    long long l;
    double d;
    if (e->started)
        return bw_errf(eb, BW_ERR_USAGE, "elastic.%s: parameters must be set before the "
                       "first record", key);
    if (!strcmp(key, "time_bucket_length")) {
        if (parse_seconds(value, 1, 86400, &l))
            goto bad;
        e->p.bucket_len = (int)l;
    } else if (!strcmp(key, "number_buckets_in_range")) {
        if (parse_long(value, 2, MAX_BUCKETS, &l))
            goto bad;
        e->p.nbuckets = (int)l;
    } else if (!strcmp(key, "min_number_periods")) {
        if (parse_long(value, 1, MAX_BUCKETS, &l))
            goto bad;
        e->p.min_periods = (int)l;
    } else if (!strcmp(key, "min_not_empty")) {
        if (parse_double(value, 0, 1, &d))
            goto bad;
        e->p.min_not_empty = d;
    } else if (!strcmp(key, "max_beaconing_bytes_cov")) {
        if (parse_double(value, 0, 1e9, &d))
            goto bad;
        e->p.max_bytes_cov = d;
    } else if (!strcmp(key, "max_beaconing_count_rv")) {
        if (parse_double(value, 0, 1e9, &d))
            goto bad;
        e->p.max_count_rv = d;
    } else if (!strcmp(key, "min_beaconing_count_autocovariance")) {
        if (parse_double(value, -1, 1, &d))
            goto bad;
        e->p.min_autocov = d;
    } else if (!strcmp(key, "max_jitter")) {
        if (parse_double(value, 0, 1, &d))
            goto bad;
        e->p.max_jitter = d;
    } else if (!strcmp(key, "number_destination_ips")) {
        if (parse_long(value, 1, MAX_DEST, &l))
            goto bad;
        e->p.ndest = (int)l;
    } else if (!strcmp(key, "max_groups")) {
        if (parse_long(value, 1, 100000000, &l))
            goto bad;
        e->max_groups = (size_t)l;
    } else if (!strcmp(key, "truncate_at")) {
        char buf[64];
        size_t n = strlen(value);
        if (n >= sizeof buf)
            goto bad;
        memcpy(buf, value, n + 1);
        char *s = buf, *comma;
        while (*s == ' ' || *s == '[')
            s++;
        if (n && (buf[n - 1] == ']'))
            buf[n - 1] = 0;
        if (!(comma = strchr(s, ',')))
            goto bad;
        *comma = 0;
        double lo, hi;
        while (comma[1] == ' ')
            comma++;
        if (parse_double(s, 0, 1, &lo) || parse_double(comma + 1, 0, 1, &hi) || lo > hi)
            goto bad;
        e->p.truncate_at[0] = lo;
        e->p.truncate_at[1] = hi;
    } else if (!strcmp(key, "group_by")) {
        int k;
        for (k = 0; k < 4 && strcmp(value, group_by_names[k]); k++) {
        }
        if (k == 4)
            goto bad;
        e->group_by = k;
    } else if (!strcmp(key, "internal")) {
        bw_cidr_list *l2 = bw_cidr_list_new();
        bw_errbuf sub;
        if (!l2)
            return bw_errf(eb, BW_ERR_NOMEM, "elastic.internal: out of memory");
        int err = bw_cidr_list_parse(l2, value, strlen(value), "elastic.internal", &sub);
        if (err || !bw_cidr_list_count(l2)) {
            bw_cidr_list_free(l2);
            if (err == BW_ERR_NOMEM)
                return bw_errf(eb, err, "elastic.internal: out of memory");
            return bw_errf(eb, BW_ERR_CONFIG, "elastic.internal = '%.100s': expected a "
                           "comma-separated list of CIDRs, e.g. "
                           "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16", value);
        }
        bw_cidr_list_free(e->internal);
        e->internal = l2;
    } else if (!strcmp(key, "excluded_processes_file") || !strcmp(key, "special_processes_file") ||
               !strcmp(key, "reserved_ranges_file") || !strcmp(key, "microsoft_ranges_file")) {
        return set_list_file(e, key, value, eb);
    } else if (!strcmp(key, "now")) {
        int64_t us;
        if (!strcmp(value, "auto") || !strcmp(value, "")) {
            e->now_s = BW_UNSET;
        } else if (parse_long(value, 0, 253402300799LL, &l) == 0) {
            e->now_s = l;
        } else if (bw_time_parse(value, strlen(value), &us) == 0) {
            e->now_s = bw_elastic_floor_sec(us);
        } else {
            goto bad;
        }
    } else {
        return bw_errf(eb, BW_ERR_CONFIG, "elastic: unknown parameter '%.100s' (known: "
                       "time_bucket_length, number_buckets_in_range, min_number_periods, "
                       "min_not_empty, max_beaconing_bytes_cov, max_beaconing_count_rv, "
                       "truncate_at, min_beaconing_count_autocovariance, max_jitter, "
                       "number_destination_ips, group_by, internal, max_groups, now, "
                       "excluded_processes_file, special_processes_file, "
                       "reserved_ranges_file, microsoft_ranges_file)", key);
    }
    return 0;

bad:;
    static const struct {
        const char *key, *accepted;
    } help[] = {
        {"time_bucket_length", "seconds 1..86400, optionally with s, m or h"},
        {"number_buckets_in_range", "an integer 2..100000"},
        {"min_number_periods", "an integer >= 1"},
        {"min_not_empty", "a number 0..1"},
        {"max_beaconing_bytes_cov", "a number >= 0"},
        {"max_beaconing_count_rv", "a number >= 0"},
        {"min_beaconing_count_autocovariance", "a number -1..1"},
        {"max_jitter", "a number 0..1 (fraction of the period)"},
        {"number_destination_ips", "an integer 1..1000"},
        {"max_groups", "an integer 1..100000000"},
        {"truncate_at", "two numbers 0..1, low,high, e.g. 0.1,0.8"},
        {"group_by", "host_process, src_dst_port, src_dst or src"},
        {"now", "auto, epoch seconds or an RFC 3339 time"},
    };
    const char *acc = "a valid value";
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
        if (!strcmp(help[i].key, key))
            acc = help[i].accepted;
    return bw_errf(eb, BW_ERR_CONFIG, "elastic.%s = '%.100s': expected %s", key, value, acc);
}

/* Shortest decimal text that reads back as the same double ("0.1", not
 * "0.10000000000000001"); integral values keep a ".0" as JSON floats. */
static int fmt_double(char *buf, size_t cap, double v)
{
    if (!isfinite(v))
        return snprintf(buf, cap, "null");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (n > 0 && (size_t)n + 2 < cap && !strpbrk(buf, ".eEn")) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}

static size_t params(const void *st, char *buf, size_t cap)
{
    const elastic *e = st;
    char lo[32], hi[32], a[32], b[32], c[32], d[32], f[32], now[40];
    char internal[1024];
    fmt_double(lo, sizeof lo, e->p.truncate_at[0]);
    fmt_double(hi, sizeof hi, e->p.truncate_at[1]);
    fmt_double(a, sizeof a, e->p.min_not_empty);
    fmt_double(b, sizeof b, e->p.max_bytes_cov);
    fmt_double(c, sizeof c, e->p.max_count_rv);
    fmt_double(d, sizeof d, e->p.min_autocov);
    fmt_double(f, sizeof f, e->p.max_jitter);
    if (e->now_s == BW_UNSET)
        snprintf(now, sizeof now, "auto");
    else
        snprintf(now, sizeof now, "%lld", (long long)e->now_s);
    bw_cidr_list_format(e->internal, internal, sizeof internal);
    int n = snprintf(buf, cap,
                     "time_bucket_length = %d\n"
                     "number_buckets_in_range = %d\n"
                     "min_number_periods = %d\n"
                     "min_not_empty = %s\n"
                     "max_beaconing_bytes_cov = %s\n"
                     "max_beaconing_count_rv = %s\n"
                     "truncate_at = %s,%s\n"
                     "min_beaconing_count_autocovariance = %s\n"
                     "max_jitter = %s\n"
                     "number_destination_ips = %d\n"
                     "group_by = %s\n"
                     "internal = %s\n"
                     "max_groups = %zu\n"
                     "now = %s\n"
                     "# lists: %zu excluded processes, %zu special processes, %zu reserved "
                     "ranges, %zu Microsoft ranges\n",
                     e->p.bucket_len, e->p.nbuckets, e->p.min_periods, a, b, c, lo, hi, d, f,
                     e->p.ndest, group_by_names[e->group_by], internal, e->max_groups, now,
                     bw_name_set_count(e->excluded), bw_name_set_count(e->special),
                     bw_cidr_list_count(e->reserved), bw_cidr_list_count(e->microsoft));
    return n < 0 ? 0 : (size_t)n;
}

/* ---- map ---- */

/* event.category contains the term "network" (flag from the reader, or the
 * text itself: "network" or a JSON array holding it). */
static int category_network(const bw_record *r)
{
    if (r->flags & BW_REC_CAT_NETWORK)
        return 1;
    const char *p = r->event_category.p;
    size_t n = r->event_category.n;
    for (size_t i = 0; i + 7 <= n; i++) {
        if (memcmp(p + i, "network", 7) != 0)
            continue;
        int lb = i == 0 || p[i - 1] == '"' || p[i - 1] == '[' || p[i - 1] == ',' ||
                 p[i - 1] == ' ';
        int rb = i + 7 == n || p[i + 7] == '"' || p[i + 7] == ']' || p[i + 7] == ',' ||
                 p[i + 7] == ' ';
        if (lb && rb)
            return 1;
    }
    return 0;
}

/* The transform's source query, minus the time range. */
static int in_scope(const elastic *e, const bw_record *r)
{
    int sessions = e->group_by != GB_HOST_PROCESS; /* logs without actions */
    if (!category_network(r) && !(sessions && r->event_category.n == 0))
        return 0;
    if (r->event_action.n == 0) {
        if (!sessions)
            return 0;
    } else if (r->event_action.n != 19 ||
               memcmp(r->event_action.p, "disconnect_received", 19) != 0) {
        return 0;
    }
    if (!r->dst_ip.family)
        return 0;
    const char *pn = r->process_name.p;
    size_t pl = r->process_name.n;
    if (pl && bw_name_set_has(e->excluded, pn, pl))
        return 0;
    if (bw_cidr_list_contains(e->reserved, &r->dst_ip))
        return 0;
    if (bw_cidr_list_contains(e->internal, &r->src_ip))
        return 1; /* condition (a) */
    return pl && bw_name_set_has(e->special, pn, pl) &&
           !bw_cidr_list_contains(e->microsoft, &r->dst_ip); /* condition (b) */
}

/* The group key of a record: (host.name, process.name), or for session
 * logs the source address and a destination label. Returns 0 or -1 when
 * the record has no key. */
static int make_key(const elastic *e, const bw_record *r, char *hbuf, char *pbuf,
                    bw_str *host, bw_str *proc)
{
    if (e->group_by == GB_HOST_PROCESS) {
        *host = r->host_name;
        *proc = r->process_name;
        if (!host->n || !proc->n || host->n > MAX_KEY_PART || proc->n > MAX_KEY_PART)
            return -1;
        return 0;
    }
    if (!r->src_ip.family)
        return -1;
    host->n = bw_ip_format(&r->src_ip, hbuf);
    host->p = hbuf;
    char ip[BW_IP_STRLEN];
    size_t n = bw_ip_format(&r->dst_ip, ip);
    int k;
    switch (e->group_by) {
    case GB_SRC_DST_PORT:
        if (r->dst_port < 0)
            k = snprintf(pbuf, BW_IP_STRLEN + 16, "%s", ip);
        else if (r->dst_ip.family == 6)
            k = snprintf(pbuf, BW_IP_STRLEN + 16, "[%s]:%d", ip, (int)r->dst_port);
        else
            k = snprintf(pbuf, BW_IP_STRLEN + 16, "%s:%d", ip, (int)r->dst_port);
        break;
    case GB_SRC_DST:
        k = snprintf(pbuf, BW_IP_STRLEN + 16, "%.*s", (int)n, ip);
        break;
    default:
        k = snprintf(pbuf, BW_IP_STRLEN + 16, "*");
        break;
    }
    proc->p = pbuf;
    proc->n = k > 0 ? (size_t)k : 0;
    return 0;
}

/* Indexes every group in t (cap slots, zeroed). */
static void table_fill(const elastic *e, uint32_t *t, size_t cap)
{
    for (size_t i = 0; i < e->ngroups; i++) {
        size_t at = e->groups[i].hash & (cap - 1);
        while (t[at])
            at = (at + 1) & (cap - 1);
        t[at] = (uint32_t)i + 1;
    }
}

static int table_grow(elastic *e)
{
    size_t cap = e->tcap ? 2 * e->tcap : 1024;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return BW_ERR_NOMEM;
    table_fill(e, t, cap);
    free(e->table);
    e->table = t;
    e->tcap = cap;
    return 0;
}

static int64_t window_s(const elastic *e)
{
    return (int64_t)e->p.bucket_len * e->p.nbuckets;
}

/* Removes group idx from the table: backward-shift deletion, so that
 * linear probing needs no tombstones. */
static void table_remove(elastic *e, size_t idx)
{
    size_t mask = e->tcap - 1, hole = e->groups[idx].hash & mask;
    while (e->table[hole] != idx + 1)
        hole = (hole + 1) & mask;
    for (size_t j = (hole + 1) & mask; e->table[j]; j = (j + 1) & mask) {
        size_t home = e->groups[e->table[j] - 1].hash & mask;
        /* The entry at j may fill the hole unless its home lies in (hole, j]. */
        int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            e->table[hole] = e->table[j];
            hole = j;
        }
    }
    e->table[hole] = 0;
}

/* Copies the keys of the groups held into one new block and frees the old
 * blocks (when the block cannot be had, the old ones stay). */
static void arena_compact(elastic *e)
{
    size_t keep = 0;
    for (size_t i = 0; i < e->ngroups; i++)
        keep += (size_t)e->groups[i].host_len + e->groups[i].proc_len + 2;
    arena_block *nb = keep ? malloc(sizeof *nb + keep) : NULL;
    if (keep && !nb)
        return;
    if (nb) {
        nb->next = NULL;
        nb->used = 0;
        nb->cap = keep;
        for (size_t i = 0; i < e->ngroups; i++) {
            group *g = &e->groups[i];
            char *h = nb->data + nb->used;
            memcpy(h, g->host, (size_t)g->host_len + 1);
            nb->used += (size_t)g->host_len + 1;
            char *p = nb->data + nb->used;
            memcpy(p, g->proc, (size_t)g->proc_len + 1);
            nb->used += (size_t)g->proc_len + 1;
            g->host = h;
            g->proc = p;
        }
    }
    arena_free(e->arena);
    e->arena = nb;
    e->key_bytes = keep;
    e->dead_bytes = 0;
}

/* Auto-now mode: lets go of every group whose newest event is at or before
 * cut = max_sec - window. The run's now is at least max_sec, and a second s
 * counts only when now - window < s <= now, so nothing of such a group can
 * ever count again (a worker's max_sec is a lower bound of the input's, so
 * each worker may sweep on its own). Its slots and IPs are freed, its place
 * in the array is taken by the last group, and its key's bytes are
 * reclaimed once dead keys outweigh live ones: memory follows the groups
 * alive in the window, not all groups ever seen. Cost: a scan of the dense
 * newest[] array plus constant work per evicted group. */
static void sweep(elastic *e, int64_t cut)
{
    size_t before = e->ngroups, i = 0;
    while (i < e->ngroups) {
        if (e->newest[i] > cut) {
            i++;
            continue;
        }
        group *g = &e->groups[i];
        for (uint32_t k = 0; k < g->nslots; k++)
            e->c.pruned += g->slots[k].count;
        if (e->newest[i] > e->horizon)
            e->horizon = e->newest[i];
        free(g->slots);
        free(g->ips);
        size_t kb = (size_t)g->host_len + g->proc_len + 2;
        e->key_bytes -= kb;
        e->dead_bytes += kb;
        table_remove(e, i);
        size_t last = e->ngroups - 1;
        if (i != last) {
            e->groups[i] = e->groups[last];
            e->newest[i] = e->newest[last];
            size_t mask = e->tcap - 1, at = e->groups[i].hash & mask;
            while (e->table[at] != last + 1)
                at = (at + 1) & mask;
            e->table[at] = (uint32_t)i + 1;
        }
        e->ngroups--;
        e->c.evicted++;
    }
    e->last_freed = before - e->ngroups;
    if (e->dead_bytes > e->key_bytes && e->dead_bytes > ((size_t)1 << 20))
        arena_compact(e);
    e->sweep_cut = cut;
    e->stale_new = 0;
    e->c.sweeps++;
}

/* The group of (host, proc), created when missing (newest: the second of
 * the newest event it is created for). *g = NULL when the group cap is
 * reached. Creating a group may first sweep (auto-now mode). */
static int find_group(elastic *e, const char *h, size_t hn, const char *p, size_t pn,
                      int64_t newest, group **g)
{
    uint64_t hash = key_hash(e, h, hn, p, pn);
    *g = NULL;
    if (e->tcap) {
        size_t at = hash & (e->tcap - 1);
        while (e->table[at]) {
            group *c = &e->groups[e->table[at] - 1];
            if (c->hash == hash && c->host_len == hn && c->proc_len == pn &&
                !memcmp(c->host, h, hn) && !memcmp(c->proc, p, pn)) {
                *g = c;
                return 0;
            }
            at = (at + 1) & (e->tcap - 1);
        }
    }
    int64_t cut = INT64_MIN;
    if (e->now_s == BW_UNSET && e->max_sec != INT64_MIN) {
        cut = e->max_sec - window_s(e);
        /* Sweep when the table would grow or the cap is reached, and only
         * if something may be evictable: the cut moved since the last
         * sweep, or a group was created already behind it (every other
         * group is newer than the last sweep's cut). At the cap, a sweep
         * that would free little is repeated at most once per bucket of
         * data time, so a cap full of live groups costs no sweep per
         * record.
         * Only where the key fixes the destination IP (src_dst_port,
         * src_dst) is an evicted group that comes back exactly the same as
         * one that was kept: elsewhere its destination-IP table (bounded,
         * counts since the entry was made, see count_ip) would have carried
         * on, so there the sweep waits for the cap, where the other choice
         * is to drop records. */
        int one_ip = e->group_by == GB_SRC_DST_PORT || e->group_by == GB_SRC_DST;
        int full = e->ngroups >= e->max_groups;
        int grow = one_ip && (e->ngroups + 1) * 2 > e->tcap;
        if (e->ngroups && (cut > e->sweep_cut || e->stale_new) && (grow || full) &&
            (!full || e->sweep_cut == INT64_MIN || e->last_freed >= e->max_groups / 16 ||
             e->stale_new >= e->max_groups / 16 || cut - e->sweep_cut >= e->p.bucket_len)) {
            sweep(e, cut);
            /* Freed less than half the table: grow anyway, so the next
             * sweep comes after as many new groups as this one scanned. */
            if ((e->ngroups + 1) * 4 > e->tcap && e->tcap < 4 * (size_t)e->max_groups &&
                table_grow(e))
                return BW_ERR_NOMEM;
        }
    }
    if (e->ngroups >= e->max_groups)
        return 0;
    if ((e->ngroups + 1) * 2 > e->tcap && table_grow(e))
        return BW_ERR_NOMEM;
    if (e->ngroups == e->capgroups) {
        size_t cap = e->capgroups ? 2 * e->capgroups : 256;
        group *ng = realloc(e->groups, cap * sizeof *ng);
        if (!ng)
            return BW_ERR_NOMEM;
        e->groups = ng;
        int64_t *nn = realloc(e->newest, cap * sizeof *nn);
        if (!nn)
            return BW_ERR_NOMEM;
        e->newest = nn;
        e->capgroups = cap;
    }
    group *c = &e->groups[e->ngroups];
    memset(c, 0, sizeof *c);
    c->hash = hash;
    c->host = arena_put(e, h, hn);
    c->proc = arena_put(e, p, pn);
    if (!c->host || !c->proc)
        return BW_ERR_NOMEM;
    c->host_len = (uint32_t)hn;
    c->proc_len = (uint32_t)pn;
    c->last_us = INT64_MIN;
    size_t at = hash & (e->tcap - 1);
    while (e->table[at])
        at = (at + 1) & (e->tcap - 1);
    e->table[at] = (uint32_t)e->ngroups + 1;
    e->newest[e->ngroups] = newest;
    e->key_bytes += hn + pn + 2;
    e->ngroups++;
    if (e->ngroups > e->peak)
        e->peak = e->ngroups;
    if (newest <= cut)
        e->stale_new++; /* evictable at once; held in case the run's now is earlier */
    *g = c;
    return 0;
}

static int cmp_slot(const void *a, const void *b)
{
    int64_t x = ((const slot *)a)->sec, y = ((const slot *)b)->sec;
    return x < y ? -1 : x > y;
}

static void slot_add(slot *into, const slot *s)
{
    into->count += s->count;
    into->sb += s->sb;
    into->db += s->db;
    if (s->frac > into->frac)
        into->frac = s->frac;
}

/* Sorts and coalesces a group's slots; in auto-now mode, when the group
 * holds more distinct seconds than a window, discards those that can no
 * longer fall in the window of any now >= the latest time seen. */
static void compact(elastic *e, group *g)
{
    if (g->unsorted)
        qsort(g->slots, g->nslots, sizeof *g->slots, cmp_slot);
    g->unsorted = 0;
    uint32_t w = 0;
    for (uint32_t i = 0; i < g->nslots; i++) {
        if (w && g->slots[w - 1].sec == g->slots[i].sec)
            slot_add(&g->slots[w - 1], &g->slots[i]);
        else
            g->slots[w++] = g->slots[i];
    }
    g->nslots = w;
    int64_t window = (int64_t)e->p.bucket_len * e->p.nbuckets;
    if (e->now_s == BW_UNSET && g->nslots > window + 1) {
        int64_t cut = e->max_sec - window;
        uint32_t k = 0;
        while (k < g->nslots && g->slots[k].sec <= cut) {
            e->c.pruned += g->slots[k].count;
            k++;
        }
        memmove(g->slots, g->slots + k, (g->nslots - k) * sizeof *g->slots);
        g->nslots -= k;
        if (cut > e->horizon)
            e->horizon = cut;
    }
}

static int push_slot(elastic *e, group *g, const slot *s)
{
    if (g->nslots) {
        slot *last = &g->slots[g->nslots - 1];
        if (last->sec == s->sec) {
            slot_add(last, s);
            return 0;
        }
    }
    if (g->nslots == g->cap) {
        if (g->cap)
            compact(e, g);
        if (g->nslots + 1 > g->cap / 2 || !g->cap) {
            uint32_t cap = g->cap ? 2 * g->cap : 1; /* most groups hold one or two */
            slot *ns = realloc(g->slots, cap * sizeof *ns);
            if (!ns)
                return BW_ERR_NOMEM;
            g->slots = ns;
            g->cap = cap;
        }
        if (g->nslots) {
            slot *last = &g->slots[g->nslots - 1];
            if (last->sec == s->sec) {
                slot_add(last, s);
                return 0;
            }
        }
    }
    if (g->nslots && s->sec < g->slots[g->nslots - 1].sec)
        g->unsorted = 1;
    g->slots[g->nslots++] = *s;
    return 0;
}

static int ip_cmp(const bw_ip *a, const bw_ip *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->a, b->a, 16);
}

/* The transform's bounded destination-IP map: count a known IP; add a new
 * one while fewer than 2N; else replace the entry with the smallest count
 * (first in table order) by the new IP with that count + 1. In auto-now
 * mode an entry last seen a whole window before the latest time can never
 * count, so it is replaced first. */
static int count_ip(elastic *e, group *g, const bw_ip *ip, int64_t sec)
{
    uint32_t cap = 2 * (uint32_t)e->p.ndest;
    for (uint32_t i = 0; i < g->nips; i++) {
        dstip *d = &g->ips[i];
        if (d->ip.family == ip->family && !memcmp(d->ip.a, ip->a, 16)) {
            d->count++;
            if (sec < d->first)
                d->first = sec;
            if (sec > d->last)
                d->last = sec;
            return 0;
        }
    }
    if (g->nips == g->capips && g->capips < cap) {
        /* Most groups see one or two addresses: grow, don't preallocate. */
        uint32_t nc = g->capips ? 2 * g->capips : 1;
        dstip *ni = realloc(g->ips, (nc < cap ? nc : cap) * sizeof *ni);
        if (!ni)
            return BW_ERR_NOMEM;
        g->ips = ni;
        g->capips = nc < cap ? nc : cap;
    }
    if (g->nips < cap) {
        dstip *d = &g->ips[g->nips++];
        d->ip = *ip;
        d->count = 1;
        d->first = d->last = sec;
        return 0;
    }
    uint32_t victim = 0;
    uint64_t add = 1;
    int stale = 0;
    if (e->now_s == BW_UNSET) {
        int64_t cut = e->max_sec - (int64_t)e->p.bucket_len * e->p.nbuckets;
        for (uint32_t i = 0; i < g->nips && !stale; i++) {
            if (g->ips[i].last <= cut) {
                victim = i;
                stale = 1;
                if (cut > e->horizon)
                    e->horizon = cut;
            }
        }
    }
    if (!stale) {
        for (uint32_t i = 1; i < g->nips; i++)
            if (g->ips[i].count < g->ips[victim].count)
                victim = i;
        add = g->ips[victim].count + 1;
    }
    dstip *d = &g->ips[victim];
    d->ip = *ip;
    d->count = add;
    d->first = d->last = sec;
    return 0;
}

static int add(void *st, const bw_record *r)
{
    elastic *e = st;
    char hbuf[BW_IP_STRLEN], pbuf[BW_IP_STRLEN + 16];
    bw_str host, proc;
    e->started = 1;
    e->c.offered++;
    if (r->ts_us != BW_UNSET && e->now_s == BW_UNSET) {
        /* now = the end of the input: the latest time of any record. */
        int64_t t = bw_elastic_floor_sec(r->ts_us);
        if (t > e->max_sec)
            e->max_sec = t;
    }
    if (!in_scope(e, r)) {
        e->c.out_of_scope++;
        return 0;
    }
    if (make_key(e, r, hbuf, pbuf, &host, &proc) != 0) {
        e->c.no_key++;
        return 0;
    }
    if (r->ts_us == BW_UNSET) {
        e->c.no_time++;
        return 0;
    }
    int64_t sec = bw_elastic_floor_sec(r->ts_us);
    slot s;
    s.sec = sec;
    s.count = 1;
    s.sb = r->src_bytes == BW_UNSET ? 0 : r->src_bytes;
    s.db = r->dst_bytes == BW_UNSET ? 0 : r->dst_bytes;
    s.frac = (uint32_t)(r->ts_us - sec * 1000000);
    if (e->now_s != BW_UNSET) {
        int b = bw_elastic_bucket(e->now_s, r->ts_us, e->p.bucket_len, e->p.nbuckets);
        if (b < 0) {
            e->c.out_of_window++;
            return 0;
        }
        s.sec = e->now_s - (int64_t)b * e->p.bucket_len;
    }
    group *g;
    int err = find_group(e, host.p, host.n, proc.p, proc.n, sec, &g);
    if (err)
        return err;
    if (!g) {
        e->c.dropped_cap++;
        return 0;
    }
    if ((err = push_slot(e, g, &s)) != 0 || (err = count_ip(e, g, &r->dst_ip, sec)) != 0)
        return err;
    g->events++;
    e->c.kept++;
    if (r->ts_us > g->last_us) {
        g->last_us = r->ts_us;
        g->last_src = r->src_ip;
        e->newest[g - e->groups] = sec;
    }
    return 0;
}

/* ---- merge ---- */

static int cmp_ip_rank(const void *a, const void *b)
{
    const dstip *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return ip_cmp(&x->ip, &y->ip);
}

/* Adds from's destination IPs to into's: counts of the same IP add up; of
 * the union the 2N most counted stay (exact while the union has <= 2N). */
static int merge_ips(elastic *e, group *into, const group *from)
{
    uint32_t cap = 2 * (uint32_t)e->p.ndest;
    dstip *u = malloc((into->nips + from->nips) * sizeof *u + 1);
    if (!u)
        return BW_ERR_NOMEM;
    uint32_t n = into->nips;
    if (n)
        memcpy(u, into->ips, n * sizeof *u);
    for (uint32_t i = 0; i < from->nips; i++) {
        const dstip *f = &from->ips[i];
        uint32_t k;
        for (k = 0; k < n; k++)
            if (!ip_cmp(&u[k].ip, &f->ip))
                break;
        if (k < n) {
            u[k].count += f->count;
            if (f->first < u[k].first)
                u[k].first = f->first;
            if (f->last > u[k].last)
                u[k].last = f->last;
        } else {
            u[n++] = *f;
        }
    }
    if (n > cap) {
        qsort(u, n, sizeof *u, cmp_ip_rank);
        n = cap;
    }
    if (into->capips < n) {
        dstip *ni = realloc(into->ips, n * sizeof *ni);
        if (!ni) {
            free(u);
            return BW_ERR_NOMEM;
        }
        into->ips = ni;
        into->capips = n;
    }
    if (n)
        memcpy(into->ips, u, n * sizeof *u);
    into->nips = n;
    free(u);
    return 0;
}

static int merge(void *into_, void *from_, bw_errbuf *eb)
{
    elastic *into = into_, *from = from_;
    int err = 0;
    if (from->p.nbuckets != into->p.nbuckets || from->p.bucket_len != into->p.bucket_len ||
        from->group_by != into->group_by || from->now_s != into->now_s ||
        from->p.ndest != into->p.ndest)
        return bw_errf(eb, BW_ERR_USAGE, "elastic: merging instances with different "
                       "parameters");
    if (from->max_sec > into->max_sec)
        into->max_sec = from->max_sec;
    if (from->horizon > into->horizon)
        into->horizon = from->horizon;
    into->started |= from->started;
    /* Where eviction is invisible (one destination per group), let go of
     * what the merged latest time puts a window behind before adding, on
     * both sides, so the merge does not hold dead groups. */
    int64_t cut = INT64_MIN;
    if (into->now_s == BW_UNSET && into->max_sec != INT64_MIN &&
        (into->group_by == GB_SRC_DST_PORT || into->group_by == GB_SRC_DST)) {
        cut = into->max_sec - window_s(into);
        if (into->ngroups && (cut > into->sweep_cut || into->stale_new))
            sweep(into, cut);
    }
    for (size_t i = 0; i < from->ngroups; i++) {
        group *f = &from->groups[i], *g;
        int64_t newest = from->newest[i];
        if (newest <= cut) {
            for (uint32_t k = 0; k < f->nslots; k++)
                into->c.pruned += f->slots[k].count;
            if (newest > into->horizon)
                into->horizon = newest;
            into->c.evicted++;
            continue;
        }
        if ((err = find_group(into, f->host, f->host_len, f->proc, f->proc_len,
                              bw_elastic_floor_sec(f->last_us), &g)) != 0)
            goto out;
        if (!g) {
            into->c.dropped_cap += f->events;
            from->c.kept -= f->events;
            continue;
        }
        for (uint32_t k = 0; k < f->nslots; k++)
            if ((err = push_slot(into, g, &f->slots[k])) != 0)
                goto out;
        if ((err = merge_ips(into, g, f)) != 0)
            goto out;
        g->events += f->events;
        if (f->last_us > g->last_us) {
            g->last_us = f->last_us;
            g->last_src = f->last_src;
            into->newest[g - into->groups] = bw_elastic_floor_sec(f->last_us);
        }
    }
    into->c.offered += from->c.offered;
    into->c.out_of_scope += from->c.out_of_scope;
    into->c.no_key += from->c.no_key;
    into->c.no_time += from->c.no_time;
    into->c.out_of_window += from->c.out_of_window;
    into->c.kept += from->c.kept;
    into->c.dropped_cap += from->c.dropped_cap;
    into->c.pruned += from->c.pruned;
    into->c.evicted += from->c.evicted;
    if (from->peak > into->peak)
        into->peak = from->peak;
    into->c.sweeps += from->c.sweeps;
out:
    clear_data(from);
    if (err)
        return bw_errf(eb, err, "elastic: out of memory while merging");
    return 0;
}

/* ---- finish: reduce each group and write its document ---- */

static void sb_double(bw_sbuf *b, double v)
{
    char t[40];
    int n = fmt_double(t, sizeof t, v);
    bw_sbuf_put(b, t, n > 0 ? (size_t)n : 0);
}

static void sb_int(bw_sbuf *b, long long v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", v);
    bw_sbuf_put(b, t, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD. */
static void sb_str(bw_sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    bw_sbuf_put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
            run++;
        bw_sbuf_put(b, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            bw_sbuf_put(b, t, 2);
            i++;
        } else if (c < 0x20) {
            char t[8];
            snprintf(t, sizeof t, "\\u%04x", c);
            bw_sbuf_put(b, t, 6);
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l) {
                bw_sbuf_put(b, s + i, l);
                i += l;
            } else {
                bw_sbuf_cat(b, "\\ufffd");
                i++;
            }
        }
    }
    bw_sbuf_put(b, "\"", 1);
}

static void sb_bool(bw_sbuf *b, const char *key, int v)
{
    bw_sbuf_cat(b, key);
    bw_sbuf_cat(b, v ? "true" : "false");
}

static void sb_pair(bw_sbuf *b, const char *key, const double v[2])
{
    bw_sbuf_cat(b, key);
    bw_sbuf_put(b, "[", 1);
    sb_double(b, v[0]);
    bw_sbuf_put(b, ",", 1);
    sb_double(b, v[1]);
    bw_sbuf_put(b, "]", 1);
}

static const char *const columns[] = {
    "host", "process", "score", "low_count_variation", "periodic",
    "low_source_bytes_variation", "low_destination_bytes_variation", "period_s",
    "destination_ips",
};

static int cmp_group(const void *a, const void *b)
{
    const group *x = *(const group *const *)a, *y = *(const group *const *)b;
    size_t n = x->host_len < y->host_len ? x->host_len : y->host_len;
    int c = memcmp(x->host, y->host, n);
    if (c || x->host_len != y->host_len)
        return c ? c : (x->host_len < y->host_len ? -1 : 1);
    n = x->proc_len < y->proc_len ? x->proc_len : y->proc_len;
    c = memcmp(x->proc, y->proc, n);
    if (c || x->proc_len != y->proc_len)
        return c ? c : (x->proc_len < y->proc_len ? -1 : 1);
    return 0;
}

typedef struct work {
    double *counts, *src, *dst, *scratch;
    int64_t *sb, *db;
    dstip *ips;
    group **order;
} work;

static void sha256_hex(const char *ts, const group *g, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(ts), (const uint8_t *)ts);
    sha256_update(&ctx, 1, (const uint8_t *)"");
    sha256_update(&ctx, g->host_len, (const uint8_t *)g->host);
    sha256_update(&ctx, 1, (const uint8_t *)"");
    sha256_update(&ctx, g->proc_len, (const uint8_t *)g->proc);
    sha256_digest(&ctx, sizeof d, d);
    bw_hex_encode(d, SHA256_DIGEST_SIZE, out);
}

/* Reduces one group and reports it; 0, BW_ERR_NOMEM or the callback's
 * non-zero return (as BW_ERR_STOPPED). */
static int report(elastic *e, group *g, int64_t now_s, const bw_run *run, const char *ingested,
                  work *w, bw_sbuf *doc, bw_sbuf *cell, bw_finding_fn fn, void *ctx)
{
    int n = e->p.nbuckets;
    int64_t latest = INT64_MIN;
    uint64_t total = 0;
    memset(w->sb, 0, (size_t)n * sizeof *w->sb);
    memset(w->db, 0, (size_t)n * sizeof *w->db);
    memset(w->counts, 0, (size_t)n * sizeof *w->counts);
    for (uint32_t i = 0; i < g->nslots; i++) {
        const slot *s = &g->slots[i];
        int64_t diff = now_s - s->sec;
        if (diff < 0 || diff / e->p.bucket_len >= n)
            continue;
        int b = (int)(diff / e->p.bucket_len);
        w->counts[b] += s->count;
        w->sb[b] += s->sb;
        w->db[b] += s->db;
        total += s->count;
        int64_t t = s->sec * 1000000 + s->frac;
        if (t > latest)
            latest = t;
    }
    if (!total)
        return 0; /* nothing of this group in the window */
    if (e->now_s != BW_UNSET)
        latest = g->last_us; /* slots are buckets; every event was in the window */
    for (int i = 0; i < n; i++) {
        w->src[i] = (double)w->sb[i];
        w->dst[i] = (double)w->db[i];
    }
    bw_elastic_stats st;
    bw_elastic_reduce(&e->p, w->counts, w->src, w->dst, w->scratch, &st);
    if (!st.is_beaconing && !run->all)
        return 0;

    /* Destination IPs seen in the window, the N most counted. */
    uint32_t nips = 0;
    for (uint32_t i = 0; i < g->nips; i++) {
        const dstip *d = &g->ips[i];
        if (d->first > now_s || d->last <= now_s - (int64_t)n * e->p.bucket_len)
            continue;
        w->ips[nips++] = *d;
    }
    qsort(w->ips, nips, sizeof *w->ips, cmp_ip_rank);
    if (nips > (uint32_t)e->p.ndest)
        nips = (uint32_t)e->p.ndest;

    char ts[BW_TIME_STRLEN], id[65], src[BW_IP_STRLEN];
    bw_time_format_ms(latest, ts);
    sha256_hex(ts, g, id);
    doc->n = 0;
    bw_sbuf_cat(doc, "{\"@timestamp\":\"");
    bw_sbuf_cat(doc, ts);
    bw_sbuf_cat(doc, "\",\"event\":{\"ingested\":\"");
    bw_sbuf_cat(doc, ingested);
    bw_sbuf_cat(doc, "\"},\"host\":{\"name\":");
    sb_str(doc, g->host, g->host_len);
    bw_sbuf_cat(doc, "},\"process\":{\"name\":");
    sb_str(doc, g->proc, g->proc_len);
    bw_sbuf_cat(doc, "}");
    if (g->last_src.family) {
        bw_ip_format(&g->last_src, src);
        bw_sbuf_cat(doc, ",\"source\":{\"ip\":\"");
        bw_sbuf_cat(doc, src);
        bw_sbuf_cat(doc, "\"}");
    }
    sb_bool(doc, ",\"beacon_stats\":{\"is_beaconing\":", st.is_beaconing);
    if (st.full) {
        bw_sbuf_cat(doc, ",\"beaconing_score\":");
        sb_int(doc, st.score);
        sb_bool(doc, ",\"low_source_bytes_variation\":", st.low_src);
        sb_bool(doc, ",\"low_destination_bytes_variation\":", st.low_dst);
        sb_bool(doc, ",\"low_count_variation\":", st.low_count);
        sb_bool(doc, ",\"periodic\":", st.periodic);
    }
    bw_sbuf_cat(doc, ",\"interval\":");
    sb_int(doc, st.interval);
    bw_sbuf_cat(doc, ",\"non_empty_buckets\":");
    sb_int(doc, st.non_empty);
    if (st.full) {
        bw_sbuf_cat(doc, ",\"mean_source_bytes\":");
        sb_double(doc, st.mean_src);
        bw_sbuf_cat(doc, ",\"std_dev_source_bytes\":");
        sb_double(doc, st.sd_src);
        sb_pair(doc, ",\"source_bytes_percentiles\":", st.pct_src);
        bw_sbuf_cat(doc, ",\"mean_destination_bytes\":");
        sb_double(doc, st.mean_dst);
        bw_sbuf_cat(doc, ",\"std_dev_destination_bytes\":");
        sb_double(doc, st.sd_dst);
        sb_pair(doc, ",\"destination_bytes_percentiles\":", st.pct_dst);
        bw_sbuf_cat(doc, ",\"mean_counts\":");
        sb_double(doc, st.mean_counts);
        bw_sbuf_cat(doc, ",\"variance_counts\":");
        sb_double(doc, st.var_counts);
        sb_pair(doc, ",\"counts_percentiles\":", st.pct_counts);
        bw_sbuf_cat(doc, ",\"autocovariance\":");
        sb_double(doc, st.autocov);
        bw_sbuf_cat(doc, ",\"max_autocovariance_period\":");
        sb_int(doc, st.period);
        bw_sbuf_cat(doc, ",\"destination_ips\":[");
        for (uint32_t i = 0; i < nips; i++) {
            char ip[BW_IP_STRLEN];
            bw_ip_format(&w->ips[i].ip, ip);
            bw_sbuf_cat(doc, i ? ",\"" : "\"");
            bw_sbuf_cat(doc, ip);
            bw_sbuf_cat(doc, "\"");
        }
        bw_sbuf_cat(doc, "]");
    }
    bw_sbuf_cat(doc, "}}");

    /* Table cells, NUL-separated in one buffer. */
    size_t off[9];
    cell->n = 0;
    off[0] = cell->n;
    bw_sbuf_put(cell, g->host, g->host_len);
    bw_sbuf_put(cell, "", 1);
    off[1] = cell->n;
    bw_sbuf_put(cell, g->proc, g->proc_len);
    bw_sbuf_put(cell, "", 1);
    off[2] = cell->n;
    sb_int(cell, st.full ? st.score : 0);
    bw_sbuf_put(cell, "", 1);
    const int ind[4] = {st.low_count, st.periodic, st.low_src, st.low_dst};
    for (int k = 0; k < 4; k++) {
        off[3 + k] = cell->n;
        bw_sbuf_cat(cell, st.full ? (ind[k] ? "true" : "false") : "");
        bw_sbuf_put(cell, "", 1);
    }
    off[7] = cell->n;
    if (st.full)
        sb_int(cell, (long long)st.period * e->p.bucket_len);
    bw_sbuf_put(cell, "", 1);
    off[8] = cell->n;
    for (uint32_t i = 0; st.full && i < nips; i++) {
        char ip[BW_IP_STRLEN];
        bw_ip_format(&w->ips[i].ip, ip);
        if (i)
            bw_sbuf_cat(cell, ",");
        bw_sbuf_cat(cell, ip);
    }
    bw_sbuf_put(cell, "", 1);
    if (doc->oom || cell->oom)
        return BW_ERR_NOMEM;
    const char *cols[9];
    for (int k = 0; k < 9; k++)
        cols[k] = cell->p + off[k];

    bw_finding f;
    f.rule = "elastic";
    f.id = id;
    f.index = ELASTIC_INDEX;
    f.ts_us = latest;
    f.score = st.full ? st.score : 0;
    f.alert = st.is_beaconing;
    f.json = doc->p;
    f.ncols = 9;
    f.cols = cols;
    e->reported++;
    e->beaconing += st.is_beaconing != 0;
    return fn(ctx, &f) ? BW_ERR_STOPPED : 0;
}

static int finish(void *st, const bw_run *run, bw_finding_fn fn, void *ctx, bw_errbuf *eb)
{
    elastic *e = st;
    int n = e->p.nbuckets, err = 0;
    int64_t window = (int64_t)n * e->p.bucket_len;
    int64_t now_s;
    work w = {0};
    bw_sbuf doc = {0}, cell = {0};

    if (e->now_s != BW_UNSET) {
        now_s = e->now_s;
        if (run->now_us != BW_UNSET && bw_elastic_floor_sec(run->now_us) != now_s)
            return bw_errf(eb, BW_ERR_USAGE, "elastic: the run's now differs from "
                           "elastic.now set before reading");
    } else if (run->now_us != BW_UNSET) {
        now_s = bw_elastic_floor_sec(run->now_us);
        if (now_s - window < e->horizon)
            return bw_errf(eb, BW_ERR_USAGE, "elastic: now is more than a window before the "
                           "latest event, and data of its window was already discarded; set "
                           "elastic.now before reading the input");
    } else if (e->max_sec != INT64_MIN) {
        now_s = e->max_sec;
    } else {
        return 0; /* no event in scope: nothing to report */
    }

    char ingested[BW_TIME_STRLEN];
    int64_t ing = run->ingested_us;
    if (ing == BW_UNSET) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        ing = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
    }
    bw_time_format_ms(ing, ingested);

    w.counts = malloc((size_t)n * sizeof(double));
    w.src = malloc((size_t)n * sizeof(double));
    w.dst = malloc((size_t)n * sizeof(double));
    w.sb = malloc((size_t)n * sizeof(int64_t));
    w.db = malloc((size_t)n * sizeof(int64_t));
    w.scratch = malloc(bw_elastic_work_size(n) * sizeof(double));
    w.ips = malloc(2 * (size_t)e->p.ndest * sizeof *w.ips);
    w.order = malloc((e->ngroups + 1) * sizeof *w.order);
    if (!w.counts || !w.src || !w.dst || !w.sb || !w.db || !w.scratch || !w.ips || !w.order) {
        err = bw_errf(eb, BW_ERR_NOMEM, "elastic: out of memory");
        goto out;
    }
    for (size_t i = 0; i < e->ngroups; i++)
        w.order[i] = &e->groups[i];
    qsort(w.order, e->ngroups, sizeof *w.order, cmp_group);
    for (size_t i = 0; i < e->ngroups; i++) {
        err = report(e, w.order[i], now_s, run, ingested, &w, &doc, &cell, fn, ctx);
        if (err == BW_ERR_STOPPED) {
            bw_errf(eb, err, "elastic: stopped by the findings callback");
            goto out;
        }
        if (err) {
            bw_errf(eb, err, "elastic: out of memory");
            goto out;
        }
    }
out:
    free(w.counts);
    free(w.src);
    free(w.dst);
    free(w.sb);
    free(w.db);
    free(w.scratch);
    free(w.ips);
    free(w.order);
    free(doc.p);
    free(cell.p);
    return err;
}

static size_t summary(const void *st, char *buf, size_t cap)
{
    const elastic *e = st;
    int n = snprintf(buf, cap,
                     "offered %llu events, kept %llu in %zu groups; out of scope %llu, no group "
                     "key %llu, no time %llu, out of window %llu, dropped at the group cap "
                     "(%zu) %llu, discarded behind the window %llu, groups evicted behind the "
                     "window %llu (%llu sweeps, at most %zu groups held); reported %llu groups, "
                     "%llu beaconing",
                     (unsigned long long)e->c.offered, (unsigned long long)e->c.kept,
                     e->ngroups, (unsigned long long)e->c.out_of_scope,
                     (unsigned long long)e->c.no_key, (unsigned long long)e->c.no_time,
                     (unsigned long long)e->c.out_of_window, e->max_groups,
                     (unsigned long long)e->c.dropped_cap, (unsigned long long)e->c.pruned,
                     (unsigned long long)e->c.evicted, (unsigned long long)e->c.sweeps, e->peak,
                     (unsigned long long)e->reported, (unsigned long long)e->beaconing);
    return n < 0 ? 0 : (size_t)n;
}

const bw_rule_ops bw_rule_elastic_ops = {
    .name = "elastic",
    .create = create,
    .destroy = destroy,
    .set = set,
    .params = params,
    .clone = clone_state,
    .add = add,
    .merge = merge,
    .columns = columns,
    .ncols = 9,
    .finish = finish,
    .summary = summary,
};
