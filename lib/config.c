/* YAML configuration files, read with libyaml's event parser into flat
 * (section, key, value) entries; the rules validate the values through
 * bw_rule_set so the file and --set share one set of checks. */
#include "beaconwatch/bw_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_ENTRIES 4096
#define MAX_VALUE (1 << 20)

struct bw_config {
    char *path;
    bw_config_entry *e;
    int n, cap;
};

static int push(bw_config *c, const char *sec, const char *key, const char *val, int line)
{
    bw_config_entry *e;
    if (c->n >= MAX_ENTRIES)
        return -1;
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 32;
        bw_config_entry *ne = realloc(c->e, (size_t)nc * sizeof *ne);
        if (!ne)
            return -1;
        c->e = ne;
        c->cap = nc;
    }
    e = &c->e[c->n];
    e->section = strdup(sec);
    e->key = strdup(key);
    e->value = strdup(val);
    e->line = line;
    if (!e->section || !e->key || !e->value) {
        free((char *)e->section);
        free((char *)e->key);
        free((char *)e->value);
        return -1;
    }
    c->n++;
    return 0;
}

static int known_section(const char *s)
{
    const char *const *names = bw_rule_names();
    if (strcmp(s, "ingest") == 0)
        return 1;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

/* The parser walks: stream > document > mapping(section -> mapping(key ->
 * scalar | sequence of scalars)). Anything else is a shape error. */
bw_config *bw_config_load(const char *path, bw_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    yaml_parser_t ps;
    yaml_event_t ev;
    bw_config *c = NULL;
    int depth = 0, ok = 0, have_parser = 0;
    char section[64] = "", key[128] = "";
    char *seqbuf = NULL;
    size_t seqlen = 0;
    int in_seq = 0, seq_line = 0, expect_key = 1;

    if (!f) {
        bw_errf(eb, BW_ERR_IO, "%s: cannot open configuration file", path);
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c)) || !(c->path = strdup(path)) ||
        !(seqbuf = malloc(MAX_VALUE + 1)))
        goto nomem;
    if (!yaml_parser_initialize(&ps))
        goto nomem;
    have_parser = 1;
    yaml_parser_set_input_file(&ps, f);
    for (;;) {
        if (!yaml_parser_parse(&ps, &ev)) {
            bw_errf(eb, BW_ERR_CONFIG, "%s:%lu: %s", path, (unsigned long)ps.problem_mark.line + 1,
                    ps.problem ? ps.problem : "YAML syntax error");
            goto fail;
        }
        int line = (int)ev.start_mark.line + 1;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        switch (t) {
        case YAML_MAPPING_START_EVENT:
            if (depth >= 2 || in_seq || (depth == 1 && expect_key)) {
                bw_errf(eb, BW_ERR_CONFIG, "%s:%d: %s%s: expected a value, not a mapping",
                        path, line, section, depth == 2 ? key : "");
                goto fail_ev;
            }
            depth++;
            expect_key = 1;
            break;
        case YAML_MAPPING_END_EVENT:
            depth--;
            expect_key = 1;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (depth != 2 || expect_key || in_seq) {
                bw_errf(eb, BW_ERR_CONFIG, "%s:%d: unexpected list", path, line);
                goto fail_ev;
            }
            in_seq = 1;
            seq_line = line;
            seqlen = 0;
            break;
        case YAML_SEQUENCE_END_EVENT:
            seqbuf[seqlen] = 0;
            if (push(c, section, key, seqbuf, seq_line) != 0)
                goto nomem_ev;
            in_seq = 0;
            expect_key = 1;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vl = ev.data.scalar.length;
            if (in_seq) {
                if (seqlen + vl + 1 > MAX_VALUE) {
                    bw_errf(eb, BW_ERR_CONFIG, "%s:%d: %s.%s: list too long", path, line,
                            section, key);
                    goto fail_ev;
                }
                if (seqlen)
                    seqbuf[seqlen++] = ',';
                memcpy(seqbuf + seqlen, v, vl);
                seqlen += vl;
            } else if (depth == 1 && expect_key) {
                if (vl >= sizeof section || !known_section(v)) {
                    bw_errf(eb, BW_ERR_CONFIG,
                            "%s:%d: unknown section '%s' (expected a rule name or 'ingest')",
                            path, line, v);
                    goto fail_ev;
                }
                snprintf(section, sizeof section, "%s", v);
                expect_key = 0;
            } else if (depth == 1) {
                bw_errf(eb, BW_ERR_CONFIG, "%s:%d: section '%s' must be a mapping of keys",
                        path, line, section);
                goto fail_ev;
            } else if (depth == 2 && expect_key) {
                if (vl >= sizeof key) {
                    bw_errf(eb, BW_ERR_CONFIG, "%s:%d: key too long", path, line);
                    goto fail_ev;
                }
                snprintf(key, sizeof key, "%s", v);
                expect_key = 0;
            } else if (depth == 2) {
                if (push(c, section, key, v, line) != 0)
                    goto nomem_ev;
                expect_key = 1;
            } else {
                bw_errf(eb, BW_ERR_CONFIG, "%s:%d: expected sections at the top level",
                        path, line);
                goto fail_ev;
            }
            break;
        }
        case YAML_ALIAS_EVENT:
            bw_errf(eb, BW_ERR_CONFIG, "%s:%d: YAML aliases are not supported", path, line);
            goto fail_ev;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    ok = 1;
    goto out;
nomem_ev:
    yaml_event_delete(&ev);
nomem:
    bw_errf(eb, BW_ERR_NOMEM, "out of memory (or more than %d entries)", MAX_ENTRIES);
    goto fail;
fail_ev:
    yaml_event_delete(&ev);
fail:
    ok = 0;
out:
    if (have_parser)
        yaml_parser_delete(&ps);
    free(seqbuf);
    fclose(f);
    if (!ok) {
        bw_config_free(c);
        return NULL;
    }
    return c;
}

void bw_config_free(bw_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        free((char *)c->e[i].section);
        free((char *)c->e[i].key);
        free((char *)c->e[i].value);
    }
    free(c->e);
    free(c->path);
    free(c);
}

int bw_config_count(const bw_config *c)
{
    return c->n;
}

const bw_config_entry *bw_config_get(const bw_config *c, int i)
{
    return i >= 0 && i < c->n ? &c->e[i] : NULL;
}

int bw_config_apply(const bw_config *c, bw_rule *r, bw_errbuf *eb)
{
    const char *name = bw_rule_name(r);
    for (int i = 0; i < c->n; i++) {
        const bw_config_entry *e = &c->e[i];
        bw_errbuf sub;
        if (strcmp(name, e->section) != 0)
            continue;
        if (bw_rule_set(r, e->key, e->value, &sub) != BW_OK)
            return bw_errf(eb, BW_ERR_CONFIG, "%s:%d: %s", c->path, e->line, sub.msg);
    }
    return BW_OK;
}
