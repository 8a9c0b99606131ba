/* Unit tests for the JSON and CSV readers (zeek-json, ecs, asim-json,
 * asim-csv, eve): exact field values from hand-written inputs, every skip
 * reason with its line number, feeding in pieces giving the same result as
 * one feed, sniffing, and record counts on the real data in ../shared
 * (counted independently with jq / wc, see each test). */
#include "ingest_reader.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- a record collector and a small driver ---- */

#define MAXREC 64
typedef struct saved {
    bw_record r;
    char s[7][160];
} saved;

typedef struct got {
    saved rec[MAXREC];
    int n;       /* records kept (the first MAXREC) */
    long total;  /* records emitted */
    int stop_at; /* return non-zero from emit at this record (0 = never) */
} got;

static bw_str keep(char *dst, bw_str s)
{
    size_t n = s.n < 159 ? s.n : 159;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = 0;
    return (bw_str){dst, n};
}

static int sink(void *ctx, const bw_record *r)
{
    got *g = ctx;
    g->total++;
    if (g->n < MAXREC) {
        saved *k = &g->rec[g->n++];
        k->r = *r;
        k->r.transport = keep(k->s[0], r->transport);
        k->r.host_name = keep(k->s[1], r->host_name);
        k->r.process_name = keep(k->s[2], r->process_name);
        k->r.dst_domain = keep(k->s[3], r->dst_domain);
        k->r.event_action = keep(k->s[4], r->event_action);
        k->r.event_category = keep(k->s[5], r->event_category);
        k->r.conn_state = keep(k->s[6], r->conn_state);
    }
    return g->stop_at && g->total >= g->stop_at;
}

typedef struct result {
    got g;
    bw_file_stats st;
    bw_diag diag[BW_DIAG_PER_FILE];
    int ndiag;
    uint64_t line;
    size_t consumed;
    const char *reject;
} result;

/* Parses text as a driver would: header(), then feeds that grow by `block`
 * bytes (0 = everything at once with eof=1), keeping what feed() leaves. */
static void run(const bw_reader *rd, const char *text, size_t n, size_t block, uint32_t maxrec,
                result *res)
{
    bw_parse p;
    size_t pos, avail;
    char *buf = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
    memcpy(buf, text, n);
    memset(res, 0, sizeof *res);
    memset(&p, 0, sizeof p);
    p.path = "test";
    p.line = 1;
    p.max_record = maxrec;
    p.st = &res->st;
    p.emit = sink;
    p.emit_ctx = &res->g;
    p.scratch_cap = (size_t)maxrec + 64;
    p.scratch = malloc(p.scratch_cap);
    CHECK(rd->init(&p) == 0);
    pos = rd->header(&p, buf, n);
    res->reject = p.reject;
    for (size_t k = 0; k < pos; k++)
        p.line += buf[k] == '\n';
    avail = block ? pos : n;
    for (;;) {
        int eof;
        if (block)
            avail = avail + block < n ? avail + block : n;
        eof = avail == n;
        pos += rd->feed(&p, buf + pos, avail - pos, eof);
        CHECK(pos <= avail);
        if (eof || p.stopped)
            break;
    }
    res->consumed = pos;
    res->line = p.line;
    res->ndiag = p.ndiag;
    memcpy(res->diag, p.diag, sizeof p.diag);
    rd->fini(&p);
    free(p.scratch);
    free(buf);
}

static long skipped(const result *r, bw_skip why)
{
    return (long)r->st.skipped[why];
}

static long nskipped(const result *r)
{
    long s = 0;
    for (int k = 0; k < BW_SKIP__COUNT; k++)
        s += (long)r->st.skipped[k];
    return s;
}

/* The same input fed whole, in 1-byte steps and in 7-byte steps gives the
 * same records, skips and line count. */
static void check_pieces(const bw_reader *rd, const char *text, uint32_t maxrec)
{
    static result a, b;
    size_t n = strlen(text);
    run(rd, text, n, 0, maxrec, &a);
    for (size_t block = 1; block <= 7; block += 6) {
        run(rd, text, n, block, maxrec, &b);
        CHECK(b.g.total == a.g.total);
        CHECK(b.line == a.line);
        CHECK(b.consumed == n);
        CHECK(memcmp(a.st.skipped, b.st.skipped, sizeof a.st.skipped) == 0);
        CHECK(a.ndiag == b.ndiag);
        for (int k = 0; k < a.ndiag && k < b.ndiag; k++)
            CHECK(a.diag[k].line == b.diag[k].line && a.diag[k].reason == b.diag[k].reason);
        for (int k = 0; k < a.g.n && k < b.g.n; k++) {
            CHECK(a.g.rec[k].r.ts_us == b.g.rec[k].r.ts_us);
            CHECK(a.g.rec[k].r.src_bytes == b.g.rec[k].r.src_bytes);
            CHECK(strcmp(a.g.rec[k].s[1], b.g.rec[k].s[1]) == 0);
        }
    }
}

static int64_t ts(const char *iso)
{
    int64_t us = 0;
    CHECK(bw_time_parse(iso, strlen(iso), &us) == 0);
    return us;
}

static int ip_is(const bw_ip *ip, const char *text)
{
    bw_ip want;
    return bw_ip_parse(text, strlen(text), &want) == 0 && want.family == ip->family &&
           memcmp(want.a, ip->a, 16) == 0;
}

static int diag_is(const result *r, int k, bw_skip why, uint64_t line)
{
    if (k >= r->ndiag)
        return 0;
    if (r->diag[k].reason != why || r->diag[k].line != line) {
        fprintf(stderr, "diag %d: reason %d line %llu (want %d line %llu) '%s'\n", k,
                (int)r->diag[k].reason, (unsigned long long)r->diag[k].line, (int)why,
                (unsigned long long)line, r->diag[k].detail);
        return 0;
    }
    return 1;
}

