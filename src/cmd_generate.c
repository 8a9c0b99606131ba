/* `beaconwatch generate`: writes a seeded, realistic session log (and its
 * ground-truth labels) with the generator of bw_gen.h, for benchmarks,
 * demos and detection tests. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beaconwatch/bw_gen.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: beaconwatch generate [options]\n"
          "Writes a synthetic but realistic session log: a workplace of hosts that\n"
          "browse, resolve names and run benign periodic software, plus a few\n"
          "malicious beacons. The same options always give the same bytes.\n"
          "\n"
          "  -f, --format F    zeek (default), zeek-json, ecs, asim-csv, asim-json, eve\n"
          "  -n, --records N   exact number of records (default 1M; suffixes k, M, G)\n"
          "  -s, --seed S      random seed, a number (default 1)\n"
          "      --start T     start time, RFC 3339 or epoch seconds\n"
          "                    (default 2026-01-01T00:00:00Z)\n"
          "      --hours H     time span the records cover (default 24)\n"
          "      --hosts N     number of workstations (default 200)\n"
          "      --beacons N   malicious beacons (default 3 + hosts/100, at most 16); sleeps\n"
          "                    10 s .. 1 h, up to 24 h when the run holds 20 of them\n"
          "      --evasions N  extra beacons that evade timing analysis, in turn:\n"
          "                    Fibonacci-growing sleeps, exponentially growing sleeps,\n"
          "                    working hours only (Mon-Fri 08-18 UTC), a new sleep\n"
          "                    mid-run (default 0)\n"
          "      --nat N       hosts 1..N behind one NAT gateway (" BW_GEN_NAT_ADDR ", host\n"
          "                    " BW_GEN_NAT_HOST "), with 3 extra beacons on them (default 0)\n"
          "      --labels FILE write the ground truth of every periodic flow as CSV\n"
          "                    (its class column: standard, nat, fibonacci, exponential,\n"
          "                    workhours, schedule-change, periodic = benign)\n"
          "  -o, --output FILE write the records to FILE instead of standard output\n"
          "  -h, --help        show this help\n"
          "\n"
          "Exit status: 0 ok, 1 failure, 2 usage error.\n",
          f);
}

/* "10M", "1k", "2500": decimal count with an optional k/M/G suffix. */
static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        v *= 1e9, end++;
    if (*end || v > (double)max || v != (double)(uint64_t)v)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_format(const char *s, bw_format *f)
{
    static const struct {
        const char *name;
        bw_format f;
    } names[] = {{"zeek", BW_FMT_ZEEK},         {"zeek-json", BW_FMT_ZEEK_JSON},
                 {"ecs", BW_FMT_ECS},           {"asim-csv", BW_FMT_ASIM_CSV},
                 {"asim-json", BW_FMT_ASIM_JSON}, {"eve", BW_FMT_EVE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *f = names[i].f;
            return 0;
        }
    }
    return -1;
}

static int bad(const char *opt, const char *val)
{
    cli_err("generate: bad value for %s: '%s'", opt, val);
    fputs("Try 'beaconwatch generate --help'.\n", stderr);
    return BW_EXIT_USAGE;
}

