/* Unit tests of the findings store (lib/store_sqlite.c), the record
 * sampler (lib/store_sample.c) and the alert rules (lib/alert_rules.c). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beaconwatch/bw_store.h"
#include "tap.h"

#define HOUR_US ((int64_t)3600 * 1000000)
#define T0 ((int64_t)1767225600 * 1000000) /* 2026-01-01T00:00:00Z */

static char dir[256];

static const char *path_in_dir(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

static void rm_store(const char *p)
{
    char b[512];
    unlink(p);
    snprintf(b, sizeof b, "%s-wal", p);
    unlink(b);
    snprintf(b, sizeof b, "%s-shm", p);
    unlink(b);
}

/* An elastic-like finding document. */
static void put_elastic(bw_store *s, const char *id, int64_t ts, int64_t ing, const char *host,
                        const char *proc, int beaconing, int score)
{
    char json[512];
    bw_errbuf eb = {{0}};
    snprintf(json, sizeof json,
             "{\"@timestamp\":\"x\",\"host\":{\"name\":\"%s\"},\"process\":{\"name\":\"%s\"},"
             "\"source\":{\"ip\":\"10.0.0.1\"},\"beacon_stats\":{\"is_beaconing\":%s,"
             "\"beaconing_score\":%d}}",
             host, proc, beaconing ? "true" : "false", score);
    bw_finding f;
    memset(&f, 0, sizeof f);
    f.rule = "elastic";
    f.id = id;
    f.ts_us = ts;
    f.score = score;
    f.alert = beaconing;
    f.json = json;
    CHECK(bw_store_put_finding(s, &f, ing, &eb) == BW_OK);
}

static void put_sentinel(bw_store *s, const char *id, int64_t ts, int64_t ing)
{
    bw_errbuf eb = {{0}};
    bw_finding f;
    memset(&f, 0, sizeof f);
    f.rule = "sentinel";
    f.id = id;
    f.ts_us = ts;
    f.score = 0.9;
    f.alert = 1;
    f.json = "{\"TimeGenerated\":\"x\",\"SrcIpAddr\":\"10.1.1.1\",\"DstIpAddr\":\"8.8.8.8\","
             "\"DstPortNumber\":443,\"AlertName\":\"Potential beaconing\"}";
    CHECK(bw_store_put_finding(s, &f, ing, &eb) == BW_OK);
}

/* A beaconwatch src_dst_port finding: its group names host and process. */
static void put_beaconwatch(bw_store *s, const char *id, int64_t ts, int64_t ing, double score,
                            int alert)
{
    bw_errbuf eb = {{0}};
    bw_finding f;
    memset(&f, 0, sizeof f);
    f.rule = "beaconwatch";
    f.id = id;
    f.ts_us = ts;
    f.score = score;
    f.alert = alert;
    f.json = "{\"rule\":\"beaconwatch\",\"group\":{\"by\":\"src_dst_port\","
             "\"source\":\"10.2.2.2\",\"destination\":\"9.9.9.9:443\"},"
             "\"source\":{\"ip\":\"10.2.2.2\"},\"beacon\":{\"sleep_s\":60,"
             "\"explanation\":\"every 60 s, jitter 10 % (\\\"symmetric\\\")\"}}";
    CHECK(bw_store_put_finding(s, &f, ing, &eb) == BW_OK);
}

typedef struct seen {
    int n;
    char ids[64][80];
    char host[64][64];
    char proc[64][64];
    char src[64][64];
    int schema[64];
} seen;

static int on_finding(void *ctx, const bw_stored_finding *f)
{
    seen *s = ctx;
    if (s->n < 64) {
        snprintf(s->ids[s->n], sizeof s->ids[0], "%s", f->id);
        snprintf(s->host[s->n], sizeof s->host[0], "%s", f->host);
        snprintf(s->proc[s->n], sizeof s->proc[0], "%s", f->process);
        snprintf(s->src[s->n], sizeof s->src[0], "%s", f->source_ip);
        s->schema[s->n] = f->schema;
    }
    s->n++;
    return 0;
}

static int count(bw_store *s, const bw_finding_query *q)
{
    seen sn;
    bw_errbuf eb = {{0}};
    memset(&sn, 0, sizeof sn);
    CHECK(bw_store_findings(s, q, on_finding, &sn, &eb) == BW_OK);
    return sn.n;
}

static void test_open_and_findings(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    bw_finding_query q;
    seen sn;
    path_in_dir("a.db", p, sizeof p);
    rm_store(p);

    /* Read-only open of a missing store is an I/O error naming the file. */
    CHECK(bw_store_open(p, BW_STORE_READONLY, &s, &eb) == BW_ERR_IO);
    CHECK(s == NULL);
    CHECK(strstr(eb.msg, "a.db") != NULL);

    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    CHECK(bw_store_begin(s, &eb) == BW_OK);
    put_elastic(s, "e1", T0, T0 + HOUR_US, "h1", "p1", 1, 3);
    put_elastic(s, "e2", T0 + 60000000, T0 + HOUR_US, "h1", "p2", 0, 0);
    put_elastic(s, "e3", T0 + 120000000, T0 + HOUR_US, "h2", "p1", 1, 2);
    put_sentinel(s, "s1", T0, T0 + HOUR_US);
    /* The same id again replaces: one row, the newer document. */
    put_elastic(s, "e1", T0, T0 + 2 * HOUR_US, "h1", "p1", 1, 3);
    CHECK(bw_store_commit(s, &eb) == BW_OK);

    bw_finding_query_init(&q);
    CHECK(count(s, &q) == 4);
    q.rule = "elastic";
    CHECK(count(s, &q) == 3);
    q.rule = "sent*";
    CHECK(count(s, &q) == 1);
    bw_finding_query_init(&q);
    q.host = "h1";
    CHECK(count(s, &q) == 2);
    q.process = "p1";
    CHECK(count(s, &q) == 1);
    bw_finding_query_init(&q);
    q.only_alert = 1;
    CHECK(count(s, &q) == 3);
    q.since_us = T0 + 1;
    CHECK(count(s, &q) == 1); /* e3 */
    bw_finding_query_init(&q);
    q.limit = 2;
    CHECK(count(s, &q) == 2);

    /* Order: newest ingested first; sentinel's group columns. */
    bw_finding_query_init(&q);
    memset(&sn, 0, sizeof sn);
    CHECK(bw_store_findings(s, &q, on_finding, &sn, &eb) == BW_OK);
    CHECK(sn.n == 4);
    CHECK_STR(sn.ids[0], "e1");
    CHECK(sn.schema[0] == BW_STORE_SCHEMA);
    for (int i = 0; i < sn.n; i++)
        if (strcmp(sn.ids[i], "s1") == 0) {
            CHECK_STR(sn.host[i], "10.1.1.1");
            CHECK_STR(sn.proc[i], "8.8.8.8:443");
            CHECK_STR(sn.src[i], "10.1.1.1");
        }

    /* A transaction that is not committed leaves nothing behind. */
    CHECK(bw_store_begin(s, &eb) == BW_OK);
    put_elastic(s, "e9", T0, T0, "h9", "p9", 1, 3);
    bw_store_close(s);
    s = NULL;
    CHECK(bw_store_open(p, BW_STORE_READONLY, &s, &eb) == BW_OK);
    bw_finding_query_init(&q);
    CHECK(count(s, &q) == 4);
    bw_store_close(s);

    /* WAL mode and the schema version are on the file. */
    sqlite3 *db;
    sqlite3_stmt *st;
    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == BW_STORE_SCHEMA);
    sqlite3_finalize(st);
    sqlite3_close(db);
    rm_store(p);
}

