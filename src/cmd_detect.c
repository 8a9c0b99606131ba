/* `beaconwatch detect`: one pass over the input feeding every selected
 * rule (one rule instance per worker thread, merged at the end), then each
 * rule's findings as a table, NDJSON, CSV or Elasticsearch _bulk lines. */
#include "cli.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "beaconwatch/bw_store.h"

#define MAX_RULES 8
#define MAX_SETS 256
/* Caps of the --store sample: groups and records over all workers (about
 * 100 bytes a record, so at most ~100 MB). */
#define CLI_SAMPLE_MAX_GROUPS 200000u
#define CLI_SAMPLE_MAX_RECORDS 1000000u

enum output { OUT_TABLE, OUT_NDJSON, OUT_CSV, OUT_BULK };

static void usage(FILE *f)
{
    fprintf(f,
        "usage: beaconwatch detect [OPTIONS] INPUT...\n\n"
        "Runs beaconing rules over session logs in one pass and prints the findings.\n\n"
        "  -r, --rule R        rule to run: beaconwatch (default: our own detector),\n"
        "                      elastic, sentinel, sentinel-panos, sentinel-wiredata, or\n"
        "                      all (elastic, sentinel, beaconwatch); repeat or comma-separate\n"
        "  -f, --format F      input format (default auto; see 'beaconwatch formats')\n"
        "  -o, --output O      table (default on a terminal), ndjson (default otherwise),\n"
        "                      csv, bulk (Elasticsearch _bulk NDJSON)\n"
        "      --now T         the run's time (RFC 3339 or epoch); default: latest event\n"
        "      --start T       window start for rules with a window (sentinel)\n"
        "      --end T         window end\n"
        "      --all           elastic: print every group's document, not only beacons\n"
        "      --set K=V       set a rule parameter, K = RULE.PARAM (e.g.\n"
        "                      elastic.time_bucket_length=300); repeatable\n"
        "      --group-by G    elastic grouping: host_process, src_dst_port, src_dst, src\n"
        "                      (needs --rule elastic or all)\n"
        "      --internal C    the private networks, comma-separated CIDRs, for elastic\n"
        "                      (sources) and beaconwatch (destinations skipped)\n"
        "      --config FILE   read parameters from a configuration file\n"
        "      --store PATH    also write findings (and a sample of the records of each\n"
        "                      group) to the store at PATH, in one transaction\n"
        "      --sample N      records sampled per group for drilldown (default 10000,\n"
        "                      0: none); with --store\n"
        "      --retain D      with --store: delete findings, samples and alerts older\n"
        "                      than D (30d, 12h, 3600s) before the run's time\n"
        "  -j, --threads N     worker threads (default: CPUs)\n"
        "  -q, --quiet         no summary on stderr\n"
        "  -h, --help          this text\n\n"
        "Exit status: 0 ok (with or without findings), 1 failure, 2 usage error.\n");
}

/* One cache line or more each (allocated 64-byte aligned): every record
 * writes `newest` and reads `rules`, and with two workers' contexts in one
 * line perf put 8 % of a Zeek detect run in feed(); apart, CPU -2 %. */
typedef struct worker_ctx {
    _Alignas(64) bw_rule *rules[MAX_RULES];
    int nrules;
    bw_sampler *sampler; /* with --store: records behind each group */
    int track_time;      /* with --store: note the latest event time (--retain) */
    int64_t max_ts;
    _Atomic int64_t newest; /* latest event time, read by the progress thread */
} worker_ctx;

typedef struct workers {
    worker_ctx *w;
    int n;
} workers;

/* The newest event time over all workers (BW_UNSET before any). */
static int64_t newest_event(void *arg)
{
    const workers *ws = arg;
    int64_t m = BW_UNSET;
    for (int i = 0; i < ws->n; i++) {
        int64_t v = atomic_load_explicit(&ws->w[i].newest, memory_order_relaxed);
        if (v > m)
            m = v;
    }
    return m;
}

