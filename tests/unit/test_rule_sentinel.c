/* Unit tests of rule "sentinel" (lib/rule_sentinel.c): hand-computed cases
 * for every clause of SPEC §4, the presets and parameters, merging, and the
 * conformance vectors in ../shared/conformance/sentinel/. */
#include "rule_impl.h"
#include "tap.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#define S(x) ((int64_t)(x) * 1000000)
/* 2026-01-01T00:00:00Z */
#define T0 INT64_C(1767225600000000)

static const bw_rule_ops *ops = &bw_rule_sentinel_ops;

/* ---- findings collector -------------------------------------------------- */

#define MAXF 4096
typedef struct found {
    int n;
    char *json[MAXF];
    char *id[MAXF];
    double score[MAXF];
    int alert[MAXF];
    int ncols[MAXF];
    char *cols[MAXF]; /* cells joined with '|' */
    char *rule[MAXF];
    int64_t ts[MAXF];
} found;

static int collect(void *ctx, const bw_finding *f)
{
    found *fd = ctx;
    char buf[1024];
    size_t o = 0;
    if (fd->n >= MAXF)
        return 1;
    fd->json[fd->n] = strdup(f->json);
    fd->id[fd->n] = strdup(f->id);
    fd->rule[fd->n] = strdup(f->rule);
    fd->score[fd->n] = f->score;
    fd->alert[fd->n] = f->alert;
    fd->ncols[fd->n] = f->ncols;
    fd->ts[fd->n] = f->ts_us;
    buf[0] = 0;
    for (int i = 0; i < f->ncols; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "|" : "", f->cols[i]);
    fd->cols[fd->n] = strdup(buf);
    fd->n++;
    return 0;
}

static void found_free(found *fd)
{
    for (int i = 0; i < fd->n; i++) {
        free(fd->json[i]);
        free(fd->id[i]);
        free(fd->rule[i]);
        free(fd->cols[i]);
    }
    fd->n = 0;
}

/* Value of "key" in a flat-enough JSON line (our findings, the expected
 * files): strings without quotes, numbers as written. "" when absent. */
static const char *jget(const char *json, const char *key)
{
    static char out[256];
    char pat[128];
    const char *p;
    size_t n = 0;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    out[0] = 0;
    if (!(p = strstr(json, pat)))
        return out;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && n + 1 < sizeof out)
            out[n++] = *p++;
    } else {
        while (*p && !strchr(",}] \t\r\n", *p) && n + 1 < sizeof out)
            out[n++] = *p++;
    }
    out[n] = 0;
    return out;
}

static long long jint(const char *json, const char *key)
{
    return strtoll(jget(json, key), NULL, 10);
}

/* ---- building input ------------------------------------------------------ */

static bw_record rec(int64_t ts_us, const char *src, const char *dst, int port, int64_t sb,
                     int64_t db)
{
    bw_record r;
    bw_record_clear(&r);
    r.ts_us = ts_us;
    if (src)
        CHECK(bw_ip_parse(src, strlen(src), &r.src_ip) == 0);
    if (dst)
        CHECK(bw_ip_parse(dst, strlen(dst), &r.dst_ip) == 0);
    r.dst_port = port;
    r.src_bytes = sb;
    r.dst_bytes = db;
    return r;
}

static void add(void *st, int64_t ts_us, const char *src, const char *dst, int port, int64_t sb,
                int64_t db)
{
    bw_record r = rec(ts_us, src, dst, port, sb, db);
    CHECK(ops->add(st, &r) == 0);
}

/* Rows from src to dst at T0 + the running sum of gaps (seconds). */
static int64_t add_gaps(void *st, int64_t t, const char *src, const char *dst, int port,
                        const int *gaps, int ngaps, int64_t sb, int64_t db)
{
    add(st, t, src, dst, port, sb, db);
    for (int i = 0; i < ngaps; i++) {
        t += S(gaps[i]);
        add(st, t, src, dst, port, sb, db);
    }
    return t;
}

static bw_run run_all(void)
{
    bw_run r = {BW_UNSET, 0, INT64_MAX / 2, BW_UNSET, 0};
    return r;
}

static int finish(void *st, const bw_run *run, found *fd)
{
    bw_errbuf eb = {{0}};
    return ops->finish(st, run, collect, fd, &eb);
}

static void *make(const char *variant)
{
    void *st = ops->create(variant);
    CHECK(st != NULL);
    return st;
}

static void set_ok(void *st, const char *k, const char *v)
{
    bw_errbuf eb = {{0}};
    if (ops->set(st, k, v, &eb) != 0)
        fprintf(stderr, "set %s=%s: %s\n", k, v, eb.msg);
    CHECK(eb.msg[0] == 0);
}

