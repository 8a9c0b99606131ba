/* The record sampler: per group (keyed like the elastic rule's group_by)
 * the latest N session records, held in a min-heap on time so the oldest
 * is the one pushed out. Strings are interned into one arena per sampler;
 * groups, records and interned bytes are all capped, and what does not
 * fit is counted. The store writes the result (bw_store_put_sample). */
#include "store_sample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_PART 1024
#define INTERN_MAX_BYTES ((size_t)64 << 20)
#define FIELD_MAX 1024 /* longer strings are cut */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int bw_sample_key_parse(const char *s, bw_sample_key *out)
{
    static const char *const names[] = {"host_process", "src_dst_port", "src_dst", "src"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (bw_sample_key)i;
            return 0;
        }
    return -1;
}

bw_sampler *bw_sampler_new(bw_sample_key key, uint32_t per_group, uint32_t max_groups,
                           uint64_t max_records)
{
    bw_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->key = key;
    s->per_group = per_group ? per_group : 1;
    s->max_groups = max_groups ? max_groups : 1;
    s->max_records = max_records;
    /* Seeded so that hostile keys cannot aim at one chain. */
    s->seed = mix((uint64_t)(uintptr_t)s ^ 0x9e3779b97f4a7c15ull) | 1;
    s->arena_len = 1; /* offset 0 is the empty string */
    return s;
}

void bw_sampler_free(bw_sampler *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ngroups; i++) {
        free(s->groups[i].key);
        free(s->groups[i].recs);
    }
    free(s->groups);
    free(s->gtab);
    free(s->arena);
    free(s->stab);
    free(s);
}

/* Interned offset of a string; 0 for empty or when the arena is full. */
static int intern(bw_sampler *s, const char *p, size_t n, uint32_t *out)
{
    *out = 0;
    if (n == 0)
        return 0;
    if (n > FIELD_MAX)
        n = FIELD_MAX;
    if (s->nstr * 2 >= s->stab_cap) {
        size_t cap = s->stab_cap ? s->stab_cap * 2 : 1024;
        uint32_t *t = calloc(cap, sizeof *t);
        if (!t)
            return BW_ERR_NOMEM;
        for (size_t i = 0; i < s->stab_cap; i++) {
            uint32_t o = s->stab[i];
            if (!o)
                continue;
            size_t l = strlen(s->arena + o);
            size_t at = hash_bytes(s->seed, s->arena + o, l) & (cap - 1);
            while (t[at])
                at = (at + 1) & (cap - 1);
            t[at] = o;
        }
        free(s->stab);
        s->stab = t;
        s->stab_cap = cap;
    }
    size_t at = hash_bytes(s->seed, p, n) & (s->stab_cap - 1);
    while (s->stab[at]) {
        const char *e = s->arena + s->stab[at];
        if (strncmp(e, p, n) == 0 && e[n] == '\0' && !memchr(p, '\0', n)) {
            *out = s->stab[at];
            return 0;
        }
        at = (at + 1) & (s->stab_cap - 1);
    }
    if (memchr(p, '\0', n))
        return 0; /* not representable as text; dropped */
    if (s->arena_len + n + 1 > INTERN_MAX_BYTES) {
        s->strings_dropped++;
        return 0;
    }
    if (s->arena_len + n + 1 > s->arena_cap) {
        size_t cap = s->arena_cap ? s->arena_cap : 65536;
        while (cap < s->arena_len + n + 1)
            cap *= 2;
        char *a = realloc(s->arena, cap);
        if (!a)
            return BW_ERR_NOMEM;
        if (!s->arena)
            a[0] = '\0';
        s->arena = a;
        s->arena_cap = cap;
    }
    uint32_t o = (uint32_t)s->arena_len;
    memcpy(s->arena + o, p, n);
    s->arena[o + n] = '\0';
    s->arena_len += n + 1;
    s->stab[at] = o;
    s->nstr++;
    *out = o;
    return 0;
}

/* The group of (host, proc), created when there is room; *g = NULL when
 * the group cap is reached. */
