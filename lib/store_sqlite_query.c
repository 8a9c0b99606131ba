/* The dashboard queries of the SQLite backend (include/beaconwatch/bw_dash.h,
 * docs/api.md): prepared on first use on the handle, every value bound.
 * Free-text filters are instr(lower(column), lower(?)), so a user's text
 * is never a pattern. */
#include "beaconwatch/bw_dash.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_sqlite.h"

/* The findings filter over ?1..?6 (bw_dash_filter); ?7 and up are free. */
#define FILTER                                                                      \
    " ts_us BETWEEN ?1 AND ?2 AND (?3 IS NULL OR rule GLOB ?3)"                     \
    " AND (?4 IS NULL OR instr(lower(host), lower(?4)) > 0)"                        \
    " AND (?5 IS NULL OR instr(lower(process), lower(?5)) > 0) AND (?6 = 0 OR alert <> 0)"

/* The finding columns read by finding_row(), from table alias f. */
#define FCOLS                                                                       \
    "f.rule, f.id, f.host, f.process, f.source_ip, f.ts_us, f.score, f.alert,"      \
    " json_extract(f.doc, '$.beacon_stats.periodic'),"                              \
    " json_extract(f.doc, '$.beacon_stats.low_count_variation'),"                   \
    " json_extract(f.doc, '$.beacon_stats.low_source_bytes_variation'),"            \
    " json_extract(f.doc, '$.beacon_stats.low_destination_bytes_variation'),"       \
    " coalesce(json_extract(f.doc, '$.beacon.explanation'),"                        \
    "  json_extract(f.doc, '$.Description')),"                                      \
    " coalesce(json_extract(f.doc, '$.beacon.sleep_s'),"                            \
    "  json_extract(f.doc, '$.beacon_stats.interval'))"

#define RCOLS                                                                       \
    "ts_us, duration_us, src_bytes, dst_bytes, src_ip, dst_ip, src_port, dst_port,"  \
    " transport, host_name, process_name, dst_domain, event_action, conn_state"

#define GROUP_GID "(SELECT gid FROM sample_groups_v1 WHERE key_host = ?1 AND key_process = ?2)"

/* The page of findings: ordering and paging read only the narrow columns;
 * the documents are opened for the rows of the page alone. */
#define PAGE(order)                                                                 \
    "SELECT " FCOLS ", NULL FROM (SELECT rule AS r, id AS i FROM ml_beaconing_all"  \
    " WHERE" FILTER " ORDER BY " order " LIMIT ?7 OFFSET ?8) p"                     \
    " JOIN ml_beaconing_all f ON f.rule = p.r AND f.id = p.i ORDER BY " order

enum {
    Q_NEWEST, Q_RULES, Q_CNT_ROWS, Q_FCOUNT,
    Q_PAGE_SCORE, Q_PAGE_TIME, Q_GET, Q_VERDICT_KEY, Q_VERDICT_PAIRS, Q_REC_STATS, Q_REC_PAGE,
    Q_DEST, Q_DATA_VERSION, Q__COUNT
};

_Static_assert(Q__COUNT <= BW_DASH_ST_MAX, "raise BW_DASH_ST_MAX");