/* ---- cases --------------------------------------------------------------- */

/* Step 2's quirk: the next row of the same source may go elsewhere. */
static void test_cross_destination(void)
{
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    for (int i = 0; i < 40; i++)
        add(st, T0 + S(20 * i), "10.0.0.1", i % 2 ? "8.8.4.4" : "8.8.8.8", 443, 100, 200);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 2);
    if (fd.n == 2) {
        /* per destination the rows are 40 s apart; the rule sees 20 s */
        CHECK_STR(jget(fd.json[0], "DstIpAddr"), "8.8.4.4");
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltainSeconds") == 20);
        CHECK(jint(fd.json[0], "TotalEvents") == 19);
        CHECK_STR(jget(fd.json[1], "DstIpAddr"), "8.8.8.8");
        CHECK(jint(fd.json[1], "MostFrequentTimeDeltainSeconds") == 20);
        CHECK(jint(fd.json[1], "TotalEvents") == 20);
        CHECK(jint(fd.json[1], "TotalSrcBytes") == 2000);
        CHECK(jint(fd.json[1], "TotalDstBytes") == 4000);
    }
    found_free(&fd);
    ops->destroy(st);
}

/* Deltas are whole seconds of both times: floor(next) - floor(this). */
static void test_truncation(void)
{
    bw_run run = run_all();
    found fd = {0};
    /* true gaps 10.2 and 11.8, truncated both 11 -> kept (> 10) */
    void *st = make("sentinel");
    for (int k = 0; k < 17; k++)
        add(st, T0 + S(11 * k) + (k % 2 ? 100000 : 900000), "10.0.0.1", "1.1.1.1", 80, 1, 1);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltainSeconds") == 11);
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltaCount") == 16);
    }
    found_free(&fd);
    ops->destroy(st);

    /* true gaps 10.8 and 9.2, truncated both 10 -> none kept (not > 10) */
    st = make("sentinel");
    for (int k = 0; k < 30; k++)
        add(st, T0 + S(10 * k) + (k % 2 ? 900000 : 100000), "10.0.0.1", "1.1.1.1", 80, 1, 1);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 0);
    found_free(&fd);
    ops->destroy(st);

    /* the same rows with the threshold at 9: all 29 deltas are 10 */
    st = make("sentinel");
    set_ok(st, "time_delta_threshold", "9");
    for (int k = 0; k < 30; k++)
        add(st, T0 + S(10 * k) + (k % 2 ? 900000 : 100000), "10.0.0.1", "1.1.1.1", 80, 1, 1);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltainSeconds") == 10);
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltaCount") == 29);
    }
    found_free(&fd);
    ops->destroy(st);
}

static int alerts_for(const char *variant, const int *gaps, int ngaps, const char *k1,
                      const char *v1)
{
    void *st = make(variant);
    found fd = {0};
    bw_run run = run_all();
    int n;
    if (k1)
        set_ok(st, k1, v1);
    add_gaps(st, T0, "10.0.0.1", "5.5.5.5", 443, gaps, ngaps, 10, 20);
    CHECK(finish(st, &run, &fd) == 0);
    n = fd.n;
    found_free(&fd);
    ops->destroy(st);
    return n;
}

/* ">" everywhere, never ">=". */
static void test_boundaries(void)
{
    int g[40];
    for (int i = 0; i < 40; i++)
        g[i] = 30;
    /* TotalEvents: 15 deltas -> no, 16 -> yes */
    CHECK(alerts_for("sentinel", g, 15, NULL, NULL) == 0);
    CHECK(alerts_for("sentinel", g, 16, NULL, NULL) == 1);
    CHECK(alerts_for("sentinel", g, 16, "total_events_threshold", "16") == 0);
    /* delta == threshold is dropped */
    CHECK(alerts_for("sentinel", g, 20, "time_delta_threshold", "30") == 0);
    CHECK(alerts_for("sentinel", g, 20, "time_delta_threshold", "29") == 1);
    /* percent: 16 of 20 = 80 % -> no; 17 of 20 = 85 % -> yes */
    g[16] = 45, g[17] = 50, g[18] = 55, g[19] = 60;
    CHECK(alerts_for("sentinel", g, 20, NULL, NULL) == 0);
    CHECK(alerts_for("sentinel", g, 20, "percent_beacon_threshold", "79.99") == 1);
    g[16] = 30;
    CHECK(alerts_for("sentinel", g, 20, NULL, NULL) == 1);
    /* 17 of 20 = 85 %: wiredata wants more than 95 % */
    CHECK(alerts_for("sentinel-wiredata", g, 20, NULL, NULL) == 0);
    for (int i = 16; i < 20; i++)
        g[i] = 30;
    CHECK(alerts_for("sentinel-wiredata", g, 20, NULL, NULL) == 1);
}

