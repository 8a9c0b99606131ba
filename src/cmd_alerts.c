/* `beaconwatch alerts`: one run of the alert rules over the store (Elastic's
 * two prebuilt beaconing rules, the sentinel rule's alerts); new alerts
 * are stored de-duplicated and printed. --list prints stored alerts. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beaconwatch/bw_store.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: beaconwatch alerts [OPTIONS]\n\n"
        "Runs the alert rules over the stored findings once and prints the alerts that\n"
        "are new; an alert already raised for a finding is not raised again.\n"
        "  elastic: 'Statistical Model Detected C2 Beaconing Activity' (is_beaconing,\n"
        "           process not in the rule's 38-name exclusion list) and '... with High\n"
        "           Confidence' (beaconing_score 3), over findings with event.ingested in\n"
        "           the last hour; at most 100 per rule per run; severity low, risk 21,\n"
        "           MITRE TA0011 / T1071, T1102, T1102.002\n"
        "  sentinel: every sentinel finding ingested in the last day\n"
        "  beaconwatch: every alerting beaconwatch finding ingested in the last day;\n"
        "           severity from its score (>= 0.9 high, >= 0.7 medium, else low),\n"
        "           MITRE TA0011 / T1071, T1573, with the finding's explanation\n\n"
        "      --store PATH    the store (default ./" BW_STORE_DEFAULT_PATH ")\n"
        "  -r, --rule R        elastic, sentinel, beaconwatch or all (default all)\n"
        "      --now T         the run's time (RFC 3339 or epoch); default: the clock\n"
        "      --max N         alerts per rule per run (default 100)\n"
        "      --list          print stored alerts instead of running the rules\n"
        "      --since T       with --list: alerts raised at or after T\n"
        "  -o, --output O      table (default on a terminal) or ndjson (alert documents)\n"
        "  -h, --help          this text\n\n"
        "Exit status: 0 ok (with or without alerts), 1 failure, 2 usage error.\n");
}

typedef struct row {
    char *rule, *host, *process, *src, *fid;
    int64_t ts, created;
} row;

typedef struct out_ctx {
    int table;
    row *rows;
    size_t n, cap;
    int oom;
} out_ctx;

static int on_alert(void *ctx, const bw_alert *a)
{
    out_ctx *o = ctx;
    if (!o->table) {
        fputs(a->json, stdout);
        putc('\n', stdout);
        return ferror(stdout) ? 1 : 0;
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
    r->rule = strdup(a->rule);
    r->host = strdup(a->host);
    r->process = strdup(a->process);
    r->src = strdup(a->source_ip);
    r->fid = strdup(a->finding_id);
    r->ts = a->ts_us;
    r->created = a->created_us;
    if (!r->rule || !r->host || !r->process || !r->src || !r->fid)
        goto oom;
    return 0;
oom:
    o->oom = 1;
    return 1;
}

static void print_table(const out_ctx *o, const char *what)
{
    static const char *const h[] = {"alert rule", "finding time", "host", "process",
                                     "source_ip", "severity", "finding"};
    enum { NC = 7 };
    size_t w[NC];
    char ts[BW_TIME_STRLEN];
    for (int i = 0; i < NC; i++)
        w[i] = strlen(h[i]);
    w[1] = 24;
    w[6] = 12;
    for (size_t k = 0; k < o->n; k++) {
        const char *c[4] = {o->rows[k].rule, o->rows[k].host, o->rows[k].process,
                            o->rows[k].src};
        static const int at[4] = {0, 2, 3, 4};
        for (int i = 0; i < 4; i++) {
            size_t l = strlen(c[i]);
            if (l > 40)
                l = 40;
            if (l > w[at[i]])
                w[at[i]] = l;
        }
    }
    printf("%zu %s alert%s\n", o->n, what, o->n == 1 ? "" : "s");
    if (!o->n)
        return;
    for (int i = 0; i < NC; i++)
        printf("%-*s%s", (int)w[i], h[i], i + 1 < NC ? "  " : "\n");
    for (size_t k = 0; k < o->n; k++) {
        const row *r = &o->rows[k];
        bw_time_format_ms(r->ts, ts);
        const char *c[NC] = {r->rule, ts, r->host, r->process, r->src, "low", r->fid};
        for (int i = 0; i < NC; i++)
            printf("%-*.*s%s", (int)w[i], i == 6 ? 12 : 40, c[i], i + 1 < NC ? "  " : "\n");
    }
}

int bw_cmd_alerts(int argc, char **argv)
{
    enum { O_STORE = 256, O_NOW, O_MAX, O_LIST, O_SINCE };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"rule", required_argument, NULL, 'r'},
        {"now", required_argument, NULL, O_NOW},     {"max", required_argument, NULL, O_MAX},
        {"list", no_argument, NULL, O_LIST},         {"since", required_argument, NULL, O_SINCE},
        {"output", required_argument, NULL, 'o'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = BW_STORE_DEFAULT_PATH;
    bw_alert_opts ao = {BW_UNSET, 1, 1, 100, 0, 1};
    bw_store *s = NULL;
    bw_errbuf eb = {{0}};
    out_ctx o;
    int c, rc, list = 0;
    int64_t since = BW_UNSET;
    uint64_t n, added = 0, old = 0;

    memset(&o, 0, sizeof o);
    o.table = isatty(1);
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_STORE: path = optarg; break;
        case 'r':
            ao.elastic = strcmp(optarg, "elastic") == 0 || strcmp(optarg, "all") == 0;
            ao.sentinel = strcmp(optarg, "sentinel") == 0 || strcmp(optarg, "all") == 0;
            ao.beaconwatch = strcmp(optarg, "beaconwatch") == 0 || strcmp(optarg, "all") == 0;
            if (!ao.elastic && !ao.sentinel && !ao.beaconwatch) {
                cli_err("--rule %s: expected elastic, sentinel, beaconwatch or all", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_NOW:
        case O_SINCE:
            if (cli_parse_time(optarg, c == O_NOW ? &ao.now_us : &since) != 0) {
                cli_err("%s %s: expected RFC 3339 or epoch seconds",
                        c == O_NOW ? "--now" : "--since", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_MAX:
            if (cli_parse_count(optarg, &n) != 0 || n == 0 || n > 100000) {
                cli_err("--max %s: expected a count from 1 to 100000", optarg);
                return BW_EXIT_USAGE;
            }
            ao.max_per_rule = (int)n;
            break;
        case O_LIST: list = 1; break;
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
        cli_err("alerts: unexpected argument '%s'", argv[optind]);
        return BW_EXIT_USAGE;
    }
    if ((rc = cli_store_open(path, list ? BW_STORE_READONLY : 0, &s)) != 0)
        return rc;
    if (list)
        rc = bw_store_alerts(s, since, 0, on_alert, &o, &eb);
    else
        rc = bw_alerts_run(s, &ao, on_alert, &o, &added, &old, &eb);
    if (rc != BW_OK) {
        cli_err("%s", o.oom ? "out of memory" : eb.msg);
        rc = BW_EXIT_FAIL;
        goto out;
    }
    if (o.table)
        print_table(&o, list ? "stored" : "new");
    if (!list)
        fprintf(stderr, "alerts: %llu new, %llu already raised\n", (unsigned long long)added,
                (unsigned long long)old);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("write error on standard output");
        rc = BW_EXIT_FAIL;
    }
out:
    for (size_t k = 0; k < o.n; k++) {
        free(o.rows[k].rule);
        free(o.rows[k].host);
        free(o.rows[k].process);
        free(o.rows[k].src);
        free(o.rows[k].fid);
    }
    free(o.rows);
    bw_store_close(s);
    return rc;
}