static int find_group(bw_sampler *s, const char *h, size_t hl, const char *p, size_t pl,
                      bw_sample_group **g)
{
    uint64_t hash = mix(hash_bytes(hash_bytes(s->seed, h, hl), p, pl) + hl);
    *g = NULL;
    if (s->ngroups * 2 >= s->gtab_cap) {
        size_t cap = s->gtab_cap ? s->gtab_cap * 2 : 1024;
        uint32_t *t = calloc(cap, sizeof *t);
        if (!t)
            return BW_ERR_NOMEM;
        for (size_t i = 0; i < s->ngroups; i++) {
            size_t at = s->groups[i].hash & (cap - 1);
            while (t[at])
                at = (at + 1) & (cap - 1);
            t[at] = (uint32_t)i + 1;
        }
        free(s->gtab);
        s->gtab = t;
        s->gtab_cap = cap;
    }
    size_t at = hash & (s->gtab_cap - 1);
    while (s->gtab[at]) {
        bw_sample_group *e = &s->groups[s->gtab[at] - 1];
        if (e->hash == hash && e->hlen == hl && e->plen == pl &&
            memcmp(e->key, h, hl) == 0 && memcmp(e->key + hl + 1, p, pl) == 0) {
            *g = e;
            return 0;
        }
        at = (at + 1) & (s->gtab_cap - 1);
    }
    if (s->ngroups >= s->max_groups)
        return 0;
    if (s->ngroups == s->groups_cap) {
        size_t cap = s->groups_cap ? s->groups_cap * 2 : 256;
        bw_sample_group *ng = realloc(s->groups, cap * sizeof *ng);
        if (!ng)
            return BW_ERR_NOMEM;
        s->groups = ng;
        s->groups_cap = cap;
    }
    bw_sample_group *e = &s->groups[s->ngroups];
    memset(e, 0, sizeof *e);
    if (!(e->key = malloc(hl + pl + 2)))
        return BW_ERR_NOMEM;
    memcpy(e->key, h, hl);
    e->key[hl] = '\0';
    memcpy(e->key + hl + 1, p, pl);
    e->key[hl + 1 + pl] = '\0';
    e->hlen = (uint32_t)hl;
    e->plen = (uint32_t)pl;
    e->hash = hash;
    s->gtab[at] = (uint32_t)s->ngroups + 1;
    s->ngroups++;
    *g = e;
    return 0;
}

static void sift_down(bw_sample_rec *a, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && a[l].ts_us < a[m].ts_us)
            m = l;
        if (r < n && a[r].ts_us < a[m].ts_us)
            m = r;
        if (m == i)
            return;
        bw_sample_rec t = a[i];
        a[i] = a[m];
        a[m] = t;
        i = m;
    }
}

