/* `beaconwatch status`: what the store holds (findings per rule, samples,
 * alerts, schema version) and when each rule last ran. */
#include "cli.h"

#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "beaconwatch/bw_store.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: beaconwatch status [OPTIONS]\n\n"
        "Shows what the store holds and when each rule last ran.\n\n"
        "      --store PATH    the store (default ./" BW_STORE_DEFAULT_PATH ")\n"
        "  -o, --output O      text (default) or json\n"
        "  -h, --help          this text\n\n"
        "Exit status: 0 ok, 1 failure (e.g. no store), 2 usage error.\n");
}

static const char *tm(int64_t us, char *buf)
{
    if (us == BW_UNSET)
        return "-";
    bw_time_format(us, buf);
    return buf;
}

static void json_time(const char *key, int64_t us)
{
    char b[BW_TIME_STRLEN];
    if (us == BW_UNSET)
        printf("\"%s\":null", key);
    else
        printf("\"%s\":\"%s\"", key, tm(us, b));
}

typedef struct files_ctx {
    int json, n;
} files_ctx;

/* One followed file: how far it was read. */
static int on_offset(void *ctx, const bw_offset *o)
{
    files_ctx *c = ctx;
    char t[BW_TIME_STRLEN];
    if (c->json) {
        printf("%s{\"path\":", c->n ? "," : "");
        cli_json_str(stdout, o->path, strlen(o->path));
        printf(",\"offset\":%lld,\"size\":%lld,", (long long)o->offset, (long long)o->size);
        json_time("checkpoint", o->updated_us);
        putchar('}');
    } else {
        printf("  %s: read %lld of %lld bytes (checkpoint %s)\n", o->path,
               (long long)o->offset, (long long)o->size, tm(o->updated_us, t));
    }
    c->n++;
    return 0;
}

int bw_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 256}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *path = BW_STORE_DEFAULT_PATH;
    bw_store *s = NULL;
    bw_store_status st;
    bw_errbuf eb = {{0}};
    struct stat sb;
    int c, rc, json = 0;
    char a[BW_TIME_STRLEN], b[BW_TIME_STRLEN], d[BW_TIME_STRLEN], e[BW_TIME_STRLEN];

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 256: path = optarg; break;
        case 'o':
            if (strcmp(optarg, "text") == 0) json = 0;
            else if (strcmp(optarg, "json") == 0) json = 1;
            else {
                cli_err("--output %s: expected text or json", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return BW_EXIT_OK;
        default: usage(stderr); return BW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_err("status: unexpected argument '%s'", argv[optind]);
        return BW_EXIT_USAGE;
    }
    if ((rc = cli_store_open(path, BW_STORE_READONLY, &s)) != 0)
        return rc;
    if (bw_store_status_get(s, &st, &eb) != BW_OK) {
        cli_err("%s", eb.msg);
        rc = BW_EXIT_FAIL;
        goto out;
    }
    long long size = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    if (json) {
        printf("{\"store\":");
        cli_json_str(stdout, path, strlen(path));
        printf(",\"bytes\":%lld,\"schema\":%d,\"findings\":%llu,\"sampled_records\":%llu,"
               "\"sampled_groups\":%llu,\"alerts\":%llu,\"files_followed\":%llu,",
               size, st.schema, (unsigned long long)st.findings,
               (unsigned long long)st.samples, (unsigned long long)st.sample_groups,
               (unsigned long long)st.alerts, (unsigned long long)st.files);
        json_time("last_checkpoint", st.offsets_updated);
        printf(",\"rules\":[");
        for (int i = 0; i < st.nrules; i++) {
            const bw_store_rule_status *r = &st.rules[i];
            printf("%s{\"rule\":", i ? "," : "");
            cli_json_str(stdout, r->rule, strlen(r->rule));
            printf(",\"findings\":%llu,", (unsigned long long)r->findings);
            json_time("first", r->first_ts_us);
            putchar(',');
            json_time("last", r->last_ts_us);
            putchar(',');
            json_time("last_run", r->last_run_us);
            putchar(',');
            json_time("last_run_now", r->last_now_us);
            printf(",\"last_run_findings\":%llu}", (unsigned long long)r->last_run_findings);
        }
        printf("],\"files\":[");
        files_ctx fc = {1, 0};
        if (bw_store_offsets(s, on_offset, &fc, &eb) != BW_OK) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_FAIL;
            goto out;
        }
        printf("]}\n");
    } else {
        printf("store %s: schema %d, %lld bytes\n", path, st.schema, size);
        printf("findings %llu, sampled records %llu in %llu groups, alerts %llu\n",
               (unsigned long long)st.findings, (unsigned long long)st.samples,
               (unsigned long long)st.sample_groups, (unsigned long long)st.alerts);
        if (st.files)
            printf("files followed %llu, last checkpoint %s\n", (unsigned long long)st.files,
                   tm(st.offsets_updated, a));
        for (int i = 0; i < st.nrules; i++) {
            const bw_store_rule_status *r = &st.rules[i];
            printf("%-18s %llu findings from %s to %s; last run %s (data time %s, "
                   "%llu findings)\n",
                   r->rule, (unsigned long long)r->findings, tm(r->first_ts_us, a),
                   tm(r->last_ts_us, b), tm(r->last_run_us, d),
                   r->last_now_us == BW_UNSET ? "rule default" : tm(r->last_now_us, e),
                   (unsigned long long)r->last_run_findings);
        }
        files_ctx fc = {0, 0};
        if (st.files && bw_store_offsets(s, on_offset, &fc, &eb) != BW_OK) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_FAIL;
            goto out;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("write error on standard output");
        rc = BW_EXIT_FAIL;
    }
out:
    bw_store_close(s);
    return rc;
}
