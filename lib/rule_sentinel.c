/* Rule "sentinel": Microsoft Sentinel's "Potential beaconing activity (ASIM
 * Network Session schema)" (SPEC §4), bit-exact, plus the PAN-OS and Wire
 * Data presets. add() keeps every public-IPv4 row in a 24-byte packed array;
 * finish() filters the window, sorts like the KQL query (SrcIpAddr,
 * TimeGenerated, DstIpAddr, DstPortNumber), takes the next-row deltas and
 * reports one finding per alerting (hour, src, dst, port). */
#include "rule_impl.h"
#include "util_hex.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/sha2.h>

#define US_PER_S INT64_C(1000000)
#define US_PER_HOUR (3600 * US_PER_S)
#define S_PER_DAY INT64_C(86400)

#define RULE_ID "fcb9d75c-c3c1-4910-8697-f136bfef2363"
#define RULE_TITLE "Potential beaconing activity (ASIM Network Session schema)"

/* Row packing limits: times are microseconds since 1970 in 52 bits (up to
 * year 2112), bytes saturate at 30 bits, source indexes use 31 bits (bit
 * 31 marks "no destination port"), so max_rows stays below 2^31. */
#define TS_BITS 52
#define TS_LIMIT (INT64_C(1) << TS_BITS)
#define BYTES_MAX ((UINT64_C(1) << 30) - 1)
#define SRC_NOPORT 0x80000000u
#define SRC_MASK 0x7fffffffu
#define MAX_ROWS_LIMIT INT64_C(0x7fffffff)
#define DEFAULT_MAX_ROWS INT64_C(200000000)

/* One kept row, 24 bytes:
 *   tp  = ts_us << 12 | dport >> 4
 *   by  = src_bytes (30) | dst_bytes (30) << 30 | (dport & 15) << 60
 *   src = interned source index | SRC_NOPORT
 *   dst = IPv4 destination, host byte order */
typedef struct srow {
    uint64_t tp;
    uint64_t by;
    uint32_t src;
    uint32_t dst;
} srow;

_Static_assert(sizeof(srow) == 24, "a kept row must stay at 24 bytes");

static int64_t row_ts(const srow *r)
{
    return (int64_t)(r->tp >> 12);
}
static int row_port(const srow *r) /* -1 when the source had none */
{
    if (r->src & SRC_NOPORT)
        return -1;
    return (int)((r->tp & 0xfff) << 4 | r->by >> 60);
}
static uint64_t row_sb(const srow *r)
{
    return r->by & BYTES_MAX;
}
static uint64_t row_db(const srow *r)
{
    return r->by >> 30 & BYTES_MAX;
}
static uint32_t row_src(const srow *r)
{
    return r->src & SRC_MASK;
}

enum { WIN_RELATIVE = 0, WIN_DAY_ALIGNED = 1 };

typedef struct params {
    int64_t time_delta_threshold;    /* s; keep delta > this */
    int64_t total_events_threshold;  /* alert when TotalEvents > this */
    double percent_beacon_threshold; /* alert when BeaconPercent > this */
    int64_t delta_count_threshold;   /* alert when the count > this; 0 = off */
    int window;                      /* WIN_* */
    int64_t window_start_s;          /* seconds before now */
    int64_t window_end_s;
    int64_t max_rows;
} params;

typedef struct counters {
    uint64_t offered, kept, non_ipv4, private_dst, bad_time, cap;
    uint64_t out_of_window, in_window, saturated;
    uint64_t groups, alerts;
} counters;

typedef struct sentinel {
    char name[32]; /* variant: "sentinel", "sentinel-panos", ... */
    params p;
    counters c;
    int64_t latest_us; /* latest event time offered, BW_UNSET if none */
    srow *rows;
    size_t nrows, caprows;
    /* Interned sources: srcs[i] is source i; slots is an open-addressed
     * table of index + 1 (0 = empty), seeded against crafted collisions. */
    bw_ip *srcs;
    uint32_t nsrcs, capsrcs;
    uint32_t *slots;
    uint32_t nslots; /* power of two */
    uint64_t seed;
    int finished;
} sentinel;

static const char *const columns[] = {"hour",  "src",     "dst",   "dport",     "delta_s",
                                      "count", "total",   "percent", "src_bytes", "dst_bytes"};
#define NCOLS ((int)(sizeof columns / sizeof columns[0]))

/* ---- parameters ------------------------------------------------------- */

static void defaults(params *p)
{
    p->time_delta_threshold = 10;
    p->total_events_threshold = 15;
    p->percent_beacon_threshold = 80;
    p->delta_count_threshold = 0;
    p->window = WIN_RELATIVE;
    p->window_start_s = 2 * S_PER_DAY;
    p->window_end_s = S_PER_DAY;
    p->max_rows = DEFAULT_MAX_ROWS;
}