/* Step 1, and that dropped rows take no part in step 2. */
static void test_private_filter(void)
{
    static const char *drop[] = {"10.1.2.3",    "172.16.0.1", "172.31.255.255",
                                 "192.168.1.1", "169.254.1.1", "127.0.0.1",
                                 "2001:db8::1", "::ffff:8.8.8.8"};
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    char sum[512];
    for (int i = 0; i < 20; i++) {
        add(st, T0 + S(30 * i), "10.0.0.1", "8.8.8.8", 53, 1, 2);
        /* between two beacons, to a dropped destination */
        add(st, T0 + S(30 * i + 5), "10.0.0.1", drop[i % 8], 53, 1, 2);
    }
    /* public neighbours of the private ranges stay */
    add(st, T0 + S(5000), "10.0.0.2", "172.32.0.1", 1, 0, 0);
    add(st, T0 + S(5000), "10.0.0.2", "172.15.255.255", 1, 0, 0);
    add(st, T0 + S(5000), "10.0.0.2", "11.0.0.1", 1, 0, 0);
    add(st, T0 + S(5000), "10.0.0.2", "192.169.0.1", 1, 0, 0);
    add(st, T0 + S(5000), "10.0.0.2", NULL, 1, 0, 0); /* no destination */
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltainSeconds") == 30);
        CHECK(jint(fd.json[0], "TotalEvents") == 19);
    }
    ops->summary(st, sum, sizeof sum);
    CHECK(strstr(sum, "rows offered 45, kept 24") != NULL);
    /* drop[] is used 3, 3, 3, 3, 2, 2, 2, 2 times; plus the missing one */
    CHECK(strstr(sum, "non-IPv4 destination 5,") != NULL);
    CHECK(strstr(sum, "private destination 16,") != NULL);
    found_free(&fd);
    ops->destroy(st);
}

/* Groups are per hour of the row that carries the delta. */
static void test_hours(void)
{
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    set_ok(st, "total_events_threshold", "5");
    for (int m = 50; m <= 70; m++) /* 00:50 .. 01:10 */
        add(st, T0 + S(60 * m), "10.0.0.1", "9.9.9.9", 8080, 3, 4);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 2);
    if (fd.n == 2) {
        CHECK_STR(jget(fd.json[0], "TimeGenerated"), "2026-01-01T00:00:00Z");
        CHECK(jint(fd.json[0], "TotalEvents") == 10); /* 00:50 .. 00:59 */
        CHECK_STR(jget(fd.json[1], "TimeGenerated"), "2026-01-01T01:00:00Z");
        CHECK(jint(fd.json[1], "TotalEvents") == 10); /* 01:00 .. 01:09 */
        CHECK(fd.ts[1] == T0 + S(3600));
        CHECK(jint(fd.json[1], "TotalSrcBytes") == 30);
    }
    found_free(&fd);
    ops->destroy(st);
}

/* The most frequent delta, its count, and bytes of all kept rows. */
static void test_most_frequent(void)
{
    int g[20];
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    set_ok(st, "percent_beacon_threshold", "50");
    for (int i = 0; i < 20; i++)
        g[i] = i < 6 ? 45 : 30; /* 45 x 6, then 30 x 14 */
    add_gaps(st, T0, "10.0.0.1", "5.5.5.5", 443, g, 20, 10, 20);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltainSeconds") == 30);
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltaCount") == 14);
        CHECK(jint(fd.json[0], "TotalEvents") == 20);
        CHECK(jint(fd.json[0], "TotalSrcBytes") == 200); /* all 20 kept rows */
        CHECK(jint(fd.json[0], "TotalDstBytes") == 400);
        CHECK(fabs(strtod(jget(fd.json[0], "BeaconPercent"), NULL) - 70.0) < 1e-12);
        CHECK(fabs(fd.score[0] - 0.7) < 1e-12);
    }
    found_free(&fd);
    ops->destroy(st);

    /* a tie goes to the smaller delta (documented; KQL's arg_max picks any) */
    st = make("sentinel");
    set_ok(st, "percent_beacon_threshold", "40");
    for (int i = 0; i < 20; i++)
        g[i] = i % 2 ? 40 : 35;
    add_gaps(st, T0, "10.0.0.1", "5.5.5.5", 443, g, 20, 10, 20);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1)
        CHECK(jint(fd.json[0], "MostFrequentTimeDeltainSeconds") == 35);
    found_free(&fd);
    ops->destroy(st);
}

