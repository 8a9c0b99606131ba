/* The Zeek TSV reader: columns by header, unset/empty fields, directives,
 * every skip reason with its line number, and the real logs in
 * ../shared/data (counts checked against `grep -vc '^#'`). */
#include "beaconwatch/bw_ingest.h"
#include "ingest_reader.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

#define MAXR 16
static bw_record got[MAXR];
static char strs[MAXR][4][32];
static int ngot;

static void keep(bw_str *s, char *buf)
{
    size_t n = s->n < 31 ? s->n : 31;
    if (n)
        memcpy(buf, s->p, n);
    buf[n] = 0;
    s->p = buf;
    s->n = n;
}

static int collect(void *ctx, const bw_record *r)
{
    (void)ctx;
    if (ngot < MAXR) {
        got[ngot] = *r;
        keep(&got[ngot].transport, strs[ngot][0]);
        keep(&got[ngot].conn_state, strs[ngot][1]);
        ngot++;
    }
    return 0;
}

/* Feeds text through the reader (header then feed, eof=1). */
static bw_file_stats run(const char *text, bw_parse *p)
{
    static bw_file_stats st;
    const bw_reader *r = bw_reader_get(BW_FMT_ZEEK);
    size_t n = strlen(text), h;
    memset(&st, 0, sizeof st);
    memset(p, 0, sizeof *p);
    p->path = "t";
    p->line = 1;
    p->max_record = 4096;
    p->st = &st;
    p->emit = collect;
    ngot = 0;
    r->init(p);
    h = r->header(p, text, n);
    for (size_t i = 0; i < h; i++)
        p->line += text[i] == '\n';
    r->feed(p, text + h, n - h, 1);
    r->fini(p);
    return st;
}

static const char *HDR =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
    "#path\tconn\n"
    "#fields\t_node_name\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
    "duration\torig_bytes\tresp_bytes\tconn_state\tlabel\n"
    "#types\tstring\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\t"
    "string\tstring\n";

static int64_t count_file(const char *rel)
{
    const char *path = tap_shared(rel);
    bw_ingest *in;
    uint64_t n = 0;
    void *ctx = &n;
    bw_file_stats tot;
    if (!path)
        return -1;
    in = bw_ingest_new(NULL);
    if (bw_ingest_add(in, path, NULL) != BW_OK)
        return -2;
    bw_ingest_run(in, collect, &ctx, 1, NULL);
    bw_ingest_totals(in, &tot);
    bw_ingest_free(in);
    return (int64_t)tot.records;
}

