/* The SQLite findings store: the only file with SQL in it. One database
 * file in WAL mode, schema version in PRAGMA user_version, prepared
 * statements kept on the handle, writes batched by the caller's
 * transactions. Tables and views are described in docs/SCHEMA.md. */
#include "beaconwatch/bw_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_sample.h"
#include "store_sqlite.h"

/* Version 1 of the schema. A later version adds findings_v<N> (and the
 * other *_v<N> tables it changes) and a migration step in migrate(); the
 * views are rebuilt over every findings_v<N> table, so findings written by
 * an older version stay visible in ml_beaconing_all. */
static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS findings_v1("
    " rule TEXT NOT NULL, id TEXT NOT NULL, ts_us INTEGER NOT NULL,"
    " ingested_us INTEGER NOT NULL, host TEXT NOT NULL, process TEXT NOT NULL,"
    " source_ip TEXT NOT NULL, score REAL NOT NULL, alert INTEGER NOT NULL,"
    " doc TEXT NOT NULL, PRIMARY KEY(rule, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS findings_v1_ingested ON findings_v1(ingested_us);"
    "CREATE INDEX IF NOT EXISTS findings_v1_ts ON findings_v1(ts_us);"
    "CREATE INDEX IF NOT EXISTS findings_v1_group ON findings_v1(host, process);"
    /* Covers the dashboards' aggregates and page ordering (with the
     * primary key, which every index of a WITHOUT ROWID table carries),
     * so they never read the documents. Created on any writable open. */
    "CREATE INDEX IF NOT EXISTS findings_v1_dash ON findings_v1(ts_us, alert, host,"
    " process, score);"
    /* Per-rule totals (status, the dashboards' meta) without the documents. */
    "CREATE INDEX IF NOT EXISTS findings_v1_rule ON findings_v1(rule, ts_us);"
    "CREATE TABLE IF NOT EXISTS sample_groups_v1("
    " gid INTEGER PRIMARY KEY, key_host TEXT NOT NULL, key_process TEXT NOT NULL,"
    " UNIQUE(key_host, key_process));"
    "CREATE TABLE IF NOT EXISTS samples_v1("
    " gid INTEGER NOT NULL REFERENCES sample_groups_v1(gid), ts_us INTEGER NOT NULL,"
    " src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER, transport TEXT,"
    " src_bytes INTEGER, dst_bytes INTEGER, duration_us INTEGER, host_name TEXT,"
    " process_name TEXT, dst_domain TEXT, event_action TEXT, conn_state TEXT);"
    "CREATE INDEX IF NOT EXISTS samples_v1_group ON samples_v1(gid, ts_us);"

    "CREATE TABLE IF NOT EXISTS alerts_v1("
    " id TEXT PRIMARY KEY, rule TEXT NOT NULL, finding_rule TEXT NOT NULL,"
    " finding_id TEXT NOT NULL, ts_us INTEGER NOT NULL, created_us INTEGER NOT NULL,"
    " severity TEXT NOT NULL, risk INTEGER NOT NULL, host TEXT NOT NULL,"
    " process TEXT NOT NULL, source_ip TEXT NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS alerts_v1_created ON alerts_v1(created_us);"
    "CREATE TABLE IF NOT EXISTS offsets_v1("
    " dev INTEGER NOT NULL, ino INTEGER NOT NULL, path TEXT NOT NULL,"
    " offset INTEGER NOT NULL, size INTEGER NOT NULL, updated_us INTEGER NOT NULL,"
    " head_len INTEGER NOT NULL, head_hash INTEGER NOT NULL,"
    " PRIMARY KEY(dev, ino)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS segments_v1("
    " dev INTEGER NOT NULL, ino INTEGER NOT NULL, start INTEGER NOT NULL,"
    " end INTEGER NOT NULL, min_ts_us INTEGER NOT NULL, max_ts_us INTEGER NOT NULL,"
    " records INTEGER NOT NULL, PRIMARY KEY(dev, ino, start)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS segments_v1_time ON segments_v1(max_ts_us);"
    "CREATE TABLE IF NOT EXISTS runs("
    " rule TEXT PRIMARY KEY, run_us INTEGER NOT NULL, now_us INTEGER,"
    " findings INTEGER NOT NULL) WITHOUT ROWID;";

#define FINDING_COLS "rule, id, ts_us, ingested_us, host, process, source_ip, score, alert, doc"

/* Statements, prepared once per handle. */
enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_PUT_FINDING, ST_PUT_RUN, ST_FINDINGS, ST_PUT_GROUP,
    ST_GET_GROUP, ST_CLEAR_SAMPLE, ST_PUT_SAMPLE, ST_TRIM_SAMPLE, ST_SAMPLE, ST_PUT_ALERT,
    ST_ALERTS, ST_RETAIN_SAMPLES, ST_RETAIN_GROUPS, ST_RETAIN_ALERTS, ST_STATUS_RULES,
    ST_STATUS_RUNS, ST_STATUS_COUNTS, ST_PUT_OFFSET, ST_OFFSETS, ST_DEL_OFFSET, ST_PUT_SEGMENT,
    ST_DEL_SEGMENTS, ST_SEGMENTS, ST_MAX_TS, ST_GET_RUN, ST_RETAIN_SEGMENTS,
    ST__COUNT
};