/* An older version's findings table stays visible in ml_beaconing_all
 * (not in _latest) once the store is opened for writing again; a newer
 * schema version is refused. */
static void test_versions(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    bw_finding_query q;
    seen sn;
    sqlite3 *db;
    path_in_dir("v.db", p, sizeof p);
    rm_store(p);
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    put_elastic(s, "new", T0, T0, "h", "p", 1, 3);
    bw_store_close(s);

    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE findings_v0(rule TEXT, id TEXT, ts_us INTEGER,"
                       " ingested_us INTEGER, host TEXT, process TEXT, source_ip TEXT,"
                       " score REAL, alert INTEGER, doc TEXT);"
                       "INSERT INTO findings_v0 VALUES('elastic', 'old', 1, 1, 'h', 'p', '',"
                       " 3, 1, '{}');",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);

    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    bw_finding_query_init(&q);
    memset(&sn, 0, sizeof sn);
    CHECK(bw_store_findings(s, &q, on_finding, &sn, &eb) == BW_OK);
    CHECK(sn.n == 2);
    CHECK_STR(sn.ids[1], "old");
    CHECK(sn.schema[1] == 0);
    bw_store_close(s);

    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM ml_beaconing_latest", -1, &st, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == 1);
    sqlite3_finalize(st);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    s = NULL;
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_ERR_FORMAT);
    CHECK(s == NULL);
    CHECK(bw_store_open(p, BW_STORE_READONLY, &s, &eb) == BW_ERR_FORMAT);
    rm_store(p);
}