/* Non-negative decimal integer up to max; -1 when malformed. */
static int parse_uint(const char *s, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* Duration: seconds, or a number with s, m, h or d. */
static int parse_duration(const char *s, int64_t *out)
{
    char num[24];
    size_t n = strlen(s);
    int64_t unit = 1, v;
    if (n == 0 || n >= sizeof num)
        return -1;
    switch (s[n - 1]) {
    case 's': unit = 1; n--; break;
    case 'm': unit = 60; n--; break;
    case 'h': unit = 3600; n--; break;
    case 'd': unit = S_PER_DAY; n--; break;
    default: break;
    }
    memcpy(num, s, n);
    num[n] = 0;
    /* 100 years is far beyond any sensible window and keeps µs in range. */
    if (parse_uint(num, 100 * 366 * S_PER_DAY / unit, &v) != 0)
        return -1;
    *out = v * unit;
    return 0;
}

static int format_duration(int64_t s, char *buf, size_t cap)
{
    if (s != 0 && s % S_PER_DAY == 0)
        return snprintf(buf, cap, "%" PRId64 "d", s / S_PER_DAY);
    if (s != 0 && s % 3600 == 0)
        return snprintf(buf, cap, "%" PRId64 "h", s / 3600);
    if (s != 0 && s % 60 == 0)
        return snprintf(buf, cap, "%" PRId64 "m", s / 60);
    return snprintf(buf, cap, "%" PRId64 "s", s);
}

/* Shortest "%.Ng" text that reads back as v; with `dot`, integral values
 * get ".0" so the JSON keeps saying "double" (BeaconPercent 100.0). */
static void format_double(double v, char *buf, size_t cap, int dot)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (dot && !strpbrk(buf, ".eEn") && strlen(buf) + 3 <= cap)
        strcat(buf, ".0");
}

static int params_set(params *p, const char *key, const char *value, bw_errbuf *eb)
{
    int64_t v;
    if (strcmp(key, "time_delta_threshold") == 0) {
        if (parse_uint(value, INT32_MAX, &v) != 0)
            goto bad_uint;
        p->time_delta_threshold = v;
    } else if (strcmp(key, "total_events_threshold") == 0) {
        if (parse_uint(value, INT32_MAX, &v) != 0)
            goto bad_uint;
        p->total_events_threshold = v;
    } else if (strcmp(key, "delta_count_threshold") == 0) {
        if (parse_uint(value, INT32_MAX, &v) != 0)
            goto bad_uint;
        p->delta_count_threshold = v;
    } else if (strcmp(key, "percent_beacon_threshold") == 0) {
        char *end;
        double d;
        errno = 0;
        d = strtod(value, &end);
        if (!*value || *end || errno || !(d >= 0 && d <= 100))
            return bw_errf(eb, BW_ERR_CONFIG,
                           "sentinel: bad value '%s' for percent_beacon_threshold "
                           "(want a number from 0 to 100)", value);
        p->percent_beacon_threshold = d;
    } else if (strcmp(key, "window") == 0) {
        if (strcmp(value, "relative") == 0)
            p->window = WIN_RELATIVE;
        else if (strcmp(value, "day_aligned") == 0)
            p->window = WIN_DAY_ALIGNED;
        else
            return bw_errf(eb, BW_ERR_CONFIG,
                           "sentinel: bad value '%s' for window (want relative or day_aligned)",
                           value);
    } else if (strcmp(key, "window_start") == 0 || strcmp(key, "window_end") == 0) {
        if (parse_duration(value, &v) != 0)
            return bw_errf(eb, BW_ERR_CONFIG,
                           "sentinel: bad value '%s' for %s (want a duration before now, "
                           "e.g. 172800, 48h or 2d)", value, key);
        if (key[7] == 's')
            p->window_start_s = v;
        else
            p->window_end_s = v;
    } else if (strcmp(key, "max_rows") == 0) {
        if (parse_uint(value, MAX_ROWS_LIMIT, &v) != 0 || v == 0)
            return bw_errf(eb, BW_ERR_CONFIG,
                           "sentinel: bad value '%s' for max_rows (want 1 to %" PRId64 ")",
                           value, MAX_ROWS_LIMIT);
        p->max_rows = v;
    } else {
        return bw_errf(eb, BW_ERR_CONFIG,
                       "sentinel: unknown parameter '%s' (known: time_delta_threshold, "
                       "total_events_threshold, percent_beacon_threshold, "
                       "delta_count_threshold, window, window_start, window_end, max_rows)",
                       key);
    }
    return BW_OK;
bad_uint:
    return bw_errf(eb, BW_ERR_CONFIG,
                   "sentinel: bad value '%s' for %s (want a non-negative integer)", value, key);
}

/* ---- state ------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ x >> 31;
}

static sentinel *state_new(const char *name, const params *p)
{
    struct timespec ts;
    sentinel *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->p = *p;
    s->latest_us = BW_UNSET;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->seed = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uintptr_t)s);
    return s;
}

static void *create(const char *variant)
{
    params p;
    defaults(&p);
    if (!variant)
        variant = "sentinel";
    if (strcmp(variant, "sentinel-panos") == 0) {
        /* PaloAlto-NetworkBeaconing: 25 s / 30 events / 80 %, most frequent
         * delta seen more than 25 times, whole days
         * startofday(ago(2d)) .. startofday(ago(1d)). */
        p.time_delta_threshold = 25;
        p.total_events_threshold = 30;
        p.percent_beacon_threshold = 80;
        p.delta_count_threshold = 25;
        p.window = WIN_DAY_ALIGNED;
    } else if (strcmp(variant, "sentinel-wiredata") == 0) {
        p.percent_beacon_threshold = 95;
    } else if (strcmp(variant, "sentinel") != 0) {
        return NULL; /* the registry only passes the names it knows */
    }
    return state_new(variant, &p);
}

