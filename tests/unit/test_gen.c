/* Unit tests of the session generator (bw_gen.h): determinism, exact
 * counts, time order, ground-truth labels that match the records, and the
 * shape of every output format. */
#include "beaconwatch/bw_gen.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define PREFIX(s, lit) (strncmp((s), (lit), sizeof(lit) - 1) == 0)

static bw_gen_opts opts(uint64_t seed, uint64_t records, bw_format f)
{
    bw_gen_opts o;
    bw_gen_opts_init(&o);
    o.seed = seed;
    o.records = records;
    o.format = f;
    o.hosts = 50;
    o.duration_us = 6LL * 3600 * 1000000;
    return o;
}

/* The whole output of one generator run, malloc'ed; NULL on failure. */
static char *render(const bw_gen_opts *o, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    bw_errbuf eb = {{0}};
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    bw_gen *g = bw_gen_new(o, &eb);
    int rc = g ? bw_gen_write(g, f, &eb) : -1;
    CHECK(g && bw_gen_count(g) == o->records);
    bw_gen_free(g);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Text address to the 16-byte form of bw_ip (IPv4 mapped). */
static int addr16(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out + 12) == 1) {
        out[10] = out[11] = 0xff;
        return 0;
    }
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

static void test_determinism(void)
{
    size_t n1 = 0, n2 = 0, n3 = 0;
    bw_gen_opts o = opts(42, 20000, BW_FMT_ZEEK);
    char *a = render(&o, &n1);
    char *b = render(&o, &n2);
    o.seed = 43;
    char *c = render(&o, &n3);
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
        CHECK(n1 != n3 || memcmp(a, c, n1) != 0);
    }
    free(a);
    free(b);
    free(c);

    /* the same seed gives the same sessions through the record API */
    bw_gen_opts p = opts(7, 5000, BW_FMT_ECS);
    bw_gen *g1 = bw_gen_new(&p, NULL), *g2 = bw_gen_new(&p, NULL);
    bw_record r1, r2;
    int same = 1, n = 0;
    while (g1 && g2 && bw_gen_next(g1, &r1)) {
        CHECK(bw_gen_next(g2, &r2) == 1);
        same &= r1.ts_us == r2.ts_us && r1.src_port == r2.src_port &&
                memcmp(&r1.dst_ip, &r2.dst_ip, sizeof r1.dst_ip) == 0 &&
                r1.src_bytes == r2.src_bytes && r1.process_name.n == r2.process_name.n;
        n++;
    }
    CHECK(same);
    CHECK(n == 5000);
    CHECK(g2 && bw_gen_next(g2, &r2) == 0);
    bw_gen_free(g1);
    bw_gen_free(g2);
}

static void test_order_and_content(void)
{
    bw_gen_opts o = opts(3, 200000, BW_FMT_ZEEK);
    bw_gen *g = bw_gen_new(&o, NULL);
    bw_record r;
    int64_t prev = INT64_MIN;
    int ordered = 1, v6 = 0, udp = 0, failed = 0, internal = 0, sane = 1;
    uint64_t n = 0;
    CHECK(g != NULL);
    while (g && bw_gen_next(g, &r)) {
        ordered &= r.ts_us >= prev;
        prev = r.ts_us;
        v6 += r.src_ip.family == 6;
        udp += r.transport.n == 3 && memcmp(r.transport.p, "udp", 3) == 0;
        failed += r.src_bytes == BW_UNSET;
        internal += r.dst_ip.a[12] == 10;
        sane &= r.src_ip.family == r.dst_ip.family && r.src_port > 0 && r.dst_port > 0 &&
                r.host_name.n > 0 && r.process_name.n > 0 && r.ts_us >= o.start_us &&
                (r.flags & BW_REC_CAT_NETWORK);
        n++;
    }
    CHECK(n == o.records);
    CHECK(ordered);
    CHECK(sane);
    CHECK(v6 > 0);       /* dual-stack hosts browse over IPv6 */
    CHECK((uint64_t)udp > n / 20); /* DNS and NTP */
    CHECK(failed > 0);   /* S0 connections */
    CHECK(internal > 0); /* resolvers and servers */
    /* 200k records over a 6 h target: the run ends near its target */
    CHECK(prev > o.start_us + o.duration_us * 8 / 10);
    CHECK(prev < o.start_us + o.duration_us * 13 / 10);
    bw_gen_free(g);
}