/* Same time, same source: DstIpAddr orders as text, so "9.1.1.1" comes
 * after "100.1.1.1" and carries the delta to the next second. */
static void test_text_order(void)
{
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    for (int k = 0; k < 17; k++) {
        add(st, T0 + S(30 * k), "10.0.0.1", "9.1.1.1", 443, 1, 1);
        add(st, T0 + S(30 * k), "10.0.0.1", "100.1.1.1", 443, 1, 1);
    }
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        CHECK_STR(jget(fd.json[0], "DstIpAddr"), "9.1.1.1");
        CHECK(jint(fd.json[0], "TotalEvents") == 16);
    }
    found_free(&fd);
    ops->destroy(st);
}

static void test_presets_and_params(void)
{
    char buf[1024];
    bw_errbuf eb = {{0}};
    void *st = make("sentinel-panos");
    size_t n = ops->params(st, buf, sizeof buf);
    CHECK(n == strlen(buf));
    CHECK(strstr(buf, "time_delta_threshold = 25\n") != NULL);
    CHECK(strstr(buf, "total_events_threshold = 30\n") != NULL);
    CHECK(strstr(buf, "percent_beacon_threshold = 80\n") != NULL);
    CHECK(strstr(buf, "delta_count_threshold = 25\n") != NULL);
    CHECK(strstr(buf, "window = day_aligned\n") != NULL);
    CHECK(strstr(buf, "window_start = 2d\n") != NULL);
    CHECK(strstr(buf, "window_end = 1d\n") != NULL);
    CHECK(strstr(buf, "max_rows = 200000000\n") != NULL);
    /* params() reports the length it needs, like snprintf */
    CHECK(ops->params(st, buf, 8) == n);
    ops->destroy(st);

    st = make("sentinel-wiredata");
    ops->params(st, buf, sizeof buf);
    CHECK(strstr(buf, "percent_beacon_threshold = 95\n") != NULL);
    CHECK(strstr(buf, "time_delta_threshold = 10\n") != NULL);
    CHECK(strstr(buf, "window = relative\n") != NULL);
    ops->destroy(st);

    CHECK(ops->create("sentinel-nope") == NULL);

    st = make("sentinel");
    set_ok(st, "percent_beacon_threshold", "82.5");
    set_ok(st, "window_start", "72h");
    set_ok(st, "window_end", "90m");
    set_ok(st, "max_rows", "1000");
    set_ok(st, "window", "day_aligned");
    ops->params(st, buf, sizeof buf);
    CHECK(strstr(buf, "percent_beacon_threshold = 82.5\n") != NULL);
    CHECK(strstr(buf, "window_start = 3d\n") != NULL);
    CHECK(strstr(buf, "window_end = 90m\n") != NULL);
    CHECK(strstr(buf, "max_rows = 1000\n") != NULL);

    CHECK(ops->set(st, "time_delta", "10", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "'time_delta'") != NULL);
    CHECK(ops->set(st, "time_delta_threshold", "ten", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "time_delta_threshold") != NULL);
    CHECK(ops->set(st, "total_events_threshold", "-1", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "total_events_threshold") != NULL);
    CHECK(ops->set(st, "total_events_threshold", "", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "delta_count_threshold", "99999999999999999999", &eb) ==
          BW_ERR_CONFIG);
    CHECK(ops->set(st, "percent_beacon_threshold", "101", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "percent_beacon_threshold") != NULL);
    CHECK(ops->set(st, "percent_beacon_threshold", "nan", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "percent_beacon_threshold", "80%", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "window", "weekly", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "window") != NULL);
    CHECK(ops->set(st, "window_start", "2w", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "window_start") != NULL);
    CHECK(ops->set(st, "window_end", "d", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "max_rows", "0", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "max_rows", "4294967296", &eb) == BW_ERR_CONFIG);
    /* the failed sets changed nothing */
    ops->params(st, buf, sizeof buf);
    CHECK(strstr(buf, "time_delta_threshold = 10\n") != NULL);
    CHECK(strstr(buf, "max_rows = 1000\n") != NULL);
    ops->destroy(st);

    /* window_start nearer than window_end: an error when the default
     * window is used */
    st = make("sentinel");
    set_ok(st, "window_start", "1h");
    {
        found fd = {0};
        bw_run run = {BW_UNSET, BW_UNSET, BW_UNSET, BW_UNSET, 0};
        add(st, T0, "10.0.0.1", "8.8.8.8", 1, 1, 1);
        CHECK(ops->finish(st, &run, collect, &fd, &eb) == BW_ERR_CONFIG);
        CHECK(strstr(eb.msg, "window_start") != NULL);
    }
    ops->destroy(st);
}