static void destroy(void *st)
{
    sentinel *s = st;
    if (!s)
        return;
    free(s->rows);
    free(s->srcs);
    free(s->slots);
    free(s);
}

static int set(void *st, const char *key, const char *value, bw_errbuf *eb)
{
    sentinel *s = st;
    return params_set(&s->p, key, value, eb);
}

static size_t params_text(const void *st, char *buf, size_t cap)
{
    const sentinel *s = st;
    const params *p = &s->p;
    char pct[40], ws[32], we[32];
    int n;
    format_double(p->percent_beacon_threshold, pct, sizeof pct, 0);
    format_duration(p->window_start_s, ws, sizeof ws);
    format_duration(p->window_end_s, we, sizeof we);
    n = snprintf(buf, cap,
                 "time_delta_threshold = %" PRId64 "\n"
                 "total_events_threshold = %" PRId64 "\n"
                 "percent_beacon_threshold = %s\n"
                 "delta_count_threshold = %" PRId64 "\n"
                 "window = %s\n"
                 "window_start = %s\n"
                 "window_end = %s\n"
                 "max_rows = %" PRId64 "\n",
                 p->time_delta_threshold, p->total_events_threshold, pct,
                 p->delta_count_threshold,
                 p->window == WIN_DAY_ALIGNED ? "day_aligned" : "relative", ws, we,
                 p->max_rows);
    return n < 0 ? 0 : (size_t)n;
}

static void *clone_state(const void *st)
{
    const sentinel *s = st;
    return state_new(s->name, &s->p);
}

/* ---- source interning ------------------------------------------------- */

static uint32_t ip_hash(const sentinel *s, const bw_ip *ip)
{
    uint64_t a, b;
    memcpy(&a, ip->a, 8);
    memcpy(&b, ip->a + 8, 8);
    return (uint32_t)mix64(mix64(a ^ s->seed) ^ b ^ (uint64_t)ip->family << 56);
}

static int slots_grow(sentinel *s)
{
    uint32_t n = s->nslots ? s->nslots * 2 : 1024;
    uint32_t *t;
    if (n < s->nslots || !(t = calloc(n, sizeof *t)))
        return BW_ERR_NOMEM;
    for (uint32_t i = 0; i < s->nsrcs; i++) {
        uint32_t h = ip_hash(s, &s->srcs[i]) & (n - 1);
        while (t[h])
            h = (h + 1) & (n - 1);
        t[h] = i + 1;
    }
    free(s->slots);
    s->slots = t;
    s->nslots = n;
    return BW_OK;
}

/* Index of ip among the interned sources, adding it when new; -1 on ENOMEM. */
static int64_t intern(sentinel *s, const bw_ip *ip)
{
    uint32_t h, k;
    if ((uint64_t)s->nsrcs * 2 >= s->nslots && slots_grow(s) != BW_OK)
        return -1;
    h = ip_hash(s, ip) & (s->nslots - 1);
    while ((k = s->slots[h]) != 0) {
        const bw_ip *o = &s->srcs[k - 1];
        if (o->family == ip->family && memcmp(o->a, ip->a, 16) == 0)
            return k - 1;
        h = (h + 1) & (s->nslots - 1);
    }
    if (s->nsrcs == s->capsrcs) {
        uint32_t n = s->capsrcs ? s->capsrcs * 2 : 256;
        bw_ip *t = realloc(s->srcs, (size_t)n * sizeof *t);
        if (!t)
            return -1;
        s->srcs = t;
        s->capsrcs = n;
    }
    s->srcs[s->nsrcs] = *ip;
    s->slots[h] = ++s->nsrcs;
    return s->nsrcs - 1;
}

/* ---- add / merge ------------------------------------------------------ */

/* Step 1: only public IPv4 destinations take part. */
static int private_v4(uint32_t a)
{
    return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168) ||
           (a >> 16) == (169u << 8 | 254) || (a >> 24) == 127;
}

static uint64_t clamp_bytes(int64_t v, counters *c)
{
    if (v == BW_UNSET || v < 0)
        return 0; /* KQL's sum() skips nulls */
    if ((uint64_t)v > BYTES_MAX) {
        c->saturated++;
        return BYTES_MAX;
    }
    return (uint64_t)v;
}

static int grow_rows(sentinel *s, size_t need)
{
    size_t n;
    srow *t;
    if (need <= s->caprows)
        return BW_OK;
    n = s->caprows ? s->caprows + s->caprows / 2 : 4096;
    if (n < need)
        n = need;
    if (n > (size_t)s->p.max_rows)
        n = (size_t)s->p.max_rows;
    if (!(t = realloc(s->rows, n * sizeof *t)))
        return BW_ERR_NOMEM;
    s->rows = t;
    s->caprows = n;
    return BW_OK;
}

