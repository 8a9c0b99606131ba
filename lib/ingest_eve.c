/* Reader for Suricata eve.json (SPEC §2 `eve`). Only event_type "flow"
 * and "netflow" describe sessions; every other event (alert, dns, tls,
 * stats, ...) is counted as not a session. Start time is flow.start
 * (netflow.start), else the event timestamp; duration is end - start. */
#include "ingest_json.h"

enum {
    V_TYPE,
    V_TIMESTAMP,
    V_SRC_IP,
    V_SRC_PORT,
    V_DST_IP,
    V_DST_PORT,
    V_PROTO,
    V_FLOW_START,
    V_FLOW_END,
    V_FLOW_TOSERVER,
    V_FLOW_TOCLIENT,
    V_FLOW_STATE,
    V_NF_START,
    V_NF_END,
    V_NF_BYTES,
    V__COUNT
};

static const char *const eve_paths[V__COUNT] = {
    [V_TYPE] = "event_type",
    [V_TIMESTAMP] = "timestamp",
    [V_SRC_IP] = "src_ip",
    [V_SRC_PORT] = "src_port",
    [V_DST_IP] = "dest_ip",
    [V_DST_PORT] = "dest_port",
    [V_PROTO] = "proto",
    [V_FLOW_START] = "flow.start",
    [V_FLOW_END] = "flow.end",
    [V_FLOW_TOSERVER] = "flow.bytes_toserver",
    [V_FLOW_TOCLIENT] = "flow.bytes_toclient",
    [V_FLOW_STATE] = "flow.state",
    [V_NF_START] = "netflow.start",
    [V_NF_END] = "netflow.end",
    [V_NF_BYTES] = "netflow.bytes",
};

static int bad(const bw_json_val *v, bw_str *detail, int why)
{
    bw_field_detail(v, detail);
    return why;
}

static int eve_record(bw_parse *p, const bw_json_val *v, bw_record *r, bw_str *detail)
{
    int netflow = bw_field_eq(&v[V_TYPE], "netflow");
    const bw_json_val *start = &v[netflow ? V_NF_START : V_FLOW_START];
    const bw_json_val *end = &v[netflow ? V_NF_END : V_FLOW_END];
    int64_t sport = -1, dport = -1, t_end;
    int t;

    if (!netflow && !bw_field_eq(&v[V_TYPE], "flow")) {
        bw_field_detail(&v[V_TYPE], detail);
        return BW_SKIP_NOT_SESSION;
    }
    if ((t = bw_field_time(p, start, &r->ts_us)) < 0)
        return bad(start, detail, BW_SKIP_BAD_TIME);
    if (t > 0) {
        if ((t = bw_field_time(p, &v[V_TIMESTAMP], &r->ts_us)) > 0)
            return BW_SKIP_NO_TIME;
        if (t < 0)
            return bad(&v[V_TIMESTAMP], detail, BW_SKIP_BAD_TIME);
    } else {
        int te = bw_field_time(p, end, &t_end);
        if (te < 0)
            return bad(end, detail, BW_SKIP_BAD_TIME);
        /* A negative span (clock step) leaves the duration unknown. */
        if (te == 0 && t_end >= r->ts_us)
            r->duration_us = t_end - r->ts_us;
    }
    if (bw_field_ip(p, &v[V_SRC_IP], &r->src_ip) != 0)
        return bad(&v[V_SRC_IP], detail, BW_SKIP_BAD_IP);
    if (bw_field_ip(p, &v[V_DST_IP], &r->dst_ip) != 0)
        return bad(&v[V_DST_IP], detail, BW_SKIP_BAD_IP);
    if (bw_field_int(&v[V_SRC_PORT], 0, 65535, &sport) != 0)
        return bad(&v[V_SRC_PORT], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[V_DST_PORT], 0, 65535, &dport) != 0)
        return bad(&v[V_DST_PORT], detail, BW_SKIP_BAD_NUMBER);
    r->src_port = (int32_t)sport;
    r->dst_port = (int32_t)dport;
    if (netflow) {
        /* A netflow record is one direction: its bytes are the sender's. */
        if (bw_field_int(&v[V_NF_BYTES], 0, INT64_MAX, &r->src_bytes) != 0)
            return bad(&v[V_NF_BYTES], detail, BW_SKIP_BAD_NUMBER);
    } else {
        if (bw_field_int(&v[V_FLOW_TOSERVER], 0, INT64_MAX, &r->src_bytes) != 0)
            return bad(&v[V_FLOW_TOSERVER], detail, BW_SKIP_BAD_NUMBER);
        if (bw_field_int(&v[V_FLOW_TOCLIENT], 0, INT64_MAX, &r->dst_bytes) != 0)
            return bad(&v[V_FLOW_TOCLIENT], detail, BW_SKIP_BAD_NUMBER);
        if (bw_field_str(p, &v[V_FLOW_STATE], &r->conn_state) != 0)
            return BW_SKIP_TOO_LONG;
    }
    if (bw_field_str(p, &v[V_PROTO], &r->transport) != 0)
        return BW_SKIP_TOO_LONG;
    return -1;
}

static int eve_sniff(const char *buf, size_t n)
{
    int score = 0;
    if (bw_sniff_first(buf, n) != '{')
        return 0;
    if (bw_sniff_has(buf, n, "\"event_type\""))
        score = 60;
    if (score && bw_sniff_has(buf, n, "\"timestamp\""))
        score += 20;
    if (score && (bw_sniff_has(buf, n, "\"src_ip\"") || bw_sniff_has(buf, n, "\"flow_id\"")))
        score += 15;
    /* Suricata events shipped through Filebeat are ECS documents. */
    if (score && bw_sniff_has(buf, n, "\"@timestamp\""))
        score = 30;
    return score;
}

static int eve_init(bw_parse *p)
{
    return bw_jstream_new(p, eve_paths, V__COUNT, NULL);
}

static size_t eve_header(bw_parse *p, const char *buf, size_t n)
{
    (void)p;
    (void)buf;
    (void)n;
    return 0;
}

static size_t eve_feed(bw_parse *p, const char *buf, size_t n, int eof)
{
    return bw_jstream_feed(p, p->state, buf, n, eof, eve_record);
}

const bw_reader bw_reader_eve = {
    .format = BW_FMT_EVE,
    .name = "eve",
    .describe = "Suricata eve.json flow and netflow events: flow.start (else timestamp), "
                "src_ip/src_port, dest_ip/dest_port, proto, flow.bytes_toserver/toclient, "
                "flow.state, duration = flow.end - flow.start; other event types are "
                "counted as not sessions",
    .sniff = eve_sniff,
    .init = eve_init,
    .fini = bw_jstream_fini,
    .header = eve_header,
    .feed = eve_feed,
    .splittable = bw_jstream_splittable,
};