/* PAN-OS: the count clause and the day-aligned window. */
static void test_panos(void)
{
    int g[31];
    found fd = {0};
    /* 25 x 30 s and 6 other gaps: 25/31 = 80.6 % > 80, but 25 is not > 25 */
    for (int i = 0; i < 31; i++)
        g[i] = i < 25 ? 30 : 40 + 10 * (i - 25);
    CHECK(alerts_for("sentinel-panos", g, 31, NULL, NULL) == 0);
    CHECK(alerts_for("sentinel-panos", g, 31, "delta_count_threshold", "24") == 1);
    {
        void *st = make("sentinel");
        bw_run run = run_all();
        set_ok(st, "time_delta_threshold", "25");
        set_ok(st, "total_events_threshold", "30");
        add_gaps(st, T0, "10.0.0.1", "5.5.5.5", 443, g, 31, 10, 20);
        CHECK(finish(st, &run, &fd) == 0);
        CHECK(fd.n == 1);
        found_free(&fd);
        ops->destroy(st);
    }
    for (int i = 0; i < 31; i++)
        g[i] = 30;
    /* now = 2026-01-03T12:00: panos reads [01-01T00:00, 01-02T00:00],
     * sentinel [01-01T12:00, 01-02T12:00]; the beacon is at 01-01T05:00. */
    for (int v = 0; v < 2; v++) {
        void *st = make(v ? "sentinel" : "sentinel-panos");
        bw_run run = {T0 + S(2 * 86400 + 12 * 3600), BW_UNSET, BW_UNSET, BW_UNSET, 0};
        add_gaps(st, T0 + S(5 * 3600), "10.0.0.1", "5.5.5.5", 443, g, 31, 10, 20);
        CHECK(finish(st, &run, &fd) == 0);
        CHECK(fd.n == (v ? 0 : 1));
        if (fd.n == 1 && !v)
            CHECK_STR(jget(fd.json[0], "TimeGenerated"), "2026-01-01T05:00:00Z");
        found_free(&fd);
        ops->destroy(st);
    }
    /* panos: a row exactly at startofday(now - 1d) is in, one after it out */
    {
        void *st = make("sentinel-panos");
        bw_run run = {T0 + S(2 * 86400 + 12 * 3600), BW_UNSET, BW_UNSET, BW_UNSET, 0};
        int64_t end = T0 + S(86400);
        add_gaps(st, end - S(30 * 31), "10.0.0.1", "5.5.5.5", 443, g, 31, 10, 20);
        add(st, end + 1, "10.0.0.1", "5.5.5.5", 443, 10, 20);
        CHECK(finish(st, &run, &fd) == 0);
        CHECK(fd.n == 1);
        if (fd.n == 1)
            CHECK(jint(fd.json[0], "TotalEvents") == 31);
        found_free(&fd);
        ops->destroy(st);
    }
}

/* start <= TimeGenerated <= end, and the default window. */
static void test_window(void)
{
    int g[16];
    found fd = {0};
    for (int i = 0; i < 16; i++)
        g[i] = 30;
    for (int v = 0; v < 3; v++) {
        void *st = make("sentinel");
        int64_t last = T0 + S(30 * 16);
        bw_run run = {BW_UNSET, T0 + (v == 1), last - (v == 2), BW_UNSET, 0};
        add_gaps(st, T0, "10.0.0.1", "5.5.5.5", 443, g, 16, 1, 1);
        add(st, T0 - 1, "10.0.0.1", "5.5.5.5", 443, 1, 1);   /* before start */
        add(st, last + 1, "10.0.0.1", "5.5.5.5", 443, 1, 1); /* after end */
        CHECK(finish(st, &run, &fd) == 0);
        /* bounds included: 16 deltas > 15; moving a bound by 1 µs: 15 */
        CHECK(fd.n == (v == 0));
        found_free(&fd);
        ops->destroy(st);
    }
    /* unset window: [now - 2 d, now - 1 d], now = the latest event */
    for (int v = 0; v < 3; v++) {
        void *st = make("sentinel");
        bw_run run = {BW_UNSET, BW_UNSET, BW_UNSET, BW_UNSET, 0};
        char sum[512];
        if (v == 1)
            run.now_us = T0 + S(3 * 86400); /* window after the beacon */
        if (v == 2)
            run.start_us = T0 + S(60); /* explicit start, default end */
        add_gaps(st, T0, "10.0.0.1", "5.5.5.5", 443, g, 16, 1, 1);
        /* the latest event, to a private address: only moves "now" */
        add(st, T0 + S(86400 + 43200), "10.0.0.1", "10.9.9.9", 443, 1, 1);
        CHECK(finish(st, &run, &fd) == 0);
        CHECK(fd.n == (v == 0));
        ops->summary(st, sum, sizeof sum);
        if (v == 1)
            CHECK(strstr(sum, "out of window 17") != NULL);
        found_free(&fd);
        ops->destroy(st);
    }
    /* nothing seen, nothing set */
    {
        void *st = make("sentinel");
        bw_run run = {BW_UNSET, BW_UNSET, BW_UNSET, BW_UNSET, 0};
        CHECK(finish(st, &run, &fd) == 0);
        CHECK(fd.n == 0);
        ops->destroy(st);
    }
}

