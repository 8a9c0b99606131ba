/* Configuration files (YAML): rule parameters, lists, grouping and
 * internal networks, and ingest settings, as (section, key, value) entries
 * that are applied through the same setters as --set. See docs/config.md. */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include "bw_error.h"
#include "bw_rule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bw_config bw_config;

typedef struct bw_config_entry {
    const char *section; /* "elastic", "sentinel", ..., or "ingest" */
    const char *key;
    const char *value;   /* scalars as written; a sequence joined with "," */
    int line;            /* 1-based line in the file */
} bw_config_entry;

/* Reads and checks the shape of a YAML configuration file: a mapping of
 * sections to mappings of scalars or sequences of scalars. Sections must
 * be a rule name or "ingest". NULL with eb = "file:line: what" on error.
 * The returned object owns all entry strings. */
bw_config *bw_config_load(const char *path, bw_errbuf *eb);
/* Accepts NULL. */
void bw_config_free(bw_config *c);

int bw_config_count(const bw_config *c);
const bw_config_entry *bw_config_get(const bw_config *c, int i);

/* Applies every entry whose section is the rule's name (a preset such as
 * sentinel-panos has its own section). Errors name file:line and key. */
int bw_config_apply(const bw_config *c, bw_rule *r, bw_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