static const char *const sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* The group columns come out of the document itself: elastic's
     * host.name / process.name, sentinel's SrcIpAddr / DstIpAddr:port
     * (the sampler's src_dst_port key, so drilldown finds the records),
     * beaconwatch's group.source / group.destination. */
    [ST_PUT_FINDING] =
        "INSERT INTO findings_v1(" FINDING_COLS ") VALUES(?1, ?2, ?3, ?4,"
        " coalesce(json_extract(?5, '$.host.name'), json_extract(?5, '$.SrcIpAddr'),"
        "  json_extract(?5, '$.group.source'), ''),"
        " coalesce(json_extract(?5, '$.process.name'),"
        "  json_extract(?5, '$.DstIpAddr') || coalesce(':' || json_extract(?5,"
        "  '$.DstPortNumber'), ''), json_extract(?5, '$.group.destination'), ''),"
        " coalesce(json_extract(?5, '$.source.ip'), json_extract(?5, '$.SrcIpAddr'), ''),"
        " ?6, ?7, ?5)"
        " ON CONFLICT(rule, id) DO UPDATE SET ts_us = excluded.ts_us,"
        " ingested_us = excluded.ingested_us, host = excluded.host,"
        " process = excluded.process, source_ip = excluded.source_ip,"
        " score = excluded.score, alert = excluded.alert, doc = excluded.doc",
    [ST_PUT_RUN] = "INSERT INTO runs(rule, run_us, now_us, findings) VALUES(?1, ?2, ?3, ?4)"
                   " ON CONFLICT(rule) DO UPDATE SET run_us = excluded.run_us,"
                   " now_us = excluded.now_us, findings = excluded.findings",
    [ST_FINDINGS] = "SELECT " FINDING_COLS ", schema FROM ml_beaconing_all"
                    " WHERE (?1 IS NULL OR rule GLOB ?1) AND (?2 IS NULL OR host = ?2)"
                    " AND (?3 IS NULL OR process = ?3) AND (?4 IS NULL OR ts_us >= ?4)"
                    " AND (?5 IS NULL OR ingested_us >= ?5)"
                    " AND (?6 IS NULL OR ingested_us <= ?6) AND (?7 = 0 OR alert <> 0)"
                    " ORDER BY ingested_us DESC, ts_us DESC, rule, id LIMIT ?8",
    [ST_PUT_GROUP] = "INSERT OR IGNORE INTO sample_groups_v1(key_host, key_process)"
                     " VALUES(?1, ?2)",
    [ST_GET_GROUP] = "SELECT gid FROM sample_groups_v1 WHERE key_host = ?1 AND key_process = ?2",
    /* A run's sample is every record of the group from its oldest sampled
     * time on, so it replaces what an earlier run stored in that range: a
     * rerun over the same input does not duplicate. */
    [ST_CLEAR_SAMPLE] = "DELETE FROM samples_v1 WHERE gid = ?1 AND ts_us >= ?2",
    [ST_PUT_SAMPLE] =
        "INSERT INTO samples_v1(gid, ts_us, src_ip, src_port, dst_ip, dst_port, transport,"
        " src_bytes, dst_bytes, duration_us, host_name, process_name, dst_domain,"
        " event_action, conn_state)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [ST_TRIM_SAMPLE] = "DELETE FROM samples_v1 WHERE gid = ?1 AND ts_us < (SELECT ts_us"
                       " FROM samples_v1 WHERE gid = ?1 ORDER BY ts_us DESC LIMIT 1"
                       " OFFSET ?2)",
    [ST_SAMPLE] = "SELECT ts_us, duration_us, src_bytes, dst_bytes, src_ip, dst_ip, src_port,"
                  " dst_port, transport, host_name, process_name, dst_domain, event_action,"
                  " conn_state FROM samples_v1 WHERE gid = (SELECT gid FROM sample_groups_v1"
                  " WHERE key_host = ?1 AND key_process = ?2)"
                  " ORDER BY ts_us DESC, rowid DESC LIMIT ?3",
    [ST_PUT_ALERT] = "INSERT OR IGNORE INTO alerts_v1(id, rule, finding_rule, finding_id,"
                     " ts_us, created_us, severity, risk, host, process, source_ip, doc)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_ALERTS] = "SELECT id, rule, finding_rule, finding_id, ts_us, created_us, severity,"
                  " risk, host, process, source_ip, doc FROM alerts_v1"
                  " WHERE (?1 IS NULL OR created_us >= ?1)"
                  " ORDER BY created_us DESC, ts_us DESC, id LIMIT ?2",
    [ST_RETAIN_SAMPLES] = "DELETE FROM samples_v1 WHERE ts_us < ?1",
    [ST_RETAIN_GROUPS] = "DELETE FROM sample_groups_v1 WHERE NOT EXISTS"
                         " (SELECT 1 FROM samples_v1 WHERE samples_v1.gid ="
                         " sample_groups_v1.gid)",
    [ST_RETAIN_ALERTS] = "DELETE FROM alerts_v1 WHERE ts_us < ?1",
    [ST_STATUS_RULES] = "SELECT rule, count(*), min(ts_us), max(ts_us) FROM ml_beaconing_all"
                        " GROUP BY rule ORDER BY rule",
    [ST_STATUS_RUNS] = "SELECT rule, run_us, now_us, findings FROM runs ORDER BY rule",
    [ST_PUT_OFFSET] = "INSERT INTO offsets_v1(dev, ino, path, offset, size, updated_us,"
                      " head_len, head_hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                      " ON CONFLICT(dev, ino) DO UPDATE SET"
                      " path = excluded.path, offset = excluded.offset,"
                      " size = excluded.size, updated_us = excluded.updated_us,"
                      " head_len = excluded.head_len, head_hash = excluded.head_hash",
    [ST_OFFSETS] = "SELECT dev, ino, path, offset, size, updated_us, head_len, head_hash"
                   " FROM offsets_v1 ORDER BY path, dev, ino",
    [ST_DEL_SEGMENTS] = "DELETE FROM segments_v1 WHERE dev = ?1 AND ino = ?2",
    [ST_DEL_OFFSET] = "DELETE FROM offsets_v1 WHERE dev = ?1 AND ino = ?2",
    [ST_PUT_SEGMENT] = "INSERT OR REPLACE INTO segments_v1(dev, ino, start, end, min_ts_us,"
                       " max_ts_us, records) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_SEGMENTS] = "SELECT s.dev, s.ino, s.start, s.end, s.min_ts_us, s.max_ts_us, s.records,"
                    " coalesce(o.path, '') FROM segments_v1 s LEFT JOIN offsets_v1 o"
                    " ON o.dev = s.dev AND o.ino = s.ino"
                    " WHERE s.max_ts_us >= ?1 AND s.min_ts_us <= ?2"
                    " ORDER BY o.path, s.dev, s.ino, s.start",
    [ST_MAX_TS] = "SELECT min(min_ts_us), max(max_ts_us) FROM segments_v1",
    [ST_GET_RUN] = "SELECT now_us FROM runs WHERE rule = ?1",
    [ST_RETAIN_SEGMENTS] = "DELETE FROM segments_v1 WHERE max_ts_us < ?1",
    [ST_STATUS_COUNTS] = "SELECT (SELECT count(*) FROM samples_v1),"
                         " (SELECT count(DISTINCT gid) FROM samples_v1),"
                         " (SELECT count(*) FROM alerts_v1),"
                         " (SELECT count(*) FROM offsets_v1),"
                         " (SELECT max(updated_us) FROM offsets_v1)",
};

_Static_assert(ST__COUNT <= BW_STORE_ST_MAX, "raise BW_STORE_ST_MAX");

static int db_err(bw_store *s, bw_errbuf *eb, const char *what)
{
    return bw_errf(eb, BW_ERR_STORE, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(bw_store *s, const char *text, bw_errbuf *eb)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, text, NULL, NULL, &msg) != SQLITE_OK) {
        bw_errf(eb, BW_ERR_STORE, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return BW_ERR_STORE;
    }
    return 0;
}

/* Runs a statement that returns no rows to its end and resets it. */
static int step_done(bw_store *s, sqlite3_stmt *st, bw_errbuf *eb, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return bw_errf(eb, BW_ERR_STORE, "store: %s: %s", what, sqlite3_errstr(rc));
    return 0;
}

static int pragma_int(bw_store *s, const char *text, int *out, bw_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    int err = 0;
    if (sqlite3_prepare_v2(s->db, text, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, text);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        err = db_err(s, eb, text);
    sqlite3_finalize(st);
    return err;
}

/* Reads which findings_v<N> tables exist. */
static int list_tables(bw_store *s, bw_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    int rc, err = 0;
    s->ntables = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name FROM sqlite_master WHERE type = 'table'"
                           " AND name GLOB 'findings_v[0-9]*' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, "listing tables");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *d = name + strlen("findings_v");
        char *end;
        long v = strtol(d, &end, 10);
        if (*end != '\0' || v < 0 || v > 1000000)
            continue; /* not one of ours (digits only are used in SQL text) */
        if (s->ntables == MAX_FINDING_TABLES) {
            err = bw_errf(eb, BW_ERR_LIMIT, "store: more than %d findings tables",
                          MAX_FINDING_TABLES);
            goto out;
        }
        s->versions[s->ntables++] = (int)v;
    }
    if (rc != SQLITE_DONE)
        err = db_err(s, eb, "listing tables");
out:
    sqlite3_finalize(st);
    return err;
}

/* (Re)creates the two views: _latest reads the current version's table,
 * _all the union of every version's table (the Elasticsearch aliases
 * ml_beaconing.latest / ml_beaconing.all). Table names come from
 * list_tables(), digits only, so building this DDL text is safe; DDL
 * cannot take bound parameters. */
static int build_views(bw_store *s, bw_errbuf *eb)
{
    size_t cap = 256 + (size_t)s->ntables * 160;
    char *text = malloc(cap);
    int err;
    if (!text)
        return bw_errf(eb, BW_ERR_NOMEM, "store: out of memory");
    size_t n = (size_t)snprintf(text, cap,
                                "DROP VIEW IF EXISTS ml_beaconing_all;"
                                "DROP VIEW IF EXISTS ml_beaconing_latest;"
                                "CREATE VIEW ml_beaconing_latest AS SELECT " FINDING_COLS
                                ", %d AS schema FROM findings_v%d;"
                                "CREATE VIEW ml_beaconing_all AS ",
                                BW_STORE_SCHEMA, BW_STORE_SCHEMA);
    for (int i = 0; i < s->ntables; i++)
        n += (size_t)snprintf(text + n, cap - n, "%sSELECT " FINDING_COLS
                              ", %d AS schema FROM findings_v%d",
                              i ? " UNION ALL " : "", s->versions[i], s->versions[i]);
    snprintf(text + n, cap - n, ";");
    err = exec(s, text, eb);
    free(text);
    return err;
}

/* Brings the file to BW_STORE_SCHEMA inside one transaction. */
static int migrate(bw_store *s, bw_errbuf *eb)
{
    int version = 0, err;
    if ((err = exec(s, "BEGIN IMMEDIATE", eb)))
        return err;
    if ((err = pragma_int(s, "PRAGMA user_version", &version, eb)))
        goto out;
    if (version > BW_STORE_SCHEMA) {
        err = bw_errf(eb, BW_ERR_FORMAT, "store: schema version %d is newer than this "
                      "build's (%d)", version, BW_STORE_SCHEMA);
        goto out;
    }
    /* Version 0 -> 1: the first schema. Later versions add steps here. */
    if ((err = exec(s, schema_v1, eb)))
        goto out;
    if ((err = list_tables(s, eb)) || (err = build_views(s, eb)))
        goto out;
    if (version != BW_STORE_SCHEMA) {
        char text[64];
        snprintf(text, sizeof text, "PRAGMA user_version = %d", BW_STORE_SCHEMA);
        if ((err = exec(s, text, eb)))
            goto out;
    }
    err = exec(s, "COMMIT", eb);
out:
    if (err)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

int bw_store_open(const char *path, unsigned flags, bw_store **out, bw_errbuf *eb)
{
    bw_store *s = NULL;
    int err = 0, version = 0;
    struct stat sb;
    *out = NULL;
    if ((flags & BW_STORE_READONLY) && stat(path, &sb) != 0)
        return bw_errf(eb, BW_ERR_IO, "%s: no such store (run 'beaconwatch detect --store "
                       "%s' first)", path, path);
    if (!(s = calloc(1, sizeof *s)))
        return bw_errf(eb, BW_ERR_NOMEM, "store: out of memory");
    s->readonly = (flags & BW_STORE_READONLY) != 0;
    int oflags = s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        err = bw_errf(eb, BW_ERR_STORE, "%s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 10000);
    sqlite3_extended_result_codes(s->db, 1);
    if (!s->readonly) {
        /* WAL: readers (findings, status, the dashboards) never block the
         * writer; synchronous=NORMAL is durable at each checkpoint and
         * consistent after a crash, which is what the store needs. */
        if ((err = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                           "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;", eb)) ||
            (err = migrate(s, eb)))
            goto out;
    } else {
        if ((err = pragma_int(s, "PRAGMA user_version", &version, eb)))
            goto out;
        if (version != BW_STORE_SCHEMA) {
            err = bw_errf(eb, BW_ERR_FORMAT, "%s: schema version %d, this build reads %d%s",
                          path, version, BW_STORE_SCHEMA,
                          version < BW_STORE_SCHEMA ? " (open it for writing once to "
                                                      "upgrade)" : "");
            goto out;
        }
        if ((err = list_tables(s, eb)))
            goto out;
    }
    for (int i = 0; i < ST__COUNT; i++)
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            err = db_err(s, eb, "preparing statements");
            goto out;
        }
    *out = s;
    s = NULL;
out:
    bw_store_close(s);
    return err;
}

void bw_store_close(bw_store *s)
{
    if (!s)
        return;
    if (s->in_tx)
        bw_store_rollback(s);
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    for (int i = 0; i < BW_DASH_ST_MAX; i++)
        sqlite3_finalize(s->dash[i]);
    sqlite3_close(s->db);
    free(s);
}

int bw_store_begin(bw_store *s, bw_errbuf *eb)
{
    if (s->in_tx)
        return bw_errf(eb, BW_ERR_USAGE, "store: a transaction is already open");
    int err = step_done(s, s->st[ST_BEGIN], eb, "begin");
    if (!err)
        s->in_tx = 1;
    return err;
}

int bw_store_commit(bw_store *s, bw_errbuf *eb)
{
    int err = step_done(s, s->st[ST_COMMIT], eb, "commit");
    if (err)
        bw_store_rollback(s);
    s->in_tx = 0;
    return err;
}

void bw_store_rollback(bw_store *s)
{
    if (sqlite3_get_autocommit(s->db) == 0) {
        sqlite3_step(s->st[ST_ROLLBACK]);
        sqlite3_reset(s->st[ST_ROLLBACK]);
    }
    s->in_tx = 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *p)
{
    if (p)
        sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t us)
{
    if (us == BW_UNSET)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, us);
}