static int add(void *st, const bw_record *rec)
{
    sentinel *s = st;
    srow *r;
    uint32_t dst;
    int64_t src;
    uint64_t sb, db;
    int port;

    s->c.offered++;
    if (rec->ts_us < 0 || rec->ts_us >= TS_LIMIT) {
        s->c.bad_time++;
        return BW_OK;
    }
    if (s->latest_us == BW_UNSET || rec->ts_us > s->latest_us)
        s->latest_us = rec->ts_us;
    if (rec->dst_ip.family != 4) {
        s->c.non_ipv4++;
        return BW_OK;
    }
    dst = (uint32_t)rec->dst_ip.a[12] << 24 | (uint32_t)rec->dst_ip.a[13] << 16 |
          (uint32_t)rec->dst_ip.a[14] << 8 | rec->dst_ip.a[15];
    if (private_v4(dst)) {
        s->c.private_dst++;
        return BW_OK;
    }
    if (s->nrows >= (size_t)s->p.max_rows) {
        s->c.cap++;
        return BW_OK;
    }
    if (grow_rows(s, s->nrows + 1) != BW_OK || (src = intern(s, &rec->src_ip)) < 0)
        return BW_ERR_NOMEM;
    sb = clamp_bytes(rec->src_bytes, &s->c);
    db = clamp_bytes(rec->dst_bytes, &s->c);
    port = rec->dst_port >= 0 && rec->dst_port <= 65535 ? rec->dst_port : -1;
    r = &s->rows[s->nrows++];
    r->tp = (uint64_t)rec->ts_us << 12 | (port < 0 ? 0 : (uint64_t)port >> 4);
    r->by = sb | db << 30 | (port < 0 ? 0 : (uint64_t)(port & 15)) << 60;
    r->src = (uint32_t)src | (port < 0 ? SRC_NOPORT : 0);
    r->dst = dst;
    s->c.kept++;
    return BW_OK;
}

static int merge(void *into_, void *from_, bw_errbuf *eb)
{
    sentinel *into = into_, *from = from_;
    uint32_t *map = NULL;
    size_t take, room;
    int rc = BW_OK;

    room = (size_t)into->p.max_rows > into->nrows ? (size_t)into->p.max_rows - into->nrows : 0;
    take = from->nrows < room ? from->nrows : room;
    if (from->nsrcs && !(map = malloc((size_t)from->nsrcs * sizeof *map))) {
        rc = bw_errf(eb, BW_ERR_NOMEM, "sentinel: out of memory merging workers");
        goto out;
    }
    for (uint32_t i = 0; i < from->nsrcs; i++) {
        int64_t k = intern(into, &from->srcs[i]);
        if (k < 0) {
            rc = bw_errf(eb, BW_ERR_NOMEM, "sentinel: out of memory merging workers");
            goto out;
        }
        map[i] = (uint32_t)k;
    }
    if (take && grow_rows(into, into->nrows + take) != BW_OK) {
        rc = bw_errf(eb, BW_ERR_NOMEM, "sentinel: out of memory merging workers");
        goto out;
    }
    for (size_t i = 0; i < take; i++) {
        srow r = from->rows[i];
        r.src = map[row_src(&r)] | (r.src & SRC_NOPORT);
        into->rows[into->nrows++] = r;
    }
    into->c.offered += from->c.offered;
    into->c.kept += take;
    into->c.cap += from->c.cap + (from->nrows - take);
    into->c.non_ipv4 += from->c.non_ipv4;
    into->c.private_dst += from->c.private_dst;
    into->c.bad_time += from->c.bad_time;
    into->c.saturated += from->c.saturated;
    if (from->latest_us != BW_UNSET &&
        (into->latest_us == BW_UNSET || from->latest_us > into->latest_us))
        into->latest_us = from->latest_us;
    /* `from` is left empty with its parameters. */
    free(from->rows);
    free(from->srcs);
    free(from->slots);
    from->rows = NULL;
    from->srcs = NULL;
    from->slots = NULL;
    from->nrows = from->caprows = 0;
    from->nsrcs = from->capsrcs = from->nslots = 0;
    memset(&from->c, 0, sizeof from->c);
    from->latest_us = BW_UNSET;
out:
    free(map);
    return rc;
}

/* ---- ordering --------------------------------------------------------- */

/* KQL sorts the address columns as strings: "10.0.0.9" < "9.0.0.1". */
static size_t v4_text(uint32_t a, char *buf)
{
    bw_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.family = 4;
    ip.a[10] = ip.a[11] = 0xff;
    ip.a[12] = (uint8_t)(a >> 24);
    ip.a[13] = (uint8_t)(a >> 16);
    ip.a[14] = (uint8_t)(a >> 8);
    ip.a[15] = (uint8_t)a;
    return bw_ip_format(&ip, buf);
}

static int v4_strcmp(uint32_t a, uint32_t b)
{
    char x[BW_IP_STRLEN], y[BW_IP_STRLEN];
    if (a == b)
        return 0;
    v4_text(a, x);
    v4_text(b, y);
    return strcmp(x, y);
}

/* Order within one source: TimeGenerated, DstIpAddr (as text),
 * DstPortNumber (missing first), then the bytes so that full ties (which
 * KQL leaves in no defined order) sort the same on every run. */