static bw_record rec(const char *host, const char *proc, const char *src, const char *dst,
                     int dport, int64_t ts)
{
    bw_record r;
    bw_record_clear(&r);
    r.ts_us = ts;
    r.host_name.p = host;
    r.host_name.n = host ? strlen(host) : 0;
    r.process_name.p = proc;
    r.process_name.n = proc ? strlen(proc) : 0;
    bw_ip_parse(src, strlen(src), &r.src_ip);
    bw_ip_parse(dst, strlen(dst), &r.dst_ip);
    r.src_port = 50000;
    r.dst_port = dport;
    r.transport.p = "tcp";
    r.transport.n = 3;
    r.src_bytes = 100;
    return r;
}

typedef struct recs {
    int n;
    int64_t ts[64];
    char dst[64][64];
    char transport[64][8];
} recs;

static int on_rec(void *ctx, const bw_stored_record *r)
{
    recs *x = ctx;
    if (x->n < 64) {
        x->ts[x->n] = r->ts_us;
        snprintf(x->dst[x->n], sizeof x->dst[0], "%s", r->dst_ip);
        snprintf(x->transport[x->n], sizeof x->transport[0], "%s",
                 r->transport ? r->transport : "(null)");
    }
    x->n++;
    return 0;
}

static void test_sampler(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    bw_sampler_stats st;
    recs x;
    bw_sample_key k;
    CHECK(bw_sample_key_parse("src_dst_port", &k) == 0 && k == BW_SAMPLE_SRC_DST_PORT);
    CHECK(bw_sample_key_parse("nope", &k) == -1);

    /* Per group the latest 4 by time, whatever the arrival order; group
     * cap 2; two workers merged. */
    bw_sampler *a = bw_sampler_new(BW_SAMPLE_HOST_PROCESS, 4, 2, 1000);
    bw_sampler *b = bw_sampler_new(BW_SAMPLE_HOST_PROCESS, 4, 2, 1000);
    static const int order[] = {5, 1, 9, 3, 7, 2, 8};
    for (int i = 0; i < 7; i++) {
        bw_record r = rec("h1", "p1", "10.0.0.1", "1.2.3.4", 443, T0 + order[i]);
        CHECK(bw_sampler_add(i % 2 ? a : b, &r) == 0);
    }
    bw_record r = rec("h2", "p1", "10.0.0.2", "1.2.3.4", 443, T0);
    CHECK(bw_sampler_add(a, &r) == 0);
    r = rec("h3", "p1", "10.0.0.3", "1.2.3.4", 443, T0);
    CHECK(bw_sampler_add(a, &r) == 0); /* third group: dropped */
    r = rec(NULL, "p1", "10.0.0.3", "1.2.3.4", 443, T0);
    CHECK(bw_sampler_add(a, &r) == 0); /* no key: not seen */
    CHECK(bw_sampler_merge(a, b) == 0);
    bw_sampler_stats_get(a, &st);
    CHECK(st.groups == 2);
    CHECK(st.records == 5);
    CHECK(st.seen == 9);
    CHECK(st.dropped_groups == 1);
    bw_sampler_stats_get(b, &st);
    CHECK(st.records == 0 && st.groups == 0);

    path_in_dir("s.db", p, sizeof p);
    rm_store(p);
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    uint64_t w = 0;
    CHECK(bw_store_put_sample(s, a, 4, &w, &eb) == BW_OK);
    CHECK(w == 5);
    CHECK(bw_store_put_sample(s, a, 4, &w, &eb) == BW_OK); /* again: no duplicates */
    memset(&x, 0, sizeof x);
    CHECK(bw_store_sample(s, "h1", "p1", 0, on_rec, &x, &eb) == BW_OK);
    CHECK(x.n == 4);
    CHECK(x.ts[0] == T0 + 9 && x.ts[1] == T0 + 8 && x.ts[2] == T0 + 7 && x.ts[3] == T0 + 5);
    CHECK_STR(x.dst[0], "1.2.3.4");
    CHECK_STR(x.transport[0], "tcp");

    /* A later run with newer records: the store keeps the latest 4. */
    bw_sampler *c = bw_sampler_new(BW_SAMPLE_HOST_PROCESS, 4, 10, 1000);
    for (int i = 0; i < 2; i++) {
        r = rec("h1", "p1", "10.0.0.1", "1.2.3.4", 443, T0 + 20 + i);
        CHECK(bw_sampler_add(c, &r) == 0);
    }
    CHECK(bw_store_put_sample(s, c, 4, &w, &eb) == BW_OK);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_sample(s, "h1", "p1", 0, on_rec, &x, &eb) == BW_OK);
    CHECK(x.n == 4);
    CHECK(x.ts[0] == T0 + 21 && x.ts[3] == T0 + 8);
    bw_sampler_free(c);

    /* The record budget: counted, not fatal. */
    bw_sampler *d = bw_sampler_new(BW_SAMPLE_SRC_DST_PORT, 100, 100, 3);
    for (int i = 0; i < 5; i++) {
        r = rec(NULL, NULL, "10.0.0.1", "2001:db8::1", 53, T0 + i);
        CHECK(bw_sampler_add(d, &r) == 0);
    }
    bw_sampler_stats_get(d, &st);
    CHECK(st.records == 3);
    CHECK(st.replaced == 2); /* newer records replace older ones in the group */
    CHECK(bw_store_put_sample(s, d, 100, &w, &eb) == BW_OK);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_sample(s, "10.0.0.1", "[2001:db8::1]:53", 0, on_rec, &x, &eb) == BW_OK);
    CHECK(x.n == 3);
    CHECK(x.ts[0] == T0 + 4);
    bw_sampler_free(d);

    /* Merging adds the workers' budgets: 2 + 2 records fit after merge. */
    bw_sampler *e1 = bw_sampler_new(BW_SAMPLE_SRC, 100, 100, 2);
    bw_sampler *e2 = bw_sampler_new(BW_SAMPLE_SRC, 100, 100, 2);
    for (int i = 0; i < 2; i++) {
        r = rec(NULL, NULL, "10.0.0.1", "1.1.1.1", 1, T0 + i);
        CHECK(bw_sampler_add(e1, &r) == 0);
        r = rec(NULL, NULL, "10.0.0.2", "1.1.1.1", 1, T0 + i);
        CHECK(bw_sampler_add(e2, &r) == 0);
    }
    CHECK(bw_sampler_merge(e1, e2) == 0);
    bw_sampler_stats_get(e1, &st);
    CHECK(st.records == 4 && st.groups == 2 && st.dropped_budget == 0);
    bw_sampler_free(e1);
    bw_sampler_free(e2);

    bw_sampler_free(a);
    bw_sampler_free(b);
    bw_sampler_free(NULL);
    bw_store_close(s);
    rm_store(p);
}

