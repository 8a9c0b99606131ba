/* Reader for Zeek conn logs written as JSON (SPEC §2 `zeek-json`), one
 * object a line, ts as epoch seconds or an ISO string. Other Zeek logs in
 * JSON are counted as not sessions:
 *  - with "_path" (RITA, zeek-cut --json, Kafka writers): only "conn" and
 *    "open_conn" are sessions;
 *  - without "_path": an object is a conn record when it has conn_state,
 *    or id.resp_p together with duration, orig_bytes, resp_bytes or
 *    history. dns.log (rtt, query), ssl.log (server_name, version),
 *    http.log and files.log have none of these.
 * When the first object of a file is another log, header() rejects the
 * whole file (p->reject), as the TSV reader does for its #path; later
 * objects of other logs are counted one by one.
 * ssl.log records are not accepted as sessions: they repeat connections
 * that conn.log already has, and counting both would double the series. */
#include "ingest_json.h"

#include <string.h>

enum {
    Z_TS,
    Z_ORIG_H,
    Z_ORIG_P,
    Z_RESP_H,
    Z_RESP_P,
    Z_PROTO,
    Z_DURATION,
    Z_ORIG_BYTES,
    Z_RESP_BYTES,
    Z_CONN_STATE,
    Z_PATH,
    Z_HISTORY,
    Z__COUNT
};

static const char *const zeek_paths[Z__COUNT] = {
    [Z_TS] = "ts",
    [Z_ORIG_H] = "id.orig_h",
    [Z_ORIG_P] = "id.orig_p",
    [Z_RESP_H] = "id.resp_h",
    [Z_RESP_P] = "id.resp_p",
    [Z_PROTO] = "proto",
    [Z_DURATION] = "duration",
    [Z_ORIG_BYTES] = "orig_bytes",
    [Z_RESP_BYTES] = "resp_bytes",
    [Z_CONN_STATE] = "conn_state",
    [Z_PATH] = "_path",
    [Z_HISTORY] = "history",
};

static int bad(const bw_json_val *v, bw_str *detail, int why)
{
    bw_field_detail(v, detail);
    return why;
}

static int is_conn(const bw_json_val *v)
{
    if (v[Z_PATH].type != BW_JSON_NONE)
        return bw_field_eq(&v[Z_PATH], "conn") || bw_field_eq(&v[Z_PATH], "open_conn");
    if (bw_field_present(&v[Z_CONN_STATE]))
        return 1;
    return bw_field_present(&v[Z_RESP_P]) &&
           (bw_field_present(&v[Z_DURATION]) || bw_field_present(&v[Z_ORIG_BYTES]) ||
            bw_field_present(&v[Z_RESP_BYTES]) || bw_field_present(&v[Z_HISTORY]));
}

static int zeek_record(bw_parse *p, const bw_json_val *v, bw_record *r, bw_str *detail)
{
    int64_t sport = -1, dport = -1;
    int t;

    if (!is_conn(v)) {
        if (v[Z_PATH].type != BW_JSON_NONE)
            bw_field_detail(&v[Z_PATH], detail);
        return BW_SKIP_NOT_SESSION;
    }
    if ((t = bw_field_time(p, &v[Z_TS], &r->ts_us)) > 0)
        return BW_SKIP_NO_TIME;
    if (t < 0)
        return bad(&v[Z_TS], detail, BW_SKIP_BAD_TIME);
    if (bw_field_ip(p, &v[Z_ORIG_H], &r->src_ip) != 0)
        return bad(&v[Z_ORIG_H], detail, BW_SKIP_BAD_IP);
    if (bw_field_ip(p, &v[Z_RESP_H], &r->dst_ip) != 0)
        return bad(&v[Z_RESP_H], detail, BW_SKIP_BAD_IP);
    if (bw_field_int(&v[Z_ORIG_P], 0, 65535, &sport) != 0)
        return bad(&v[Z_ORIG_P], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[Z_RESP_P], 0, 65535, &dport) != 0)
        return bad(&v[Z_RESP_P], detail, BW_SKIP_BAD_NUMBER);
    r->src_port = (int32_t)sport;
    r->dst_port = (int32_t)dport;
    if (bw_field_int(&v[Z_ORIG_BYTES], 0, INT64_MAX, &r->src_bytes) != 0)
        return bad(&v[Z_ORIG_BYTES], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[Z_RESP_BYTES], 0, INT64_MAX, &r->dst_bytes) != 0)
        return bad(&v[Z_RESP_BYTES], detail, BW_SKIP_BAD_NUMBER);
    /* Zeek durations are seconds with a fraction. */
    if (bw_field_scaled(&v[Z_DURATION], 6, &r->duration_us) != 0)
        return bad(&v[Z_DURATION], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_str(p, &v[Z_PROTO], &r->transport) != 0 ||
        bw_field_str(p, &v[Z_CONN_STATE], &r->conn_state) != 0)
        return BW_SKIP_TOO_LONG;
    return -1;
}

static int zeek_json_sniff(const char *buf, size_t n)
{
    int score = 0;
    if (bw_sniff_first(buf, n) != '{')
        return 0;
    if (bw_sniff_has(buf, n, "\"id.orig_h\""))
        score = 80;
    else if (bw_sniff_has(buf, n, "\"orig_h\"") && bw_sniff_has(buf, n, "\"resp_h\""))
        score = 60; /* nested "id": {"orig_h": ...} */
    if (score && bw_sniff_has(buf, n, "\"ts\""))
        score += 15;
    /* An ECS document that happens to carry Zeek fields is ECS. */
    if (score && bw_sniff_has(buf, n, "\"@timestamp\""))
        score = 40;
    return score;
}

static int zeek_json_init(bw_parse *p)
{
    return bw_jstream_new(p, zeek_paths, Z__COUNT, NULL);
}

/* Consumes nothing; only looks at the first object to reject a file that
 * is another Zeek log. */
static size_t zeek_json_header(bw_parse *p, const char *buf, size_t n)
{
    bw_jstream *js = p->state;
    size_t i = 0, end;
    uint32_t nl;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (bw_json_scan(&js->keys, buf + i, n - i, js->vals, &end, &nl) == BW_JSON_OK &&
        !is_conn(js->vals))
        p->reject = js->vals[Z_PATH].type != BW_JSON_NONE
                        ? "a Zeek log other than conn/open_conn (see its _path)"
                        : "a Zeek JSON log without conn_state (not conn.log)";
    return 0;
}

static size_t zeek_json_feed(bw_parse *p, const char *buf, size_t n, int eof)
{
    return bw_jstream_feed(p, p->state, buf, n, eof, zeek_record);
}

const bw_reader bw_reader_zeek_json = {
    .format = BW_FMT_ZEEK_JSON,
    .name = "zeek-json",
    .describe = "Zeek conn log as JSON, one object a line: ts (epoch or ISO), id.orig_h/p, "
                "id.resp_h/p, proto, duration, orig_bytes, resp_bytes, conn_state; "
                "other Zeek logs (_path not conn/open_conn) are counted as not sessions",
    .sniff = zeek_json_sniff,
    .init = zeek_json_init,
    .fini = bw_jstream_fini,
    .header = zeek_json_header,
    .feed = zeek_json_feed,
    .splittable = bw_jstream_splittable,
};
