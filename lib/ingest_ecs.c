/* Reader for Elastic Common Schema documents (SPEC §2 `ecs`): NDJSON,
 * concatenated or pretty-printed documents, a top-level array, and the
 * `_source` of an Elasticsearch export. Nested objects and dotted keys are
 * the same field. Every document with an @timestamp is a record; which of
 * them are network sessions is the rules' business (event.category and
 * BW_REC_CAT_NETWORK). */
#include "ingest_json.h"

enum {
    E_TS,
    E_SRC_IP,
    E_SRC_PORT,
    E_SRC_BYTES,
    E_DST_IP,
    E_DST_PORT,
    E_DST_BYTES,
    E_DST_DOMAIN,
    E_TLS_SNI,
    E_URL_DOMAIN,
    E_DNS_QNAME,
    E_HOST,
    E_PROCESS,
    E_TRANSPORT,
    E_ACTION,
    E_CATEGORY,
    E_DURATION,
    E_ZEEK_STATE,
    E_SURI_STATE,
    E__COUNT
};

static const char *const ecs_paths[E__COUNT] = {
    [E_TS] = "@timestamp",
    [E_SRC_IP] = "source.ip",
    [E_SRC_PORT] = "source.port",
    [E_SRC_BYTES] = "source.bytes",
    [E_DST_IP] = "destination.ip",
    [E_DST_PORT] = "destination.port",
    [E_DST_BYTES] = "destination.bytes",
    [E_DST_DOMAIN] = "destination.domain",
    [E_TLS_SNI] = "tls.client.server_name",
    [E_URL_DOMAIN] = "url.domain",
    [E_DNS_QNAME] = "dns.question.name",
    [E_HOST] = "host.name",
    [E_PROCESS] = "process.name",
    [E_TRANSPORT] = "network.transport",
    [E_ACTION] = "event.action",
    [E_CATEGORY] = "event.category",
    [E_DURATION] = "event.duration",
    /* Filebeat's Zeek and Suricata modules keep the connection state here. */
    [E_ZEEK_STATE] = "zeek.connection.state",
    [E_SURI_STATE] = "suricata.eve.flow.state",
};

static int bad(const bw_json_val *v, bw_str *detail, int why)
{
    bw_field_detail(v, detail);
    return why;
}

/* The first present string of v[ids[0..n)] into *out. */
static int first_str(bw_parse *p, const bw_json_val *v, const int *ids, int n, bw_str *out)
{
    for (int k = 0; k < n; k++) {
        if (bw_field_present(&v[ids[k]]))
            return bw_field_str(p, &v[ids[k]], out);
    }
    return 0;
}

static int ecs_record(bw_parse *p, const bw_json_val *v, bw_record *r, bw_str *detail)
{
    static const int domain_ids[] = {E_DST_DOMAIN, E_TLS_SNI, E_URL_DOMAIN, E_DNS_QNAME};
    static const int state_ids[] = {E_ZEEK_STATE, E_SURI_STATE};
    const bw_json_val *cat = &v[E_CATEGORY];
    int64_t sport = -1, dport = -1;
    int t = bw_field_time(p, &v[E_TS], &r->ts_us);

    if (t > 0)
        return BW_SKIP_NO_TIME;
    if (t < 0)
        return bad(&v[E_TS], detail, BW_SKIP_BAD_TIME);
    if (bw_field_ip(p, &v[E_SRC_IP], &r->src_ip) != 0)
        return bad(&v[E_SRC_IP], detail, BW_SKIP_BAD_IP);
    if (bw_field_ip(p, &v[E_DST_IP], &r->dst_ip) != 0)
        return bad(&v[E_DST_IP], detail, BW_SKIP_BAD_IP);
    if (bw_field_int(&v[E_SRC_PORT], 0, 65535, &sport) != 0)
        return bad(&v[E_SRC_PORT], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[E_DST_PORT], 0, 65535, &dport) != 0)
        return bad(&v[E_DST_PORT], detail, BW_SKIP_BAD_NUMBER);
    r->src_port = (int32_t)sport;
    r->dst_port = (int32_t)dport;
    if (bw_field_int(&v[E_SRC_BYTES], 0, INT64_MAX, &r->src_bytes) != 0)
        return bad(&v[E_SRC_BYTES], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[E_DST_BYTES], 0, INT64_MAX, &r->dst_bytes) != 0)
        return bad(&v[E_DST_BYTES], detail, BW_SKIP_BAD_NUMBER);
    /* ECS event.duration is in nanoseconds. */
    if (bw_field_scaled(&v[E_DURATION], -3, &r->duration_us) != 0)
        return bad(&v[E_DURATION], detail, BW_SKIP_BAD_NUMBER);
    /* Strings only fail when the scratch (max_record bytes) is exhausted,
     * which a document within max_record cannot do. */
    if (bw_field_str(p, &v[E_HOST], &r->host_name) != 0 ||
        bw_field_str(p, &v[E_PROCESS], &r->process_name) != 0 ||
        bw_field_str(p, &v[E_TRANSPORT], &r->transport) != 0 ||
        bw_field_str(p, &v[E_ACTION], &r->event_action) != 0 ||
        bw_field_str(p, cat, &r->event_category) != 0 ||
        first_str(p, v, domain_ids, 4, &r->dst_domain) != 0 ||
        first_str(p, v, state_ids, 2, &r->conn_state) != 0)
        return BW_SKIP_TOO_LONG;
    if ((cat->type == BW_JSON_STRING && bw_field_eq(cat, "network")) ||
        (cat->type == BW_JSON_ARRAY && bw_json_array_has(cat->p, cat->n, "network")))
        r->flags |= BW_REC_CAT_NETWORK;
    return -1;
}

static int ecs_sniff(const char *buf, size_t n)
{
    int first = bw_sniff_first(buf, n), score = 0;
    if (first != '{' && first != '[')
        return 0;
    if (bw_sniff_has(buf, n, "\"@timestamp\""))
        score += 50;
    if (bw_sniff_has(buf, n, "\"source\"") || bw_sniff_has(buf, n, "\"destination\"") ||
        bw_sniff_has(buf, n, "\"source.ip\"") || bw_sniff_has(buf, n, "\"destination.ip\""))
        score += 40;
    if (bw_sniff_has(buf, n, "\"_source\""))
        score += 30;
    if (bw_sniff_has(buf, n, "\"event\"") || bw_sniff_has(buf, n, "\"ecs\""))
        score += 10;
    return score > 100 ? 100 : score;
}

static int ecs_init(bw_parse *p)
{
    return bw_jstream_new(p, ecs_paths, E__COUNT, "_source");
}

static size_t ecs_header(bw_parse *p, const char *buf, size_t n)
{
    (void)p;
    (void)buf;
    (void)n;
    return 0;
}

static size_t ecs_feed(bw_parse *p, const char *buf, size_t n, int eof)
{
    return bw_jstream_feed(p, p->state, buf, n, eof, ecs_record);
}

const bw_reader bw_reader_ecs = {
    .format = BW_FMT_ECS,
    .name = "ecs",
    .describe = "Elastic Common Schema documents (NDJSON, pretty-printed, array or "
                "Elasticsearch export _source): @timestamp, source/destination ip, port, "
                "bytes, host.name, process.name, network.transport, event.action, "
                "event.category, event.duration (ns), destination.domain / TLS SNI",
    .sniff = ecs_sniff,
    .init = ecs_init,
    .fini = bw_jstream_fini,
    .header = ecs_header,
    .feed = ecs_feed,
    .splittable = bw_jstream_splittable,
};