static result R;

/* ---- ECS ---- */

static void test_ecs_fields(void)
{
    const char *in =
        "{\"@timestamp\":\"2026-01-01T00:00:25.555Z\",\"event\":{\"category\":[\"network\"],"
        "\"action\":\"disconnect_received\",\"duration\":1500000},\"host\":{\"name\":\"ws-1\"},"
        "\"source\":{\"ip\":\"10.153.0.10\",\"port\":50000,\"bytes\":1836},\"destination\":"
        "{\"ip\":\"172.105.85.103\",\"port\":443,\"bytes\":6371,\"domain\":\"c2.example\"},"
        "\"process\":{\"name\":\"curl\"},\"network\":{\"transport\":\"tcp\"},"
        "\"tls\":{\"client\":{\"server_name\":\"sni.example\"}}}\n"
        /* The same event with dotted keys, a category string, escapes. */
        "{\"@timestamp\":\"2026-01-01T01:00:25.555+01:00\",\"event.category\":\"network\","
        "\"event.action\":\"disconnect_received\",\"host.name\":\"ws\\u002d1\","
        "\"source.ip\":\"10.153.0.10\",\"source.port\":\"50000\",\"source.bytes\":1836,"
        "\"destination.ip\":\"172.105.85.103\",\"destination.port\":443,"
        "\"destination.bytes\":6371,\"process.name\":\"c\\/url\",\"network.transport\":\"tcp\","
        "\"url\":{\"domain\":\"u.example\"},\"dns.question.name\":\"q.example\","
        "\"zeek.connection.state\":\"SF\"}\r\n"
        /* Fallback of the domain to SNI, a category without network, IPv6. */
        "{\"@timestamp\":1767225600000,\"event\":{\"category\":[\"process\",\"host\"]},"
        "\"source\":{\"ip\":\"2001:db8::1\"},\"destination\":{\"ip\":\"::ffff:1.2.3.4\"},"
        "\"tls.client.server_name\":\"sni.example\",\"url.domain\":\"u.example\"}\n";
    const bw_record *r;
    run(&bw_reader_ecs, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.g.n == 3);
    CHECK(nskipped(&R) == 0);
    CHECK(R.line == 4);
    for (int k = 0; k < 2 && k < R.g.n; k++) {
        r = &R.g.rec[k].r;
        CHECK(r->ts_us == ts("2026-01-01T00:00:25.555Z"));
        CHECK(ip_is(&r->src_ip, "10.153.0.10") && ip_is(&r->dst_ip, "172.105.85.103"));
        CHECK(r->src_port == 50000 && r->dst_port == 443);
        CHECK(r->src_bytes == 1836 && r->dst_bytes == 6371);
        CHECK_SLICE(r->host_name, "ws-1");
        CHECK_SLICE(r->event_action, "disconnect_received");
        CHECK_SLICE(r->transport, "tcp");
        CHECK(r->flags & BW_REC_CAT_NETWORK);
    }
    if (R.g.n < 3)
        return;
    r = &R.g.rec[0].r;
    CHECK_SLICE(r->process_name, "curl");
    CHECK_SLICE(r->dst_domain, "c2.example");
    CHECK_SLICE(r->event_category, "[\"network\"]");
    CHECK(r->duration_us == 1500);
    CHECK(r->conn_state.n == 0);
    r = &R.g.rec[1].r;
    CHECK_SLICE(r->process_name, "c/url");
    CHECK_SLICE(r->dst_domain, "u.example");
    CHECK_SLICE(r->event_category, "network");
    CHECK_SLICE(r->conn_state, "SF");
    CHECK(r->duration_us == BW_UNSET);
    r = &R.g.rec[2].r;
    CHECK(r->ts_us == 1767225600000000LL);
    CHECK(!(r->flags & BW_REC_CAT_NETWORK));
    CHECK_SLICE(r->event_category, "[\"process\",\"host\"]");
    CHECK(ip_is(&r->src_ip, "2001:db8::1") && r->src_ip.family == 6);
    CHECK(r->dst_ip.family == 6 || r->dst_ip.family == 4);
    CHECK_SLICE(r->dst_domain, "sni.example");
    CHECK(r->src_port == -1 && r->dst_port == -1);
    CHECK(r->src_bytes == BW_UNSET && r->dst_bytes == BW_UNSET);
    CHECK(r->host_name.n == 0 && r->process_name.n == 0);
    check_pieces(&bw_reader_ecs, in, 1 << 20);
}

static void test_ecs_documents(void)
{
    /* Pretty-printed, concatenated, an Elasticsearch export, an array. */
    const char *in =
        "{\n  \"@timestamp\": \"2026-01-01T00:00:01Z\",\n  \"source\": {\n    \"ip\": "
        "\"10.0.0.1\"\n  }\n}\n"
        "{\"@timestamp\":\"2026-01-01T00:00:02Z\"}{\"@timestamp\":\"2026-01-01T00:00:03Z\"}\n"
        "{\"_index\":\"logs-x\",\"_id\":\"a\",\"_score\":1.0,\"_source\":{\"@timestamp\":"
        "\"2026-01-01T00:00:04Z\",\"host\":{\"name\":\"h4\"}}}\n"
        "[\n  {\"@timestamp\":\"2026-01-01T00:00:05Z\"},\n  {\"@timestamp\":"
        "\"2026-01-01T00:00:06Z\"}\n]\n";
    run(&bw_reader_ecs, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.g.n == 6);
    CHECK(nskipped(&R) == 0);
    CHECK(R.line == 13);
    for (int k = 0; k < R.g.n; k++) {
        char want[32];
        snprintf(want, sizeof want, "2026-01-01T00:00:0%dZ", k + 1);
        CHECK(R.g.rec[k].r.ts_us == ts(want));
    }
    if (R.g.n == 6) {
        CHECK(ip_is(&R.g.rec[0].r.src_ip, "10.0.0.1"));
        CHECK_SLICE(R.g.rec[3].r.host_name, "h4");
    }
    check_pieces(&bw_reader_ecs, in, 1 << 20);
}