/* The finding: id, score, table cells, alert document. */
static void test_finding(void)
{
    int g[20];
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    for (int i = 0; i < 20; i++)
        g[i] = 60;
    add_gaps(st, T0 + S(7200 + 5), "10.0.0.7", "203.0.113.9", 8443, g, 20, 100,
             INT64_C(3000000000)); /* dst bytes above the 30-bit limit */
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        struct sha256_ctx sha;
        uint8_t d[SHA256_DIGEST_SIZE];
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        const char *key = "2026-01-01T02:00:00Z|10.0.0.7|203.0.113.9|8443";
        sha256_init(&sha);
        sha256_update(&sha, strlen(key), (const uint8_t *)key);
        sha256_digest(&sha, sizeof d, d);
        for (size_t i = 0; i < sizeof d; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        CHECK_STR(fd.id[0], hex);
        CHECK_STR(fd.rule[0], "sentinel");
        CHECK(fd.alert[0] == 1);
        CHECK(fd.score[0] == 1.0);
        CHECK(fd.ts[0] == T0 + S(7200));
        CHECK(fd.ncols[0] == 10);
        CHECK_STR(fd.cols[0], "2026-01-01T02:00:00Z|10.0.0.7|203.0.113.9|8443|60|20|20|100.00|"
                              "2000|21474836460");
        CHECK_STR(jget(fd.json[0], "AlertName"),
                  "Potential beaconing from 10.0.0.7 to 203.0.113.9");
        CHECK_STR(jget(fd.json[0], "Severity"), "Low");
        CHECK_STR(jget(fd.json[0], "AnalyticRuleId"), "fcb9d75c-c3c1-4910-8697-f136bfef2363");
        CHECK_STR(jget(fd.json[0], "BeaconPercent"), "100.0");
        CHECK(jint(fd.json[0], "DstPortNumber") == 8443);
        CHECK(strstr(fd.json[0], "\"Tactics\":[\"CommandAndControl\"]") != NULL);
        CHECK(strstr(fd.json[0], "\"Techniques\":[\"T1071\",\"T1571\"]") != NULL);
        CHECK(strstr(fd.json[0], "\"Entities\":[{\"Type\":\"ip\",\"Address\":\"10.0.0.7\"},"
                                 "{\"Type\":\"ip\",\"Address\":\"203.0.113.9\"}]") != NULL);
        CHECK(strchr(fd.json[0], '\n') == NULL);
    }
    {
        char sum[512];
        ops->summary(st, sum, sizeof sum);
        CHECK(strstr(sum, "byte counts saturated 21") != NULL);
        CHECK(strstr(sum, "groups 1, alerts 1") != NULL);
    }
    found_free(&fd);
    /* finish twice is a usage error */
    {
        bw_errbuf eb = {{0}};
        CHECK(ops->finish(st, &run, collect, &fd, &eb) == BW_ERR_USAGE);
    }
    ops->destroy(st);
}

/* A row without a destination port groups on its own, sorted first. */
static void test_no_port(void)
{
    void *st = make("sentinel");
    found fd = {0};
    bw_run run = run_all();
    for (int i = 0; i < 17; i++)
        add(st, T0 + S(30 * i), "10.0.0.1", "8.8.8.8", -1, 1, 1);
    CHECK(finish(st, &run, &fd) == 0);
    CHECK(fd.n == 1);
    if (fd.n == 1) {
        CHECK_STR(jget(fd.json[0], "DstPortNumber"), "null");
        CHECK(strstr(fd.cols[0], "|8.8.8.8||30|") != NULL);
    }
    found_free(&fd);
    ops->destroy(st);
}