int bw_cmd_generate(int argc, char **argv)
{
    enum { OPT_START = 256, OPT_HOURS, OPT_HOSTS, OPT_BEACONS, OPT_LABELS, OPT_EVASIONS, OPT_NAT };
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"records", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"start", required_argument, NULL, OPT_START},
        {"hours", required_argument, NULL, OPT_HOURS},
        {"hosts", required_argument, NULL, OPT_HOSTS},
        {"beacons", required_argument, NULL, OPT_BEACONS},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"evasions", required_argument, NULL, OPT_EVASIONS},
        {"nat", required_argument, NULL, OPT_NAT},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bw_gen_opts o;
    bw_errbuf eb = {{0}};
    const char *out_path = NULL, *labels_path = NULL;
    FILE *out = NULL, *lf = NULL;
    bw_gen *g = NULL;
    int rc = BW_EXIT_FAIL, c;
    uint64_t v;

    bw_gen_opts_init(&o);
    optind = 0; /* a fresh getopt scan of this argv (GNU: full reinit) */
    while ((c = getopt_long(argc, argv, "f:n:s:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, &o.format) != 0)
                return bad("--format", optarg);
            break;
        case 'n':
            if (parse_count(optarg, UINT64_C(1) << 53, &o.records) != 0)
                return bad("--records", optarg);
            break;
        case 's':
            if (parse_u64(optarg, &o.seed) != 0)
                return bad("--seed", optarg);
            break;
        case OPT_START: {
            int64_t us;
            if (cli_parse_time(optarg, &us) != 0 || us < 0)
                return bad("--start", optarg);
            o.start_us = us;
            break;
        }
        case OPT_HOURS: {
            char *end;
            errno = 0;
            double h = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(h >= 1.0 / 3600) || h > 366 * 24)
                return bad("--hours", optarg);
            o.duration_us = (int64_t)(h * 3600e6);
            break;
        }
        case OPT_HOSTS:
            if (parse_count(optarg, BW_GEN_MAX_HOSTS, &v) != 0 || v == 0)
                return bad("--hosts", optarg);
            o.hosts = (uint32_t)v;
            break;
        case OPT_BEACONS:
            if (parse_count(optarg, BW_GEN_MAX_BEACONS, &v) != 0)
                return bad("--beacons", optarg);
            o.beacons = (int32_t)v;
            break;
        case OPT_EVASIONS:
            if (parse_count(optarg, BW_GEN_MAX_BEACONS, &v) != 0)
                return bad("--evasions", optarg);
            o.evasions = (uint32_t)v;
            break;
        case OPT_NAT:
            if (parse_count(optarg, BW_GEN_MAX_HOSTS, &v) != 0 || v == 1)
                return bad("--nat", optarg);
            o.nat_hosts = (uint32_t)v;
            break;
        case OPT_LABELS:
            labels_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return BW_EXIT_OK;
        default:
            fputs("Try 'beaconwatch generate --help'.\n", stderr);
            return BW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_err("generate: unexpected argument '%s'", argv[optind]);
        fputs("Try 'beaconwatch generate --help'.\n", stderr);
        return BW_EXIT_USAGE;
    }

    if (bw_gen_opts_check(&o, &eb) != BW_OK) {
        cli_err("generate: %s", eb.msg);
        return BW_EXIT_USAGE;
    }
    g = bw_gen_new(&o, &eb);
    if (!g) {
        cli_err("generate: %s", eb.msg);
        goto out;
    }
    if (out_path && strcmp(out_path, "-") != 0) {
        out = fopen(out_path, "wb");
        if (!out) {
            cli_err("generate: %s: %s", out_path, strerror(errno));
            goto out;
        }
    }
    if (bw_gen_write(g, out ? out : stdout, &eb) != BW_OK) {
        cli_err("generate: %s: %s", out_path ? out_path : "stdout", eb.msg);
        goto out;
    }
    if (out) {
        FILE *f = out;
        out = NULL;
        if (fclose(f) != 0) {
            cli_err("generate: %s: %s", out_path, strerror(errno));
            goto out;
        }
    }
    if (labels_path) {
        lf = fopen(labels_path, "w");
        if (!lf) {
            cli_err("generate: %s: %s", labels_path, strerror(errno));
            goto out;
        }
        if (bw_gen_write_labels(g, lf, &eb) != BW_OK) {
            cli_err("generate: %s: %s", labels_path, eb.msg);
            goto out;
        }
        FILE *f = lf;
        lf = NULL;
        if (fclose(f) != 0) {
            cli_err("generate: %s: %s", labels_path, strerror(errno));
            goto out;
        }
    }
    rc = BW_EXIT_OK;
out:
    if (out)
        fclose(out);
    if (lf)
        fclose(lf);
    bw_gen_free(g);
    return rc;
}