static void test_ecs_skips(void)
{
    char big[600];
    const char *in =
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\"}\n"                      /* 1 ok */
        "{\"event\":{\"action\":\"x\"}}\n"                                  /* 2 no time */
        "{\"@timestamp\":\"yesterday\"}\n"                                  /* 3 bad time */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"source.ip\":\"10.0.0\"}\n" /* 4 bad ip */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"source.port\":70000}\n"   /* 5 bad number */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"destination.bytes\":-1}\n" /* 6 bad number */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"source.port\":44.5}\n"    /* 7 bad number */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"event.duration\":\"x\"}\n" /* 8 bad number */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",}\n"                        /* 9 syntax */
        "not json at all\n"                                                  /* 10 syntax */
        "\n"                                                                 /* 11 blank */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"x\":\n"                   /* 12 syntax... */
        "{\"@timestamp\":\"2026-01-01T00:00:02Z\"}\n"                         /* 13 ...resync ok */
        "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"source.ip\":null,\"source.port\":null}\n"
        "{\"@timestamp\":\"2026-01-01T00:00:03Z\""; /* 15 truncated at eof */
    run(&bw_reader_ecs, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.g.total == 3);
    CHECK(skipped(&R, BW_SKIP_NO_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_IP) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_NUMBER) == 4);
    CHECK(skipped(&R, BW_SKIP_SYNTAX) == 3);
    CHECK(skipped(&R, BW_SKIP_TRUNCATED) == 1);
    CHECK(R.line == 15);
    CHECK(diag_is(&R, 0, BW_SKIP_NO_TIME, 2));
    CHECK(diag_is(&R, 1, BW_SKIP_BAD_TIME, 3));
    CHECK(diag_is(&R, 2, BW_SKIP_BAD_IP, 4));
    CHECK(diag_is(&R, 3, BW_SKIP_BAD_NUMBER, 5));
    CHECK(diag_is(&R, 4, BW_SKIP_BAD_NUMBER, 6));
    CHECK(R.ndiag == BW_DIAG_PER_FILE);
    CHECK(strcmp(R.diag[1].detail, "yesterday") == 0);
    CHECK(strcmp(R.diag[2].detail, "10.0.0") == 0);
    check_pieces(&bw_reader_ecs, in, 1 << 20);

    /* Too long: a 600-byte line with max_record 256, between good lines. */
    {
        char text[1024];
        memset(big, 'a', sizeof big);
        snprintf(text, sizeof text,
                 "{\"@timestamp\":\"2026-01-01T00:00:01Z\"}\n{\"@timestamp\":\"2026-01-01T00:00:"
                 "01Z\",\"pad\":\"%.*s\"}\n{\"@timestamp\":\"2026-01-01T00:00:01Z\"}\n",
                 500, big);
        run(&bw_reader_ecs, text, strlen(text), 0, 256, &R);
        CHECK(R.g.total == 2);
        CHECK(skipped(&R, BW_SKIP_TOO_LONG) == 1);
        CHECK(diag_is(&R, 0, BW_SKIP_TOO_LONG, 2));
        CHECK(R.line == 4);
        check_pieces(&bw_reader_ecs, text, 256);
    }
    /* A broken pretty-printed document counts once; the next one is read. */
    {
        const char *pretty = "{\n  \"@timestamp\": \"2026-01-01T00:00:01Z\",\n  \"source\": {\n"
                             "    \"ip\": \"10.0.0.1\",\n  }\n}\n{\n  \"@timestamp\": "
                             "\"2026-01-01T00:00:02Z\"\n}\n";
        run(&bw_reader_ecs, pretty, strlen(pretty), 0, 1 << 20, &R);
        CHECK(R.g.total == 1);
        CHECK(skipped(&R, BW_SKIP_SYNTAX) == 1);
        CHECK(diag_is(&R, 0, BW_SKIP_SYNTAX, 1));
        CHECK(R.line == 10);
        check_pieces(&bw_reader_ecs, pretty, 1 << 20);
    }
    /* Stop when the callback says so. */
    {
        const char *three = "{\"@timestamp\":1}\n{\"@timestamp\":2}\n{\"@timestamp\":3}\n";
        bw_parse p;
        bw_file_stats st;
        static got g;
        size_t used;
        memset(&p, 0, sizeof p);
        memset(&st, 0, sizeof st);
        memset(&g, 0, sizeof g);
        g.stop_at = 2;
        p.line = 1;
        p.max_record = 1024;
        p.st = &st;
        p.emit = sink;
        p.emit_ctx = &g;
        CHECK(bw_reader_ecs.init(&p) == 0);
        used = bw_reader_ecs.feed(&p, three, strlen(three), 1);
        CHECK(p.stopped && g.total == 2);
        CHECK(used == 33);
        bw_reader_ecs.fini(&p);
    }
}

/* ---- zeek-json ---- */

