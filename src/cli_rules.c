/* Setting rules up from the command line: create the named rules, apply a
 * configuration file, then --set options (the command line wins). Shared
 * by `detect` and `config`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "beaconwatch/bw_config.h"

/* Applies "RULE.PARAM=VALUE" to the rule of that name. */
int cli_apply_set(const char *kv, bw_rule **rules, int nrules)
{
    const char *eq = strchr(kv, '='), *dot = strchr(kv, '.');
    char rule[64], key[128];
    int applied = 0;
    bw_errbuf eb = {{0}};
    if (!eq || !dot || dot > eq || (size_t)(dot - kv) >= sizeof rule ||
        (size_t)(eq - dot - 1) >= sizeof key || eq == dot + 1) {
        cli_err("--set %s: expected RULE.PARAM=VALUE", kv);
        return -1;
    }
    snprintf(rule, sizeof rule, "%.*s", (int)(dot - kv), kv);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    for (int i = 0; i < nrules; i++) {
        if (strcmp(bw_rule_name(rules[i]), rule) == 0) {
            if (bw_rule_set(rules[i], key, eq + 1, &eb) != BW_OK) {
                cli_err("--set %s: %s", kv, eb.msg);
                return -1;
            }
            applied = 1;
        }
    }
    if (!applied) {
        const char *const *known = bw_rule_names();
        for (int i = 0; known[i]; i++)
            if (strcmp(known[i], rule) == 0)
                return 0; /* a known rule that is not selected: ignore */
        cli_err("--set %s: no rule named '%s'", kv, rule);
        return -1;
    }
    return 0;
}

/* Applies the config file's "ingest" section to io, where the command
 * line left the default. */
static int apply_ingest(const bw_config *c, bw_ingest_opts *io, const char *path)
{
    bw_ingest_opts from_cli = *io;
    for (int i = 0; i < bw_config_count(c); i++) {
        const bw_config_entry *e = bw_config_get(c, i);
        uint64_t v;
        if (strcmp(e->section, "ingest") != 0)
            continue;
        if (strcmp(e->key, "format") == 0) {
            bw_format f;
            if (bw_format_parse(e->value, &f) != 0) {
                cli_err("%s:%d: ingest.format: unknown format '%s'", path, e->line, e->value);
                return BW_EXIT_USAGE;
            }
            if (from_cli.format == BW_FMT_AUTO)
                io->format = f;
        } else if (strcmp(e->key, "threads") == 0 || strcmp(e->key, "max_record") == 0) {
            int thr = strcmp(e->key, "threads") == 0;
            if (cli_parse_count(e->value, &v) != 0 || v > (thr ? 256u : (1u << 30))) {
                cli_err("%s:%d: ingest.%s: expected a number%s", path, e->line, e->key,
                        thr ? " up to 256" : " of bytes up to 1G");
                return BW_EXIT_USAGE;
            }
            if (thr && from_cli.threads == 0)
                io->threads = (int)v;
            if (!thr && from_cli.max_record == 0)
                io->max_record = (uint32_t)v;
        } else {
            cli_err("%s:%d: ingest.%s: unknown key (expected format, threads, max_record)",
                    path, e->line, e->key);
            return BW_EXIT_USAGE;
        }
    }
    return 0;
}

int cli_rules_setup(const char *const *names, int n, const char *config,
                    const char *const *sets, int nsets, bw_rule **out, bw_ingest_opts *io)
{
    bw_errbuf eb = {{0}};
    bw_config *c = NULL;
    int rc = 0;
    if (config && !(c = bw_config_load(config, &eb))) {
        cli_err("%s", eb.msg);
        return BW_EXIT_USAGE;
    }
    if (c && io && (rc = apply_ingest(c, io, config)) != 0)
        goto out;
    for (int i = 0; i < n; i++) {
        if (!(out[i] = bw_rule_new(names[i], &eb))) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_USAGE;
            goto out;
        }
        if (c && bw_config_apply(c, out[i], &eb) != BW_OK) {
            cli_err("%s", eb.msg);
            rc = BW_EXIT_USAGE;
            goto out;
        }
    }
    for (int i = 0; i < nsets; i++)
        if (cli_apply_set(sets[i], out, n) != 0) {
            rc = BW_EXIT_USAGE;
            goto out;
        }
out:
    bw_config_free(c);
    return rc;
}