int bw_store_put_finding(bw_store *s, const bw_finding *f, int64_t ingested_us, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_PUT_FINDING];
    bind_text(st, 1, f->rule);
    bind_text(st, 2, f->id);
    sqlite3_bind_int64(st, 3, f->ts_us);
    sqlite3_bind_int64(st, 4, ingested_us);
    bind_text(st, 5, f->json);
    sqlite3_bind_double(st, 6, f->score);
    sqlite3_bind_int(st, 7, f->alert != 0);
    return step_done(s, st, eb, "writing a finding");
}

int bw_store_put_run(bw_store *s, const char *rule, int64_t run_us, int64_t now_us,
                     uint64_t nfindings, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_PUT_RUN];
    bind_text(st, 1, rule);
    sqlite3_bind_int64(st, 2, run_us);
    bind_time(st, 3, now_us);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)nfindings);
    return step_done(s, st, eb, "recording a run");
}

void bw_finding_query_init(bw_finding_query *q)
{
    memset(q, 0, sizeof *q);
    q->since_us = q->ingested_from = q->ingested_to = BW_UNSET;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? BW_UNSET : sqlite3_column_int64(st, i);
}

/* Steps a query to its end, calling row() for each row. */
static int each_row(bw_store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *, void *),
                    void *ctx, bw_errbuf *eb, const char *what)
{
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (row(st, ctx)) {
            err = bw_errf(eb, BW_ERR_STOPPED, "store: %s: stopped by the callback", what);
            break;
        }
    if (!err && rc != SQLITE_DONE)
        err = bw_errf(eb, BW_ERR_STORE, "store: %s: %s", what, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

typedef struct finding_cb {
    bw_stored_finding_fn fn;
    void *ctx;
} finding_cb;

static int finding_row(sqlite3_stmt *st, void *ctx)
{
    finding_cb *c = ctx;
    bw_stored_finding f;
    f.rule = col_text(st, 0);
    f.id = col_text(st, 1);
    f.ts_us = sqlite3_column_int64(st, 2);
    f.ingested_us = sqlite3_column_int64(st, 3);
    f.host = col_text(st, 4);
    f.process = col_text(st, 5);
    f.source_ip = col_text(st, 6);
    f.score = sqlite3_column_double(st, 7);
    f.alert = sqlite3_column_int(st, 8);
    f.json = col_text(st, 9);
    f.schema = sqlite3_column_int(st, 10);
    return c->fn(c->ctx, &f);
}

int bw_store_findings(bw_store *s, const bw_finding_query *q, bw_stored_finding_fn fn,
                      void *ctx, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_FINDINGS];
    finding_cb c = {fn, ctx};
    bind_text(st, 1, q->rule);
    bind_text(st, 2, q->host);
    bind_text(st, 3, q->process);
    bind_time(st, 4, q->since_us);
    bind_time(st, 5, q->ingested_from);
    bind_time(st, 6, q->ingested_to);
    sqlite3_bind_int(st, 7, q->only_alert != 0);
    sqlite3_bind_int64(st, 8, q->limit > 0 ? q->limit : -1);
    return each_row(s, st, finding_row, &c, eb, "reading findings");
}

static void bind_i64_or_null(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == BW_UNSET)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* The id of a sample group, created when new. */
static int group_id(bw_store *s, const char *kh, int hl, const char *kp, int pl,
                    sqlite3_int64 *gid, bw_errbuf *eb)
{
    sqlite3_stmt *put = s->st[ST_PUT_GROUP], *get = s->st[ST_GET_GROUP];
    int err, rc;
    sqlite3_bind_text(put, 1, kh, hl, SQLITE_STATIC);
    sqlite3_bind_text(put, 2, kp, pl, SQLITE_STATIC);
    if ((err = step_done(s, put, eb, "writing a sample group")))
        return err;
    sqlite3_bind_text(get, 1, kh, hl, SQLITE_STATIC);
    sqlite3_bind_text(get, 2, kp, pl, SQLITE_STATIC);
    rc = sqlite3_step(get);
    if (rc == SQLITE_ROW)
        *gid = sqlite3_column_int64(get, 0);
    sqlite3_reset(get);
    sqlite3_clear_bindings(get);
    if (rc != SQLITE_ROW)
        return bw_errf(eb, BW_ERR_STORE, "store: reading a sample group: %s",
                       sqlite3_errstr(rc));
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const bw_sample_rec *x = *(const bw_sample_rec *const *)a;
    const bw_sample_rec *y = *(const bw_sample_rec *const *)b;
    return (x->ts_us > y->ts_us) - (x->ts_us < y->ts_us);
}

int bw_store_put_sample(bw_store *s, const bw_sampler *smp, uint32_t per_group,
                        uint64_t *written, bw_errbuf *eb)
{
    sqlite3_stmt *ins = s->st[ST_PUT_SAMPLE], *trim = s->st[ST_TRIM_SAMPLE];
    sqlite3_stmt *clear = s->st[ST_CLEAR_SAMPLE];
    static const int slot_col[BW_SS__COUNT] = {7, 11, 12, 13, 14, 15};
    uint64_t n = 0;
    int err = 0;
    const bw_sample_rec **order = NULL;
    uint32_t order_cap = 0;
    for (size_t gi = 0; gi < smp->ngroups; gi++) {
        const bw_sample_group *g = &smp->groups[gi];
        sqlite3_int64 gid = 0;
        if (!g->n)
            continue;
        /* In time order, so the (gid, ts_us) index grows at its end. */
        if (g->n > order_cap) {
            const bw_sample_rec **no = realloc(order, g->n * sizeof *no);
            if (!no) {
                err = bw_errf(eb, BW_ERR_NOMEM, "store: out of memory");
                goto out;
            }
            order = no;
            order_cap = g->n;
        }
        for (uint32_t i = 0; i < g->n; i++)
            order[i] = &g->recs[i];
        qsort(order, g->n, sizeof *order, by_time);
        if ((err = group_id(s, g->key, (int)g->hlen, g->key + g->hlen + 1, (int)g->plen, &gid,
                            eb)))
            goto out;
        /* recs is a min-heap: recs[0] is the oldest record kept. */
        sqlite3_bind_int64(clear, 1, gid);
        sqlite3_bind_int64(clear, 2, g->recs[0].ts_us);
        if ((err = step_done(s, clear, eb, "replacing a sample")))
            goto out;
        for (uint32_t i = 0; i < g->n; i++) {
            const bw_sample_rec *r = order[i];
            char sip[BW_IP_STRLEN], dip[BW_IP_STRLEN];
            sqlite3_bind_int64(ins, 1, gid);
            sqlite3_bind_int64(ins, 2, r->ts_us);
            if (r->src_ip.family)
                sqlite3_bind_text(ins, 3, sip, (int)bw_ip_format(&r->src_ip, sip),
                                  SQLITE_STATIC);
            if (r->src_port >= 0)
                sqlite3_bind_int(ins, 4, r->src_port);
            if (r->dst_ip.family)
                sqlite3_bind_text(ins, 5, dip, (int)bw_ip_format(&r->dst_ip, dip),
                                  SQLITE_STATIC);
            if (r->dst_port >= 0)
                sqlite3_bind_int(ins, 6, r->dst_port);
            for (int k = 0; k < BW_SS__COUNT; k++)
                if (r->s[k])
                    sqlite3_bind_text(ins, slot_col[k], smp->arena + r->s[k], -1,
                                      SQLITE_STATIC);
            bind_i64_or_null(ins, 8, r->src_bytes);
            bind_i64_or_null(ins, 9, r->dst_bytes);
            bind_i64_or_null(ins, 10, r->duration_us);
            /* step_done clears the bindings: unset columns are NULL. */
            if ((err = step_done(s, ins, eb, "writing a sampled record")))
                goto out;
            n++;
        }
        /* Keep the latest per_group of the group across runs. */
        sqlite3_bind_int64(trim, 1, gid);
        sqlite3_bind_int64(trim, 2, per_group ? (sqlite3_int64)per_group - 1 : 0);
        if ((err = step_done(s, trim, eb, "trimming a sample")))
            goto out;
    }
out:
    free(order);
    if (written)
        *written = n;
    return err;
}

typedef struct record_cb {
    bw_stored_record_fn fn;
    void *ctx;
} record_cb;

static const char *col_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : col_text(st, i);
}