static int row_cmp(const srow *a, const srow *b)
{
    int64_t ta = row_ts(a), tb = row_ts(b);
    int c;
    if (ta != tb)
        return ta < tb ? -1 : 1;
    if (a->dst != b->dst && (c = v4_strcmp(a->dst, b->dst)) != 0)
        return c;
    if (row_port(a) != row_port(b))
        return row_port(a) < row_port(b) ? -1 : 1;
    if (row_sb(a) != row_sb(b))
        return row_sb(a) < row_sb(b) ? -1 : 1;
    if (row_db(a) != row_db(b))
        return row_db(a) < row_db(b) ? -1 : 1;
    return 0;
}

static void row_swap(srow *a, srow *b)
{
    srow t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(srow *a, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && row_cmp(&a[c], &a[c + 1]) < 0)
            c++;
        if (row_cmp(&a[i], &a[c]) >= 0)
            return;
        row_swap(&a[i], &a[c]);
        i = c;
    }
}

/* Introsort with the comparator inlined: quicksort (median of three),
 * insertion sort for short runs, heapsort when the recursion gets deep. */
static void sort_rows(srow *a, size_t n, int depth)
{
    while (n > 16) {
        size_t i, j, m = n / 2;
        if (depth-- == 0) {
            for (i = n / 2; i-- > 0;)
                sift_down(a, i, n);
            for (i = n - 1; i > 0; i--) {
                row_swap(&a[0], &a[i]);
                sift_down(a, 0, i);
            }
            return;
        }
        if (row_cmp(&a[m], &a[0]) < 0)
            row_swap(&a[m], &a[0]);
        if (row_cmp(&a[n - 1], &a[0]) < 0)
            row_swap(&a[n - 1], &a[0]);
        if (row_cmp(&a[n - 1], &a[m]) < 0)
            row_swap(&a[n - 1], &a[m]);
        row_swap(&a[m], &a[n - 2]); /* pivot at n-2; a[0] <= pivot <= a[n-1] */
        i = 0;
        j = n - 2;
        for (;;) {
            while (row_cmp(&a[++i], &a[n - 2]) < 0)
                ;
            while (row_cmp(&a[n - 2], &a[--j]) < 0)
                ;
            if (i >= j)
                break;
            row_swap(&a[i], &a[j]);
        }
        row_swap(&a[i], &a[n - 2]);
        /* Recurse into the smaller side, loop on the larger. */
        if (i < n - i - 1) {
            sort_rows(a, i, depth);
            a += i + 1;
            n -= i + 1;
        } else {
            sort_rows(a + i + 1, n - i - 1, depth);
            n = i;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && row_cmp(&a[j], &a[j - 1]) < 0; j--)
            row_swap(&a[j], &a[j - 1]);
}

static void sort_segment(srow *a, size_t n)
{
    int depth = 0;
    size_t i;
    for (i = 1; i < n && row_cmp(&a[i - 1], &a[i]) <= 0; i++)
        ;
    if (i >= n)
        return; /* logs usually arrive in time order */
    for (size_t k = n; k > 1; k >>= 1)
        depth += 2;
    sort_rows(a, n, depth);
}

/* Full order once row.src holds the source's rank: rank, then row_cmp. */
static int ranked_cmp(const srow *a, const srow *b)
{
    if (row_src(a) != row_src(b))
        return row_src(a) < row_src(b) ? -1 : 1;
    return row_cmp(a, b);
}

/* In-place MSD radix sort on the source rank, 8 bits a pass (American flag
 * sort: 256 sequential write cursors, no second buffer), then each source's
 * rows by row_cmp. */
static void sort_ranked(srow *a, size_t n, int shift)
{
    size_t count[256] = {0}, next[256], end[256], pos = 0;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && ranked_cmp(&a[j], &a[j - 1]) < 0; j--)
                row_swap(&a[j], &a[j - 1]);
        return;
    }
    if (shift < 0) {
        sort_segment(a, n); /* one source */
        return;
    }
    for (size_t i = 0; i < n; i++)
        count[row_src(&a[i]) >> shift & 255]++;
    for (int d = 0; d < 256; d++) {
        next[d] = pos;
        pos += count[d];
        end[d] = pos;
    }
    for (int d = 0; d < 256; d++) {
        while (next[d] < end[d]) {
            unsigned k = row_src(&a[next[d]]) >> shift & 255;
            if (k == (unsigned)d)
                next[d]++;
            else
                row_swap(&a[next[d]], &a[next[k]++]);
        }
    }
    for (int d = 0; d < 256; d++)
        if (count[d] > 1)
            sort_ranked(a + (end[d] - count[d]), count[d], shift - 8);
}

/* A source's text and index, to rank the sources as KQL sorts them. */
typedef struct srcname {
    char text[BW_IP_STRLEN];
    uint32_t idx;
} srcname;

static int srcname_cmp(const void *x, const void *y)
{
    const srcname *a = x, *b = y;
    int c = strcmp(a->text, b->text);
    return c ? c : (a->idx < b->idx ? -1 : a->idx > b->idx);
}