/* Offers one record to a group's heap. */
static int push(bw_sampler *s, bw_sample_group *g, const bw_sample_rec *r)
{
    if (g->n < s->per_group && s->nrecords < s->max_records) {
        if (g->n == g->cap) {
            uint32_t cap = g->cap ? g->cap * 2 : 16;
            if (cap > s->per_group)
                cap = s->per_group;
            bw_sample_rec *nr = realloc(g->recs, cap * sizeof *nr);
            if (!nr)
                return BW_ERR_NOMEM;
            g->recs = nr;
            g->cap = cap;
        }
        uint32_t i = g->n++;
        g->recs[i] = *r;
        while (i > 0 && g->recs[(i - 1) / 2].ts_us > g->recs[i].ts_us) {
            bw_sample_rec t = g->recs[i];
            g->recs[i] = g->recs[(i - 1) / 2];
            g->recs[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        s->nrecords++;
        return 0;
    }
    if (g->n == 0 || r->ts_us <= g->recs[0].ts_us) {
        if (g->n < s->per_group)
            s->dropped_budget++;
        else
            s->replaced++; /* older than all kept: it is the one pushed out */
        return 0;
    }
    g->recs[0] = *r;
    sift_down(g->recs, g->n, 0);
    s->replaced++;
    return 0;
}

int bw_sampler_add(bw_sampler *s, const bw_record *rec)
{
    char hbuf[BW_IP_STRLEN], pbuf[BW_IP_STRLEN + 16];
    const char *h, *p;
    size_t hl, pl;
    if (s->key == BW_SAMPLE_HOST_PROCESS) {
        h = rec->host_name.p;
        hl = rec->host_name.n;
        p = rec->process_name.p;
        pl = rec->process_name.n;
        if (!hl || !pl || hl > MAX_KEY_PART || pl > MAX_KEY_PART)
            return 0;
    } else {
        if (!rec->src_ip.family)
            return 0;
        hl = bw_ip_format(&rec->src_ip, hbuf);
        h = hbuf;
        char ip[BW_IP_STRLEN];
        size_t n = rec->dst_ip.family ? bw_ip_format(&rec->dst_ip, ip) : 0;
        ip[n] = '\0';
        int k;
        if (s->key == BW_SAMPLE_SRC_DST_PORT && rec->dst_port >= 0)
            k = snprintf(pbuf, sizeof pbuf, rec->dst_ip.family == 6 ? "[%s]:%d" : "%s:%d", ip,
                         (int)rec->dst_port);
        else if (s->key == BW_SAMPLE_SRC)
            k = snprintf(pbuf, sizeof pbuf, "*");
        else
            k = snprintf(pbuf, sizeof pbuf, "%s", ip);
        p = pbuf;
        pl = k > 0 ? (size_t)k : 0;
    }
    s->seen++;
    bw_sample_group *g;
    int err = find_group(s, h, hl, p, pl, &g);
    if (err)
        return err;
    if (!g) {
        s->dropped_groups++;
        return 0;
    }
    /* Cheap reject before interning: a full group only takes newer ones. */
    if (g->n == s->per_group && rec->ts_us <= g->recs[0].ts_us) {
        s->replaced++;
        return 0;
    }
    bw_sample_rec r;
    memset(&r, 0, sizeof r);
    r.ts_us = rec->ts_us;
    r.duration_us = rec->duration_us;
    r.src_bytes = rec->src_bytes;
    r.dst_bytes = rec->dst_bytes;
    r.src_ip = rec->src_ip;
    r.dst_ip = rec->dst_ip;
    r.src_port = rec->src_port;
    r.dst_port = rec->dst_port;
    if ((err = intern(s, rec->transport.p, rec->transport.n, &r.s[BW_SS_TRANSPORT])) ||
        (err = intern(s, rec->host_name.p, rec->host_name.n, &r.s[BW_SS_HOST])) ||
        (err = intern(s, rec->process_name.p, rec->process_name.n, &r.s[BW_SS_PROCESS])) ||
        (err = intern(s, rec->dst_domain.p, rec->dst_domain.n, &r.s[BW_SS_DOMAIN])) ||
        (err = intern(s, rec->event_action.p, rec->event_action.n, &r.s[BW_SS_ACTION])) ||
        (err = intern(s, rec->conn_state.p, rec->conn_state.n, &r.s[BW_SS_STATE])))
        return err;
    return push(s, g, &r);
}

int bw_sampler_merge(bw_sampler *into, bw_sampler *from)
{
    int err = 0;
    /* The workers' record budgets add up: each worker got its share. */
    into->max_records += from->max_records;
    from->max_records = 0;
    for (size_t i = 0; i < from->ngroups; i++) {
        bw_sample_group *fg = &from->groups[i], *g;
        if ((err = find_group(into, fg->key, fg->hlen, fg->key + fg->hlen + 1, fg->plen, &g)))
            return err;
        if (!g) {
            into->dropped_groups += fg->n;
            continue;
        }
        for (uint32_t k = 0; k < fg->n; k++) {
            bw_sample_rec r = fg->recs[k];
            for (int j = 0; j < BW_SS__COUNT; j++) {
                const char *str = from->arena ? from->arena + fg->recs[k].s[j] : "";
                if ((err = intern(into, str, strlen(str), &r.s[j])))
                    return err;
            }
            if ((err = push(into, g, &r)))
                return err;
        }
    }
    into->seen += from->seen;
    into->dropped_groups += from->dropped_groups;
    into->dropped_budget += from->dropped_budget;
    into->replaced += from->replaced;
    into->strings_dropped += from->strings_dropped;
    /* Leave `from` empty but usable. */
    for (size_t i = 0; i < from->ngroups; i++) {
        free(from->groups[i].key);
        free(from->groups[i].recs);
    }
    from->ngroups = 0;
    from->nrecords = 0;
    from->seen = from->dropped_groups = from->dropped_budget = from->replaced = 0;
    from->strings_dropped = 0;
    if (from->gtab)
        memset(from->gtab, 0, from->gtab_cap * sizeof *from->gtab);
    return 0;
}

void bw_sampler_stats_get(const bw_sampler *s, bw_sampler_stats *st)
{
    st->groups = s->ngroups;
    st->records = s->nrecords;
    st->seen = s->seen;
    st->dropped_groups = s->dropped_groups;
    st->dropped_budget = s->dropped_budget;
    st->replaced = s->replaced;
}