void bw_sqlite_record(sqlite3_stmt *st, bw_stored_record *r)
{
    r->ts_us = sqlite3_column_int64(st, 0);
    r->duration_us = col_time(st, 1);
    r->src_bytes = col_time(st, 2);
    r->dst_bytes = col_time(st, 3);
    r->src_ip = col_text(st, 4);
    r->dst_ip = col_text(st, 5);
    r->src_port = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
    r->dst_port = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
    r->transport = col_opt(st, 8);
    r->host_name = col_opt(st, 9);
    r->process_name = col_opt(st, 10);
    r->dst_domain = col_opt(st, 11);
    r->event_action = col_opt(st, 12);
    r->conn_state = col_opt(st, 13);
}

static int record_row(sqlite3_stmt *st, void *ctx)
{
    record_cb *c = ctx;
    bw_stored_record r;
    bw_sqlite_record(st, &r);
    return c->fn(c->ctx, &r);
}

int bw_store_sample(bw_store *s, const char *key_host, const char *key_process, int64_t limit,
                    bw_stored_record_fn fn, void *ctx, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_SAMPLE];
    record_cb c = {fn, ctx};
    bind_text(st, 1, key_host);
    bind_text(st, 2, key_process);
    sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
    return each_row(s, st, record_row, &c, eb, "reading a sample");
}