/* Every beacon label matches the records between its endpoints, and the
 * intervals follow the label's period and jitter model. */
static void test_labels(void)
{
    bw_gen_opts o = opts(11, 300000, BW_FMT_ZEEK);
    o.beacons = 6;
    bw_gen *g = bw_gen_new(&o, NULL);
    CHECK(g != NULL);
    if (!g)
        return;
    size_t nl = bw_gen_nlabels(g);
    CHECK(nl > 50); /* benign periodic software on 50 hosts */
    enum { MAXB = 32 };
    const bw_gen_label *bl[MAXB];
    uint64_t seen[MAXB] = {0};
    int nb = 0, bid[MAXB], nids = 0;
    /* per beacon id: time of the last beat, whether the last attempt
     * failed (then the next record is a retry, not a beat), and the
     * shortest spacing of two beats */
    int64_t last_beat[MAXB], minsep[MAXB];
    int last_failed[MAXB];
    const bw_gen_label *first[MAXB];
    for (size_t i = 0; i < nl; i++) {
        const bw_gen_label *l = bw_gen_label_at(g, i);
        if (strcmp(l->kind, "beacon") == 0 && nb < MAXB) {
            if (nids == 0 || first[nids - 1]->id != l->id) {
                first[nids] = l;
                last_beat[nids] = BW_UNSET;
                minsep[nids] = INT64_MAX;
                last_failed[nids] = 0;
                nids++;
            }
            bid[nb] = nids - 1;
            bl[nb++] = l;
        } else {
            CHECK_STR(l->kind, "benign");
        }
    }
    CHECK(nids == 6);
    CHECK(bw_gen_label_at(g, nl) == NULL);

    bw_record r;
    while (bw_gen_next(g, &r)) {
        for (int k = 0; k < nb; k++) {
            if (r.dst_port != bl[k]->dport)
                continue;
            if (r.process_name.n != strlen(bl[k]->process) ||
                memcmp(r.process_name.p, bl[k]->process, r.process_name.n) != 0)
                continue;
            uint8_t a[16], b[16];
            if (addr16(bl[k]->dst, a) != 0 || addr16(bl[k]->src, b) != 0)
                continue;
            if (memcmp(a, r.dst_ip.a, 16) != 0 || memcmp(b, r.src_ip.a, 16) != 0)
                continue;
            seen[k]++;
            int id = bid[k];
            if (!last_failed[id]) { /* a beat, not a retry */
                if (last_beat[id] != BW_UNSET && r.ts_us - last_beat[id] < minsep[id])
                    minsep[id] = r.ts_us - last_beat[id];
                last_beat[id] = r.ts_us;
            }
            last_failed[id] = r.src_bytes == BW_UNSET || r.dst_bytes == 0;
        }
    }
    for (int k = 0; k < nb; k++) {
        const bw_gen_label *l = bl[k];
        CHECK(l->records > 0);
        CHECK(seen[k] == l->records);
        CHECK(l->first_us != BW_UNSET && l->last_us >= l->first_us);
    }
    for (int id = 0; id < nids; id++) {
        /* two beats are never closer than the shortest sleep of the model
         * (a missed beat only makes the spacing larger) */
        const bw_gen_label *l = first[id];
        double shortest = strcmp(l->model, "sliver") == 0 ? l->period_s
                                                           : l->period_s * (1 - l->jitter);
        if (shortest < 1)
            shortest = 1;
        CHECK(minsep[id] != INT64_MAX);
        CHECK((double)minsep[id] / 1e6 >= shortest - 1e-6);
    }
    bw_gen_free(g);
}