static void test_zeek_json(void)
{
    const char *in =
        "{\"ts\":1664462456.755299,\"uid\":\"C5x\",\"id.orig_h\":\"172.16.1.11\",\"id.orig_p\":"
        "40042,\"id.resp_h\":\"8.8.8.8\",\"id.resp_p\":53,\"proto\":\"udp\",\"service\":\"dns\","
        "\"duration\":0.012166976928710938,\"orig_bytes\":0,\"resp_bytes\":111,"
        "\"conn_state\":\"SHR\",\"tunnel_parents\":[]}\n"
        "{\"ts\":\"2021-06-09T20:55:13.160328Z\",\"id\":{\"orig_h\":\"fe80::1\",\"orig_p\":3,"
        "\"resp_h\":\"ff02::2\",\"resp_p\":4},\"proto\":\"icmp\",\"conn_state\":\"OTH\"}\n"
        "{\"_path\":\"dns\",\"ts\":1.0,\"id.orig_h\":\"1.1.1.1\",\"id.resp_p\":53}\n"
        "{\"ts\":1.0,\"id.orig_h\":\"1.1.1.1\",\"id.resp_h\":\"2.2.2.2\",\"id.resp_p\":53,"
        "\"proto\":\"udp\",\"rtt\":0.1,\"query\":\"a.example\"}\n"
        "{\"ts\":1.0,\"id.orig_h\":\"1.1.1.1\",\"id.resp_h\":\"2.2.2.2\",\"id.resp_p\":443,"
        "\"server_name\":\"s.example\",\"version\":\"TLSv12\"}\n"
        "{\"_path\":\"open_conn\",\"ts\":2.5,\"id.orig_h\":\"1.1.1.1\",\"id.resp_h\":\"2.2.2.2\","
        "\"id.resp_p\":443,\"history\":\"S\"}\n"
        "{\"id.orig_h\":\"1.1.1.1\",\"conn_state\":\"S0\"}\n"
        "{\"ts\":\"never\",\"conn_state\":\"S0\"}\n"
        "{\"ts\":3,\"id.orig_h\":\"1.1.1.300\",\"conn_state\":\"S0\"}\n"
        "{\"ts\":3,\"id.orig_h\":\"1.1.1.3\",\"duration\":-1.0,\"conn_state\":\"S0\"}\n"
        "{\"ts\":3,\"id.orig_h\":\"1.1.1.3\",\"orig_bytes\":\"-\",\"conn_state\":\"S0\"}\n";
    const bw_record *r;
    run(&bw_reader_zeek_json, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.reject == NULL);
    CHECK(R.g.n == 3);
    CHECK(skipped(&R, BW_SKIP_NOT_SESSION) == 3);
    CHECK(skipped(&R, BW_SKIP_NO_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_IP) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_NUMBER) == 2);
    /* Not-session skips are counted but not reported as diagnostics. */
    CHECK(diag_is(&R, 0, BW_SKIP_NO_TIME, 7));
    CHECK(diag_is(&R, 1, BW_SKIP_BAD_TIME, 8));
    CHECK(diag_is(&R, 2, BW_SKIP_BAD_IP, 9));
    CHECK(diag_is(&R, 3, BW_SKIP_BAD_NUMBER, 10));
    CHECK(strcmp(R.diag[3].detail, "-1.0") == 0);
    CHECK(diag_is(&R, 4, BW_SKIP_BAD_NUMBER, 11));
    CHECK(R.line == 12);
    if (R.g.n < 3)
        return;
    r = &R.g.rec[0].r;
    CHECK(r->ts_us == 1664462456755299LL);
    CHECK(ip_is(&r->src_ip, "172.16.1.11") && ip_is(&r->dst_ip, "8.8.8.8"));
    CHECK(r->src_port == 40042 && r->dst_port == 53);
    CHECK(r->duration_us == 12166);
    CHECK(r->src_bytes == 0 && r->dst_bytes == 111);
    CHECK_SLICE(r->transport, "udp");
    CHECK_SLICE(r->conn_state, "SHR");
    CHECK(r->event_action.n == 0 && r->host_name.n == 0);
    r = &R.g.rec[1].r;
    CHECK(r->ts_us == ts("2021-06-09T20:55:13.160328Z"));
    CHECK(ip_is(&r->src_ip, "fe80::1") && ip_is(&r->dst_ip, "ff02::2"));
    CHECK(r->src_port == 3 && r->dst_port == 4);
    CHECK(r->duration_us == BW_UNSET && r->src_bytes == BW_UNSET);
    r = &R.g.rec[2].r;
    CHECK(r->ts_us == 2500000);
    check_pieces(&bw_reader_zeek_json, in, 1 << 20);

    /* A file whose first object is another log is rejected in header(). */
    run(&bw_reader_zeek_json, in + 0, 0, 0, 1 << 20, &R);
    CHECK(R.reject == NULL);
    {
        const char *dns = "{\"_path\":\"dns\",\"ts\":1.0}\n";
        const char *dns2 = "{\"ts\":1.0,\"id.orig_h\":\"1.1.1.1\",\"query\":\"x\"}\n";
        run(&bw_reader_zeek_json, dns, strlen(dns), 0, 1 << 20, &R);
        CHECK(R.reject != NULL);
        run(&bw_reader_zeek_json, dns2, strlen(dns2), 0, 1 << 20, &R);
        CHECK(R.reject != NULL);
    }
}

/* ---- eve ---- */