/* Workers: clone, add in any order, merge; the result does not change. */
static void test_merge_and_cap(void)
{
    found one = {0}, two = {0};
    bw_run run = run_all();
    bw_errbuf eb = {{0}};
    void *a = make("sentinel"), *b, *c;
    char sum[512];
    set_ok(a, "total_events_threshold", "1");
    set_ok(a, "time_delta_threshold", "0");
    set_ok(a, "percent_beacon_threshold", "0");
    b = ops->clone(a);
    c = ops->clone(a);
    CHECK(b && c);
    for (int i = 0; i < 200; i++) {
        char src[32];
        snprintf(src, sizeof src, "10.0.%d.%d", i % 3, i % 5);
        add(a, T0 + S(37 * i), src, i % 2 ? "8.8.8.8" : "1.1.1.1", 53 + i % 2, i, 2 * i);
    }
    /* the same rows spread over two workers, backwards */
    for (int i = 199; i >= 0; i--) {
        char src[32];
        snprintf(src, sizeof src, "10.0.%d.%d", i % 3, i % 5);
        add(i % 2 ? b : c, T0 + S(37 * i), src, i % 2 ? "8.8.8.8" : "1.1.1.1", 53 + i % 2, i,
            2 * i);
    }
    CHECK(ops->merge(b, c, &eb) == 0);
    CHECK(finish(a, &run, &one) == 0);
    CHECK(finish(b, &run, &two) == 0);
    CHECK(one.n > 0);
    CHECK(one.n == two.n);
    for (int i = 0; i < one.n && i < two.n; i++)
        CHECK_STR(one.json[i], two.json[i]);
    ops->summary(b, sum, sizeof sum);
    CHECK(strstr(sum, "rows offered 200, kept 200") != NULL);
    /* c was left empty and reusable */
    ops->summary(c, sum, sizeof sum);
    CHECK(strstr(sum, "rows offered 0, kept 0") != NULL);
    found_free(&one);
    found_free(&two);
    ops->destroy(a);
    ops->destroy(b);
    ops->destroy(c);

    /* max_rows: drops counted, in add and in merge */
    a = make("sentinel");
    set_ok(a, "max_rows", "5");
    b = ops->clone(a);
    for (int i = 0; i < 8; i++) {
        add(a, T0 + S(i), "10.0.0.1", "8.8.8.8", 1, 1, 1);
        add(b, T0 + S(i), "10.0.0.2", "8.8.8.8", 1, 1, 1);
    }
    CHECK(ops->merge(a, b, &eb) == 0);
    ops->summary(a, sum, sizeof sum);
    CHECK(strstr(sum, "rows offered 16, kept 5") != NULL);
    CHECK(strstr(sum, "over max_rows 11") != NULL);
    ops->destroy(a);
    ops->destroy(b);
}

/* ---- conformance vectors --------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = 0;
    }
    fclose(f);
    return buf;
}

/* A private, minimal reader of the vectors' plain CSV (no quoting), used
 * until the ingest API's asim-csv reader is linked into the tests. */
static int load_csv(void *st, const char *path)
{
    size_t len = 0, nrows = 0;
    char *buf = slurp(path, &len), *line, *save = NULL;
    int col[6] = {-1, -1, -1, -1, -1, -1};
    static const char *names[6] = {"TimeGenerated", "SrcIpAddr",    "DstIpAddr",
                                   "DstPortNumber", "SrcBytes",     "DstBytes"};
    if (!buf)
        return -1;
    for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *f[32];
        int nf = 0;
        for (char *p = line; nf < 32;) {
            f[nf++] = p;
            if (!(p = strchr(p, ',')))
                break;
            *p++ = 0;
        }
        if (col[0] < 0) {
            for (int i = 0; i < nf; i++)
                for (int k = 0; k < 6; k++)
                    if (strcmp(f[i], names[k]) == 0)
                        col[k] = i;
            for (int k = 0; k < 6; k++)
                CHECK(col[k] >= 0);
            continue;
        }
        {
            bw_record r;
            bw_record_clear(&r);
            if (nf <= col[5] || bw_time_parse(f[col[0]], strlen(f[col[0]]), &r.ts_us) != 0) {
                CHECK(0);
                continue;
            }
            bw_ip_parse(f[col[1]], strlen(f[col[1]]), &r.src_ip);
            bw_ip_parse(f[col[2]], strlen(f[col[2]]), &r.dst_ip);
            r.dst_port = *f[col[3]] ? atoi(f[col[3]]) : -1;
            r.src_bytes = *f[col[4]] ? strtoll(f[col[4]], NULL, 10) : BW_UNSET;
            r.dst_bytes = *f[col[5]] ? strtoll(f[col[5]], NULL, 10) : BW_UNSET;
            CHECK(ops->add(st, &r) == 0);
            nrows++;
        }
    }
    free(buf);
    return (int)nrows;
}