int bw_store_put_alert(bw_store *s, const bw_alert *a, int *added, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_PUT_ALERT];
    int err;
    bind_text(st, 1, a->id);
    bind_text(st, 2, a->rule);
    bind_text(st, 3, a->finding_rule);
    bind_text(st, 4, a->finding_id);
    sqlite3_bind_int64(st, 5, a->ts_us);
    sqlite3_bind_int64(st, 6, a->created_us);
    bind_text(st, 7, a->severity);
    sqlite3_bind_int(st, 8, a->risk);
    bind_text(st, 9, a->host ? a->host : "");
    bind_text(st, 10, a->process ? a->process : "");
    bind_text(st, 11, a->source_ip ? a->source_ip : "");
    bind_text(st, 12, a->json);
    err = step_done(s, st, eb, "writing an alert");
    if (added)
        *added = !err && sqlite3_changes(s->db) > 0;
    return err;
}

typedef struct alert_cb {
    bw_alert_fn fn;
    void *ctx;
} alert_cb;

static int alert_row(sqlite3_stmt *st, void *ctx)
{
    alert_cb *c = ctx;
    bw_alert a;
    a.id = col_text(st, 0);
    a.rule = col_text(st, 1);
    a.finding_rule = col_text(st, 2);
    a.finding_id = col_text(st, 3);
    a.ts_us = sqlite3_column_int64(st, 4);
    a.created_us = sqlite3_column_int64(st, 5);
    a.severity = col_text(st, 6);
    a.risk = sqlite3_column_int(st, 7);
    a.host = col_text(st, 8);
    a.process = col_text(st, 9);
    a.source_ip = col_text(st, 10);
    a.json = col_text(st, 11);
    return c->fn(c->ctx, &a);
}