static void test_eve(void)
{
    const char *in =
        "{\"timestamp\":\"2024-07-30T16:53:24.501575+0000\",\"flow_id\":1,\"event_type\":\"flow\","
        "\"src_ip\":\"10.1.22.212\",\"src_port\":56984,\"dest_ip\":\"10.1.46.5\",\"dest_port\":"
        "5005,\"proto\":\"TCP\",\"app_proto\":\"tls\",\"flow\":{\"pkts_toserver\":74,"
        "\"bytes_toserver\":7626,\"bytes_toclient\":10780,\"start\":"
        "\"2024-07-30T18:48:20.399198+0200\",\"end\":\"2024-07-30T16:52:20.399556+00:00\","
        "\"state\":\"closed\"}}\n"
        "{\"timestamp\":\"2018-07-05T15:07:20.910626-0400\",\"event_type\":\"alert\",\"src_ip\":"
        "\"192.168.86.85\",\"http\":{\"url\":\"\\/dd.xml\"}}\n"
        "{\"timestamp\":\"2018-07-05T15:07:20.910626-0400\",\"event_type\":\"netflow\","
        "\"src_ip\":\"fe80:0000:0000:0000:fada:0cff:fedc:87f1\",\"src_port\":546,\"dest_ip\":"
        "\"ff02::1:2\",\"dest_port\":547,\"proto\":\"UDP\",\"netflow\":{\"pkts\":1,\"bytes\":110,"
        "\"start\":\"2018-07-05T15:51:23.453468-0400\","
        "\"end\":\"2018-07-05T15:51:24.453468-0400\"}}\n"
        "{\"timestamp\":\"2018-07-05T15:07:20.910626-0400\",\"event_type\":\"flow\",\"src_ip\":"
        "\"1.2.3.4\",\"dest_ip\":\"5.6.7.8\",\"proto\":\"ICMP\"}\n"
        "{\"event_type\":\"stats\",\"stats\":{\"uptime\":5400}}\n"
        "{\"event_type\":\"flow\",\"src_ip\":\"1.2.3.4\"}\n"
        "{\"timestamp\":\"x\",\"event_type\":\"flow\",\"flow\":{\"start\":\"bad\"}}\n"
        "{\"timestamp\":\"2018-07-05T15:07:20Z\",\"event_type\":\"flow\",\"dest_port\":\"http\"}\n"
        "{\"timestamp\":\"2018-07-05T15:07:20Z\"}\n";
    const bw_record *r;
    run(&bw_reader_eve, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.g.n == 3);
    CHECK(skipped(&R, BW_SKIP_NOT_SESSION) == 3);
    CHECK(skipped(&R, BW_SKIP_NO_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_NUMBER) == 1);
    CHECK(R.ndiag == 3);
    CHECK(diag_is(&R, 0, BW_SKIP_NO_TIME, 6));
    CHECK(diag_is(&R, 1, BW_SKIP_BAD_TIME, 7));
    CHECK(strcmp(R.diag[1].detail, "bad") == 0);
    CHECK(diag_is(&R, 2, BW_SKIP_BAD_NUMBER, 8));
    if (R.g.n < 3)
        return;
    r = &R.g.rec[0].r;
    CHECK(r->ts_us == ts("2024-07-30T16:48:20.399198Z"));
    CHECK(r->duration_us == 240000358);
    CHECK(ip_is(&r->src_ip, "10.1.22.212") && ip_is(&r->dst_ip, "10.1.46.5"));
    CHECK(r->src_port == 56984 && r->dst_port == 5005);
    CHECK(r->src_bytes == 7626 && r->dst_bytes == 10780);
    CHECK_SLICE(r->transport, "TCP");
    CHECK_SLICE(r->conn_state, "closed");
    r = &R.g.rec[1].r;
    CHECK(r->ts_us == ts("2018-07-05T19:51:23.453468Z"));
    CHECK(r->duration_us == 1000000);
    CHECK(ip_is(&r->src_ip, "fe80::fada:cff:fedc:87f1"));
    CHECK(r->src_bytes == 110 && r->dst_bytes == BW_UNSET);
    CHECK(r->conn_state.n == 0);
    r = &R.g.rec[2].r;
    CHECK(r->ts_us == ts("2018-07-05T19:07:20.910626Z"));
    CHECK(r->duration_us == BW_UNSET && r->src_port == -1);
    check_pieces(&bw_reader_eve, in, 1 << 20);
}

/* ---- asim-json ---- */