typedef struct alerts_seen {
    int n, c2, high, sentinel, bw_high, bw_medium, bw_low;
} alerts_seen;

static int on_alert(void *ctx, const bw_alert *a)
{
    alerts_seen *x = ctx;
    x->n++;
    if (strcmp(a->rule, "elastic-c2-beaconing") == 0) {
        x->c2++;
        CHECK(strstr(a->json, "\"T1102.002\"") != NULL);
        CHECK(strstr(a->json, "\"kibana.alert.risk_score\":21") != NULL);
    } else if (strcmp(a->rule, "elastic-c2-beaconing-high") == 0) {
        x->high++;
    } else if (strcmp(a->rule, "sentinel") == 0) {
        x->sentinel++;
    } else if (strcmp(a->rule, "beaconwatch") == 0) {
        /* Severity and risk from the score; the explanation is carried over
         * with its escapes intact; the group names host and process. */
        CHECK_STR(a->host, "10.2.2.2");
        CHECK_STR(a->process, "9.9.9.9:443");
        CHECK(strstr(a->json, "\"kibana.alert.reason\":\"every 60 s, jitter 10 % "
                              "(\\\"symmetric\\\")\"") != NULL);
        CHECK(strstr(a->json, "\"T1573\"") != NULL);
        if (strcmp(a->severity, "high") == 0) {
            x->bw_high++;
            CHECK(a->risk == 73);
        } else if (strcmp(a->severity, "medium") == 0) {
            x->bw_medium++;
            CHECK(a->risk == 47);
        } else {
            x->bw_low++;
            CHECK(a->risk == 21);
        }
        return 0;
    }
    CHECK_STR(a->severity, "low");
    return 0;
}