static void test_labels_csv(void)
{
    bw_gen_opts o = opts(5, 10000, BW_FMT_ZEEK);
    bw_gen *g = bw_gen_new(&o, NULL);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    CHECK(g && f);
    if (!g || !f)
        goto out;
    FILE *null = fopen("/dev/null", "w");
    CHECK(bw_gen_write(g, null, NULL) == 0);
    fclose(null);
    CHECK(bw_gen_write_labels(g, f, NULL) == 0);
    fflush(f);
    CHECK(PREFIX(buf, "kind,src,host,process,dst,dport,period_s,jitter,model,"));
    CHECK(count_char(buf, n, '\n') == bw_gen_nlabels(g) + 1);
    CHECK(strstr(buf, "\nbeacon,") != NULL);
    CHECK(strstr(buf, "\nbenign,") != NULL);
out:
    if (f)
        fclose(f);
    free(buf);
    bw_gen_free(g);
}

/* Checks that each line of a JSON-lines text is an object with balanced
 * braces and brackets outside strings and contains every key. */
static int json_lines_ok(const char *s, size_t n, const char *const *keys)
{
    size_t start = 0;
    while (start < n) {
        const char *nl = memchr(s + start, '\n', n - start);
        if (!nl)
            return 0;
        size_t len = (size_t)(nl - (s + start));
        const char *l = s + start;
        if (len < 2 || l[0] != '{' || l[len - 1] != '}')
            return 0;
        int depth = 0, instr = 0;
        for (size_t i = 0; i < len; i++) {
            char c = l[i];
            if (instr) {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    instr = 0;
            } else if (c == '"') {
                instr = 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth < 0)
                    return 0;
            }
        }
        if (depth != 0 || instr)
            return 0;
        for (const char *const *k = keys; *k; k++) {
            char pat[64];
            snprintf(pat, sizeof pat, "\"%s\":", *k);
            /* search within this line only */
            const char *hit = NULL;
            size_t pl = strlen(pat);
            for (size_t i = 0; i + pl <= len && !hit; i++)
                if (memcmp(l + i, pat, pl) == 0)
                    hit = l + i;
            if (!hit)
                return 0;
        }
        start += len + 1;
    }
    return 1;
}

static void test_formats(void)
{
    const uint64_t nrec = 3000;
    size_t n;
    char *s;

    bw_gen_opts o = opts(9, nrec, BW_FMT_ZEEK);
    s = render(&o, &n);
    CHECK(s != NULL);
    if (s) {
        CHECK(PREFIX(s, "#separator \\x09\n#set_separator\t,\n"));
        CHECK(strstr(s, "\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"));
        CHECK(strstr(s, "\n#types\ttime\tstring\taddr\tport\taddr\tport\t"));
        CHECK(strstr(s, "\n#close\t") != NULL);
        /* 8 header lines, the records, #close */
        CHECK(count_char(s, n, '\n') == nrec + 9);
        /* every line has the 21 columns of #fields */
        size_t lines = 0, bad = 0, pos = 0;
        while (pos < n) {
            const char *nl = memchr(s + pos, '\n', n - pos);
            size_t len = (size_t)(nl - (s + pos));
            if (s[pos] != '#') {
                lines++;
                bad += count_char(s + pos, len, '\t') != 20;
            }
            pos += len + 1;
        }
        CHECK(lines == nrec);
        CHECK(bad == 0);
    }
    free(s);

    static const char *const ecs_keys[] = {"@timestamp", "event", "category", "action",
                                           "host",       "name",  "process",  "source",
                                           "destination", "ip",   "port", "transport", NULL};
    static const char *const zj_keys[] = {"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h",
                                          "id.resp_p", "proto", "conn_state", NULL};
    static const char *const eve_keys[] = {"timestamp", "event_type", "src_ip", "src_port",
                                           "dest_ip", "dest_port", "proto", "flow", "start",
                                           "bytes_toserver", NULL};
    static const char *const aj_keys[] = {"TimeGenerated", "SrcIpAddr", "DstIpAddr",
                                          "DstPortNumber", "SrcHostname", NULL};
    struct {
        bw_format f;
        const char *const *keys;
    } js[] = {{BW_FMT_ECS, ecs_keys},
              {BW_FMT_ZEEK_JSON, zj_keys},
              {BW_FMT_EVE, eve_keys},
              {BW_FMT_ASIM_JSON, aj_keys}};
    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
        o = opts(9, nrec, js[i].f);
        s = render(&o, &n);
        CHECK(s != NULL);
        if (s) {
            CHECK(count_char(s, n, '\n') == nrec);
            CHECK(json_lines_ok(s, n, js[i].keys));
        }
        free(s);
    }

    o = opts(9, nrec, BW_FMT_ECS);
    s = render(&o, &n);
    if (s) {
        CHECK(strstr(s, "\"action\":\"disconnect_received\"") != NULL);
        CHECK(strstr(s, "\"action\":\"connection_attempted\"") != NULL);
        CHECK(strstr(s, "\"category\":[\"network\"]") != NULL);
    }
    free(s);

    o = opts(9, nrec, BW_FMT_ASIM_CSV);
    s = render(&o, &n);
    CHECK(s != NULL);
    if (s) {
        CHECK(PREFIX(s, "TimeGenerated,SrcIpAddr,SrcPortNumber,DstIpAddr,DstPortNumber,"));
        CHECK(count_char(s, n, '\n') == nrec + 1);
        const char *nl = strchr(s, '\n');
        size_t cols = count_char(s, (size_t)(nl - s), ',');
        size_t pos = 0, bad = 0;
        while (pos < n) {
            const char *e = memchr(s + pos, '\n', n - pos);
            size_t len = (size_t)(e - (s + pos));
            bad += count_char(s + pos, len, ',') != cols;
            pos += len + 1;
        }
        CHECK(bad == 0);
    }
    free(s);
}