int main(void)
{
    bw_parse p;
    bw_file_stats st;
    char text[8192], ip[BW_IP_STRLEN];

    snprintf(text, sizeof text, "%s%s", HDR,
             "w1\t1655071198.444458\tC1\t147.32.81.167\t62771\t40.74.108.123\t443\ttcp\t"
             "1.135424\t1596\t4039\tSF\tBenign\n"
             "w1\t1655071231.5\tC2\t2001:db8::1\t-\tfe80::2\t53\tudp\t-\t-\t(empty)\tS0\t-\n"
             "#close\t2022-06-17-01-00-00\n");
    st = run(text, &p);
    CHECK(st.records == 2 && ngot == 2);
    CHECK(got[0].ts_us == 1655071198444458LL);
    bw_ip_format(&got[0].src_ip, ip);
    CHECK_STR(ip, "147.32.81.167");
    bw_ip_format(&got[0].dst_ip, ip);
    CHECK_STR(ip, "40.74.108.123");
    CHECK(got[0].src_port == 62771 && got[0].dst_port == 443);
    CHECK(got[0].src_bytes == 1596 && got[0].dst_bytes == 4039);
    CHECK(got[0].duration_us == 1135424);
    CHECK_SLICE(got[0].transport, "tcp");
    CHECK_SLICE(got[0].conn_state, "SF");
    CHECK(got[0].flags & BW_REC_CAT_NETWORK);
    CHECK(got[1].src_ip.family == 6 && got[1].src_port == -1);
    CHECK(got[1].duration_us == BW_UNSET && got[1].src_bytes == BW_UNSET);
    CHECK(got[1].dst_bytes == BW_UNSET); /* (empty) on a count: unset too */

    /* Each skip reason, with the line it happened on (header = 7 lines). */
    snprintf(text, sizeof text, "%s%s", HDR,
             "w1\tnot-a-time\tC\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t1\t1\t1\tSF\tx\n"   /* 8 */
             "w1\t1\tC\t1.1.1.300\t1\t2.2.2.2\t2\ttcp\t1\t1\t1\tSF\tx\n"          /* 9 */
             "w1\t1\tC\t1.1.1.1\t70000\t2.2.2.2\t2\ttcp\t1\t1\t1\tSF\tx\n"        /* 10 */
             "w1\t1\tC\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t1\t1\n"                      /* 11 */
             "w1\t-\tC\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t1\t1\t1\tSF\tx\n"            /* 12 */
             "w1\t1\tC\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t1\t1\t1\tSF\tx\textra\n"     /* 13 */
             "w1\t1\tC\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t1\tx1\t1\tSF\tx\n"           /* 14 */
             "w1\t7\tC\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t1\t1\t1\tSF\tx\n"            /* 15 ok */
             "w1\t8\tC\t1.1.1.1\t1\t2.2.2");                                     /* 16 */
    st = run(text, &p);
    CHECK(st.records == 1 && ngot == 1 && got[0].ts_us == 7000000);
    CHECK(st.skipped[BW_SKIP_BAD_TIME] == 1);
    CHECK(st.skipped[BW_SKIP_BAD_IP] == 1);
    CHECK(st.skipped[BW_SKIP_BAD_NUMBER] == 2);
    CHECK(st.skipped[BW_SKIP_COLUMNS] == 2);
    CHECK(st.skipped[BW_SKIP_NO_TIME] == 1);
    CHECK(st.skipped[BW_SKIP_TRUNCATED] == 1);
    CHECK(p.ndiag == BW_DIAG_PER_FILE);
    CHECK(p.diag[0].line == 8 && p.diag[0].reason == BW_SKIP_BAD_TIME);
    CHECK(p.diag[1].line == 9 && p.diag[1].reason == BW_SKIP_BAD_IP);
    CHECK(p.diag[3].line == 11 && p.diag[3].reason == BW_SKIP_COLUMNS);
    CHECK(p.diag[4].line == 12 && p.diag[4].reason == BW_SKIP_NO_TIME);

    /* Another log kind is rejected by its #path; lines without a header
     * are counted, not parsed by position. */
    st = run("#separator \\x09\n#path\tdns\n#fields\tts\tid.resp_h\n1\t1.1.1.1\n", &p);
    CHECK(p.reject != NULL);
    st = run("1\t1.1.1.1\n", &p);
    CHECK(st.records == 0 && st.skipped[BW_SKIP_COLUMNS] == 1);
    /* A CRLF file and a comma separator. */
    st = run("#separator ,\r\n#fields,ts,id.orig_h,id.resp_h\r\n5,1.1.1.1,2.2.2.2\r\n", &p);
    CHECK(st.records == 1 && ngot == 1 && got[0].ts_us == 5000000);
    CHECK(bw_reader_get(BW_FMT_ZEEK)->sniff(HDR, strlen(HDR)) == 100);
    CHECK(bw_reader_get(BW_FMT_ZEEK)->sniff("{\"ts\":1}", 8) == 0);

    /* Real logs: counts are `grep -vc '^#' FILE` (zcat for .gz). */
    CHECK(count_file("data/stratosphere/008-zeek-mixed/data/conn.log.labeled") == 5663 ||
          !tap_shared("data"));
    CHECK(count_file("data/stratosphere/010-zeek-mixed/data/conn.log.labeled") == 5347 ||
          !tap_shared("data"));
    CHECK(count_file("data/stratosphere/011-zeek-mixed/data/conn.log.labeled") == 9048 ||
          !tap_shared("data"));
    CHECK(count_file("data/stratosphere/012-zeek-mixed/data/conn.log.labeled") == 4740 ||
          !tap_shared("data"));
    CHECK(count_file("data/stratosphere/003-zeek-scenario-malicious/conn.log") == 361 ||
          !tap_shared("data"));
    CHECK(count_file("data/stratosphere/005-zeek-scenario-malicious/conn.log") == 992 ||
          !tap_shared("data"));
    CHECK(count_file("data/stratosphere/006-zeek-scenario-ssh/conn.log") == 18 ||
          !tap_shared("data"));
    CHECK(count_file("data/rita/proxy/conn.log") == 463 || !tap_shared("data"));
    /* rotated gzip with a leading _node_name column: 290 + 7,260 */
    CHECK(count_file("data/rita/proxy_rolling") == 7550 || !tap_shared("data"));
    /* 59 closed + 29 still-open conn + 59 open_conn */
    CHECK(count_file("data/rita/open_conns") == 147 || !tap_shared("data"));
    /* 59 lines, the last one cut short */
    CHECK(count_file("data/rita/truncated/conn.log") == 58 || !tap_shared("data"));
    return tap_done();
}