/* ---- grouping and alerts ------------------------------------------------ */

/* A kept delta of one source and hour: the row's destination, port and
 * index into the source's sorted rows, and the delta to the next row. */
typedef struct kept {
    uint32_t dst;
    int32_t port;
    int64_t delta;
    size_t row;
} kept;

static int kept_cmp(const void *x, const void *y)
{
    const kept *a = x, *b = y;
    if (a->dst != b->dst)
        return a->dst < b->dst ? -1 : 1;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    if (a->delta != b->delta)
        return a->delta < b->delta ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

typedef struct alert {
    int64_t hour_us;
    uint32_t src_rank, src;
    uint32_t dst;
    int port;
    int64_t delta, count, total;
    uint64_t sb, db;
    double percent;
} alert;

static int alert_cmp(const void *x, const void *y)
{
    const alert *a = x, *b = y;
    int c;
    if (a->hour_us != b->hour_us)
        return a->hour_us < b->hour_us ? -1 : 1;
    if (a->src_rank != b->src_rank)
        return a->src_rank < b->src_rank ? -1 : 1;
    if ((c = v4_strcmp(a->dst, b->dst)) != 0)
        return c;
    return a->port < b->port ? -1 : a->port > b->port;
}

typedef struct growbuf {
    void *p;
    size_t n, cap, size;
} growbuf;

static void *growbuf_push(growbuf *g)
{
    if (g->n == g->cap) {
        size_t n = g->cap ? g->cap * 2 : 256;
        void *t = realloc(g->p, n * g->size);
        if (!t)
            return NULL;
        g->p = t;
        g->cap = n;
    }
    return (char *)g->p + g->size * g->n++;
}

/* Step 3 and 4 over the kept deltas of one (source, hour): group by
 * (dst, port), find the most frequent delta (the smallest on a tie; the
 * conformance cases have none), and push the groups that alert. */
static int hour_groups(sentinel *s, const srow *rows, kept *k, size_t nk, int64_t hour_us,
                       uint32_t src, uint32_t src_rank, growbuf *alerts)
{
    const params *p = &s->p;
    qsort(k, nk, sizeof *k, kept_cmp);
    for (size_t i = 0; i < nk;) {
        const kept *g = &k[i];
        int64_t total = 0, best = 0, best_delta = 0;
        uint64_t sb = 0, db = 0;
        size_t j = i;
        while (j < nk && k[j].dst == g->dst && k[j].port == g->port) {
            size_t d = j;
            while (d < nk && k[d].dst == g->dst && k[d].port == g->port &&
                   k[d].delta == k[j].delta) {
                sb += row_sb(&rows[k[d].row]);
                db += row_db(&rows[k[d].row]);
                d++;
            }
            if ((int64_t)(d - j) > best) {
                best = (int64_t)(d - j);
                best_delta = k[j].delta;
            }
            total += (int64_t)(d - j);
            j = d;
        }
        s->c.groups++;
        /* KQL: MostFrequentTimeDeltaCount / toreal(TotalEvents) * 100 */
        double pct = (double)best / (double)total * 100.0;
        if (total > p->total_events_threshold && pct > p->percent_beacon_threshold &&
            best > p->delta_count_threshold) {
            alert *a = growbuf_push(alerts);
            if (!a)
                return BW_ERR_NOMEM;
            a->hour_us = hour_us;
            a->src_rank = src_rank;
            a->src = src;
            a->dst = g->dst;
            a->port = g->port;
            a->delta = best_delta;
            a->count = best;
            a->total = total;
            a->sb = sb;
            a->db = db;
            a->percent = pct;
        }
        i = j;
    }
    return BW_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int report(sentinel *s, const alert *a, bw_finding_fn fn, void *ctx)
{
    char hour[BW_TIME_STRLEN], src[BW_IP_STRLEN], dst[BW_IP_STRLEN], pct[40], port[16];
    char id[2 * SHA256_DIGEST_SIZE + 1], json[2048], key[160];
    char c_delta[24], c_count[24], c_total[24], c_pct[40], c_sb[24], c_db[24];
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct sha256_ctx sha;
    const char *cols[NCOLS];
    bw_finding f;
    int n;

    bw_time_format(a->hour_us, hour);
    memcpy(hour + 19, "Z", 2); /* whole hour: "2026-01-01T01:00:00Z" */
    bw_ip_format(&s->srcs[a->src], src);
    v4_text(a->dst, dst);
    format_double(a->percent, pct, sizeof pct, 1);
    if (a->port >= 0)
        snprintf(port, sizeof port, "%d", a->port);
    else
        snprintf(port, sizeof port, "null");

    n = snprintf(key, sizeof key, "%s|%s|%s|%s", hour, src, dst, port);
    sha256_init(&sha);
    sha256_update(&sha, (size_t)n, (const uint8_t *)key);
    sha256_digest(&sha, sizeof digest, digest);
    bw_hex_encode(digest, sizeof digest, id);

    n = snprintf(json, sizeof json,
                 "{\"TimeGenerated\":\"%s\",\"SrcIpAddr\":\"%s\",\"DstIpAddr\":\"%s\","
                 "\"DstPortNumber\":%s,\"MostFrequentTimeDeltainSeconds\":%" PRId64 ","
                 "\"MostFrequentTimeDeltaCount\":%" PRId64 ",\"TotalEvents\":%" PRId64 ","
                 "\"TotalSrcBytes\":%" PRIu64 ",\"TotalDstBytes\":%" PRIu64 ","
                 "\"BeaconPercent\":%s,"
                 "\"AlertName\":\"Potential beaconing from %s to %s\","
                 "\"Description\":\"%" PRId64 " of %" PRId64 " sessions from %s to %s "
                 "port %s in this hour were followed by the source's next session after "
                 "%" PRId64 " s (%s %%).\","
                 "\"Severity\":\"Low\",\"Tactics\":[\"CommandAndControl\"],"
                 "\"Techniques\":[\"T1071\",\"T1571\"],"
                 "\"Entities\":[{\"Type\":\"ip\",\"Address\":\"%s\"},"
                 "{\"Type\":\"ip\",\"Address\":\"%s\"}],"
                 "\"AnalyticRuleId\":\"" RULE_ID "\",\"AnalyticRuleName\":\"" RULE_TITLE "\","
                 "\"Rule\":\"%s\",\"SystemAlertId\":\"%s\",\"ProductName\":\"Beaconwatch\"}",
                 hour, src, dst, port, a->delta, a->count, a->total, a->sb, a->db, pct, src,
                 dst, a->count, a->total, src, dst, port, a->delta, pct, src, dst, s->name, id);
    assert(n > 0 && (size_t)n < sizeof json);

    snprintf(c_delta, sizeof c_delta, "%" PRId64, a->delta);
    snprintf(c_count, sizeof c_count, "%" PRId64, a->count);
    snprintf(c_total, sizeof c_total, "%" PRId64, a->total);
    snprintf(c_pct, sizeof c_pct, "%.2f", a->percent);
    snprintf(c_sb, sizeof c_sb, "%" PRIu64, a->sb);
    snprintf(c_db, sizeof c_db, "%" PRIu64, a->db);
    cols[0] = hour;
    cols[1] = src;
    cols[2] = dst;
    cols[3] = a->port >= 0 ? port : "";
    cols[4] = c_delta;
    cols[5] = c_count;
    cols[6] = c_total;
    cols[7] = c_pct;
    cols[8] = c_sb;
    cols[9] = c_db;

    memset(&f, 0, sizeof f);
    f.rule = s->name;
    f.id = id;
    f.index = NULL;
    f.ts_us = a->hour_us;
    f.score = a->percent / 100.0;
    f.alert = 1;
    f.json = json;
    f.ncols = NCOLS;
    f.cols = cols;
    return fn(ctx, &f) ? BW_ERR_STOPPED : BW_OK;
}

/* The run's window in µs: explicit bounds win; an unset bound takes the
 * rule's default relative to now (the latest event time when now is unset).
 * With neither a bound nor any event the window is empty. */
static int window_of(const sentinel *s, const bw_run *run, int64_t *lo, int64_t *hi,
                     bw_errbuf *eb)
{
    int64_t start = run ? run->start_us : BW_UNSET, end = run ? run->end_us : BW_UNSET;
    int64_t now = run && run->now_us != BW_UNSET ? run->now_us : s->latest_us;
    *lo = 0;
    *hi = -1;
    if (start == BW_UNSET || end == BW_UNSET) {
        int64_t day = S_PER_DAY * US_PER_S;
        if (s->p.window_start_s < s->p.window_end_s)
            return bw_errf(eb, BW_ERR_CONFIG,
                           "sentinel: window_start must lie before window_end (it is the "
                           "larger offset from now)");
        if (now == BW_UNSET)
            return BW_OK;
        if (start == BW_UNSET) {
            start = now - s->p.window_start_s * US_PER_S;
            if (s->p.window == WIN_DAY_ALIGNED)
                start = floor_div(start, day) * day;
        }
        if (end == BW_UNSET) {
            end = now - s->p.window_end_s * US_PER_S;
            if (s->p.window == WIN_DAY_ALIGNED)
                end = floor_div(end, day) * day;
        }
    }
    *lo = start;
    *hi = end;
    return BW_OK;
}

static int finish(void *st, const bw_run *run, bw_finding_fn fn, void *ctx, bw_errbuf *eb)
{
    sentinel *s = st;
    uint32_t *order = NULL, *rank = NULL;
    srcname *names = NULL;
    size_t nk;
    int shift = 0;
    growbuf kbuf = {NULL, 0, 0, sizeof(kept)}, abuf = {NULL, 0, 0, sizeof(alert)};
    int64_t lo, hi;
    size_t n = 0;
    int rc;

    if (s->finished)
        return bw_errf(eb, BW_ERR_USAGE, "sentinel: finish() can be called once");
    s->finished = 1;
    if ((rc = window_of(s, run, &lo, &hi, eb)) != BW_OK)
        goto out;

    /* Window: start <= TimeGenerated <= end, before anything else. */
    for (size_t i = 0; i < s->nrows; i++) {
        int64_t t = row_ts(&s->rows[i]);
        if (t >= lo && t <= hi)
            s->rows[n++] = s->rows[i];
    }
    s->c.out_of_window = s->nrows - n;
    s->c.in_window = n;
    s->nrows = n;

    /* Rank the sources by their text, as KQL's sort does. */
    if (s->nsrcs) {
        order = malloc((size_t)s->nsrcs * sizeof *order);
        rank = malloc((size_t)s->nsrcs * sizeof *rank);
        names = malloc((size_t)s->nsrcs * sizeof *names);
        if (!order || !rank || !names) {
            rc = bw_errf(eb, BW_ERR_NOMEM, "sentinel: out of memory");
            goto out;
        }
        for (uint32_t i = 0; i < s->nsrcs; i++) {
            bw_ip_format(&s->srcs[i], names[i].text);
            names[i].idx = i;
        }
        qsort(names, s->nsrcs, sizeof *names, srcname_cmp);
        for (uint32_t i = 0; i < s->nsrcs; i++) {
            order[i] = names[i].idx;
            rank[names[i].idx] = i;
        }
        free(names);
        names = NULL;
    }

    /* Sort by (source rank, time, destination, port). row.src holds the
     * rank from here on; order[] maps it back to the interned source. */
    for (size_t i = 0; i < n; i++)
        s->rows[i].src = rank[row_src(&s->rows[i])] | (s->rows[i].src & SRC_NOPORT);
    while (shift + 8 < 31 && (s->nsrcs - 1) >> (shift + 8))
        shift += 8;
    sort_ranked(s->rows, n, shift);

    for (size_t b = 0, e; b < n; b = e) {
        uint32_t r = row_src(&s->rows[b]);
        srow *seg = s->rows + b;
        size_t len;
        int64_t cur_hour = INT64_MIN;
        for (e = b + 1; e < n && row_src(&s->rows[e]) == r; e++)
            ;
        len = e - b;
        /* Step 2: delta to the next row of the same source, whatever its
         * destination; step 3: keep delta > threshold, by hour of this row. */
        kbuf.n = 0;
        for (size_t i = 0; i + 1 < len; i++) {
            int64_t t = row_ts(&seg[i]);
            int64_t delta = row_ts(&seg[i + 1]) / US_PER_S - t / US_PER_S;
            int64_t hour = t / US_PER_HOUR * US_PER_HOUR;
            kept *k;
            if (hour != cur_hour) {
                if (kbuf.n && (rc = hour_groups(s, seg, kbuf.p, kbuf.n, cur_hour, order[r], r,
                                                &abuf)) != BW_OK)
                    goto nomem;
                kbuf.n = 0;
                cur_hour = hour;
            }
            if (delta <= s->p.time_delta_threshold)
                continue;
            if (!(k = growbuf_push(&kbuf)))
                goto nomem;
            k->dst = seg[i].dst;
            k->port = row_port(&seg[i]);
            k->delta = delta;
            k->row = i;
        }
        if (kbuf.n &&
            (rc = hour_groups(s, seg, kbuf.p, kbuf.n, cur_hour, order[r], r, &abuf)) != BW_OK)
            goto nomem;
    }
    nk = abuf.n;
    s->c.alerts = nk;
    if (nk)
        qsort(abuf.p, nk, sizeof(alert), alert_cmp);
    for (size_t i = 0; i < nk; i++)
        if ((rc = report(s, (alert *)abuf.p + i, fn, ctx)) != BW_OK) {
            bw_errf(eb, rc, "sentinel: stopped by the findings callback");
            goto out;
        }
    rc = BW_OK;
    goto out;
nomem:
    rc = bw_errf(eb, BW_ERR_NOMEM, "sentinel: out of memory");
out:
    /* The rows are no longer needed; the counters stay for summary(). */
    free(s->rows);
    s->rows = NULL;
    s->nrows = s->caprows = 0;
    free(names);
    free(order);
    free(rank);
    free(kbuf.p);
    free(abuf.p);
    return rc;
}

static size_t summary(const void *st, char *buf, size_t cap)
{
    const sentinel *s = st;
    const counters *c = &s->c;
    int n = snprintf(buf, cap,
                     "rows offered %" PRIu64 ", kept %" PRIu64 " (in window %" PRIu64
                     "); dropped: non-IPv4 destination %" PRIu64 ", private destination %"
                     PRIu64 ", out of window %" PRIu64 ", over max_rows %" PRIu64
                     ", time out of range %" PRIu64 "; byte counts saturated %" PRIu64
                     "; sources %" PRIu32 ", groups %" PRIu64 ", alerts %" PRIu64,
                     c->offered, c->kept, c->in_window, c->non_ipv4, c->private_dst,
                     c->out_of_window, c->cap, c->bad_time, c->saturated, s->nsrcs, c->groups,
                     c->alerts);
    return n < 0 ? 0 : (size_t)n;
}

const bw_rule_ops bw_rule_sentinel_ops = {
    .name = "sentinel",
    .create = create,
    .destroy = destroy,
    .set = set,
    .params = params_text,
    .clone = clone_state,
    .add = add,
    .merge = merge,
    .columns = columns,
    .ncols = NCOLS,
    .finish = finish,
    .summary = summary,
};
