/* `beaconwatch findings`: reads stored findings back (table / NDJSON) and,
 * with --records, the sampled session records behind one group; plus the
 * small helpers the store commands share (store opening, durations). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "beaconwatch/bw_store.h"

int cli_parse_duration(const char *s, int64_t *us)
{
    char *end;
    unsigned long long v;
    int64_t unit = 1000000;
    if (!*s || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    switch (*end) {
    case 's': end++; break;
    case 'm': unit *= 60; end++; break;
    case 'h': unit *= 3600; end++; break;
    case 'd': unit *= 86400; end++; break;
    case '\0': break;
    default: return -1;
    }
    if (*end || v == 0 || v > (unsigned long long)(INT64_MAX / unit))
        return -1;
    *us = (int64_t)v * unit;
    return 0;
}

int cli_store_open(const char *path, unsigned flags, struct bw_store **out)
{
    bw_errbuf eb = {{0}};
    int err = bw_store_open(path, flags, out, &eb);
    if (err) {
        cli_err("%s", eb.msg);
        return err == BW_ERR_USAGE ? BW_EXIT_USAGE : BW_EXIT_FAIL;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: beaconwatch findings [OPTIONS]\n\n"
        "Prints findings from the store, newest run first (every schema version:\n"
        "the view ml_beaconing_all).\n\n"
        "      --store PATH    the store (default ./" BW_STORE_DEFAULT_PATH ")\n"
        "  -r, --rule R        only rule R (elastic, sentinel, ...; 'sentinel*' matches\n"
        "                      every sentinel preset)\n"
        "      --since T       only findings with @timestamp at or after T: RFC 3339,\n"
        "                      epoch seconds, or a duration (24h, 7d) before now\n"
        "      --host H        only group host H (host.name; SrcIpAddr for sentinel)\n"
        "      --process P     only group process P (process.name; DstIpAddr:port)\n"
        "      --flagged       only findings the rule flagged (is_beaconing)\n"
        "  -n, --limit N       at most N findings\n"
        "      --records       print the sampled session records of the group given by\n"
        "                      --host and --process (NDJSON, newest first) instead\n"
        "  -o, --output O      table (default on a terminal) or ndjson (the documents)\n"
        "  -h, --help          this text\n\n"
        "Exit status: 0 ok (also when nothing matches), 1 failure, 2 usage error.\n");
}

typedef struct row {
    char *rule, *id, *host, *process, *src;
    int64_t ts, ing;
    double score;
    int alert;
} row;

typedef struct out_ctx {
    int table;
    FILE *f;
    row *rows;
    size_t n, cap;
    int oom;
} out_ctx;

static int on_finding(void *ctx, const bw_stored_finding *fd)
{
    out_ctx *o = ctx;
    if (!o->table) {
        fputs(fd->json, o->f);
        putc('\n', o->f);
        return ferror(o->f) ? 1 : 0;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        row *nr = realloc(o->rows, cap * sizeof *nr);
        if (!nr)
            goto oom;
        o->rows = nr;
        o->cap = cap;
    }
    row *r = &o->rows[o->n++];
    r->rule = strdup(fd->rule);
    r->id = strdup(fd->id);
    r->host = strdup(fd->host);
    r->process = strdup(fd->process);
    r->src = strdup(fd->source_ip);
    r->ts = fd->ts_us;
    r->ing = fd->ingested_us;
    r->score = fd->score;
    r->alert = fd->alert;
    if (!r->rule || !r->id || !r->host || !r->process || !r->src)
        goto oom;
    return 0;
oom:
    o->oom = 1;
    return 1;
}

#define CELL_MAX 40

static void print_table(out_ctx *o)
{
    static const char *const h[] = {"rule", "@timestamp", "host", "process", "source_ip",
                                     "score", "flag", "id"};
    enum { NC = 8 };
    size_t w[NC];
    char ts[BW_TIME_STRLEN], sc[32];
    for (int i = 0; i < NC; i++)
        w[i] = strlen(h[i]);
    for (size_t k = 0; k < o->n; k++) {
        const row *r = &o->rows[k];
        const char *c[NC] = {r->rule, "", r->host, r->process, r->src, "", "", ""};
        size_t l;
        w[1] = w[1] > 24 ? w[1] : 24;
        w[5] = w[5] > 6 ? w[5] : 6;
        w[7] = 12;
        for (int i = 0; i < NC; i++)
            if ((l = strlen(c[i])) > w[i])
                w[i] = l > CELL_MAX ? CELL_MAX : l;
    }
    fprintf(o->f, "%zu finding%s\n", o->n, o->n == 1 ? "" : "s");
    if (!o->n)
        return;
    for (int i = 0; i < NC; i++)
        fprintf(o->f, "%-*s%s", (int)w[i], h[i], i + 1 < NC ? "  " : "\n");
    for (size_t k = 0; k < o->n; k++) {
        const row *r = &o->rows[k];
        bw_time_format_ms(r->ts, ts);
        snprintf(sc, sizeof sc, "%.4g", r->score);
        const char *c[NC] = {r->rule, ts, r->host, r->process, r->src, sc,
                             r->alert ? "yes" : "no", r->id};
        for (int i = 0; i < NC; i++)
            fprintf(o->f, "%-*.*s%s", (int)w[i], i == 7 ? 12 : CELL_MAX, c[i],
                    i + 1 < NC ? "  " : "\n");
    }
}

static void free_rows(out_ctx *o)
{
    for (size_t k = 0; k < o->n; k++) {
        free(o->rows[k].rule);
        free(o->rows[k].id);
        free(o->rows[k].host);
        free(o->rows[k].process);
        free(o->rows[k].src);
    }
    free(o->rows);
}

static void json_opt(FILE *f, const char *key, const char *v)
{
    fprintf(f, ",\"%s\":", key);
    if (v)
        cli_json_str(f, v, strlen(v));
    else
        fputs("null", f);
}

static void json_num(FILE *f, const char *key, int64_t v)
{
    if (v == BW_UNSET)
        fprintf(f, ",\"%s\":null", key);
    else
        fprintf(f, ",\"%s\":%lld", key, (long long)v);
}

/* One sampled record, with the keys of `beaconwatch records`. */
static int on_record(void *ctx, const bw_stored_record *r)
{
    FILE *f = ctx;
    char ts[BW_TIME_STRLEN];
    bw_time_format(r->ts_us, ts);
    fprintf(f, "{\"ts\":\"%s\"", ts);
    json_opt(f, "src_ip", r->src_ip[0] ? r->src_ip : NULL);
    if (r->src_port >= 0)
        fprintf(f, ",\"src_port\":%d", (int)r->src_port);
    else
        fputs(",\"src_port\":null", f);
    json_opt(f, "dst_ip", r->dst_ip[0] ? r->dst_ip : NULL);
    if (r->dst_port >= 0)
        fprintf(f, ",\"dst_port\":%d", (int)r->dst_port);
    else
        fputs(",\"dst_port\":null", f);
    json_opt(f, "transport", r->transport);
    json_num(f, "src_bytes", r->src_bytes);
    json_num(f, "dst_bytes", r->dst_bytes);
    json_num(f, "duration_us", r->duration_us);
    json_opt(f, "host_name", r->host_name);
    json_opt(f, "process_name", r->process_name);
    json_opt(f, "dst_domain", r->dst_domain);
    json_opt(f, "event_action", r->event_action);
    json_opt(f, "conn_state", r->conn_state);
    fputs("}\n", f);
    return ferror(f) ? 1 : 0;
}

