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
    CHECK(strstr(buf, ",class,period2_s,change_ts\n") != NULL);
    CHECK(strstr(buf, ",standard,0,\n") != NULL || strstr(buf, ",nat,0,\n") != NULL);
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

/* Mon-Fri 08:00-18:00 UTC, as the generator's working-hours beacons. */
static int in_working_hours(int64_t us)
{
    int64_t day = us / 86400000000LL, hour = us / 3600000000LL % 24;
    int dow = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday */
    return dow >= 1 && dow <= 5 && hour >= 8 && hour < 18;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Evasive beacons follow their schedule: growing sleeps restart, working
 * hours hold, the sleep changes when the label says. */
static void test_evasions(void)
{
    bw_gen_opts o = opts(3, 400000, BW_FMT_ZEEK);
    o.duration_us = 48LL * 3600 * 1000000; /* Thu 00:00 .. Sat 00:00 */
    o.beacons = 0;
    o.evasions = 8;
    bw_gen *g = bw_gen_new(&o, NULL);
    CHECK(g != NULL);
    if (!g)
        return;
    enum { MAXID = 8, MAXT = 40000 };
    const bw_gen_label *first[MAXID];
    int nids = 0, kinds[5] = {0};
    size_t nl = bw_gen_nlabels(g);
    for (size_t i = 0; i < nl; i++) {
        const bw_gen_label *l = bw_gen_label_at(g, i);
        if (strcmp(l->kind, "beacon") != 0) {
            CHECK_STR(l->cls, "periodic");
            continue;
        }
        if (nids == 0 || first[nids - 1]->id != l->id) {
            CHECK(nids < MAXID);
            if (nids >= MAXID)
                break;
            first[nids++] = l;
        }
        static const char *const names[] = {"fibonacci", "exponential", "workhours",
                                            "schedule-change"};
        int known = 0;
        for (int k = 0; k < 4; k++)
            if (strcmp(l->cls, names[k]) == 0)
                kinds[k]++, known = 1;
        CHECK(known);
    }
    CHECK(nids == 8);
    for (int k = 0; k < 4; k++)
        CHECK(kinds[k] >= 2);

    /* beat times per beacon (a record after a failed attempt is a retry) */
    int64_t *beats = calloc((size_t)MAXID * MAXT, sizeof *beats);
    int nbeats[MAXID] = {0}, failed[MAXID] = {0};
    CHECK(beats != NULL);
    bw_record r;
    while (beats && bw_gen_next(g, &r)) {
        for (int id = 0; id < nids; id++) {
            const bw_gen_label *l = first[id];
            if (r.dst_port != l->dport || r.process_name.n != strlen(l->process) ||
                memcmp(r.process_name.p, l->process, r.process_name.n) != 0 ||
                r.host_name.n != strlen(l->host) ||
                memcmp(r.host_name.p, l->host, r.host_name.n) != 0)
                continue;
            if (!failed[id] && nbeats[id] < MAXT)
                beats[(size_t)id * MAXT + (size_t)nbeats[id]++] = r.ts_us;
            failed[id] = r.src_bytes == BW_UNSET || r.dst_bytes == 0;
            break;
        }
    }
    for (int id = 0; beats && id < nids; id++) {
        const bw_gen_label *l = first[id];
        int64_t *b = beats + (size_t)id * MAXT;
        int n = nbeats[id];
        CHECK(n >= 10);
        if (n < 10)
            continue;
        if (strcmp(l->cls, "workhours") == 0) {
            int outside = 0;
            for (int i = 0; i < n; i++)
                outside += !in_working_hours(b[i]);
            CHECK(outside == 0);
        } else if (strcmp(l->cls, "fibonacci") == 0 || strcmp(l->cls, "exponential") == 0) {
            /* sleeps from the base to 55x / 64x it */
            int64_t lo = INT64_MAX, hi = 0;
            for (int i = 1; i < n; i++) {
                int64_t d = b[i] - b[i - 1];
                lo = d < lo ? d : lo;
                hi = d > hi ? d : hi;
            }
            CHECK((double)hi / (double)lo > 20);
            CHECK((double)hi / 1e6 > l->period2_s * 0.45);
            CHECK((double)lo / 1e6 < l->period_s * 1.6);
        } else {
            /* median sleep before and after the change */
            CHECK(l->change_us != BW_UNSET && l->period2_s > 0);
            int64_t before[MAXT], after[MAXT];
            int nb = 0, na = 0;
            for (int i = 1; i < n; i++) {
                if (b[i] < l->change_us)
                    before[nb++] = b[i] - b[i - 1];
                else if (b[i - 1] > l->change_us)
                    after[na++] = b[i] - b[i - 1];
            }
            CHECK(nb >= 5 && na >= 5);
            if (nb < 5 || na < 5)
                continue;
            qsort(before, (size_t)nb, sizeof *before, cmp_i64);
            qsort(after, (size_t)na, sizeof *after, cmp_i64);
            double m1 = (double)before[nb / 2] / 1e6 / l->period_s;
            double m2 = (double)after[na / 2] / 1e6 / l->period2_s;
            CHECK(m1 > 0.45 && m1 < 1.7);
            CHECK(m2 > 0.45 && m2 < 1.7);
        }
    }
    free(beats);
    bw_gen_free(g);
}

/* NAT'd hosts share one address and name; their beacons are labelled. */
static void test_nat(void)
{
    bw_gen_opts o = opts(9, 50000, BW_FMT_ECS);
    o.nat_hosts = 12;
    o.beacons = 0;
    bw_gen *g = bw_gen_new(&o, NULL);
    CHECK(g != NULL);
    if (!g)
        return;
    int nat_beacons = 0;
    for (size_t i = 0; i < bw_gen_nlabels(g); i++) {
        const bw_gen_label *l = bw_gen_label_at(g, i);
        if (strcmp(l->host, BW_GEN_NAT_HOST) == 0)
            CHECK_STR(l->src, BW_GEN_NAT_ADDR);
        if (strcmp(l->kind, "beacon") == 0) {
            CHECK_STR(l->cls, "nat");
            CHECK_STR(l->host, BW_GEN_NAT_HOST);
            nat_beacons++;
        }
    }
    CHECK(nat_beacons >= 3);
    uint8_t nat[16];
    CHECK(addr16(BW_GEN_NAT_ADDR, nat) == 0);
    bw_record r;
    uint64_t from_nat = 0, bad = 0;
    enum { MAXP = 64 };
    char procs[MAXP][40];
    int nprocs = 0;
    size_t hn = strlen(BW_GEN_NAT_HOST);
    while (bw_gen_next(g, &r)) {
        int is_nat = r.host_name.n == hn && memcmp(r.host_name.p, BW_GEN_NAT_HOST, hn) == 0;
        if (!is_nat)
            continue;
        from_nat++;
        bad += memcmp(r.src_ip.a, nat, 16) != 0;
        int seen = 0;
        for (int i = 0; i < nprocs && !seen; i++)
            seen = strlen(procs[i]) == r.process_name.n &&
                   memcmp(procs[i], r.process_name.p, r.process_name.n) == 0;
        if (!seen && nprocs < MAXP && r.process_name.n < 40) {
            memcpy(procs[nprocs], r.process_name.p, r.process_name.n);
            procs[nprocs++][r.process_name.n] = 0;
        }
    }
    CHECK(from_nat > 1000); /* 12 of 50 hosts */
    CHECK(bad == 0);
    CHECK(nprocs >= 10);     /* many processes behind one address */
    bw_gen_free(g);

    bw_errbuf eb = {{0}};
    o.nat_hosts = 51;
    CHECK(bw_gen_new(&o, &eb) == NULL && strstr(eb.msg, "NAT") != NULL);
    o.nat_hosts = 1;
    CHECK(bw_gen_new(&o, &eb) == NULL);
}

/* Sleeps longer than an hour only when the run holds 20 of them. */
static void test_long_periods(void)
{
    double max1 = 0, max2 = 0;
    bw_gen_opts o = opts(4, 1000, BW_FMT_ZEEK);
    o.beacons = 400;
    o.duration_us = 24LL * 3600 * 1000000;
    bw_gen *g = bw_gen_new(&o, NULL);
    for (size_t i = 0; g && i < bw_gen_nlabels(g); i++)
        if (bw_gen_label_at(g, i)->period_s > max1)
            max1 = bw_gen_label_at(g, i)->period_s;
    bw_gen_free(g);
    o.duration_us = 21LL * 86400 * 1000000;
    g = bw_gen_new(&o, NULL);
    for (size_t i = 0; g && i < bw_gen_nlabels(g); i++)
        if (strcmp(bw_gen_label_at(g, i)->kind, "beacon") == 0 &&
            bw_gen_label_at(g, i)->period_s > max2)
            max2 = bw_gen_label_at(g, i)->period_s;
    bw_gen_free(g);
    CHECK(max1 == 3600);
    CHECK(max2 == 86400);
}

int main(void)
{
    test_determinism();
    test_order_and_content();
    test_labels();
    test_labels_csv();
    test_formats();
    test_edges();
    test_evasions();
    test_nat();
    test_long_periods();
    return tap_done();
}