static void test_asim_json(void)
{
    const char *in =
        "[{\"TimeGenerated\":\"2026-01-01T00:00:09.427Z\",\"SrcIpAddr\":\"10.153.0.2\","
        "\"SrcPortNumber\":49572,\"DstIpAddr\":\"142.184.113.185\",\"DstPortNumber\":80,"
        "\"SrcBytes\":1900,\"DstBytes\":3977,\"NetworkProtocol\":\"TCP\",\"EventSubType\":\"End\","
        "\"SrcHostname\":\"pc1\",\"DvcHostname\":\"fw\",\"SrcProcessName\":\"svc.exe\","
        "\"DstDomain\":\"\",\"DstFQDN\":\"x.example.com\",\"NetworkDuration\":1500,"
        "\"EventType\":\"NetworkSession\"},\n"
        " {\"EventStartTime\":\"2026-01-01T00:00:10Z\",\"SrcIpAddr\":\"10.0.0.2\","
        "\"DvcHostname\":\"fw\",\"DstDomain\":\"d.example\",\"SrcPortNumber\":\"123\"},\n"
        " {\"TimeGenerated\":null,\"EventStartTime\":\"2026-01-01T00:00:11Z\"},\n"
        " {\"SrcIpAddr\":\"10.0.0.2\"},\n"
        " {\"TimeGenerated\":\"2026-01-01T00:00:11Z\",\"NetworkDuration\":-5}\n"
        "]\n";
    const bw_record *r;
    run(&bw_reader_asim_json, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.g.n == 3);
    CHECK(skipped(&R, BW_SKIP_NO_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_NUMBER) == 1);
    CHECK(diag_is(&R, 0, BW_SKIP_NO_TIME, 4));
    CHECK(diag_is(&R, 1, BW_SKIP_BAD_NUMBER, 5));
    CHECK(R.line == 7);
    if (R.g.n < 3)
        return;
    r = &R.g.rec[0].r;
    CHECK(r->ts_us == ts("2026-01-01T00:00:09.427Z"));
    CHECK(ip_is(&r->src_ip, "10.153.0.2") && ip_is(&r->dst_ip, "142.184.113.185"));
    CHECK(r->src_port == 49572 && r->dst_port == 80);
    CHECK(r->src_bytes == 1900 && r->dst_bytes == 3977);
    CHECK_SLICE(r->transport, "TCP");
    CHECK_SLICE(r->event_action, "End");
    CHECK_SLICE(r->host_name, "pc1");
    CHECK_SLICE(r->process_name, "svc.exe");
    CHECK_SLICE(r->dst_domain, "x.example.com");
    CHECK(r->duration_us == 1500000);
    r = &R.g.rec[1].r;
    CHECK(r->ts_us == ts("2026-01-01T00:00:10Z"));
    CHECK_SLICE(r->host_name, "fw");
    CHECK_SLICE(r->dst_domain, "d.example");
    CHECK(r->src_port == 123 && r->dst_port == -1);
    CHECK(R.g.rec[2].r.ts_us == ts("2026-01-01T00:00:11Z"));
    check_pieces(&bw_reader_asim_json, in, 1 << 20);
    /* NDJSON works the same. */
    {
        const char *nd = "{\"TimeGenerated\":\"2026-01-01T00:00:09Z\",\"SrcIpAddr\":\"1.2.3.4\"}\n"
                         "{\"TimeGenerated\":\"2026-01-01T00:00:10Z\",\"SrcIpAddr\":\"1.2.3.5\"}\n";
        run(&bw_reader_asim_json, nd, strlen(nd), 0, 1 << 20, &R);
        CHECK(R.g.n == 2 && nskipped(&R) == 0);
        CHECK(bw_reader_asim_json.splittable(nd, strlen(nd)));
        CHECK(!bw_reader_asim_json.splittable(in, strlen(in)));
    }
}

/* ---- asim-csv ---- */