static int feed(void *ctx, const bw_record *rec)
{
    worker_ctx *w = ctx;
    for (int i = 0; i < w->nrules; i++)
        if (bw_rule_add(w->rules[i], rec) != BW_OK)
            return 1;
    if (w->track_time && rec->ts_us > w->max_ts)
        w->max_ts = rec->ts_us;
    if (rec->ts_us > atomic_load_explicit(&w->newest, memory_order_relaxed))
        atomic_store_explicit(&w->newest, rec->ts_us, memory_order_relaxed);
    if (w->sampler && bw_sampler_add(w->sampler, rec) != BW_OK)
        return 1;
    return 0;
}

/* Findings kept for the table, which sorts by score. */
typedef struct kept {
    double score;
    char **cols;
    int ncols;
} kept;

typedef struct out_ctx {
    enum output out;
    FILE *f;
    const bw_rule *rule;
    int header_done;
    kept *rows;
    size_t nrows, caprows;
    size_t nfindings;
    int oom;
    bw_store *store; /* with --store */
    int64_t ingested_us;
    int store_err;
    bw_errbuf store_eb;
} out_ctx;

static void csv_cell(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r")) {
        putc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                putc('"', f);
            putc(*s, f);
        }
        putc('"', f);
    } else {
        fputs(s, f);
    }
}

static int on_finding(void *ctx, const bw_finding *fd)
{
    out_ctx *o = ctx;
    o->nfindings++;
    if (o->store && bw_store_put_finding(o->store, fd, o->ingested_us, &o->store_eb) != BW_OK) {
        o->store_err = 1;
        return 1;
    }
    switch (o->out) {
    case OUT_NDJSON:
        fputs(fd->json, o->f);
        putc('\n', o->f);
        break;
    case OUT_BULK:
        fprintf(o->f, "{\"index\":{\"_index\":\"%s\",\"_id\":\"%s\"}}\n%s\n",
                fd->index ? fd->index : fd->rule, fd->id, fd->json);
        break;
    case OUT_CSV:
        if (!o->header_done) {
            int nc;
            const char *const *h = bw_rule_columns(o->rule, &nc);
            fputs("rule", o->f);
            for (int i = 0; i < nc; i++) {
                putc(',', o->f);
                csv_cell(o->f, h[i]);
            }
            putc('\n', o->f);
            o->header_done = 1;
        }
        fputs(fd->rule, o->f);
        for (int i = 0; i < fd->ncols; i++) {
            putc(',', o->f);
            csv_cell(o->f, fd->cols[i]);
        }
        putc('\n', o->f);
        break;
    case OUT_TABLE: {
        if (o->nrows == o->caprows) {
            size_t nc = o->caprows ? o->caprows * 2 : 64;
            kept *nr = realloc(o->rows, nc * sizeof *nr);
            if (!nr) {
                o->oom = 1;
                return 1;
            }
            o->rows = nr;
            o->caprows = nc;
        }
        kept *k = &o->rows[o->nrows];
        k->score = fd->score;
        k->ncols = fd->ncols;
        if (!(k->cols = calloc((size_t)fd->ncols + 1, sizeof *k->cols))) {
            o->oom = 1;
            return 1;
        }
        for (int i = 0; i < fd->ncols; i++)
            if (!(k->cols[i] = strdup(fd->cols[i] ? fd->cols[i] : ""))) {
                o->oom = 1;
                return 1;
            }
        o->nrows++;
        break;
    }
    }
    return ferror(o->f) ? 1 : 0;
}