static void test_edges(void)
{
    bw_errbuf eb = {{0}};
    bw_gen_opts o = opts(1, 10, BW_FMT_ZEEK);
    o.hosts = 0;
    CHECK(bw_gen_new(&o, &eb) == NULL);
    CHECK(strstr(eb.msg, "hosts") != NULL);
    o = opts(1, 10, BW_FMT_AUTO);
    CHECK(bw_gen_new(&o, &eb) == NULL);
    o = opts(1, 10, BW_FMT_ZEEK);
    o.duration_us = 0;
    CHECK(bw_gen_new(&o, &eb) == NULL);
    o = opts(1, 10, BW_FMT_ZEEK);
    o.beacons = BW_GEN_MAX_BEACONS + 1;
    CHECK(bw_gen_new(&o, &eb) == NULL);

    /* zero records: just the header and footer */
    size_t n;
    o = opts(1, 0, BW_FMT_ZEEK);
    char *s = render(&o, &n);
    CHECK(s && count_char(s, n, '\n') == 9);
    free(s);
    o = opts(1, 0, BW_FMT_ECS);
    s = render(&o, &n);
    CHECK(s && n == 0);
    free(s);

    /* one host, no beacons, one record */
    o = opts(1, 1, BW_FMT_ECS);
    o.hosts = 1;
    o.beacons = 0;
    bw_gen *g = bw_gen_new(&o, &eb);
    CHECK(g != NULL);
    if (g) {
        for (size_t i = 0; i < bw_gen_nlabels(g); i++)
            CHECK_STR(bw_gen_label_at(g, i)->kind, "benign");
        bw_record r;
        CHECK(bw_gen_next(g, &r) == 1);
        CHECK(bw_gen_next(g, &r) == 0);
        CHECK(bw_gen_count(g) == 1);
    }
    bw_gen_free(g);
    bw_gen_free(NULL);

    /* a write error is reported, not ignored */
    o = opts(1, 100000, BW_FMT_ZEEK);
    g = bw_gen_new(&o, &eb);
    FILE *full = fopen("/dev/full", "w");
    if (g && full) {
        CHECK(bw_gen_write(g, full, &eb) == BW_ERR_IO);
        CHECK(eb.msg[0] != 0);
    }
    if (full)
        fclose(full);
    bw_gen_free(g);
}

int main(void)
{
    test_determinism();
    test_order_and_content();
    test_labels();
    test_labels_csv();
    test_formats();
    test_edges();
    return tap_done();
}
