/* `beaconwatch config --print`: the effective configuration — defaults,
 * then the configuration file, then --set — written as a configuration
 * file that `--config` reads back. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: beaconwatch config --print [--config FILE] [--set RULE.PARAM=VALUE]...\n\n"
            "Prints the effective configuration of every rule (defaults, overridden by\n"
            "FILE, overridden by --set) as YAML that --config accepts. Unknown keys and\n"
            "bad values are errors naming the key (exit 2). See docs/config.md.\n\n"
            "  -p, --print        print the configuration\n"
            "  -c, --config FILE  configuration file to read\n"
            "      --set K=V      override one parameter; repeatable\n"
            "  -h, --help         this text\n");
}

/* Plain YAML scalar when safe, else double-quoted. */
static void yaml_value(const char *v, size_t n)
{
    int plain = n > 0;
    for (size_t i = 0; i < n && plain; i++) {
        char c = v[i];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '/';
    }
    if (plain) {
        printf("%.*s", (int)n, v);
        return;
    }
    cli_json_str(stdout, v, n); /* a JSON string is a valid YAML double-quoted scalar */
}

static void print_rule(const bw_rule *r)
{
    size_t need = bw_rule_params(r, NULL, 0) + 1;
    char *buf = malloc(need);
    if (!buf)
        return;
    bw_rule_params(r, buf, need);
    printf("%s:\n", bw_rule_name(r));
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *eq = memchr(line, '=', len);
        if (len && line[0] == '#') {
            printf("  %.*s\n", (int)len, line);
        } else if (eq) {
            char *k = line, *ke = eq, *v = eq + 1;
            while (ke > k && ke[-1] == ' ')
                ke--;
            while (v < line + len && *v == ' ')
                v++;
            printf("  %.*s: ", (int)(ke - k), k);
            yaml_value(v, (size_t)(line + len - v));
            putchar('\n');
        }
        line += len + (nl ? 1 : 0);
    }
    free(buf);
}

int bw_cmd_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"print", no_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *sets[256];
    int nsets = 0, print = 0, c, rc, n = 0;
    const char *const *names = bw_rule_names();
    bw_rule *rules[16] = {0};
    bw_ingest_opts io = {0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "pc:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': print = 1; break;
        case 'c': config = optarg; break;
        case 's':
            if (nsets >= 256) {
                cli_err("too many --set options");
                return BW_EXIT_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case 'h': usage(stdout); return BW_EXIT_OK;
        default: usage(stderr); return BW_EXIT_USAGE;
        }
    }
    if (!print || optind < argc) {
        usage(stderr);
        return BW_EXIT_USAGE;
    }
    while (names[n] && n < 16)
        n++;
    rc = cli_rules_setup(names, n, config, sets, nsets, rules, &io);
    if (rc == 0) {
        printf("# beaconwatch configuration (defaults%s%s)\n", config ? " < " : "",
               config ? config : "");
        printf("ingest:\n  format: %s\n  threads: %d\n  max_record: %u\n",
               bw_format_name(io.format), io.threads ? io.threads : bw_cpu_count(),
               io.max_record ? io.max_record : 1u << 20);
        for (int i = 0; i < n; i++)
            print_rule(rules[i]);
    }
    for (int i = 0; i < n; i++)
        bw_rule_free(rules[i]);
    return rc;
}