int bw_store_alerts(bw_store *s, int64_t since_us, int64_t limit, bw_alert_fn fn, void *ctx,
                    bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_ALERTS];
    alert_cb c = {fn, ctx};
    bind_time(st, 1, since_us);
    sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
    return each_row(s, st, alert_row, &c, eb, "reading alerts");
}

int bw_store_retain(bw_store *s, int64_t cutoff_us, uint64_t *findings, uint64_t *samples,
                    uint64_t *alerts, bw_errbuf *eb)
{
    uint64_t nf = 0;
    int err = 0;
    /* One statement per findings table of any version; the names are
     * validated digits (list_tables). */
    for (int i = 0; i < s->ntables; i++) {
        char text[96];
        sqlite3_stmt *st = NULL;
        snprintf(text, sizeof text, "DELETE FROM findings_v%d WHERE ts_us < ?1",
                 s->versions[i]);
        if (sqlite3_prepare_v2(s->db, text, -1, &st, NULL) != SQLITE_OK)
            return db_err(s, eb, "retention");
        sqlite3_bind_int64(st, 1, cutoff_us);
        err = step_done(s, st, eb, "retention");
        nf += (uint64_t)sqlite3_changes(s->db);
        sqlite3_finalize(st);
        if (err)
            return err;
    }
    if (findings)
        *findings = nf;
    sqlite3_bind_int64(s->st[ST_RETAIN_SAMPLES], 1, cutoff_us);
    if ((err = step_done(s, s->st[ST_RETAIN_SAMPLES], eb, "retention")))
        return err;
    if (samples)
        *samples = (uint64_t)sqlite3_changes(s->db);
    if ((err = step_done(s, s->st[ST_RETAIN_GROUPS], eb, "retention")))
        return err;
    sqlite3_bind_int64(s->st[ST_RETAIN_SEGMENTS], 1, cutoff_us);
    if ((err = step_done(s, s->st[ST_RETAIN_SEGMENTS], eb, "retention")))
        return err;
    sqlite3_bind_int64(s->st[ST_RETAIN_ALERTS], 1, cutoff_us);
    if ((err = step_done(s, s->st[ST_RETAIN_ALERTS], eb, "retention")))
        return err;
    if (alerts)
        *alerts = (uint64_t)sqlite3_changes(s->db);
    return 0;
}

