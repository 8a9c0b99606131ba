/* The rule registry: maps rule names to implementations (rule_impl.h) and
 * forwards the public bw_rule_* calls to them. */
#include "rule_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bw_rule {
    const bw_rule_ops *ops;
    char name[32];
    void *st;
};

static const struct {
    const char *name;
    const bw_rule_ops *ops;
} registry[] = {
    {"elastic", &bw_rule_elastic_ops},
    {"beaconwatch", &bw_rule_beaconwatch_ops},
    {"sentinel", &bw_rule_sentinel_ops},
    {"sentinel-panos", &bw_rule_sentinel_ops},
    {"sentinel-wiredata", &bw_rule_sentinel_ops},
};
#define NRULES (sizeof registry / sizeof registry[0])

const char *const *bw_rule_names(void)
{
    static const char *names[NRULES + 1];
    for (size_t i = 0; i < NRULES; i++)
        names[i] = registry[i].name;
    names[NRULES] = NULL;
    return names;
}

static bw_rule *wrap(const bw_rule_ops *ops, const char *name, void *st)
{
    bw_rule *r;
    if (!st)
        return NULL;
    if (!(r = calloc(1, sizeof *r))) {
        ops->destroy(st);
        return NULL;
    }
    r->ops = ops;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->st = st;
    return r;
}

bw_rule *bw_rule_new(const char *name, bw_errbuf *eb)
{
    for (size_t i = 0; i < NRULES; i++) {
        if (strcmp(registry[i].name, name) == 0) {
            bw_rule *r = wrap(registry[i].ops, name, registry[i].ops->create(name));
            if (!r)
                bw_errf(eb, BW_ERR_NOMEM, "out of memory");
            return r;
        }
    }
    bw_errf(eb, BW_ERR_USAGE, "unknown rule '%s' (known: elastic, beaconwatch, sentinel, sentinel-panos, "
                              "sentinel-wiredata)", name);
    return NULL;
}

void bw_rule_free(bw_rule *r)
{
    if (!r)
        return;
    r->ops->destroy(r->st);
    free(r);
}

const char *bw_rule_name(const bw_rule *r)
{
    return r->name;
}

int bw_rule_set(bw_rule *r, const char *key, const char *value, bw_errbuf *eb)
{
    return r->ops->set(r->st, key, value, eb);
}

size_t bw_rule_params(const bw_rule *r, char *buf, size_t cap)
{
    return r->ops->params(r->st, buf, cap);
}

bw_rule *bw_rule_clone(const bw_rule *r, bw_errbuf *eb)
{
    bw_rule *c = wrap(r->ops, r->name, r->ops->clone(r->st));
    if (!c)
        bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    return c;
}

bw_rule *bw_rule_clone_shared(const bw_rule *r, bw_errbuf *eb)
{
    void *st = r->ops->clone_shared ? r->ops->clone_shared(r->st) : r->ops->clone(r->st);
    bw_rule *c = wrap(r->ops, r->name, st);
    if (!c)
        bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    return c;
}

int bw_rule_add(bw_rule *r, const bw_record *rec)
{
    return r->ops->add(r->st, rec);
}

int bw_rule_merge(bw_rule *into, bw_rule *from, bw_errbuf *eb)
{
    if (into->ops != from->ops)
        return bw_errf(eb, BW_ERR_USAGE, "cannot merge rule %s into %s", from->name,
                       into->name);
    return into->ops->merge(into->st, from->st, eb);
}

const char *const *bw_rule_columns(const bw_rule *r, int *ncols)
{
    *ncols = r->ops->ncols;
    return r->ops->columns;
}

int bw_rule_finish(bw_rule *r, const bw_run *run, bw_finding_fn fn, void *ctx, bw_errbuf *eb)
{
    return r->ops->finish(r->st, run, fn, ctx, eb);
}

size_t bw_rule_summary(const bw_rule *r, char *buf, size_t cap)
{
    return r->ops->summary(r->st, buf, cap);
}