static const char *const qsql[Q__COUNT] = {
    [Q_NEWEST] = "SELECT max(ts_us) FROM ml_beaconing_all",
    [Q_RULES] = "SELECT f.rule, count(*), min(f.ts_us), max(f.ts_us),"
                " (SELECT run_us FROM runs r WHERE r.rule = f.rule)"
                " FROM ml_beaconing_all f GROUP BY f.rule ORDER BY f.rule",
    /* The rows that bw_dash_counts groups (in C: see group_rows()). */
    [Q_CNT_ROWS] = "SELECT host, process, ts_us FROM ml_beaconing_all WHERE" FILTER,
    [Q_FCOUNT] = "SELECT count(*) FROM ml_beaconing_all WHERE" FILTER,
    [Q_PAGE_SCORE] = PAGE("score DESC, ts_us DESC, rule, id"),
    [Q_PAGE_TIME] = PAGE("ts_us DESC, score DESC, rule, id"),
    [Q_GET] = "SELECT " FCOLS ", f.doc FROM ml_beaconing_all f WHERE f.rule = ?1 AND f.id = ?2",
    [Q_VERDICT_KEY] = "SELECT " FCOLS ", NULL FROM ml_beaconing_all f WHERE f.rule GLOB ?1"
                      " AND f.host = ?2 AND f.process = ?3 ORDER BY f.ts_us DESC LIMIT 1",
    /* The (source, "dst:port") pairs of the group's records, written both
     * ways an IPv6 destination is keyed: "[v6]:port" (the sampler and
     * beaconwatch) and "v6:port" (sentinel's DstIpAddr:DstPortNumber). */
    [Q_VERDICT_PAIRS] =
        "SELECT " FCOLS ", NULL FROM (SELECT src_ip AS h, CASE WHEN instr(dst_ip, ':') > 0"
        "  THEN '[' || dst_ip || ']:' || dst_port ELSE dst_ip || ':' || dst_port END AS p"
        "  FROM samples_v1 WHERE gid = (SELECT gid FROM sample_groups_v1"
        "   WHERE key_host = ?2 AND key_process = ?3) AND dst_port IS NOT NULL"
        " UNION SELECT src_ip, dst_ip || ':' || dst_port FROM samples_v1"
        "  WHERE gid = (SELECT gid FROM sample_groups_v1"
        "   WHERE key_host = ?2 AND key_process = ?3) AND dst_port IS NOT NULL) k"
        /* CROSS JOIN keeps the pairs outside: one index lookup each. */
        " CROSS JOIN ml_beaconing_all f ON f.host = k.h AND f.process = k.p"
        " WHERE f.rule GLOB ?1 ORDER BY f.ts_us DESC LIMIT 1",
    [Q_REC_STATS] = "SELECT count(*), min(ts_us), max(ts_us) FROM samples_v1"
                    " WHERE gid = " GROUP_GID " AND ts_us BETWEEN ?3 AND ?4",
    [Q_REC_PAGE] = "SELECT " RCOLS " FROM samples_v1 WHERE gid = " GROUP_GID
                   " AND ts_us BETWEEN ?3 AND ?4 ORDER BY ts_us DESC, rowid DESC"
                   " LIMIT ?5 OFFSET ?6",
    [Q_DATA_VERSION] = "PRAGMA data_version",
    [Q_DEST] = "SELECT dst_ip, dst_port, dst_domain, count(*),"
               " sum(coalesce(src_bytes, 0) + coalesce(dst_bytes, 0)) FROM samples_v1"
               " WHERE gid = " GROUP_GID " AND ts_us BETWEEN ?3 AND ?4"
               " GROUP BY dst_ip, dst_port, dst_domain ORDER BY 4 DESC, 1, 2, 3 LIMIT ?5",
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* SQLite's progress callback: non-zero interrupts the running statement. */
static int past_deadline(void *ctx)
{
    const bw_store *s = ctx;
    return s->deadline > 0 && mono_now() > s->deadline;
}

void bw_dash_deadline(bw_store *s, double deadline)
{
    s->deadline = deadline;
}

static sqlite3_stmt *stmt(bw_store *s, int q, bw_errbuf *eb)
{
    if (!s->progress_set) {
        sqlite3_progress_handler(s->db, 20000, past_deadline, s);
        /* A dashboard handle reads the same pages over and over: map the
         * file and keep a larger cache than a one-shot command needs. */
        sqlite3_exec(s->db, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -32768",
                     NULL, NULL, NULL);
        s->progress_set = 1;
    }
    if (!s->dash[q] && sqlite3_prepare_v3(s->db, qsql[q], -1, SQLITE_PREPARE_PERSISTENT,
                                          &s->dash[q], NULL) != SQLITE_OK) {
        bw_errf(eb, BW_ERR_STORE, "store: preparing a dashboard query: %s",
                sqlite3_errmsg(s->db));
        return NULL;
    }
    return s->dash[q];
}

static const char *text_or_null(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static const char *text_or_empty(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

static int64_t int_or_unset(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? BW_UNSET : sqlite3_column_int64(st, i);
}

static void bind_opt(sqlite3_stmt *st, int i, const char *p)
{
    if (p)
        sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_filter(sqlite3_stmt *st, const bw_dash_filter *f)
{
    sqlite3_bind_int64(st, 1, f->from_us);
    sqlite3_bind_int64(st, 2, f->to_us);
    bind_opt(st, 3, f->rule);
    bind_opt(st, 4, f->host);
    bind_opt(st, 5, f->process);
    sqlite3_bind_int(st, 6, f->only_alert != 0);
}

/* Steps st to its end, calling row(st, ctx) for each row; resets st. */
static int run(bw_store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *, void *), void *ctx,
               bw_errbuf *eb, const char *what)
{
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (row && row(st, ctx)) {
            err = bw_errf(eb, BW_ERR_STOPPED, "store: %s: stopped by the callback", what);
            break;
        }
    if (!err && rc == SQLITE_INTERRUPT)
        err = bw_errf(eb, BW_ERR_LIMIT, "store: %s: took too long", what);
    else if (!err && rc != SQLITE_DONE)
        err = bw_errf(eb, BW_ERR_STORE, "store: %s: %s", what, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

/* The caller's callback (one of them set) and its context. */
typedef struct cb {
    bw_dash_rule_fn rule;
    bw_dash_count_fn count;
    bw_dash_finding_fn finding;
    bw_stored_record_fn record;
    bw_dash_dest_fn dest;
    void *ctx;
} cb;

static int rule_row(sqlite3_stmt *st, void *ctx)
{
    cb *c = ctx;
    bw_dash_rule r;
    r.rule = text_or_empty(st, 0);
    r.findings = sqlite3_column_int64(st, 1);
    r.first_us = int_or_unset(st, 2);
    r.last_us = int_or_unset(st, 3);
    r.last_run_us = int_or_unset(st, 4);
    return c->rule(c->ctx, &r);
}

int bw_dash_rules(bw_store *s, bw_dash_rule_fn fn, void *ctx, bw_errbuf *eb)
{
    sqlite3_stmt *st = stmt(s, Q_RULES, eb);
    cb c = {.rule = fn, .ctx = ctx};
    return st ? run(s, st, rule_row, &c, eb, "reading rules") : BW_ERR_STORE;
}

static int newest_row(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = int_or_unset(st, 0);
    return 0;
}

int bw_dash_newest(bw_store *s, int64_t *ts_us, bw_errbuf *eb)
{
    sqlite3_stmt *st = stmt(s, Q_NEWEST, eb);
    *ts_us = BW_UNSET;
    return st ? run(s, st, newest_row, ts_us, eb, "reading the newest finding") : BW_ERR_STORE;
}

/* Grouping with distinct counts, done here in C rather than by SQLite's
 * GROUP BY / count(DISTINCT): one pass over the covering index, hash
 * tables instead of two sorted temporary b-trees per query (several times
 * faster on the dashboards' 10^5-row ranges). Strings are interned; a
 * (key, other, bucket) triple seen for the first time adds one to its
 * (key, bucket) cell's distinct count. */
#define MAX_GROUP_ENTRIES 20000000u

typedef struct strtab {
    uint32_t *slot; /* 0: empty, else id + 1 */
    size_t cap;
    uint64_t *hash;
    char **str;
    size_t n, ncap;
} strtab;

/* (a, b) -> index in insertion order. */
typedef struct pairmap {
    uint32_t *slot;
    size_t cap;
    uint64_t *a;
    int64_t *b;
    size_t n, ncap;
} pairmap;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t hash_str(const char *p)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ULL;
    }
    return mix(h);
}

/* Doubles a slot array of cap entries; rehash(i) gives entry i's hash. */
static int grow_slots(uint32_t **slot, size_t *cap, size_t n, uint64_t (*rehash)(void *, size_t),
                      void *t)
{
    size_t nc = *cap ? 2 * *cap : 1024;
    uint32_t *ns = calloc(nc, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t j = rehash(t, i) & (nc - 1);
        while (ns[j])
            j = (j + 1) & (nc - 1);
        ns[j] = (uint32_t)i + 1;
    }
    free(*slot);
    *slot = ns;
    *cap = nc;
    return 0;
}

static uint64_t str_rehash(void *t, size_t i)
{
    return ((strtab *)t)->hash[i];
}

static uint64_t pair_hash(uint64_t a, int64_t b)
{
    return mix(a * 0x9e3779b97f4a7c15ULL ^ (uint64_t)b);
}

static uint64_t pair_rehash(void *t, size_t i)
{
    const pairmap *m = t;
    return pair_hash(m->a[i], m->b[i]);
}

/* The id of s, added when new; -1 when out of memory or over the cap. */
static long intern(strtab *t, const char *s)
{
    uint64_t h = hash_str(s);
    if ((t->n + 1) * 2 > t->cap &&
        (t->n >= MAX_GROUP_ENTRIES || grow_slots(&t->slot, &t->cap, t->n, str_rehash, t)))
        return -1;
    size_t j = h & (t->cap - 1);
    for (; t->slot[j]; j = (j + 1) & (t->cap - 1)) {
        size_t id = t->slot[j] - 1;
        if (t->hash[id] == h && strcmp(t->str[id], s) == 0)
            return (long)id;
    }
    if (t->n == t->ncap) {
        size_t nc = t->ncap ? 2 * t->ncap : 1024;
        uint64_t *nh = realloc(t->hash, nc * sizeof *nh);
        if (!nh)
            return -1;
        t->hash = nh;
        char **ns = realloc(t->str, nc * sizeof *ns);
        if (!ns)
            return -1;
        t->str = ns;
        t->ncap = nc;
    }
    if (!(t->str[t->n] = strdup(s)))
        return -1;
    t->hash[t->n] = h;
    t->slot[j] = (uint32_t)t->n + 1;
    return (long)t->n++;
}

static void strtab_free(strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->str[i]);
    free(t->str);
    free(t->hash);
    free(t->slot);
}

/* Finds or adds (a, b): 1 added, 0 found, -1 out of memory / over the cap;
 * *idx its index. */
static int pair_add(pairmap *m, uint64_t a, int64_t b, size_t *idx)
{
    if ((m->n + 1) * 2 > m->cap &&
        (m->n >= MAX_GROUP_ENTRIES || grow_slots(&m->slot, &m->cap, m->n, pair_rehash, m)))
        return -1;
    size_t j = pair_hash(a, b) & (m->cap - 1);
    for (; m->slot[j]; j = (j + 1) & (m->cap - 1)) {
        size_t i = m->slot[j] - 1;
        if (m->a[i] == a && m->b[i] == b) {
            *idx = i;
            return 0;
        }
    }
    if (m->n == m->ncap) {
        size_t nc = m->ncap ? 2 * m->ncap : 1024;
        uint64_t *na = realloc(m->a, nc * sizeof *na);
        if (!na)
            return -1;
        m->a = na;
        int64_t *nb = realloc(m->b, nc * sizeof *nb);
        if (!nb)
            return -1;
        m->b = nb;
        m->ncap = nc;
    }
    m->a[m->n] = a;
    m->b[m->n] = b;
    m->slot[j] = (uint32_t)m->n + 1;
    *idx = m->n++;
    return 1;
}

static void pairmap_free(pairmap *m)
{
    free(m->slot);
    free(m->a);
    free(m->b);
}

typedef struct grouping {
    int key_col;          /* 0: host, 1: process */
    int64_t from, step;   /* step <= 0: one bucket */
    strtab keys, others;
    pairmap cells, seen;  /* (key, bucket); (key << 32 | other, bucket) */
    int64_t *distinct, *findings; /* per cell */
    size_t ccap;
} grouping;

static int group_row(sqlite3_stmt *st, void *ctx)
{
    grouping *g = ctx;
    long k = intern(&g->keys, text_or_empty(st, g->key_col));
    long o = intern(&g->others, text_or_empty(st, 1 - g->key_col));
    int64_t b = g->step > 0 ? (sqlite3_column_int64(st, 2) - g->from) / g->step : 0;
    size_t ci, si;
    int added;
    if (k < 0 || o < 0 || (added = pair_add(&g->cells, (uint64_t)k, b, &ci)) < 0)
        return 1;
    if (ci >= g->ccap) {
        size_t nc = g->ccap ? 2 * g->ccap : 1024;
        int64_t *nd = realloc(g->distinct, nc * sizeof *nd);
        if (!nd)
            return 1;
        g->distinct = nd;
        int64_t *nf = realloc(g->findings, nc * sizeof *nf);
        if (!nf)
            return 1;
        g->findings = nf;
        g->ccap = nc;
    }
    if (added)
        g->distinct[ci] = g->findings[ci] = 0;
    g->findings[ci]++;
    switch (pair_add(&g->seen, (uint64_t)k << 32 | (uint64_t)o, b, &si)) {
    case 1: g->distinct[ci]++; break;
    case 0: break;
    default: return 1;
    }
    return 0;
}

int bw_dash_counts(bw_store *s, const bw_dash_filter *f, bw_dash_by by, int64_t step_us,
                   bw_dash_count_fn fn, void *ctx, bw_errbuf *eb)
{
    sqlite3_stmt *st = stmt(s, Q_CNT_ROWS, eb);
    grouping g;
    int err;
    if (!st)
        return BW_ERR_STORE;
    memset(&g, 0, sizeof g);
    g.key_col = by == BW_DASH_BY_HOST ? 0 : 1;
    g.from = f->from_us;
    g.step = step_us;
    bind_filter(st, f);
    if ((err = run(s, st, group_row, &g, eb, "counting findings"))) {
        if (err == BW_ERR_STOPPED)
            err = bw_errf(eb, BW_ERR_LIMIT, "store: counting findings: out of memory or "
                          "more than %u groups", MAX_GROUP_ENTRIES);
        goto out;
    }
    for (size_t i = 0; i < g.cells.n; i++) {
        bw_dash_count c = {g.keys.str[g.cells.a[i]], g.cells.b[i], g.distinct[i], g.findings[i]};
        if (fn(ctx, &c)) {
            err = bw_errf(eb, BW_ERR_STOPPED, "store: counting findings: stopped by the callback");
            break;
        }
    }
out:
    strtab_free(&g.keys);
    strtab_free(&g.others);
    pairmap_free(&g.cells);
    pairmap_free(&g.seen);
    free(g.distinct);
    free(g.findings);
    return err;
}

static int finding_row(sqlite3_stmt *st, void *ctx)
{
    cb *c = ctx;
    bw_dash_finding f;
    f.rule = text_or_empty(st, 0);
    f.id = text_or_empty(st, 1);
    f.host = text_or_empty(st, 2);
    f.process = text_or_empty(st, 3);
    f.source_ip = text_or_empty(st, 4);
    f.ts_us = sqlite3_column_int64(st, 5);
    f.score = sqlite3_column_double(st, 6);
    f.alert = sqlite3_column_int(st, 7) != 0;
    for (int i = 0; i < 4; i++)
        f.ind[i] = sqlite3_column_type(st, 8 + i) == SQLITE_NULL
                       ? -1
                       : sqlite3_column_int(st, 8 + i) != 0;
    f.explanation = text_or_null(st, 12);
    f.period_s = sqlite3_column_type(st, 13) == SQLITE_NULL ? -1.0
                                                            : sqlite3_column_double(st, 13);
    f.doc = text_or_null(st, 14);
    return c->finding(c->ctx, &f);
}

static int total_row(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 0;
}

int bw_dash_findings(bw_store *s, const bw_dash_filter *f, bw_dash_sort sort, int64_t limit,
                     int64_t offset, int64_t *total, bw_dash_finding_fn fn, void *ctx,
                     bw_errbuf *eb)
{
    sqlite3_stmt *st;
    cb c = {.finding = fn, .ctx = ctx};
    int err;
    if (total) {
        if (!(st = stmt(s, Q_FCOUNT, eb)))
            return BW_ERR_STORE;
        *total = 0;
        bind_filter(st, f);
        if ((err = run(s, st, total_row, total, eb, "counting findings")))
            return err;
    }
    if (limit <= 0)
        return 0;
    if (!(st = stmt(s, sort == BW_DASH_SORT_TIME ? Q_PAGE_TIME : Q_PAGE_SCORE, eb)))
        return BW_ERR_STORE;
    bind_filter(st, f);
    sqlite3_bind_int64(st, 7, limit);
    sqlite3_bind_int64(st, 8, offset);
    return run(s, st, finding_row, &c, eb, "reading findings");
}

int bw_dash_finding_get(bw_store *s, const char *rule, const char *id, bw_dash_finding_fn fn,
                        void *ctx, bw_errbuf *eb)
{
    sqlite3_stmt *st = stmt(s, Q_GET, eb);
    cb c = {.finding = fn, .ctx = ctx};
    if (!st)
        return BW_ERR_STORE;
    bind_opt(st, 1, rule);
    bind_opt(st, 2, id);
    return run(s, st, finding_row, &c, eb, "reading a finding");
}

/* Remembers whether a row was seen, then passes it on. */
typedef struct seen_cb {
    cb c;
    int seen;
} seen_cb;

static int seen_row(sqlite3_stmt *st, void *ctx)
{
    seen_cb *sc = ctx;
    sc->seen = 1;
    return finding_row(st, &sc->c);
}

int bw_dash_verdict(bw_store *s, const char *rule_glob, const char *host, const char *process,
                    bw_dash_finding_fn fn, void *ctx, bw_errbuf *eb)
{
    seen_cb sc = {{.finding = fn, .ctx = ctx}, 0};
    for (int q = Q_VERDICT_KEY; q <= Q_VERDICT_PAIRS && !sc.seen; q++) {
        sqlite3_stmt *st = stmt(s, q, eb);
        int err;
        if (!st)
            return BW_ERR_STORE;
        bind_opt(st, 1, rule_glob);
        bind_opt(st, 2, host);
        bind_opt(st, 3, process);
        if ((err = run(s, st, seen_row, &sc, eb, "reading a verdict")))
            return err;
    }
    return 0;
}

static void bind_group(sqlite3_stmt *st, const char *host, const char *process, int64_t from_us,
                       int64_t to_us)
{
    bind_opt(st, 1, host);
    bind_opt(st, 2, process);
    sqlite3_bind_int64(st, 3, from_us == BW_UNSET ? INT64_MIN : from_us);
    sqlite3_bind_int64(st, 4, to_us == BW_UNSET ? INT64_MAX : to_us);
}

typedef struct stats3 {
    int64_t n, lo, hi;
} stats3;

static int stats_row(sqlite3_stmt *st, void *ctx)
{
    stats3 *t = ctx;
    t->n = sqlite3_column_int64(st, 0);
    t->lo = int_or_unset(st, 1);
    t->hi = int_or_unset(st, 2);
    return 0;
}

static int record_row(sqlite3_stmt *st, void *ctx)
{
    cb *c = ctx;
    bw_stored_record r;
    bw_sqlite_record(st, &r);
    return c->record(c->ctx, &r);
}

int bw_dash_records(bw_store *s, const char *host, const char *process, int64_t from_us,
                    int64_t to_us, int64_t limit, int64_t offset, int64_t *total,
                    int64_t *first_us, int64_t *last_us, bw_stored_record_fn fn, void *ctx,
                    bw_errbuf *eb)
{
    sqlite3_stmt *st;
    cb c = {.record = fn, .ctx = ctx};
    int err;
    if (total || first_us || last_us) {
        stats3 t = {0, BW_UNSET, BW_UNSET};
        if (!(st = stmt(s, Q_REC_STATS, eb)))
            return BW_ERR_STORE;
        bind_group(st, host, process, from_us, to_us);
        if ((err = run(s, st, stats_row, &t, eb, "counting records")))
            return err;
        if (total)
            *total = t.n;
        if (first_us)
            *first_us = t.lo;
        if (last_us)
            *last_us = t.hi;
    }
    if (limit <= 0)
        return 0;
    if (!(st = stmt(s, Q_REC_PAGE, eb)))
        return BW_ERR_STORE;
    bind_group(st, host, process, from_us, to_us);
    sqlite3_bind_int64(st, 5, limit);
    sqlite3_bind_int64(st, 6, offset);
    return run(s, st, record_row, &c, eb, "reading records");
}

static int dest_row(sqlite3_stmt *st, void *ctx)
{
    cb *c = ctx;
    bw_dash_dest d;
    d.ip = text_or_empty(st, 0);
    d.port = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 1);
    d.domain = text_or_null(st, 2);
    d.count = sqlite3_column_int64(st, 3);
    d.bytes = sqlite3_column_int64(st, 4);
    return c->dest(c->ctx, &d);
}

int bw_dash_destinations(bw_store *s, const char *host, const char *process, int64_t from_us,
                         int64_t to_us, int64_t limit, bw_dash_dest_fn fn, void *ctx,
                         bw_errbuf *eb)
{
    sqlite3_stmt *st = stmt(s, Q_DEST, eb);
    cb c = {.dest = fn, .ctx = ctx};
    if (!st)
        return BW_ERR_STORE;
    bind_group(st, host, process, from_us, to_us);
    sqlite3_bind_int64(st, 5, limit > 0 ? limit : -1);
    return run(s, st, dest_row, &c, eb, "reading destinations");
}

int bw_dash_data_version(bw_store *s, int64_t *v, bw_errbuf *eb)
{
    sqlite3_stmt *st = stmt(s, Q_DATA_VERSION, eb);
    *v = 0;
    return st ? run(s, st, total_row, v, eb, "reading the data version") : BW_ERR_STORE;
}