/* run.json: "start", "end" and the "params" object of numbers. */
static int load_run(void *st, const char *path, bw_run *run)
{
    size_t len;
    char *buf = slurp(path, &len), *p;
    if (!buf)
        return -1;
    run->now_us = run->ingested_us = BW_UNSET;
    run->all = 0;
    run->start_us = S(strtoll(jget(buf, "start"), NULL, 10));
    run->end_us = S(strtoll(jget(buf, "end"), NULL, 10));
    if ((p = strstr(buf, "\"params\"")) && (p = strchr(p, '{'))) {
        char *end = strchr(p, '}');
        while (end && (p = strchr(p + 1, '"')) && p < end) {
            char key[64], val[64];
            char *q = strchr(p + 1, '"');
            size_t n = (size_t)(q - p - 1);
            if (n >= sizeof key)
                break;
            memcpy(key, p + 1, n);
            key[n] = 0;
            snprintf(val, sizeof val, "%s", jget(p, key));
            set_ok(st, key, val);
            p = strpbrk(q + 1, ",}");
            if (!p || *p == '}')
                break;
        }
    }
    free(buf);
    return 0;
}

static int num_same(const char *a, const char *b)
{
    double x = strtod(a, NULL), y = strtod(b, NULL);
    return fabs(x - y) <= 1e-12 || fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
}

static void conformance_case(const char *name)
{
    static const char *strs[] = {"TimeGenerated", "SrcIpAddr", "DstIpAddr"};
    static const char *nums[] = {"DstPortNumber", "MostFrequentTimeDeltainSeconds",
                                 "MostFrequentTimeDeltaCount", "TotalEvents", "TotalSrcBytes",
                                 "TotalDstBytes", "BeaconPercent"};
    char rel[256], path[4096];
    const char *dir;
    void *st = make("sentinel");
    found fd = {0};
    bw_run run;
    size_t len = 0;
    char *exp, *line, *save = NULL;
    int nexp = 0, bad = 0;

    snprintf(rel, sizeof rel, "conformance/sentinel/%s", name);
    if (!(dir = tap_shared(rel))) {
        ops->destroy(st);
        return;
    }
    snprintf(path, sizeof path, "%s/run.json", dir);
    CHECK(load_run(st, path, &run) == 0);
    snprintf(path, sizeof path, "%s/sessions.csv", dir);
    CHECK(load_csv(st, path) > 0);
    CHECK(finish(st, &run, &fd) == 0);
    snprintf(path, sizeof path, "%s/expected.ndjson", dir);
    exp = slurp(path, &len);
    CHECK(exp != NULL);
    for (line = exp ? strtok_r(exp, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save), nexp++) {
        /* findings come in (hour, src, dst, port) order, as expected.ndjson */
        const char *got = nexp < fd.n ? fd.json[nexp] : "";
        char want[256];
        for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) {
            snprintf(want, sizeof want, "%s", jget(line, strs[k]));
            if (strcmp(want, jget(got, strs[k])) != 0) {
                fprintf(stderr, "%s row %d %s: want %s got %s\n", name, nexp + 1, strs[k],
                        want, jget(got, strs[k]));
                bad++;
            }
        }
        for (size_t k = 0; k < sizeof nums / sizeof *nums; k++) {
            snprintf(want, sizeof want, "%s", jget(line, nums[k]));
            if (!*want || !num_same(want, jget(got, nums[k]))) {
                fprintf(stderr, "%s row %d %s: want %s got %s\n", name, nexp + 1, nums[k],
                        want, jget(got, nums[k]));
                bad++;
            }
        }
    }
    CHECK(bad == 0);
    CHECK(nexp > 0);
    CHECK(fd.n == nexp);
    printf("conformance sentinel/%s: %d expected, %d reported, %d differences\n", name, nexp,
           fd.n, bad);
    free(exp);
    found_free(&fd);
    ops->destroy(st);
}

int main(void)
{
    test_cross_destination();
    test_truncation();
    test_boundaries();
    test_private_filter();
    test_hours();
    test_most_frequent();
    test_text_order();
    test_presets_and_params();
    test_panos();
    test_window();
    test_finding();
    test_no_port();
    test_merge_and_cap();
    conformance_case("mixed");
    conformance_case("rules");
    conformance_case("thresholds");
    return tap_done();
}
