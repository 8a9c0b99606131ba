/* Name and address lists the rules filter on: the built-in default copies
 * (the same entries as config/lists/<name>.txt, compiled in), a parser for the
 * user-editable text form, and two small matchers: an exact-name set and a
 * CIDR list. Any rule may use them. */
#ifndef BW_RULE_LISTS_H
#define BW_RULE_LISTS_H

#include <stddef.h>

#include "beaconwatch/bw_error.h"
#include "beaconwatch/bw_record.h"

/* The built-in lists. bw_list_name() is the stem of the matching file in
 * config/lists/ ("elastic-excluded-processes" -> ...txt). */
typedef enum bw_list_id {
    BW_LIST_ELASTIC_EXCLUDED = 0, /* 125 processes the transform ignores */
    BW_LIST_ELASTIC_SPECIAL,      /* 9 processes of condition (b) */
    BW_LIST_ELASTIC_MICROSOFT,    /* Microsoft ranges, condition (b) */
    BW_LIST_ELASTIC_RESERVED,     /* reserved / private destination ranges */
    BW_LIST_ELASTIC_ALERT_EXCLUDED, /* 38 processes the alert rule skips */
    BW_LIST_RFC1918,              /* 10/8, 172.16/12, 192.168/16 */
    BW_LIST__COUNT
} bw_list_id;

/* Static name of a list; NULL for an unknown id. */
const char *bw_list_name(bw_list_id id);
/* The static entries of a built-in list and their count; NULL (and *n = 0)
 * for an unknown id. */
const char *const *bw_list_entries(bw_list_id id, size_t *n);

/* A set of exact, case-sensitive names (process names). Entries are copied
 * into the set; lookups take a slice. Sorted array + binary search: the
 * lists are small and read-only once built. */
typedef struct bw_name_set bw_name_set;

/* An empty set; NULL on ENOMEM. */
bw_name_set *bw_name_set_new(void);
/* Accepts NULL. */
void bw_name_set_free(bw_name_set *s);
/* A deep copy; NULL on ENOMEM. */
bw_name_set *bw_name_set_dup(const bw_name_set *s);
/* Adds one name (copied; duplicates are ignored). 0 or BW_ERR_NOMEM. */
int bw_name_set_add(bw_name_set *s, const char *p, size_t n);
/* Adds every entry of a built-in list. 0 or BW_ERR_NOMEM. */
int bw_name_set_add_list(bw_name_set *s, bw_list_id id);
/* Adds the names of a list file's text: one name a line, leading and
 * trailing blanks trimmed, empty lines and lines starting with '#'
 * skipped. `origin` names the text in errors. 0, BW_ERR_NOMEM, or
 * BW_ERR_CONFIG for a NUL byte in a name. */
int bw_name_set_parse(bw_name_set *s, const char *text, size_t n,
                      const char *origin, bw_errbuf *eb);
/* 1 when the name is in the set. */
int bw_name_set_has(const bw_name_set *s, const char *p, size_t n);
size_t bw_name_set_count(const bw_name_set *s);

/* A list of IPv4/IPv6 prefixes. */
typedef struct bw_cidr_list bw_cidr_list;

bw_cidr_list *bw_cidr_list_new(void);
void bw_cidr_list_free(bw_cidr_list *l);
bw_cidr_list *bw_cidr_list_dup(const bw_cidr_list *l);
/* Removes every entry. */
void bw_cidr_list_clear(bw_cidr_list *l);
int bw_cidr_list_add(bw_cidr_list *l, const bw_cidr *c);
/* Adds every entry of a built-in list (which must be a range list). */
int bw_cidr_list_add_list(bw_cidr_list *l, bw_list_id id);
/* Adds the prefixes in text: entries separated by newlines or commas,
 * blanks trimmed, '#' starts a comment to the end of the line. A bare
 * address is a /32 or /128. BW_ERR_CONFIG naming origin and the entry for
 * a bad one (the list is then left unchanged). */
int bw_cidr_list_parse(bw_cidr_list *l, const char *text, size_t n,
                       const char *origin, bw_errbuf *eb);
/* 1 when ip lies in any prefix of the list. */
int bw_cidr_list_contains(const bw_cidr_list *l, const bw_ip *ip);
size_t bw_cidr_list_count(const bw_cidr_list *l);
/* Writes the entries comma-separated ("10.0.0.0/8,fe80::/10") and returns
 * the length needed, like snprintf. */
size_t bw_cidr_list_format(const bw_cidr_list *l, char *buf, size_t cap);

#endif