static void test_alerts(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    alerts_seen x;
    uint64_t added, old;
    int64_t now = T0 + 10 * HOUR_US;
    path_in_dir("al.db", p, sizeof p);
    rm_store(p);
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    CHECK(bw_store_begin(s, &eb) == BW_OK);
    put_elastic(s, "a", T0, now - 60000000, "h1", "evil.exe", 1, 3);  /* both rules */
    put_elastic(s, "b", T0, now - 60000000, "h1", "curl.exe", 1, 3);  /* excluded: high only */
    put_elastic(s, "c", T0, now - 60000000, "h1", "x.exe", 1, 1);     /* c2 only */
    put_elastic(s, "d", T0, now - 60000000, "h1", "y.exe", 0, 0);     /* not beaconing */
    put_elastic(s, "e", T0, now - 2 * HOUR_US, "h1", "z.exe", 1, 3);  /* ingested too early */
    put_sentinel(s, "s", T0, now - 2 * HOUR_US);                      /* within a day */
    CHECK(bw_store_commit(s, &eb) == BW_OK);

    bw_alert_opts o = {now, 1, 1, 0, 0, 0};
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &o, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.c2 == 2);
    CHECK(x.high == 2);
    CHECK(x.sentinel == 1);
    CHECK(added == 5 && old == 0);

    /* Again: nothing new, everything de-duplicated. */
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &o, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.n == 0 && added == 0 && old == 5);

    /* The per-run cap counts new alerts: one more finding per run. */
    CHECK(bw_store_begin(s, &eb) == BW_OK);
    put_elastic(s, "f", T0, now - 60000000, "h2", "q.exe", 1, 1);
    put_elastic(s, "g", T0, now - 60000000, "h3", "q.exe", 1, 1);
    CHECK(bw_store_commit(s, &eb) == BW_OK);
    bw_alert_opts one = {now, 1, 0, 1, 0, 0};
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &one, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.c2 == 1 && added == 1);
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &one, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.c2 == 1 && added == 1);
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &one, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.n == 0);

    memset(&x, 0, sizeof x);
    CHECK(bw_store_alerts(s, BW_UNSET, 0, on_alert, &x, &eb) == BW_OK);
    CHECK(x.n == 7);

    /* Status and retention. */
    bw_store_status st;
    CHECK(bw_store_put_run(s, "elastic", now, BW_UNSET, 7, &eb) == BW_OK);
    CHECK(bw_store_status_get(s, &st, &eb) == BW_OK);
    CHECK(st.schema == BW_STORE_SCHEMA);
    CHECK(st.findings == 8);
    CHECK(st.alerts == 7);
    CHECK(st.nrules == 2);
    CHECK_STR(st.rules[0].rule, "elastic");
    CHECK(st.rules[0].findings == 7);
    CHECK(st.rules[0].last_run_us == now);
    CHECK(st.rules[0].last_now_us == BW_UNSET);
    CHECK(st.rules[1].last_run_us == BW_UNSET);
    uint64_t rf, rs, ra;
    CHECK(bw_store_retain(s, T0 + 1, &rf, &rs, &ra, &eb) == BW_OK);
    CHECK(rf == 8 && ra == 7 && rs == 0);
    CHECK(bw_store_status_get(s, &st, &eb) == BW_OK);
    CHECK(st.findings == 0 && st.alerts == 0);
    bw_store_close(s);
    rm_store(p);
}