static int by_score_desc(const void *a, const void *b)
{
    const kept *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

#define TABLE_CELL_MAX 48

static void print_table(out_ctx *o)
{
    int nc;
    const char *const *h = bw_rule_columns(o->rule, &nc);
    size_t w[64] = {0};
    if (nc > 64)
        nc = 64;
    qsort(o->rows, o->nrows, sizeof *o->rows, by_score_desc);
    for (int i = 0; i < nc; i++)
        w[i] = strlen(h[i]);
    for (size_t r = 0; r < o->nrows; r++)
        for (int i = 0; i < nc && i < o->rows[r].ncols; i++) {
            size_t l = strlen(o->rows[r].cols[i]);
            if (l > TABLE_CELL_MAX)
                l = TABLE_CELL_MAX;
            if (l > w[i])
                w[i] = l;
        }
    fprintf(o->f, "== %s: %zu finding%s\n", bw_rule_name(o->rule), o->nrows,
            o->nrows == 1 ? "" : "s");
    if (!o->nrows)
        return;
    for (int i = 0; i < nc; i++)
        fprintf(o->f, "%-*s%s", (int)w[i], h[i], i + 1 < nc ? "  " : "\n");
    for (size_t r = 0; r < o->nrows; r++)
        for (int i = 0; i < nc; i++) {
            const char *c = i < o->rows[r].ncols ? o->rows[r].cols[i] : "";
            fprintf(o->f, "%-*.*s%s", (int)w[i], TABLE_CELL_MAX, c, i + 1 < nc ? "  " : "\n");
        }
}

static void free_rows(out_ctx *o)
{
    for (size_t r = 0; r < o->nrows; r++) {
        for (int i = 0; o->rows[r].cols && i < o->rows[r].ncols; i++)
            free(o->rows[r].cols[i]);
        free(o->rows[r].cols);
    }
    free(o->rows);
    o->rows = NULL;
    o->nrows = o->caprows = 0;
}

/* With --store: merges the workers' samples, writes them, applies
 * --retain relative to the run's time, and commits the transaction
 * opened before the findings. Returns 0 or an exit code. */
static int store_finish(bw_store *store, worker_ctx *w, int nt, uint32_t per_group,
                        int64_t retain_us, int64_t now_us, int quiet)
{
    bw_errbuf eb = {{0}};
    uint64_t written = 0, rf = 0, rs = 0, ra = 0;
    if (w[0].sampler) {
        for (int t = 1; t < nt; t++)
            if (bw_sampler_merge(w[0].sampler, w[t].sampler) != BW_OK) {
                cli_err("out of memory");
                return BW_EXIT_FAIL;
            }
        if (bw_store_put_sample(store, w[0].sampler, per_group, &written, &eb) != BW_OK)
            goto fail;
    }
    if (retain_us != BW_UNSET && now_us != BW_UNSET &&
        bw_store_retain(store, now_us - retain_us, &rf, &rs, &ra, &eb) != BW_OK)
        goto fail;
    if (bw_store_commit(store, &eb) != BW_OK)
        goto fail;
    if (!quiet) {
        if (w[0].sampler) {
            bw_sampler_stats st;
            bw_sampler_stats_get(w[0].sampler, &st);
            fprintf(stderr, "store: %llu sampled records of %llu groups written",
                    (unsigned long long)written, (unsigned long long)st.groups);
            if (st.dropped_groups || st.dropped_budget)
                fprintf(stderr, " (%llu records not sampled: group or memory cap)",
                        (unsigned long long)(st.dropped_groups + st.dropped_budget));
            putc('\n', stderr);
        }
        if (retain_us != BW_UNSET)
            fprintf(stderr, "store: retention deleted %llu findings, %llu sampled records, "
                    "%llu alerts\n", (unsigned long long)rf, (unsigned long long)rs,
                    (unsigned long long)ra);
    }
    return 0;
fail:
    cli_err("%s", eb.msg);
    return BW_EXIT_FAIL;
}

/* Adds rule names from a comma list; "all" expands to the main rules. */
static int add_rules(const char *arg, const char **names, int *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        const char *const *known = bw_rule_names();
        if (strcmp(tok, "all") == 0) {
            static const char *const main_rules[] = {"elastic", "sentinel", "beaconwatch"};
            for (size_t i = 0; i < 3; i++)
                if (add_rules(main_rules[i], names, n) != 0)
                    return -1;
            continue;
        }
        int found = 0;
        for (int i = 0; known[i]; i++)
            if (strcmp(known[i], tok) == 0) {
                found = 1;
                int dup = 0;
                for (int j = 0; j < *n; j++)
                    dup |= strcmp(names[j], known[i]) == 0;
                if (!dup) {
                    if (*n >= MAX_RULES)
                        return -1;
                    names[(*n)++] = known[i];
                }
            }
        if (!found) {
            cli_err("unknown rule '%s' (known: elastic, sentinel, sentinel-panos, "
                    "sentinel-wiredata, beaconwatch, all)", tok);
            return -1;
        }
    }
    return 0;
}