static bw_store_rule_status *rule_slot(bw_store_status *st, const char *rule)
{
    for (int i = 0; i < st->nrules; i++)
        if (strcmp(st->rules[i].rule, rule) == 0)
            return &st->rules[i];
    if (st->nrules == BW_STORE_MAX_RULES)
        return NULL;
    bw_store_rule_status *r = &st->rules[st->nrules++];
    memset(r, 0, sizeof *r);
    snprintf(r->rule, sizeof r->rule, "%s", rule);
    r->first_ts_us = r->last_ts_us = r->last_run_us = r->last_now_us = BW_UNSET;
    return r;
}

static int status_rule_row(sqlite3_stmt *st, void *ctx)
{
    bw_store_status *s = ctx;
    bw_store_rule_status *r = rule_slot(s, col_text(st, 0));
    uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
    s->findings += n;
    if (r) {
        r->findings = n;
        r->first_ts_us = col_time(st, 2);
        r->last_ts_us = col_time(st, 3);
    }
    return 0;
}

static int status_run_row(sqlite3_stmt *st, void *ctx)
{
    bw_store_rule_status *r = rule_slot(ctx, col_text(st, 0));
    if (r) {
        r->last_run_us = col_time(st, 1);
        r->last_now_us = col_time(st, 2);
        r->last_run_findings = (uint64_t)sqlite3_column_int64(st, 3);
    }
    return 0;
}

static int status_count_row(sqlite3_stmt *st, void *ctx)
{
    bw_store_status *s = ctx;
    s->samples = (uint64_t)sqlite3_column_int64(st, 0);
    s->sample_groups = (uint64_t)sqlite3_column_int64(st, 1);
    s->alerts = (uint64_t)sqlite3_column_int64(st, 2);
    s->files = (uint64_t)sqlite3_column_int64(st, 3);
    s->offsets_updated = col_time(st, 4);
    return 0;
}