typedef struct offs {
    int n;
    int64_t off[8];
    char path[8][64];
} offs;


/* beaconwatch's alert family: alerting findings of the last day, severity
 * by score; the other families are off. */
static void test_alerts_beaconwatch(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    alerts_seen x;
    uint64_t added, old;
    int64_t now = T0 + 10 * HOUR_US;
    path_in_dir("albw.db", p, sizeof p);
    rm_store(p);
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    CHECK(bw_store_begin(s, &eb) == BW_OK);
    put_beaconwatch(s, "w1", T0, now - 2 * HOUR_US, 0.95, 1);
    put_beaconwatch(s, "w2", T0, now - 2 * HOUR_US, 0.75, 1);
    put_beaconwatch(s, "w3", T0, now - 2 * HOUR_US, 0.55, 1);
    put_beaconwatch(s, "w4", T0, now - 2 * HOUR_US, 0.99, 0);  /* not alerting */
    put_beaconwatch(s, "w5", T0, now - 30 * HOUR_US, 0.99, 1); /* ingested too early */
    CHECK(bw_store_commit(s, &eb) == BW_OK);
    bw_alert_opts bwo = {now, 0, 0, 0, 0, 1};
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &bwo, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.n == 3 && added == 3 && old == 0);
    CHECK(x.bw_high == 1 && x.bw_medium == 1 && x.bw_low == 1);
    memset(&x, 0, sizeof x);
    CHECK(bw_alerts_run(s, &bwo, on_alert, &x, &added, &old, &eb) == BW_OK);
    CHECK(x.n == 0 && old == 3);
    bw_store_close(s);
    rm_store(p);
}

static int on_off(void *ctx, const bw_offset *o)
{
    offs *x = ctx;
    if (x->n < 8) {
        x->off[x->n] = o->offset;
        snprintf(x->path[x->n], sizeof x->path[0], "%s", o->path);
    }
    x->n++;
    return 0;
}

/* Offsets and findings commit together or not at all. */
static void test_offsets(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    bw_finding_query q;
    offs x;
    bw_store_status st;
    path_in_dir("o.db", p, sizeof p);
    rm_store(p);
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    bw_offset o = {1, 42, "/logs/conn.log", 1000, 1000, T0, 256, 7};
    CHECK(bw_store_begin(s, &eb) == BW_OK);
    CHECK(bw_store_put_offset(s, &o, &eb) == BW_OK);
    put_elastic(s, "x", T0, T0, "h", "p", 1, 3);
    bw_store_rollback(s);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_offsets(s, on_off, &x, &eb) == BW_OK);
    bw_finding_query_init(&q);
    CHECK(x.n == 0 && count(s, &q) == 0);

    CHECK(bw_store_begin(s, &eb) == BW_OK);
    CHECK(bw_store_put_offset(s, &o, &eb) == BW_OK);
    put_elastic(s, "x", T0, T0, "h", "p", 1, 3);
    CHECK(bw_store_commit(s, &eb) == BW_OK);
    /* Renamed (same identity): one checkpoint, the new name. */
    o.path = "/logs/conn.log.1";
    o.offset = 1500;
    CHECK(bw_store_put_offset(s, &o, &eb) == BW_OK);
    bw_offset o2 = {1, 43, "/logs/conn.log", 10, 10, T0 + 1, 10, 8};
    CHECK(bw_store_put_offset(s, &o2, &eb) == BW_OK);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_offsets(s, on_off, &x, &eb) == BW_OK);
    CHECK(x.n == 2 && count(s, &q) == 1);
    CHECK_STR(x.path[0], "/logs/conn.log");
    CHECK(x.off[0] == 10);
    CHECK_STR(x.path[1], "/logs/conn.log.1");
    CHECK(x.off[1] == 1500);
    CHECK(bw_store_status_get(s, &st, &eb) == BW_OK);
    CHECK(st.files == 2 && st.offsets_updated == T0 + 1);
    CHECK(bw_store_del_offset(s, 1, 42, &eb) == BW_OK);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_offsets(s, on_off, &x, &eb) == BW_OK);
    CHECK(x.n == 1);
    bw_store_close(s);
    rm_store(p);
}