/* --since: a time, or a duration before the wall clock. */
static int parse_since(const char *s, int64_t *us)
{
    int64_t d;
    if (cli_parse_duration(s, &d) == 0 && strpbrk(s, "smhd")) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        *us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec - d;
        return 0;
    }
    return cli_parse_time(s, us);
}

int bw_cmd_findings(int argc, char **argv)
{
    enum { O_STORE = 256, O_SINCE, O_HOST, O_PROCESS, O_FLAGGED, O_RECORDS };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"rule", required_argument, NULL, 'r'},
        {"since", required_argument, NULL, O_SINCE}, {"host", required_argument, NULL, O_HOST},
        {"process", required_argument, NULL, O_PROCESS},
        {"flagged", no_argument, NULL, O_FLAGGED},   {"limit", required_argument, NULL, 'n'},
        {"records", no_argument, NULL, O_RECORDS},   {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *path = BW_STORE_DEFAULT_PATH;
    bw_finding_query q;
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    out_ctx o;
    int c, rc, records = 0;
    uint64_t lim;

    bw_finding_query_init(&q);
    memset(&o, 0, sizeof o);
    o.table = isatty(1);
    o.f = stdout;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_STORE: path = optarg; break;
        case 'r': q.rule = optarg; break;
        case O_SINCE:
            if (parse_since(optarg, &q.since_us) != 0) {
                cli_err("--since %s: expected RFC 3339, epoch seconds or a duration (24h)",
                        optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_HOST: q.host = optarg; break;
        case O_PROCESS: q.process = optarg; break;
        case O_FLAGGED: q.only_alert = 1; break;
        case 'n':
            if (cli_parse_count(optarg, &lim) != 0 || lim == 0 || lim > INT64_MAX) {
                cli_err("--limit %s: expected a positive count", optarg);
                return BW_EXIT_USAGE;
            }
            q.limit = (int64_t)lim;
            break;
        case O_RECORDS: records = 1; break;
        case 'o':
            if (strcmp(optarg, "table") == 0) o.table = 1;
            else if (strcmp(optarg, "ndjson") == 0) o.table = 0;
            else {
                cli_err("--output %s: expected table or ndjson", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return BW_EXIT_OK;
        default: usage(stderr); return BW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_err("findings: unexpected argument '%s'", argv[optind]);
        return BW_EXIT_USAGE;
    }
    if (records && (!q.host || !q.process)) {
        cli_err("--records needs --host and --process (the group of a finding)");
        return BW_EXIT_USAGE;
    }
    if ((rc = cli_store_open(path, BW_STORE_READONLY, &s)) != 0)
        return rc;
    if (records)
        rc = bw_store_sample(s, q.host, q.process, q.limit, on_record, stdout, &eb);
    else
        rc = bw_store_findings(s, &q, on_finding, &o, &eb);
    if (rc != BW_OK) {
        if (o.oom)
            cli_err("out of memory");
        else if (rc == BW_ERR_STOPPED)
            cli_err("write error on standard output");
        else
            cli_err("%s", eb.msg);
        rc = BW_EXIT_FAIL;
        goto out;
    }
    if (o.table && !records)
        print_table(&o);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("write error on standard output");
        rc = BW_EXIT_FAIL;
    }
out:
    free_rows(&o);
    bw_store_close(s);
    return rc;
}