static void test_asim_csv(void)
{
    const char *in =
        "\xEF\xBB\xBF" "Extra,SrcIpAddr,\"TimeGenerated [UTC]\",DstIpAddr,DstPortNumber,"
        "SrcPortNumber,SrcBytes,DstBytes,NetworkProtocol,SrcHostname,DstFQDN,NetworkDuration,"
        "EventSubType\r\n"
        "\"a, \"\"quoted\"\"\nvalue\",10.0.0.1,2026-01-01T00:00:09.427Z,1.2.3.4,443,5000,10,20,"
        "TCP,\"pc,1\",c2.example,250,End\r\n"                                    /* 2-3 ok */
        "x,10.0.0.2,2026-01-01T00:00:10Z,1.2.3.5,,,,,,,,,\r\n"                 /* 4 ok, unset */
        "\r\n"                                                                   /* 5 blank */
        "x,10.0.0.3,2026-01-01T00:00:10Z\r\n"                                    /* 6 columns */
        "x,10.0.0.3,,1.2.3.5,,,,,,,,,\r\n"                                       /* 7 no time */
        "x,10.0.0.3,soon,1.2.3.5,,,,,,,,,\r\n"                                   /* 8 bad time */
        "x,10.0.0.300,2026-01-01T00:00:10Z,1.2.3.5,,,,,,,,,\r\n"               /* 9 bad ip */
        "x,10.0.0.3,2026-01-01T00:00:10Z,1.2.3.5,https,,,,,,,,\r\n"            /* 10 bad number */
        "\"bad\"quote,10.0.0.3,2026-01-01T00:00:10Z,1.2.3.5,,,,,,,,,\r\n"      /* 11 syntax */
        "x,10.0.0.4,2026-01-01T00:00:11Z,1.2.3.5,,,,,,,,,\n"                   /* 12 ok, LF */
        "x,10.0.0.5,2026-01-01T00:00:12Z,1.2.3.5,,,,,,,,,"                     /* 13 ok, no EOL */
        ;
    const bw_record *r;
    run(&bw_reader_asim_csv, in, strlen(in), 0, 1 << 20, &R);
    CHECK(R.g.n == 4);
    CHECK(skipped(&R, BW_SKIP_COLUMNS) == 1);
    CHECK(skipped(&R, BW_SKIP_NO_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_TIME) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_IP) == 1);
    CHECK(skipped(&R, BW_SKIP_BAD_NUMBER) == 1);
    CHECK(R.ndiag == BW_DIAG_PER_FILE);
    CHECK(diag_is(&R, 0, BW_SKIP_COLUMNS, 6));
    CHECK(diag_is(&R, 1, BW_SKIP_NO_TIME, 7));
    CHECK(diag_is(&R, 2, BW_SKIP_BAD_TIME, 8));
    CHECK(diag_is(&R, 3, BW_SKIP_BAD_IP, 9));
    CHECK(diag_is(&R, 4, BW_SKIP_BAD_NUMBER, 10));
    CHECK(skipped(&R, BW_SKIP_SYNTAX) == 1);
    CHECK(R.line == 13);
    if (R.g.n < 4)
        return;
    r = &R.g.rec[0].r;
    CHECK(r->ts_us == ts("2026-01-01T00:00:09.427Z"));
    CHECK(ip_is(&r->src_ip, "10.0.0.1") && ip_is(&r->dst_ip, "1.2.3.4"));
    CHECK(r->src_port == 5000 && r->dst_port == 443);
    CHECK(r->src_bytes == 10 && r->dst_bytes == 20);
    CHECK_SLICE(r->transport, "TCP");
    CHECK_SLICE(r->host_name, "pc,1");
    CHECK_SLICE(r->dst_domain, "c2.example");
    CHECK_SLICE(r->event_action, "End");
    CHECK(r->duration_us == 250000);
    r = &R.g.rec[1].r;
    CHECK(r->src_port == -1 && r->dst_port == -1);
    CHECK(r->src_bytes == BW_UNSET && r->duration_us == BW_UNSET);
    CHECK(r->transport.n == 0 && r->host_name.n == 0);
    CHECK(R.g.rec[2].r.ts_us == ts("2026-01-01T00:00:11Z"));
    CHECK(R.g.rec[3].r.ts_us == ts("2026-01-01T00:00:12Z"));
    check_pieces(&bw_reader_asim_csv, in, 1 << 20);
    CHECK(!bw_reader_asim_csv.splittable(in, strlen(in)));

    /* header() consumes the header row; doubled quotes decode. */
    {
        const char *h = "TimeGenerated,SrcHostname\n2026-01-01T00:00:00Z,\"a\"\"b\"\n";
        bw_parse p;
        memset(&p, 0, sizeof p);
        CHECK(bw_reader_asim_csv.init(&p) == 0);
        CHECK(bw_reader_asim_csv.header(&p, h, strlen(h)) == 26);
        CHECK(bw_reader_asim_csv.header(&p, h, 10) == 0); /* already have one */
        bw_reader_asim_csv.fini(&p);
        memset(&p, 0, sizeof p);
        CHECK(bw_reader_asim_csv.init(&p) == 0);
        CHECK(bw_reader_asim_csv.header(&p, h, 10) == 0); /* incomplete */
        bw_reader_asim_csv.fini(&p);
        run(&bw_reader_asim_csv, h, strlen(h), 0, 1 << 20, &R);
        CHECK(R.g.n == 1);
        if (R.g.n == 1)
            CHECK_SLICE(R.g.rec[0].r.host_name, "a\"b");
        CHECK(bw_reader_asim_csv.splittable(h, 26));
    }
    /* Truncated quoted cell at eof; too long record. */
    {
        const char *t = "TimeGenerated,SrcIpAddr\n2026-01-01T00:00:00Z,1.2.3.4\n"
                        "2026-01-01T00:00:00Z,\"1.2.3.4\n";
        char text[1200], pad[800];
        run(&bw_reader_asim_csv, t, strlen(t), 0, 1 << 20, &R);
        CHECK(R.g.n == 1);
        CHECK(skipped(&R, BW_SKIP_TRUNCATED) == 1);
        CHECK(diag_is(&R, 0, BW_SKIP_TRUNCATED, 3));
        CHECK(R.line == 4);
        check_pieces(&bw_reader_asim_csv, t, 1 << 20);
        memset(pad, 'p', sizeof pad);
        snprintf(text, sizeof text,
                 "TimeGenerated,SrcIpAddr,X\n2026-01-01T00:00:00Z,1.2.3.4,%.*s\n"
                 "2026-01-01T00:00:00Z,1.2.3.4,y\n",
                 700, pad);
        run(&bw_reader_asim_csv, text, strlen(text), 0, 256, &R);
        CHECK(R.g.n == 1);
        CHECK(skipped(&R, BW_SKIP_TOO_LONG) == 1);
        CHECK(diag_is(&R, 0, BW_SKIP_TOO_LONG, 2));
        CHECK(R.line == 4);
        check_pieces(&bw_reader_asim_csv, text, 256);
    }
    /* A header that never ends within max_record: every line is counted. */
    {
        char text[1200], pad[800];
        memset(pad, 'p', sizeof pad);
        snprintf(text, sizeof text, "TimeGenerated,%.*s\na,b\nc,d\n", 700, pad);
        run(&bw_reader_asim_csv, text, strlen(text), 0, 256, &R);
        CHECK(R.g.n == 0);
        CHECK(skipped(&R, BW_SKIP_TOO_LONG) == 1);
        CHECK(skipped(&R, BW_SKIP_COLUMNS) == 2);
        CHECK(diag_is(&R, 1, BW_SKIP_COLUMNS, 2));
        check_pieces(&bw_reader_asim_csv, text, 256);
    }
}

/* ---- sniffing ---- */

static int best(const char *buf)
{
    const bw_reader *all[] = {&bw_reader_zeek_json, &bw_reader_ecs, &bw_reader_asim_csv,
                              &bw_reader_asim_json, &bw_reader_eve};
    int bi = -1, bs = 0;
    for (int k = 0; k < 5; k++) {
        int s = all[k]->sniff(buf, strlen(buf));
        CHECK(s >= 0 && s <= 100);
        if (s > bs) {
            bs = s;
            bi = (int)all[k]->format;
        }
    }
    return bi;
}

static void test_sniff(void)
{
    CHECK(best("{\"ts\":1.5,\"uid\":\"C\",\"id.orig_h\":\"1.2.3.4\"}\n") == BW_FMT_ZEEK_JSON);
    CHECK(best("{\"@timestamp\":\"x\",\"source\":{\"ip\":\"1.2.3.4\"}}") == BW_FMT_ECS);
    CHECK(best("[\n{\"_index\":\"a\",\"_source\":{\"@timestamp\":\"x\"}}") == BW_FMT_ECS);
    CHECK(best("{\"timestamp\":\"x\",\"flow_id\":1,\"event_type\":\"flow\",\"src_ip\":\"a\"}") ==
          BW_FMT_EVE);
    CHECK(best("[{\"TimeGenerated\":\"x\",\"SrcIpAddr\":\"1.2.3.4\"") == BW_FMT_ASIM_JSON);
    CHECK(best("\xEF\xBB\xBFTimeGenerated,SrcIpAddr,DstIpAddr\n1,2,3\n") == BW_FMT_ASIM_CSV);
    CHECK(best("#separator \\x09\n#fields\tts\tid.orig_h\n") == -1);
    CHECK(best("") == -1);
    CHECK(bw_reader_ecs.splittable("{\"a\":1}\n{\"a\":2}\n", 16));
    CHECK(!bw_reader_ecs.splittable("{\n\"a\":1}\n", 9));
    CHECK(!bw_reader_ecs.splittable("{\"a\":1", 6));
}