typedef struct segs {
    int n;
    int64_t start[8];
    char path[8][64];
} segs;

static int on_seg(void *ctx, const bw_segment *g)
{
    segs *x = ctx;
    if (x->n < 8) {
        x->start[x->n] = g->start;
        snprintf(x->path[x->n], sizeof x->path[0], "%s", g->path);
    }
    x->n++;
    return 0;
}

/* Segments: overlap queries, replace on the same start, delete per file,
 * the time range; last run times. */
static void test_segments(void)
{
    char p[300];
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    segs x;
    int64_t a, b;
    path_in_dir("g.db", p, sizeof p);
    rm_store(p);
    CHECK(bw_store_open(p, 0, &s, &eb) == BW_OK);
    CHECK(bw_store_time_range(s, &a, &b, &eb) == BW_OK);
    CHECK(a == BW_UNSET && b == BW_UNSET);
    bw_offset o = {1, 7, "/l/conn.log", 300, 300, T0, 256, 1};
    CHECK(bw_store_put_offset(s, &o, &eb) == BW_OK);
    bw_segment g1 = {1, 7, 0, 100, T0, T0 + HOUR_US, 10, NULL};
    bw_segment g2 = {1, 7, 100, 300, T0 + 2 * HOUR_US, T0 + 3 * HOUR_US, 20, NULL};
    bw_segment g3 = {1, 8, 0, 50, T0 + 5 * HOUR_US, T0 + 6 * HOUR_US, 5, NULL};
    CHECK(bw_store_put_segment(s, &g1, &eb) == BW_OK);
    CHECK(bw_store_put_segment(s, &g2, &eb) == BW_OK);
    CHECK(bw_store_put_segment(s, &g2, &eb) == BW_OK); /* again: replaced, not doubled */
    CHECK(bw_store_put_segment(s, &g3, &eb) == BW_OK);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_segments(s, T0 + 90 * 60 * 1000000LL, T0 + 4 * HOUR_US, on_seg, &x, &eb) ==
          BW_OK);
    CHECK(x.n == 1 && x.start[0] == 100);
    CHECK_STR(x.path[0], "/l/conn.log");
    memset(&x, 0, sizeof x);
    CHECK(bw_store_segments(s, T0, T0 + 10 * HOUR_US, on_seg, &x, &eb) == BW_OK);
    CHECK(x.n == 3);
    CHECK_STR(x.path[0], ""); /* file 8 has no checkpoint: no known name */
    CHECK(bw_store_time_range(s, &a, &b, &eb) == BW_OK);
    CHECK(a == T0 && b == T0 + 6 * HOUR_US);
    CHECK(bw_store_del_segments(s, 1, 7, &eb) == BW_OK);
    memset(&x, 0, sizeof x);
    CHECK(bw_store_segments(s, T0, T0 + 10 * HOUR_US, on_seg, &x, &eb) == BW_OK);
    CHECK(x.n == 1);
    CHECK(bw_store_last_run(s, "elastic", &a, &eb) == BW_OK && a == BW_UNSET);
    CHECK(bw_store_put_run(s, "elastic", T0, T0 + HOUR_US, 3, &eb) == BW_OK);
    CHECK(bw_store_last_run(s, "elastic", &a, &eb) == BW_OK && a == T0 + HOUR_US);
    bw_store_close(s);
    rm_store(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/bw-store-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                          : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_open_and_findings();
    test_versions();
    test_sampler();
    test_alerts();
    test_alerts_beaconwatch();
    test_offsets();
    test_segments();
    rmdir(dir);
    return tap_done();
}