int bw_cmd_detect(int argc, char **argv)
{
    enum { O_NOW = 256, O_START, O_END, O_ALL, O_SET, O_GROUP, O_INTERNAL, O_CONFIG, O_STORE,
           O_SAMPLE, O_RETAIN };
    static const struct option opts[] = {
        {"rule", required_argument, NULL, 'r'},    {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},  {"now", required_argument, NULL, O_NOW},
        {"start", required_argument, NULL, O_START}, {"end", required_argument, NULL, O_END},
        {"all", no_argument, NULL, O_ALL},         {"set", required_argument, NULL, O_SET},
        {"group-by", required_argument, NULL, O_GROUP},
        {"internal", required_argument, NULL, O_INTERNAL},
        {"config", required_argument, NULL, O_CONFIG},
        {"store", required_argument, NULL, O_STORE},
        {"sample", required_argument, NULL, O_SAMPLE},
        {"retain", required_argument, NULL, O_RETAIN},
        {"threads", required_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *names[MAX_RULES];
    const char *sets[MAX_SETS];
    int nnames = 0, nsets = 0, quiet = 0, c, rc = BW_EXIT_OK, err, nt;
    const char *config = NULL;
    enum output out = isatty(1) ? OUT_TABLE : OUT_NDJSON;
    bw_run run = {BW_UNSET, BW_UNSET, BW_UNSET, BW_UNSET, 0};
    bw_ingest_opts io = {0};
    bw_ingest *in = NULL;
    worker_ctx *w = NULL;
    void **ctx = NULL;
    bw_errbuf eb = {{0}};
    static char setbuf_[3][160];
    int group_by_set = 0, internal_set = 0; /* their --set slots are taken (once) */
    const char *store_path = NULL;
    bw_store *store = NULL;
    uint64_t sample_per_group = 10000;
    int64_t retain_us = BW_UNSET;
    int64_t max_event_us = BW_UNSET;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:f:o:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (add_rules(optarg, names, &nnames) != 0)
                return BW_EXIT_USAGE;
            break;
        case 'f':
            if (bw_format_parse(optarg, &io.format) != 0) {
                cli_err("unknown format '%s' (see 'beaconwatch formats')", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case 'o':
            if (strcmp(optarg, "table") == 0) out = OUT_TABLE;
            else if (strcmp(optarg, "ndjson") == 0) out = OUT_NDJSON;
            else if (strcmp(optarg, "csv") == 0) out = OUT_CSV;
            else if (strcmp(optarg, "bulk") == 0) out = OUT_BULK;
            else {
                cli_err("--output %s: expected table, ndjson, csv or bulk", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_NOW:
        case O_START:
        case O_END: {
            int64_t *t = c == O_NOW ? &run.now_us : c == O_START ? &run.start_us : &run.end_us;
            if (cli_parse_time(optarg, t) != 0) {
                cli_err("%s %s: expected RFC 3339 or epoch seconds",
                        c == O_NOW ? "--now" : c == O_START ? "--start" : "--end", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        }
        case O_ALL: run.all = 1; break;
        case O_SET:
            if (nsets >= MAX_SETS - 3) {
                cli_err("too many --set options (at most %d)", MAX_SETS - 3);
                return BW_EXIT_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case O_GROUP:
            snprintf(setbuf_[0], sizeof setbuf_[0], "elastic.group_by=%s", optarg);
            if (!group_by_set)
                sets[nsets++] = setbuf_[0];
            group_by_set = 1;
            break;
        case O_INTERNAL:
            /* both rules that have a notion of the private side */
            snprintf(setbuf_[1], sizeof setbuf_[1], "elastic.internal=%s", optarg);
            snprintf(setbuf_[2], sizeof setbuf_[2], "beaconwatch.internal=%s", optarg);
            if (!internal_set) {
                sets[nsets++] = setbuf_[1];
                sets[nsets++] = setbuf_[2];
            }
            internal_set = 1;
            break;
        case O_CONFIG: config = optarg; break;
        case O_STORE: store_path = optarg; break;
        case O_SAMPLE:
            if (strcmp(optarg, "0") == 0) {
                sample_per_group = 0;
            } else if (cli_parse_count(optarg, &sample_per_group) != 0 ||
                       sample_per_group > 1000000) {
                cli_err("--sample %s: expected a count from 0 to 1000000", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_RETAIN:
            if (cli_parse_duration(optarg, &retain_us) != 0) {
                cli_err("--retain %s: expected a duration such as 30d, 12h or 3600s", optarg);
                return BW_EXIT_USAGE;
            }
            break;
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
        cli_err("detect: no INPUT given (use - for stdin)");
        usage(stderr);
        return BW_EXIT_USAGE;
    }
    if (nnames == 0)
        names[nnames++] = "beaconwatch";
    if (group_by_set) {
        int el = 0;
        for (int i = 0; i < nnames; i++)
            el |= strcmp(names[i], "elastic") == 0;
        if (!el) {
            /* silently ignoring it would hide that another rule ran */
            cli_err("--group-by is an option of rule elastic; add --rule elastic");
            return BW_EXIT_USAGE;
        }
    }
    if (retain_us != BW_UNSET && !store_path) {
        cli_err("--retain needs --store");
        return BW_EXIT_USAGE;
    }
    if (store_path && (rc = cli_store_open(store_path, 0, &store)) != 0)
        return rc;
    {
        /* Rules are set up once on a probe slot to learn the thread count
         * from the configuration, then cloned per worker. */
        bw_rule *first[MAX_RULES] = {0};
        if ((rc = cli_rules_setup(names, nnames, config, sets, nsets, first, &io)) != 0) {
            for (int i = 0; i < nnames; i++)
                bw_rule_free(first[i]);
            return rc;
        }
        nt = io.threads > 0 ? io.threads : bw_cpu_count();
        if ((w = aligned_alloc(_Alignof(worker_ctx), (size_t)nt * sizeof *w)))
            memset(w, 0, (size_t)nt * sizeof *w);
        if (!w || !(ctx = calloc((size_t)nt, sizeof *ctx))) {
            for (int i = 0; i < nnames; i++)
                bw_rule_free(first[i]);
            goto nomem;
        }
        for (int i = 0; i < nnames; i++)
            w[0].rules[i] = first[i];
        w[0].nrules = nnames;
    }
    if (run.now_us != BW_UNSET) {
        /* Knowing `now` before reading lets elastic bucket directly (memory
         * by buckets, not by seconds). */
        char now[48];
        snprintf(now, sizeof now, "%lld.%06lld", (long long)(run.now_us / 1000000),
                 (long long)(run.now_us % 1000000 < 0 ? -(run.now_us % 1000000)
                                                      : run.now_us % 1000000));
        for (int i = 0; i < nnames; i++)
            if (strcmp(names[i], "elastic") == 0 &&
                bw_rule_set(w[0].rules[i], "now", now, &eb) != BW_OK) {
                cli_err("--now: %s", eb.msg);
                rc = BW_EXIT_USAGE;
                goto out;
            }
    }
    for (int t = 1; t < nt; t++)
        for (int i = 0; i < nnames; i++) {
            if (!(w[t].rules[i] = bw_rule_clone_shared(w[0].rules[i], &eb)))
                goto nomem;
            w[t].nrules++;
        }
    if (store && sample_per_group > 0) {
        /* The sample is keyed like elastic's groups (so a finding's
         * host.name / process.name names its records), else like the
         * sentinel rule's (source, destination:port). */
        bw_sample_key key = BW_SAMPLE_SRC_DST_PORT;
        for (int i = 0; i < nnames; i++)
            if (strcmp(names[i], "elastic") == 0) {
                char params[4096];
                const char *g;
                bw_rule_params(w[0].rules[i], params, sizeof params);
                key = BW_SAMPLE_HOST_PROCESS;
                if ((g = strstr(params, "group_by = "))) {
                    char val[32];
                    size_t l = strcspn(g + 11, "\n");
                    snprintf(val, sizeof val, "%.*s", (int)(l < 31 ? l : 31), g + 11);
                    if (bw_sample_key_parse(val, &key) != 0)
                        key = BW_SAMPLE_HOST_PROCESS;
                }
            }
        for (int t = 0; t < nt; t++)
            if (!(w[t].sampler = bw_sampler_new(key, (uint32_t)sample_per_group,
                                                CLI_SAMPLE_MAX_GROUPS,
                                                CLI_SAMPLE_MAX_RECORDS / (uint64_t)nt)))
                goto nomem;
    }
    for (int t = 0; t < nt; t++) {
        ctx[t] = &w[t];
        w[t].track_time = store != NULL;
        w[t].max_ts = INT64_MIN;
    }
    if (!(in = bw_ingest_new(&io)))
        goto nomem;
    for (int i = optind; i < argc; i++)
        if (bw_ingest_add(in, argv[i], &eb) != BW_OK) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_FAIL;
            goto out;
        }
    double t0 = cli_now();
    {
        workers ws = {w, nt};
        cli_progress *prog = NULL;
        for (int t = 0; t < nt; t++)
            atomic_store(&w[t].newest, BW_UNSET);
        if (!quiet)
            prog = cli_progress_start(in, newest_event, &ws);
        err = bw_ingest_run(in, feed, ctx, nt, &eb);
        cli_progress_stop(prog);
    }
    cli_report_ingest(in, quiet, cli_now() - t0);
    if (err == BW_ERR_STOPPED) {
        cli_err("a rule stopped the run (a limit was reached)");
        rc = BW_EXIT_FAIL;
        goto out;
    }
    if (err != BW_OK) {
        cli_err("%s", eb.msg);
        rc = cli_exit_code(err); /* findings of the files that were read still print */
    }
    for (int t = 0; store && t < nt; t++)
        if (w[t].max_ts != INT64_MIN && (max_event_us == BW_UNSET || w[t].max_ts > max_event_us))
            max_event_us = w[t].max_ts;
    if (store) {
        /* One transaction for the whole run: its findings, its sample and
         * its run records appear together or not at all. */
        struct timeval tv;
        gettimeofday(&tv, NULL);
        if (run.ingested_us == BW_UNSET)
            run.ingested_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
        if (bw_store_begin(store, &eb) != BW_OK) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_FAIL;
            goto out;
        }
    }
    for (int i = 0; i < nnames; i++) {
        out_ctx o = {0};
        char summary[512];
        for (int t = 1; t < nt; t++)
            if (bw_rule_merge(w[0].rules[i], w[t].rules[i], &eb) != BW_OK) {
                cli_err("%s", eb.msg);
                rc = BW_EXIT_FAIL;
                goto out;
            }
        o.out = out;
        o.f = stdout;
        o.rule = w[0].rules[i];
        o.store = store;
        o.ingested_us = run.ingested_us;
        if ((err = bw_rule_finish(w[0].rules[i], &run, on_finding, &o, &eb)) != BW_OK) {
            cli_err("%s: %s", names[i], o.store_err ? o.store_eb.msg : eb.msg);
            free_rows(&o);
            rc = BW_EXIT_FAIL;
            goto out;
        }
        if (store) {
            if (bw_store_put_run(store, names[i], run.ingested_us, run.now_us, o.nfindings,
                                 &eb) != BW_OK) {
                cli_err("%s", eb.msg);
                free_rows(&o);
                rc = BW_EXIT_FAIL;
                goto out;
            }
        }
        if (o.oom) {
            free_rows(&o);
            goto nomem;
        }
        if (out == OUT_TABLE) {
            print_table(&o);
            if (i + 1 < nnames)
                putc('\n', stdout);
        }
        free_rows(&o);
        if (!quiet) {
            bw_rule_summary(w[0].rules[i], summary, sizeof summary);
            fprintf(stderr, "%s: %zu finding%s; %s\n", names[i], o.nfindings,
                    o.nfindings == 1 ? "" : "s", summary);
        }
    }
    if (store && (rc = store_finish(store, w, nt, (uint32_t)sample_per_group, retain_us,
                                    run.now_us != BW_UNSET ? run.now_us : max_event_us,
                                    quiet)) != 0)
        goto out;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("write error on standard output");
        rc = BW_EXIT_FAIL;
    }
    goto out;
nomem:
    cli_err("out of memory");
    rc = BW_EXIT_FAIL;
out:
    for (int t = 0; w && t < nt; t++) {
        for (int i = 0; i < w[t].nrules; i++)
            bw_rule_free(w[t].rules[i]);
        bw_sampler_free(w[t].sampler);
    }
    bw_store_close(store); /* rolls back what was not committed */
    free(w);
    free(ctx);
    bw_ingest_free(in);
    return rc;
}