/* ---- real data ---- */

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
        *n = (size_t)len;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Reads a file whole, checks the record and skip counts, and that feeding
 * it in 4 KiB steps gives the same. */
static void real(const bw_reader *rd, const char *rel, long records, long skips, long lines)
{
    const char *path = tap_shared(rel);
    static result a, b;
    size_t n;
    char *buf;
    if (!path)
        return;
    if (!(buf = slurp(path, &n))) {
        CHECK(!"cannot read shared data file");
        return;
    }
    run(rd, buf, n, 0, 1 << 20, &a);
    if (a.g.total != records || nskipped(&a) != skips)
        fprintf(stderr, "%s: %ld records, %ld skipped\n", rel, a.g.total, nskipped(&a));
    CHECK(a.g.total == records);
    CHECK(nskipped(&a) == skips);
    CHECK(a.line == (uint64_t)lines + 1);
    run(rd, buf, n, 4096, 1 << 20, &b);
    CHECK(b.g.total == records && nskipped(&b) == skips && b.line == a.line);
    free(buf);
}

static void test_real(void)
{
    /* wc -l: 4504 lines, all conn objects. */
    real(&bw_reader_zeek_json, "data/stratosphere/002-zeek-scenario-port-scanning/conn.log",
         4504, 0, 4504);
    /* 18 objects (jq -c . | wc -l), one with ts "2021-06-09T20:55:13.160328Z"; 17
     * newlines (no newline after the last). */
    real(&bw_reader_zeek_json, "data/elastic/zeek-connection-test-conn.log", 18, 0, 17);
    /* jq 'select(has("conn_state"))': conn 29 of 29, open_conn 59 of 59; http.log: 10 with
     * _path "http", counted as not sessions when fed past header(). */
    real(&bw_reader_zeek_json, "data/rita/json_with_all_fields/conn.log", 29, 0, 29);
    real(&bw_reader_zeek_json, "data/rita/json_with_all_fields/open_conn.log", 59, 0, 59);
    real(&bw_reader_zeek_json, "data/rita/json_with_all_fields/http.log", 0, 10, 10);
    real(&bw_reader_zeek_json, "data/rita/json_with_all_fields/dns.log", 0, 34, 34);
    /* 4 lines, 3 newlines: two good, id.orig_p 93145 on line 3 (bad number), line 4 cut
     * off mid-object (truncated). */
    real(&bw_reader_zeek_json, "data/rita/truncated/conn_json.log", 2, 2, 3);
    /* One pretty-printed document, 85 newlines (wc -l). */
    real(&bw_reader_ecs, "data/elastic/network_traffic-flow-sample_event.json", 1, 0, 85);
    /* grep -c '"event_type":"flow"': 1 of 12 and 2 of 3. */
    real(&bw_reader_eve, "data/elastic/suricata-test-eve-small.log", 1, 11, 12);
    real(&bw_reader_eve, "data/elastic/suricata-test-eve-6-0.log", 2, 1, 3);
    /* wc -l and jq 'select(has("@timestamp"))' agree: every line is an event. */
    real(&bw_reader_ecs, "conformance/elastic/mixed/events.ndjson", 12570, 0, 12570);
    real(&bw_reader_ecs, "conformance/elastic/edges/events.ndjson", 3135, 0, 3135);
    real(&bw_reader_ecs, "conformance/elastic/params/events.ndjson", 465, 0, 465);
    /* Python csv.reader: rows minus the header. */
    real(&bw_reader_asim_csv, "conformance/sentinel/mixed/sessions.csv", 30061, 0, 30062);
    real(&bw_reader_asim_csv, "conformance/sentinel/rules/sessions.csv", 9160, 0, 9161);
    real(&bw_reader_asim_csv, "conformance/sentinel/thresholds/sessions.csv", 1000, 0, 1001);
}

static void test_real_values(void)
{
    const char *path = tap_shared("data/elastic/network_traffic-flow-sample_event.json");
    size_t n;
    char *buf;
    const bw_record *r;
    if (!path || !(buf = slurp(path, &n)))
        return;
    run(&bw_reader_ecs, buf, n, 0, 1 << 20, &R);
    free(buf);
    CHECK(R.g.n == 1);
    if (R.g.n != 1)
        return;
    r = &R.g.rec[0].r;
    CHECK(r->ts_us == ts("2023-10-16T22:40:20.005Z"));
    CHECK(ip_is(&r->src_ip, "::1") && ip_is(&r->dst_ip, "::1"));
    CHECK(r->src_port == 51320 && r->dst_port == 8000);
    CHECK(r->src_bytes == 88 && r->dst_bytes == 64);
    CHECK(r->duration_us == 73); /* 73561 ns */
    CHECK_SLICE(r->transport, "tcp");
    CHECK_SLICE(r->host_name, "docker-fleet-agent");
    CHECK_SLICE(r->event_action, "network_flow");
    CHECK(r->flags & BW_REC_CAT_NETWORK);
}

int main(void)
{
    test_ecs_fields();
    test_ecs_documents();
    test_ecs_skips();
    test_zeek_json();
    test_eve();
    test_asim_json();
    test_asim_csv();
    test_sniff();
    test_real();
    test_real_values();
    return tap_done();
}