int bw_store_status_get(bw_store *s, bw_store_status *st, bw_errbuf *eb)
{
    int err;
    memset(st, 0, sizeof *st);
    if ((err = pragma_int(s, "PRAGMA user_version", &st->schema, eb)))
        return err;
    if ((err = each_row(s, s->st[ST_STATUS_RULES], status_rule_row, st, eb, "status")) ||
        (err = each_row(s, s->st[ST_STATUS_RUNS], status_run_row, st, eb, "status")) ||
        (err = each_row(s, s->st[ST_STATUS_COUNTS], status_count_row, st, eb, "status")))
        return err;
    return 0;
}

int bw_store_put_offset(bw_store *s, const bw_offset *o, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_PUT_OFFSET];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)o->dev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)o->ino);
    bind_text(st, 3, o->path ? o->path : "");
    sqlite3_bind_int64(st, 4, o->offset);
    sqlite3_bind_int64(st, 5, o->size);
    sqlite3_bind_int64(st, 6, o->updated_us);
    sqlite3_bind_int64(st, 7, o->head_len);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)o->head_hash);
    return step_done(s, st, eb, "writing a read offset");
}

int bw_store_del_offset(bw_store *s, uint64_t dev, uint64_t ino, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_DEL_OFFSET];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)dev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)ino);
    return step_done(s, st, eb, "deleting a read offset");
}

typedef struct offset_cb {
    bw_offset_fn fn;
    void *ctx;
} offset_cb;

static int offset_row(sqlite3_stmt *st, void *ctx)
{
    offset_cb *c = ctx;
    bw_offset o;
    o.dev = (uint64_t)sqlite3_column_int64(st, 0);
    o.ino = (uint64_t)sqlite3_column_int64(st, 1);
    o.path = col_text(st, 2);
    o.offset = sqlite3_column_int64(st, 3);
    o.size = sqlite3_column_int64(st, 4);
    o.updated_us = sqlite3_column_int64(st, 5);
    o.head_len = sqlite3_column_int64(st, 6);
    o.head_hash = (uint64_t)sqlite3_column_int64(st, 7);
    return c->fn(c->ctx, &o);
}

int bw_store_offsets(bw_store *s, bw_offset_fn fn, void *ctx, bw_errbuf *eb)
{
    offset_cb c = {fn, ctx};
    return each_row(s, s->st[ST_OFFSETS], offset_row, &c, eb, "reading read offsets");
}

int bw_store_put_segment(bw_store *s, const bw_segment *g, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_PUT_SEGMENT];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)g->dev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)g->ino);
    sqlite3_bind_int64(st, 3, g->start);
    sqlite3_bind_int64(st, 4, g->end);
    sqlite3_bind_int64(st, 5, g->min_ts_us);
    sqlite3_bind_int64(st, 6, g->max_ts_us);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)g->records);
    return step_done(s, st, eb, "writing a segment");
}

typedef struct segment_cb {
    bw_segment_fn fn;
    void *ctx;
} segment_cb;

static int segment_row(sqlite3_stmt *st, void *ctx)
{
    segment_cb *c = ctx;
    bw_segment g;
    g.dev = (uint64_t)sqlite3_column_int64(st, 0);
    g.ino = (uint64_t)sqlite3_column_int64(st, 1);
    g.start = sqlite3_column_int64(st, 2);
    g.end = sqlite3_column_int64(st, 3);
    g.min_ts_us = sqlite3_column_int64(st, 4);
    g.max_ts_us = sqlite3_column_int64(st, 5);
    g.records = (uint64_t)sqlite3_column_int64(st, 6);
    g.path = col_text(st, 7);
    return c->fn(c->ctx, &g);
}

int bw_store_segments(bw_store *s, int64_t from_us, int64_t to_us, bw_segment_fn fn, void *ctx,
                      bw_errbuf *eb)
{
    segment_cb c = {fn, ctx};
    sqlite3_bind_int64(s->st[ST_SEGMENTS], 1, from_us);
    sqlite3_bind_int64(s->st[ST_SEGMENTS], 2, to_us);
    return each_row(s, s->st[ST_SEGMENTS], segment_row, &c, eb, "reading segments");
}

static int two_times(sqlite3_stmt *st, void *ctx)
{
    int64_t *t = ctx;
    t[0] = col_time(st, 0);
    t[1] = col_time(st, 1);
    return 0;
}

int bw_store_time_range(bw_store *s, int64_t *min_us, int64_t *max_us, bw_errbuf *eb)
{
    int64_t t[2] = {BW_UNSET, BW_UNSET};
    int err = each_row(s, s->st[ST_MAX_TS], two_times, t, eb, "reading the time range");
    *min_us = t[0];
    *max_us = t[1];
    return err;
}

static int one_time(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = col_time(st, 0);
    return 0;
}

int bw_store_last_run(bw_store *s, const char *rule, int64_t *now_us, bw_errbuf *eb)
{
    *now_us = BW_UNSET;
    bind_text(s->st[ST_GET_RUN], 1, rule);
    return each_row(s, s->st[ST_GET_RUN], one_time, now_us, eb, "reading a run");
}

int bw_store_del_segments(bw_store *s, uint64_t dev, uint64_t ino, bw_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_DEL_SEGMENTS];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)dev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)ino);
    return step_done(s, st, eb, "deleting segments");
}
