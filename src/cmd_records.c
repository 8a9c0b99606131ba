/* `beaconwatch records`: print what was understood from the input, one
 * NDJSON session record per line, or only count the records (--count, the
 * parse-only mode the benchmarks use). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: beaconwatch records [OPTIONS] INPUT...\n\n"
            "Prints every session record as one JSON object a line (keys as SPEC §2;\n"
            "ts in RFC 3339 UTC with microseconds; null for what the source lacks).\n\n"
            "  -f, --format F    input format: auto (default), zeek, zeek-json, ecs,\n"
            "                    asim-csv, asim-json, eve\n"
            "  -c, --count       print only the number of records\n"
            "  -j, --threads N   worker threads for --count (default: CPUs)\n"
            "  -q, --quiet       no summary on stderr\n"
            "  -h, --help        this text\n");
}

typedef struct counter {
    uint64_t n;
    char pad[56]; /* keep workers' counters on separate cache lines */
} counter;

static int count_one(void *ctx, const bw_record *r)
{
    (void)r;
    ((counter *)ctx)->n++;
    return 0;
}

static void put_int(FILE *f, const char *key, int64_t v, int unset)
{
    fprintf(f, ",\"%s\":", key);
    if (unset)
        fputs("null", f);
    else
        fprintf(f, "%lld", (long long)v);
}

static void put_str(FILE *f, const char *key, bw_str s)
{
    fprintf(f, ",\"%s\":", key);
    if (!s.n)
        fputs("null", f);
    else
        cli_json_str(f, s.p, s.n);
}

/* event.category as the source wrote it: a JSON array (ECS allows one) is
 * printed as an array with the whitespace outside its strings removed. */
static void put_category(FILE *f, bw_str s)
{
    int in_str = 0, esc = 0;
    if (!s.n || s.p[0] != '[') {
        put_str(f, "event_category", s);
        return;
    }
    fputs(",\"event_category\":", f);
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (in_str) {
            in_str = esc || c != '"';
            esc = !esc && c == '\\';
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        }
        putc(c, f);
    }
}

static void put_ip(FILE *f, const char *key, const bw_ip *ip)
{
    char buf[BW_IP_STRLEN];
    fprintf(f, ",\"%s\":", key);
    if (!ip->family) {
        fputs("null", f);
        return;
    }
    bw_ip_format(ip, buf);
    fprintf(f, "\"%s\"", buf);
}

static int print_one(void *ctx, const bw_record *r)
{
    FILE *f = ctx;
    char ts[BW_TIME_STRLEN];
    bw_time_format(r->ts_us, ts);
    fprintf(f, "{\"ts\":\"%s\"", ts);
    put_ip(f, "src_ip", &r->src_ip);
    put_int(f, "src_port", r->src_port, r->src_port < 0);
    put_ip(f, "dst_ip", &r->dst_ip);
    put_int(f, "dst_port", r->dst_port, r->dst_port < 0);
    put_str(f, "transport", r->transport);
    put_int(f, "src_bytes", r->src_bytes, r->src_bytes == BW_UNSET);
    put_int(f, "dst_bytes", r->dst_bytes, r->dst_bytes == BW_UNSET);
    put_int(f, "duration_us", r->duration_us, r->duration_us == BW_UNSET);
    put_str(f, "host_name", r->host_name);
    put_str(f, "process_name", r->process_name);
    put_str(f, "dst_domain", r->dst_domain);
    put_str(f, "event_action", r->event_action);
    put_category(f, r->event_category);
    put_str(f, "conn_state", r->conn_state);
    fputs("}\n", f);
    return ferror(f) ? 1 : 0;
}

int bw_cmd_records(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"count", no_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    bw_ingest_opts io = {0};
    int count = 0, quiet = 0, c, rc = BW_EXIT_OK, err;
    bw_ingest *in = NULL;
    counter *ctr = NULL;
    void **ctx = NULL;
    bw_errbuf eb = {{0}};
    static char outbuf[1 << 20];

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:cj:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (bw_format_parse(optarg, &io.format) != 0) {
                cli_err("unknown format '%s' (see 'beaconwatch formats')", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case 'c': count = 1; break;
        case 'j': {
            uint64_t v;
            if (cli_parse_count(optarg, &v) != 0 || v < 1 || v > 256) {
                cli_err("--threads %s: expected a number from 1 to 256", optarg);
                return BW_EXIT_USAGE;
            }
            io.threads = (int)v;
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return BW_EXIT_OK;
        default: usage(stderr); return BW_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_err("records: no INPUT given (use - for stdin)");
        usage(stderr);
        return BW_EXIT_USAGE;
    }
    if (!(in = bw_ingest_new(&io)))
        goto nomem;
    for (int i = optind; i < argc; i++) {
        if ((err = bw_ingest_add(in, argv[i], &eb)) != BW_OK) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_FAIL;
            goto out;
        }
    }
    double t0 = cli_now();
    if (count) {
        int nt = io.threads > 0 ? io.threads : bw_cpu_count();
        ctr = calloc((size_t)nt, sizeof *ctr);
        ctx = calloc((size_t)nt, sizeof *ctx);
        if (!ctr || !ctx)
            goto nomem;
        for (int i = 0; i < nt; i++)
            ctx[i] = &ctr[i];
        cli_progress *prog = quiet ? NULL : cli_progress_start(in, NULL, NULL);
        err = bw_ingest_run(in, count_one, ctx, nt, &eb);
        cli_progress_stop(prog);
        uint64_t total = 0;
        for (int i = 0; i < nt; i++)
            total += ctr[i].n;
        printf("%llu\n", (unsigned long long)total);
    } else {
        void *out = stdout;
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
        err = bw_ingest_run(in, print_one, &out, 1, &eb);
    }
    fflush(stdout);
    cli_report_ingest(in, quiet, cli_now() - t0);
    if (err != BW_OK && err != BW_ERR_STOPPED) {
        cli_err("%s", eb.msg);
        rc = cli_exit_code(err);
    } else if (err == BW_ERR_STOPPED) {
        cli_err("write error on standard output");
        rc = BW_EXIT_FAIL;
    }
    goto out;
nomem:
    cli_err("out of memory");
    rc = BW_EXIT_FAIL;
out:
    free(ctr);
    free(ctx);
    bw_ingest_free(in);
    return rc;
}
