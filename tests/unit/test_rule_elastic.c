/* Unit tests of rule `elastic`: each statistical step of the transform's
 * reduce on hand-computed inputs, bucketing, scope and group-by, parameter
 * errors, clone/merge, memory bounding, and the conformance vectors in
 * ../shared/conformance/elastic (reproduced to 1e-9 relative). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_elastic.h"
#include "rule_impl.h"
#include "rule_lists.h"
#include "tap.h"

static const bw_rule_ops *const ops = &bw_rule_elastic_ops;

#define CLOSE(a, b) (fabs((a) - (b)) <= 1e-12 + 1e-9 * fabs(b))

/* ------------------------------------------------------------------ */
/* A minimal JSON reader for the test vectors (private to this test;    */
/* the project's reader is lib/ingest_ecs.c).                           */
/* ------------------------------------------------------------------ */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jv {
    int t;
    double num;
    int b;
    char *s;          /* J_STR value */
    size_t sn;
    struct jv *kids;  /* J_ARR / J_OBJ */
    char **keys;      /* J_OBJ */
    size_t n;
} jv;

static void jv_free(jv *v)
{
    if (v->t == J_STR)
        free(v->s);
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->kids[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->kids);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static int jparse(const char **p, jv *out);

static int jstr(const char **p, char **s, size_t *sn)
{
    const char *q = *p + 1;
    size_t cap = 16, n = 0;
    char *b = malloc(cap);
    while (*q && *q != '"') {
        char c = *q++;
        if (c == '\\') {
            c = *q++;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c == 'u') {
                unsigned u = (unsigned)strtoul((char[5]){q[0], q[1], q[2], q[3], 0}, NULL, 16);
                q += 4;
                c = (char)(u < 0x80 ? u : '?');
            }
        }
        if (n + 2 > cap)
            b = realloc(b, cap *= 2);
        b[n++] = c;
    }
    if (*q != '"') {
        free(b);
        return -1;
    }
    b[n] = 0;
    *s = b;
    *sn = n;
    *p = q + 1;
    return 0;
}

static int jparse(const char **p, jv *out)
{
    memset(out, 0, sizeof *out);
    ws(p);
    if (**p == '{' || **p == '[') {
        int obj = **p == '{';
        out->t = obj ? J_OBJ : J_ARR;
        (*p)++;
        ws(p);
        size_t cap = 0;
        if (**p == (obj ? '}' : ']')) {
            (*p)++;
            return 0;
        }
        for (;;) {
            if (out->n == cap) {
                cap = cap ? 2 * cap : 8;
                out->kids = realloc(out->kids, cap * sizeof *out->kids);
                if (obj)
                    out->keys = realloc(out->keys, cap * sizeof *out->keys);
            }
            ws(p);
            if (obj) {
                size_t kn;
                if (**p != '"' || jstr(p, &out->keys[out->n], &kn))
                    return -1;
                ws(p);
                if (**p != ':')
                    return -1;
                (*p)++;
            }
            if (jparse(p, &out->kids[out->n])) {
                if (obj)
                    free(out->keys[out->n]);
                return -1;
            }
            out->n++;
            ws(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == (obj ? '}' : ']')) {
                (*p)++;
                return 0;
            }
            return -1;
        }
    }
    if (**p == '"') {
        out->t = J_STR;
        return jstr(p, &out->s, &out->sn);
    }
    if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
        out->t = J_BOOL;
        out->b = **p == 't';
        *p += out->b ? 4 : 5;
        return 0;
    }
    if (!strncmp(*p, "null", 4)) {
        *p += 4;
        return 0;
    }
    char *end;
    out->num = strtod(*p, &end);
    if (end == *p)
        return -1;
    out->t = J_NUM;
    *p = end;
    return 0;
}

/* Leaves of a document with dotted paths (nested and dotted keys alike). */
typedef struct leaf {
    char path[128];
    const jv *v;
} leaf;

static size_t flatten(const jv *v, const char *prefix, leaf *out, size_t n, size_t cap)
{
    for (size_t i = 0; i < v->n && n < cap; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", v->keys[i]);
        if (v->kids[i].t == J_OBJ) {
            n = flatten(&v->kids[i], path, out, n, cap);
        } else {
            snprintf(out[n].path, sizeof out[n].path, "%s", path);
            out[n++].v = &v->kids[i];
        }
    }
    return n;
}

static const jv *find_leaf(const leaf *l, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i].path, path))
            return l[i].v;
    return NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    b[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return b;
}

/* One ECS event (nested objects) to a record; strings point into ev. */
static void to_record(const jv *ev, bw_record *r)
{
    leaf l[64];
    size_t n = flatten(ev, "", l, 0, 64);
    const jv *v;
    bw_record_clear(r);
#define STR(field, path)                                                \
    if ((v = find_leaf(l, n, path)) && v->t == J_STR) {                 \
        r->field.p = v->s;                                              \
        r->field.n = v->sn;                                             \
    }
    STR(host_name, "host.name");
    STR(process_name, "process.name");
    STR(event_action, "event.action");
#undef STR
    if ((v = find_leaf(l, n, "@timestamp")) && v->t == J_STR)
        bw_time_parse(v->s, v->sn, &r->ts_us);
    if ((v = find_leaf(l, n, "event.category"))) {
        if (v->t == J_STR && !strcmp(v->s, "network"))
            r->flags |= BW_REC_CAT_NETWORK;
        for (size_t i = 0; v->t == J_ARR && i < v->n; i++)
            if (v->kids[i].t == J_STR && !strcmp(v->kids[i].s, "network"))
                r->flags |= BW_REC_CAT_NETWORK;
        r->event_category.p = "x"; /* present */
        r->event_category.n = 1;
    }
    if ((v = find_leaf(l, n, "source.ip")) && v->t == J_STR)
        bw_ip_parse(v->s, v->sn, &r->src_ip);
    if ((v = find_leaf(l, n, "destination.ip")) && v->t == J_STR)
        bw_ip_parse(v->s, v->sn, &r->dst_ip);
    if ((v = find_leaf(l, n, "source.port")) && v->t == J_NUM)
        r->src_port = (int32_t)v->num;
    if ((v = find_leaf(l, n, "destination.port")) && v->t == J_NUM)
        r->dst_port = (int32_t)v->num;
    if ((v = find_leaf(l, n, "source.bytes")) && v->t == J_NUM)
        r->src_bytes = (int64_t)v->num;
    if ((v = find_leaf(l, n, "destination.bytes")) && v->t == J_NUM)
        r->dst_bytes = (int64_t)v->num;
}

/* Parsed lines of an NDJSON file. */
typedef struct docs {
    jv *v;
    size_t n;
} docs;

static void docs_free(docs *d)
{
    for (size_t i = 0; i < d->n; i++)
        jv_free(&d->v[i]);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

static int load_ndjson_text(const char *text, docs *d)
{
    size_t cap = 0;
    const char *p = text;
    d->v = NULL;
    d->n = 0;
    for (;;) {
        ws(&p);
        if (!*p)
            return 0;
        if (d->n == cap)
            d->v = realloc(d->v, (cap = cap ? 2 * cap : 256) * sizeof *d->v);
        if (jparse(&p, &d->v[d->n]))
            return -1;
        d->n++;
    }
}

static int load_ndjson(const char *path, docs *d)
{
    char *t = read_file(path, NULL);
    if (!t)
        return -1;
    int r = load_ndjson_text(t, d);
    free(t);
    return r;
}

/* Collects the findings' JSON lines and other fields. */
typedef struct sink {
    char *text;
    size_t n, cap;
    int count, alerts;
    int stop_after;
} sink;

static int collect(void *ctx, const bw_finding *f)
{
    sink *s = ctx;
    size_t k = strlen(f->json);
    if (s->n + k + 2 > s->cap) {
        s->cap = (s->n + k + 2) * 2;
        s->text = realloc(s->text, s->cap);
    }
    memcpy(s->text + s->n, f->json, k);
    s->n += k;
    s->text[s->n++] = '\n';
    s->text[s->n] = 0;
    s->count++;
    s->alerts += f->alert;
    CHECK(f->ncols == 9);
    CHECK(strlen(f->id) == 64);
    CHECK_STR(f->rule, "elastic");
    CHECK(f->index && !strncmp(f->index, "ml_beaconing-", 13));
    return s->stop_after && s->count >= s->stop_after;
}

/* Drops trailing zeros of an ISO time's fraction (compare.py norm_time). */
static void norm_time(const char *in, char *out, size_t cap)
{
    snprintf(out, cap, "%s", in);
    char *dot = strchr(out, '.');
    size_t n = strlen(out);
    if (!dot || n < 2 || out[n - 1] != 'Z')
        return;
    char *e = out + n - 1;
    while (e > dot + 1 && e[-1] == '0')
        e--;
    if (e == dot + 1)
        e = dot;
    memcpy(e, "Z", 2);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int same_value(const jv *e, const jv *a, const char *path)
{
    size_t pl = strlen(path);
    if (e->t == J_ARR && a->t == J_ARR && pl >= 15 &&
        !strcmp(path + pl - 15, "destination_ips")) {
        if (e->n != a->n)
            return 0;
        char **x = malloc(e->n * sizeof *x + 1), **y = malloc(e->n * sizeof *y + 1);
        for (size_t i = 0; i < e->n; i++) {
            x[i] = e->kids[i].s;
            y[i] = a->kids[i].s;
        }
        qsort(x, e->n, sizeof *x, cmp_str_ptr);
        qsort(y, e->n, sizeof *y, cmp_str_ptr);
        int ok = 1;
        for (size_t i = 0; i < e->n && ok; i++)
            ok = x[i] && y[i] && !strcmp(x[i], y[i]);
        free(x);
        free(y);
        return ok;
    }
    if (e->t != a->t)
        return 0;
    switch (e->t) {
    case J_BOOL:
        return e->b == a->b;
    case J_NUM:
        return CLOSE(a->num, e->num);
    case J_STR: {
        char x[64], y[64];
        norm_time(e->s, x, sizeof x);
        norm_time(a->s, y, sizeof y);
        return !strcmp(x, y);
    }
    case J_ARR:
        if (e->n != a->n)
            return 0;
        for (size_t i = 0; i < e->n; i++)
            if (!same_value(&e->kids[i], &a->kids[i], path))
                return 0;
        return 1;
    default:
        return 1;
    }
}

/* compare.py in C: every expected document matched field by field, and no
 * extra document. Returns the number of problems (printed). */
static int compare_docs(const char *name, const docs *exp, const docs *act)
{
    int bad = 0;
    char *used = calloc(act->n + 1, 1);
    for (size_t i = 0; i < exp->n; i++) {
        leaf le[64], la[64];
        size_t ne = flatten(&exp->v[i], "", le, 0, 64);
        const jv *eh = find_leaf(le, ne, "host.name"), *ep = find_leaf(le, ne, "process.name");
        size_t j;
        size_t na = 0;
        for (j = 0; j < act->n; j++) {
            na = flatten(&act->v[j], "", la, 0, 64);
            const jv *ah = find_leaf(la, na, "host.name");
            const jv *ap = find_leaf(la, na, "process.name");
            if (!used[j] && ah && ap && !strcmp(ah->s, eh->s) && !strcmp(ap->s, ep->s))
                break;
        }
        if (j == act->n) {
            printf("# %s: missing (%s, %s)\n", name, eh->s, ep->s);
            bad++;
            continue;
        }
        used[j] = 1;
        for (size_t k = 0; k < ne; k++) {
            const jv *av = find_leaf(la, na, le[k].path);
            if (!av) {
                printf("# %s: (%s, %s) missing field %s\n", name, eh->s, ep->s, le[k].path);
                bad++;
            } else if (!same_value(le[k].v, av, le[k].path)) {
                printf("# %s: (%s, %s) differs in %s", name, eh->s, ep->s, le[k].path);
                if (av->t == J_NUM && le[k].v->t == J_NUM)
                    printf(": expected %.17g got %.17g", le[k].v->num, av->num);
                printf("\n");
                bad++;
            }
        }
    }
    for (size_t j = 0; j < act->n; j++) {
        if (!used[j]) {
            printf("# %s: unexpected document %zu\n", name, j);
            bad++;
        }
    }
    free(used);
    return bad;
}

/* ------------------------------------------------------------------ */
/* Step tests                                                           */
/* ------------------------------------------------------------------ */

static void test_pct_index(void)
{
    CHECK(bw_elastic_pct_index(0.1, 10) == 1); /* (int)1.5 */
    CHECK(bw_elastic_pct_index(0.8, 10) == 8); /* (int)8.5 */
    CHECK(bw_elastic_pct_index(0.1, 1) == 0);
    CHECK(bw_elastic_pct_index(0.8, 1) == 0);  /* min(1, 0) */
    CHECK(bw_elastic_pct_index(0.8, 3) == 2);  /* (int)2.9 */
    CHECK(bw_elastic_pct_index(0.1, 4) == 0);  /* (int)0.9 */
    CHECK(bw_elastic_pct_index(0.1, 5) == 1);  /* (int)1.0 */
    CHECK(bw_elastic_pct_index(1.0, 5) == 4);  /* min(5, 4) */
    CHECK(bw_elastic_pct_index(0.0, 7) == 0);
}

static void test_truncated(void)
{
    /* Non-zero values sorted: 10 20 30 40 50 60 70 80 90 1000 (m = 10):
     * p10 = v[1] = 20, p80 = v[8] = 90. Over [1, 12) the values inside
     * [20, 90]: 20 30 40 50 60 70 80 90 -> mean 55, variance
     * (35^2+25^2+15^2+5^2) * 2 / 8 = 525. */
    double v[12] = {10, 20, 30, 0, 40, 50, 1000, 60, 70, 80, 90, 0};
    double scratch[12], pct[2], mean, var;
    const double at[2] = {0.1, 0.8};
    bw_elastic_truncated(v, 12, 1, 12, at, scratch, pct, &mean, &var);
    CHECK(pct[0] == 20 && pct[1] == 90);
    CHECK(mean == 55);
    CHECK(var == 525);
    /* The range [a, b) limits the mean, not the percentiles: [3, 6) holds
     * 0 (outside [20, 90]), 40, 50 -> mean 45, variance 25. */
    bw_elastic_truncated(v, 12, 3, 6, at, scratch, pct, &mean, &var);
    CHECK(pct[0] == 20 && pct[1] == 90 && mean == 45 && var == 25);
    /* All equal: zero variance. */
    double w[5] = {0, 3, 3, 3, 0};
    bw_elastic_truncated(w, 5, 1, 4, at, scratch, pct, &mean, &var);
    CHECK(pct[0] == 3 && pct[1] == 3 && mean == 3 && var == 0);
}

static void test_bucket(void)
{
    const int64_t now = 1767247217, w = 360 * 60;
    CHECK(bw_elastic_bucket(now, now * 1000000, 60, 360) == 0);
    CHECK(bw_elastic_bucket(now, now * 1000000 + 999999, 60, 360) == 0); /* sub-second */
    CHECK(bw_elastic_bucket(now, (now + 1) * 1000000, 60, 360) == -1);   /* future */
    CHECK(bw_elastic_bucket(now, (now - 59) * 1000000, 60, 360) == 0);
    CHECK(bw_elastic_bucket(now, (now - 60) * 1000000, 60, 360) == 1);
    /* 60.5 s before now truncates to 61 s before: bucket 1. 59.5 s before
     * is second now - 60 (rounded down): bucket 1 too. */
    CHECK(bw_elastic_bucket(now, (now - 61) * 1000000 + 500000, 60, 360) == 1);
    CHECK(bw_elastic_bucket(now, (now - 60) * 1000000 + 500000, 60, 360) == 1);
    /* Exactly now - window is bucket 360: outside, as the transform's
     * bucket < counts.length; one second later is the oldest bucket. */
    CHECK(bw_elastic_bucket(now, (now - w) * 1000000, 60, 360) == -1);
    CHECK(bw_elastic_bucket(now, (now - w + 1) * 1000000, 60, 360) == 359);
    CHECK(bw_elastic_bucket(now, (now - w) * 1000000 + 999999, 60, 360) == -1);
    CHECK(bw_elastic_floor_sec(-1) == -1);
    CHECK(bw_elastic_floor_sec(-1000000) == -1);
    CHECK(bw_elastic_floor_sec(1999999) == 1);
}

static void test_reduce_early(void)
{
    bw_elastic_params p;
    bw_elastic_params_default(&p);
    double c[360] = {0}, s[360] = {0}, d[360] = {0};
    double *work = malloc(bw_elastic_work_size(360) * sizeof(double));
    bw_elastic_stats st;
    /* 5 events over 5 buckets: interval 5 < 12. */
    for (int i = 10; i < 15; i++)
        c[i] = 1;
    bw_elastic_reduce(&p, c, s, d, work, &st);
    CHECK(!st.full && !st.is_beaconing && st.interval == 5 && st.non_empty == 5);
    /* Wide interval (b - a = 31) but only 6 non-empty < 7. */
    memset(c, 0, sizeof c);
    for (int i = 0; i < 6; i++)
        c[100 + 6 * i] = 1;
    bw_elastic_reduce(&p, c, s, d, work, &st);
    CHECK(!st.full && st.interval == 31 && st.non_empty == 6);
    /* Nothing at all: a = 360, b = 0, as the transform computes. */
    memset(c, 0, sizeof c);
    bw_elastic_reduce(&p, c, s, d, work, &st);
    CHECK(!st.full && st.interval == -360 && st.non_empty == 0);
    free(work);
}

static void test_reduce_regular(void)
{
    /* One event a bucket for 20 buckets, 100/200 bytes each: the count,
     * bytes and period tests all pass; zero-variance pairs correlate 1.0. */
    bw_elastic_params p;
    bw_elastic_params_default(&p);
    double c[360] = {0}, s[360] = {0}, d[360] = {0};
    double *work = malloc(bw_elastic_work_size(360) * sizeof(double));
    bw_elastic_stats st;
    for (int i = 5; i < 25; i++) {
        c[i] = 2;
        s[i] = 200; /* sums: means 100 */
        d[i] = 400;
    }
    bw_elastic_reduce(&p, c, s, d, work, &st);
    CHECK(st.full && st.interval == 20 && st.non_empty == 20);
    CHECK(s[5] == 100 && d[5] == 200); /* step 1: means per event */
    CHECK(st.low_src && st.low_dst && st.low_count && st.periodic && st.is_beaconing);
    CHECK(st.score == 3);
    CHECK(st.mean_src == 100 && st.sd_src == 0 && st.pct_src[0] == 100);
    CHECK(st.mean_counts == 2 && st.var_counts == 0);
    CHECK(st.autocov == 1.0 && st.period == 2);

    /* Count test skipped when non_empty <= trunc(0.5 * (b - a)): 8 events
     * every 4th bucket (interval 29, non_empty 8 <= 14); stats stay 0. */
    memset(c, 0, sizeof c);
    memset(s, 0, sizeof s);
    memset(d, 0, sizeof d);
    for (int i = 0; i < 8; i++)
        c[3 + 4 * i] = 1;
    bw_elastic_reduce(&p, c, s, d, work, &st);
    CHECK(st.full && st.interval == 29 && st.non_empty == 8);
    CHECK(!st.low_count && st.mean_counts == 0 && st.pct_counts[0] == 0);
    /* No bytes at all: byte tests skipped (need > 6 non-zero buckets). */
    CHECK(!st.low_src && !st.low_dst && st.mean_src == 0);
    /* A period-4 pulse: period 4 correlates perfectly. */
    CHECK(st.periodic && st.period == 4 && st.autocov == 1.0);
    CHECK(st.score == 1 && st.is_beaconing);
    free(work);
}

/* Periodicity with divisor averaging, against values computed
 * independently (a direct transcription of the Painless reduce_script in
 * Python, run on these inputs). */
static void test_periodicity(void)
{
    bw_elastic_params p;
    bw_elastic_params_default(&p);
    p.nbuckets = 40;
    p.min_periods = 2;
    double c[40] = {0};
    double *work = malloc(bw_elastic_work_size(40) * sizeof(double));
    /* counts[2..26): a 6-periodic pattern with noise */
    static const double pat[24] = {3, 0, 1, 0, 2, 0, 3, 1, 1, 0, 2, 0,
                                   3, 0, 1, 0, 2, 1, 3, 0, 1, 0, 2, 0};
    for (int i = 0; i < 24; i++)
        c[2 + i] = pat[i];
    static const double want0[11] = {
        0.7798320327384545, 0.12012106862950274, 0.755215161704289, -0.620253164556962,
        0.9083969465648855, 0.1748149640244195, 0.7414672991144712, 0.13764944032233706,
        0.7937253933193772, 0.22283440581246225, 0.9655172413793104};
    static const double want3[11] = {
        0.7954255105386057, 0.13137572118771743, 0.7362991075212606, 0.925570182073364,
        0.8963188795709587, 0.9696969696969697, 0.9473684210526315, 0.7960979398444399,
        0.95, 1.0, 1.0};
    double corr[11];
    int period, ok = 1;
    /* max period 24 / 2 = 12; periods 2, 3, 4 also average in the windows
     * of their multiples (e.g. corr(2) is the mean over p = 2, 6, 8, 10,
     * 12; corr(6) is not averaged with 12 since 6 < 12 / 2 fails). */
    double r = bw_elastic_periodicity(&p, c, 2, 26, &period, work, corr);
    for (int k = 0; k < 11; k++)
        ok &= CLOSE(corr[k], want0[k]);
    CHECK(ok);
    CHECK(period == 12 && r == corr[10]);
    /* With jitter 0.3 the window shifts up to trunc(0.3 p) buckets; the
     * first of equal maxima wins (11 before 12). */
    p.max_jitter = 0.3;
    r = bw_elastic_periodicity(&p, c, 2, 26, &period, work, corr);
    ok = 1;
    for (int k = 0; k < 11; k++)
        ok &= CLOSE(corr[k], want3[k]);
    CHECK(ok);
    CHECK(period == 11 && r == 1.0);
    free(work);
}

/* ------------------------------------------------------------------ */
/* Rule-level tests                                                     */
/* ------------------------------------------------------------------ */

static bw_record rec_at(int64_t sec, const char *host, const char *proc, const char *src,
                        const char *dst, int dport)
{
    bw_record r;
    bw_record_clear(&r);
    r.ts_us = sec * 1000000;
    r.flags = BW_REC_CAT_NETWORK;
    r.event_action.p = "disconnect_received";
    r.event_action.n = 19;
    if (host) {
        r.host_name.p = host;
        r.host_name.n = strlen(host);
    }
    if (proc) {
        r.process_name.p = proc;
        r.process_name.n = strlen(proc);
    }
    bw_ip_parse(src, strlen(src), &r.src_ip);
    bw_ip_parse(dst, strlen(dst), &r.dst_ip);
    r.dst_port = dport;
    r.src_bytes = 100;
    r.dst_bytes = 200;
    return r;
}

static void test_params(void)
{
    void *st = ops->create("elastic");
    bw_errbuf eb = {{0}};
    CHECK(ops->set(st, "bogus", "1", &eb) == BW_ERR_CONFIG && strstr(eb.msg, "bogus"));
    CHECK(ops->set(st, "time_bucket_length", "0", &eb) == BW_ERR_CONFIG &&
          strstr(eb.msg, "time_bucket_length"));
    CHECK(ops->set(st, "time_bucket_length", "abc", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "time_bucket_length", "5m", &eb) == 0);
    CHECK(ops->set(st, "max_jitter", "1.5", &eb) == BW_ERR_CONFIG && strstr(eb.msg, "0..1"));
    CHECK(ops->set(st, "truncate_at", "0.9,0.1", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "truncate_at", "0.2", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "truncate_at", "[0.05, 0.95]", &eb) == 0);
    CHECK(ops->set(st, "group_by", "dst", &eb) == BW_ERR_CONFIG &&
          strstr(eb.msg, "src_dst_port"));
    CHECK(ops->set(st, "group_by", "src_dst", &eb) == 0);
    CHECK(ops->set(st, "internal", "10.0.0.0/33", &eb) == BW_ERR_CONFIG &&
          strstr(eb.msg, "internal"));
    CHECK(ops->set(st, "internal", "100.64.0.0/10, fd00::/8", &eb) == 0);
    CHECK(ops->set(st, "number_destination_ips", "0", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "min_number_periods", "-2", &eb) == BW_ERR_CONFIG);
    CHECK(ops->set(st, "now", "2026-01-01T06:00:17Z", &eb) == 0);
    CHECK(ops->set(st, "now", "yesterday", &eb) == BW_ERR_CONFIG);
    char buf[2048];
    size_t n = ops->params(st, buf, sizeof buf);
    CHECK(n > 0 && n < sizeof buf);
    CHECK(strstr(buf, "time_bucket_length = 300\n") != NULL);
    CHECK(strstr(buf, "truncate_at = 0.05,0.95\n") != NULL);
    CHECK(strstr(buf, "group_by = src_dst\n") != NULL);
    CHECK(strstr(buf, "internal = 100.64.0.0/10,fd00::/8\n") != NULL);
    CHECK(strstr(buf, "min_not_empty = 0.5\n") != NULL);
    CHECK(strstr(buf, "max_jitter = 0.0\n") != NULL);
    CHECK(strstr(buf, "now = 1767247217\n") != NULL);
    CHECK(ops->params(st, buf, 10) == n); /* returns the length needed */
    ops->params(st, buf, sizeof buf);
    CHECK(strstr(buf, "# lists: 125 excluded processes, 9 special processes, 26 reserved "
                      "ranges, 32 Microsoft ranges\n") != NULL);
    /* Lists replaced from user-edited files (config/lists format). */
    char path[] = "/tmp/bw_test_listXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("# mine\nfoo.exe\nbar baz\n", f);
    fclose(f);
    CHECK(ops->set(st, "excluded_processes_file", path, &eb) == 0);
    CHECK(ops->set(st, "reserved_ranges_file", path, &eb) == BW_ERR_CONFIG &&
          strstr(eb.msg, "foo.exe"));
    CHECK(ops->set(st, "special_processes_file", "/nonexistent/x.txt", &eb) == BW_ERR_IO);
    ops->params(st, buf, sizeof buf);
    CHECK(strstr(buf, "# lists: 2 excluded processes, 9 special") != NULL);
    remove(path);
    /* Parameters are frozen once records flow. */
    bw_record r = rec_at(1767247000, "h", "p", "10.0.0.1", "8.8.8.8", 443);
    CHECK(ops->add(st, &r) == 0);
    CHECK(ops->set(st, "max_jitter", "0.1", &eb) == BW_ERR_USAGE);
    ops->destroy(st);

    /* Defaults as SPEC §3. */
    st = ops->create("elastic");
    ops->params(st, buf, sizeof buf);
    CHECK(strstr(buf, "time_bucket_length = 60\nnumber_buckets_in_range = 360\n"
                      "min_number_periods = 6\nmin_not_empty = 0.5\n"
                      "max_beaconing_bytes_cov = 0.05\nmax_beaconing_count_rv = 0.1\n"
                      "truncate_at = 0.1,0.8\nmin_beaconing_count_autocovariance = 0.7\n"
                      "max_jitter = 0.0\nnumber_destination_ips = 10\n"
                      "group_by = host_process\n"
                      "internal = 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16\n") == buf);
    ops->destroy(st);
}

static void test_lists(void)
{
    size_t n;
    CHECK(bw_list_entries(BW_LIST_ELASTIC_EXCLUDED, &n) && n == 125);
    CHECK(bw_list_entries(BW_LIST_ELASTIC_SPECIAL, &n) && n == 9);
    CHECK(bw_list_entries(BW_LIST_ELASTIC_ALERT_EXCLUDED, &n) && n == 38);
    CHECK(bw_list_entries(BW_LIST_ELASTIC_RESERVED, &n) && n == 26);
    CHECK(bw_list_entries(BW_LIST_ELASTIC_MICROSOFT, &n) && n == 32);
    CHECK(!bw_list_entries(BW_LIST__COUNT, &n) && n == 0);
    CHECK_STR(bw_list_name(BW_LIST_ELASTIC_EXCLUDED), "elastic-excluded-processes");

    bw_name_set *s = bw_name_set_new();
    CHECK(bw_name_set_add_list(s, BW_LIST_ELASTIC_EXCLUDED) == 0);
    CHECK(bw_name_set_count(s) == 125);
    CHECK(bw_name_set_has(s, "chrome.exe", 10));
    CHECK(bw_name_set_has(s, "Code Helper (Renderer)", 22));
    CHECK(!bw_name_set_has(s, "Chrome.exe", 10)); /* exact, case-sensitive */
    CHECK(!bw_name_set_has(s, "chrome.ex", 9));
    const char *text = "# comment\n  my app.exe  \r\n\nother\n";
    CHECK(bw_name_set_parse(s, text, strlen(text), "t", NULL) == 0);
    CHECK(bw_name_set_has(s, "my app.exe", 10) && bw_name_set_has(s, "other", 5));
    CHECK(bw_name_set_count(s) == 127);
    bw_name_set_free(s);

    bw_cidr_list *l = bw_cidr_list_new();
    CHECK(bw_cidr_list_add_list(l, BW_LIST_ELASTIC_RESERVED) == 0);
    bw_ip ip;
    bw_ip_parse("192.0.0.171", 11, &ip);
    CHECK(bw_cidr_list_contains(l, &ip));
    bw_ip_parse("fe80::1", 7, &ip);
    CHECK(bw_cidr_list_contains(l, &ip));
    bw_ip_parse("2606:4700::1", 12, &ip);
    CHECK(!bw_cidr_list_contains(l, &ip));
    bw_ip_parse("8.8.8.8", 7, &ip);
    CHECK(!bw_cidr_list_contains(l, &ip));
    bw_errbuf eb = {{0}};
    const char *bad = "10.0.0.0/8\nnot-an-ip\n";
    size_t before = bw_cidr_list_count(l);
    CHECK(bw_cidr_list_parse(l, bad, strlen(bad), "f.txt", &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, "f.txt:2") && strstr(eb.msg, "not-an-ip"));
    CHECK(bw_cidr_list_count(l) == before);
    const char *good = "8.8.8.8 # dns\n1.1.1.0/24, 2001:db8::/32";
    CHECK(bw_cidr_list_parse(l, good, strlen(good), "f.txt", &eb) == 0);
    CHECK(bw_cidr_list_count(l) == before + 3);
    CHECK(bw_cidr_list_contains(l, &ip));
    bw_cidr_list_free(l);
}

/* Runs records through a fresh instance (optional params "k=v" list). */
static int run_records(const bw_record *r, int n, const char *const *kv, int64_t now_s,
                       int all, sink *out, char *summary, size_t scap)
{
    void *st = ops->create("elastic");
    bw_errbuf eb = {{0}};
    for (int i = 0; kv && kv[i]; i += 2)
        CHECK(ops->set(st, kv[i], kv[i + 1], &eb) == 0);
    for (int i = 0; i < n; i++)
        CHECK(ops->add(st, &r[i]) == 0);
    bw_run run = {now_s == BW_UNSET ? BW_UNSET : now_s * 1000000, BW_UNSET, BW_UNSET,
                  1767225600000000LL, all};
    memset(out, 0, sizeof *out);
    int err = ops->finish(st, &run, collect, out, &eb);
    if (summary)
        ops->summary(st, summary, scap);
    ops->destroy(st);
    return err;
}

static void test_scope_and_group_by(void)
{
    const int64_t now = 1767247217;
    bw_record r[40];
    int n = 0;
    /* A beacon every 120 s from 10.0.0.5 to 8.8.4.4:443 (no process). */
    for (int i = 0; i < 30; i++) {
        r[n] = rec_at(now - 10 - 120 * i, NULL, NULL, "10.0.0.5", "8.8.4.4", 443);
        r[n].event_action.n = 0; /* Zeek: no action, no category */
        r[n].flags = 0;
        n++;
    }
    sink s;
    char sum[512];
    /* host_process: not grouped (no host, no process, no action). */
    CHECK(run_records(r, n, NULL, now, 1, &s, sum, sizeof sum) == 0);
    CHECK(s.count == 0);
    CHECK(strstr(sum, "offered 30 events, kept 0") != NULL);
    free(s.text);

    static const char *const by_port[] = {"group_by", "src_dst_port", NULL};
    CHECK(run_records(r, n, by_port, now, 1, &s, NULL, 0) == 0);
    CHECK(s.count == 1 && s.alerts == 1);
    CHECK(strstr(s.text, "\"host\":{\"name\":\"10.0.0.5\"}") != NULL);
    CHECK(strstr(s.text, "\"process\":{\"name\":\"8.8.4.4:443\"}") != NULL);
    CHECK(strstr(s.text, "\"max_autocovariance_period\":2") != NULL);
    free(s.text);

    static const char *const by_src[] = {"group_by", "src", NULL};
    CHECK(run_records(r, n, by_src, now, 1, &s, NULL, 0) == 0);
    CHECK(s.count == 1 && strstr(s.text, "\"process\":{\"name\":\"*\"}") != NULL);
    free(s.text);

    /* src_dst with IPv6 and a custom internal network. */
    for (int i = 0; i < n; i++) {
        bw_ip_parse("2001:db8::5", 11, &r[i].src_ip);
        bw_ip_parse("2606:4700::1", 12, &r[i].dst_ip);
    }
    static const char *const v6[] = {"group_by", "src_dst_port", NULL};
    CHECK(run_records(r, n, v6, now, 1, &s, NULL, 0) == 0);
    CHECK(s.count == 0); /* 2001:db8::5 is not internal by default */
    free(s.text);
    static const char *const v6i[] = {"group_by", "src_dst_port", "internal", "2001:db8::/32",
                                      NULL};
    CHECK(run_records(r, n, v6i, now, 1, &s, NULL, 0) == 0);
    CHECK(s.count == 1 && strstr(s.text, "\"name\":\"[2606:4700::1]:443\"") != NULL);
    free(s.text);

    /* ECS records: an action other than disconnect_received never counts,
     * even when grouping by addresses. */
    for (int i = 0; i < n; i++) {
        r[i] = rec_at(now - 10 - 120 * i, "h", "p.exe", "10.0.0.5", "8.8.4.4", 443);
        r[i].event_action.p = "connection_attempted";
        r[i].event_action.n = 20;
    }
    CHECK(run_records(r, n, by_port, now, 1, &s, NULL, 0) == 0 && s.count == 0);
    free(s.text);
    /* Category without "network" (a text array), excluded process. */
    for (int i = 0; i < n; i++) {
        r[i] = rec_at(now - 10 - 120 * i, "h", "p.exe", "10.0.0.5", "8.8.4.4", 443);
        r[i].flags = 0;
        r[i].event_category.p = "[\"network\",\"process\"]";
        r[i].event_category.n = strlen(r[i].event_category.p);
    }
    CHECK(run_records(r, n, NULL, now, 1, &s, NULL, 0) == 0 && s.count == 1);
    free(s.text);
    for (int i = 0; i < n; i++) {
        r[i].event_category.p = "[\"networking\"]";
        r[i].event_category.n = strlen(r[i].event_category.p);
    }
    CHECK(run_records(r, n, NULL, now, 1, &s, NULL, 0) == 0 && s.count == 0);
    free(s.text);
    for (int i = 0; i < n; i++) {
        r[i] = rec_at(now - 10 - 120 * i, "h", "chrome.exe", "10.0.0.5", "8.8.4.4", 443);
    }
    CHECK(run_records(r, n, NULL, now, 1, &s, NULL, 0) == 0 && s.count == 0);
    free(s.text);
    /* Condition (b): public source, special process, non-Microsoft dest. */
    for (int i = 0; i < n; i++)
        r[i] = rec_at(now - 10 - 120 * i, "h", "OUTLOOK.EXE", "8.8.8.8", "93.184.216.34", 443);
    CHECK(run_records(r, n, NULL, now, 0, &s, NULL, 0) == 0 && s.count == 1);
    free(s.text);
    for (int i = 0; i < n; i++)
        bw_ip_parse("40.76.1.1", 9, &r[i].dst_ip); /* Microsoft */
    CHECK(run_records(r, n, NULL, now, 1, &s, NULL, 0) == 0 && s.count == 0);
    free(s.text);
}

static void test_document(void)
{
    const int64_t now = 1767247217;
    bw_record r[60];
    int n = 0;
    /* Sub-second times: @timestamp keeps milliseconds; bucketing truncates. */
    for (int i = 0; i < 50; i++) {
        r[n] = rec_at(now - 60 * i, "w\"s", "evil.exe", "10.1.2.3",
                      i % 2 ? "1.2.3.4" : "5.6.7.8", 443);
        r[n].ts_us += 123456; /* .123456 s */
        n++;
    }
    sink s;
    CHECK(run_records(r, n, NULL, now, 0, &s, NULL, 0) == 0 && s.count == 1);
    docs d;
    CHECK(load_ndjson_text(s.text, &d) == 0 && d.n == 1);
    leaf l[64];
    size_t nl = flatten(&d.v[0], "", l, 0, 64);
    const jv *v;
    CHECK((v = find_leaf(l, nl, "@timestamp")) && !strcmp(v->s, "2026-01-01T06:00:17.123Z"));
    CHECK((v = find_leaf(l, nl, "event.ingested")) &&
          !strcmp(v->s, "2026-01-01T00:00:00.000Z"));
    CHECK((v = find_leaf(l, nl, "host.name")) && !strcmp(v->s, "w\"s"));
    CHECK((v = find_leaf(l, nl, "source.ip")) && !strcmp(v->s, "10.1.2.3"));
    CHECK((v = find_leaf(l, nl, "beacon_stats.interval")) && v->num == 50);
    CHECK((v = find_leaf(l, nl, "beacon_stats.mean_counts")) && v->num == 1);
    CHECK((v = find_leaf(l, nl, "beacon_stats.destination_ips")) && v->n == 2);
    CHECK(strstr(s.text, "\"mean_counts\":1.0,") != NULL); /* a float, as the transform */
    CHECK(strstr(s.text, "\"beaconing_score\":3,") != NULL);
    docs_free(&d);
    free(s.text);

    /* Only 3 destination IPs reported of 5 (N = 3, table of 6). */
    for (int i = 0; i < 50; i++) {
        static const char *ips[] = {"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"};
        /* counts: 1.1.1.1 x 26, 2.2.2.2 x 12, 3.3.3.3 x 6, 4.4.4.4 x 4, 5.5.5.5 x 2 */
        int k = i < 26 ? 0 : i < 38 ? 1 : i < 44 ? 2 : i < 48 ? 3 : 4;
        bw_ip_parse(ips[k], 7, &r[i].dst_ip);
    }
    static const char *const three[] = {"number_destination_ips", "3", NULL};
    CHECK(run_records(r, n, three, now, 0, &s, NULL, 0) == 0 && s.count == 1);
    CHECK(strstr(s.text, "\"destination_ips\":[\"1.1.1.1\",\"2.2.2.2\",\"3.3.3.3\"]") != NULL);
    free(s.text);
    /* Table of 2 (N = 1): the third IP replaces the least counted and
     * inherits its count + 1. */
    for (int i = 0; i < 50; i++)
        bw_ip_parse(i < 30 ? "1.1.1.1" : i < 40 ? "2.2.2.2" : "3.3.3.3", 7, &r[i].dst_ip);
    static const char *const one[] = {"number_destination_ips", "1", NULL};
    CHECK(run_records(r, n, one, now, 0, &s, NULL, 0) == 0 && s.count == 1);
    CHECK(strstr(s.text, "\"destination_ips\":[\"1.1.1.1\"]") != NULL);
    free(s.text);

    /* Stop request from the callback. */
    void *st = ops->create("elastic");
    for (int i = 0; i < n; i++) {
        CHECK(ops->add(st, &r[i]) == 0);
        bw_record q = r[i];
        q.process_name.p = "other.exe";
        q.process_name.n = 9;
        CHECK(ops->add(st, &q) == 0);
    }
    bw_run run = {now * 1000000, BW_UNSET, BW_UNSET, BW_UNSET, 1};
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    bw_errbuf eb;
    CHECK(ops->finish(st, &run, collect, &s, &eb) == BW_ERR_STOPPED && s.count == 1);
    ops->destroy(st);
    free(s.text);
}

static void test_caps_and_pruning(void)
{
    const int64_t now = 1767247217;
    bw_record r[200];
    for (int i = 0; i < 200; i++)
        r[i] = rec_at(now - 200 + i, i % 2 ? "a" : "b", "x.exe", "10.0.0.1", "8.8.8.8", 53);
    sink s;
    char sum[512];
    static const char *const cap1[] = {"max_groups", "1", NULL};
    CHECK(run_records(r, 200, cap1, now, 1, &s, sum, sizeof sum) == 0);
    CHECK(s.count == 1 && strstr(sum, "dropped at the group cap (1) 100") != NULL);
    free(s.text);

    /* A 10 s window (1 s x 10) over 200 distinct seconds: auto now prunes
     * each group to its window, and the result equals a run with now given
     * before reading. */
    static const char *const small[] = {"time_bucket_length", "1", "number_buckets_in_range",
                                        "10", "min_number_periods", "2", NULL};
    CHECK(run_records(r, 200, small, BW_UNSET, 1, &s, sum, sizeof sum) == 0);
    CHECK(s.count == 2 && strstr(sum, "discarded behind the window 1") != NULL);
    sink s2;
    static const char *const fixed[] = {"time_bucket_length", "1", "number_buckets_in_range",
                                        "10", "min_number_periods", "2", "now", "1767247216",
                                        NULL};
    CHECK(run_records(r, 200, fixed, BW_UNSET, 1, &s2, sum, sizeof sum) == 0);
    CHECK(strstr(sum, "out of window 190") != NULL);
    CHECK(s2.count == 2);
    /* Same documents but event.ingested (fixed) and ids: compare whole. */
    CHECK(s.text && s2.text && !strcmp(s.text, s2.text));
    free(s.text);
    free(s2.text);
    /* A now far before the latest event after pruning: refused. */
    CHECK(run_records(r, 200, small, now - 150, 1, &s, NULL, 0) == BW_ERR_USAGE);
    free(s.text);
    /* Without pruning (large window) a given now before the latest event
     * is exact: events after it do not count. */
    CHECK(run_records(r, 200, NULL, now - 100, 1, &s, NULL, 0) == 0);
    CHECK(s.count == 2 && strstr(s.text, "\"@timestamp\":\"2026-01-01T05:58:37.000Z\""));
    free(s.text);
}

/* The number after "label " in a summary line, or -1. */
static long long sum_field(const char *sum, const char *label)
{
    const char *p = strstr(sum, label);
    return p ? strtoll(p + strlen(label), NULL, 10) : -1;
}

/* Runs records split over nst instances (chunks of consecutive records when
 * chunked, else round-robin), merged into the first, like detect's workers. */
static int run_merged(const bw_record *r, int n, const char *const *kv, int nst, int chunked,
                      sink *out, char *summary, size_t scap)
{
    void *st[4] = {ops->create("elastic"), NULL, NULL, NULL};
    bw_errbuf eb = {{0}};
    for (int i = 0; kv && kv[i]; i += 2)
        CHECK(ops->set(st[0], kv[i], kv[i + 1], &eb) == 0);
    for (int k = 1; k < nst; k++)
        st[k] = ops->clone(st[0]);
    for (int i = 0; i < n; i++)
        CHECK(ops->add(st[chunked ? (int)((long long)i * nst / n) : i % nst], &r[i]) == 0);
    for (int k = 1; k < nst; k++) {
        CHECK(ops->merge(st[0], st[k], &eb) == 0);
        ops->destroy(st[k]);
    }
    bw_run run = {BW_UNSET, BW_UNSET, BW_UNSET, 1767225600000000LL, 1};
    memset(out, 0, sizeof *out);
    int err = ops->finish(st[0], &run, collect, out, &eb);
    ops->summary(st[0], summary, scap);
    ops->destroy(st[0]);
    return err;
}

/* Groups that leave the window are evicted (auto now): with a cap far below
 * the groups seen but above those alive in any window, nothing is dropped
 * and the findings equal those of a run that never reaches its cap (and
 * never sweeps), for one instance and for merged ones. */
static void test_eviction(void)
{
    enum { NG = 100, PER = 20 };
    const int64_t t0 = 1767225600;
    static bw_record r[NG * PER + 8];
    static char hosts[NG][8];
    static const char *const dsts[] = {"8.8.8.8", "8.8.4.4", "9.9.9.9"};
    int n = 0;
    /* Group i calls every 2 s for 40 s from t0 + 10 i; a window is 60 s, so
     * about 10 groups are alive at any time; time order, as a log. */
    for (int i = 0; i < NG; i++)
        snprintf(hosts[i], sizeof hosts[i], "h%02d", i);
    for (int64_t t = t0; t < t0 + 10 * NG + 40; t++)
        for (int i = 0; i < NG; i++) {
            int64_t k = t - (t0 + 10 * i);
            if (k >= 0 && k < 40 && k % 2 == 0)
                r[n++] = rec_at(t, hosts[i], "beacon.exe", "10.0.0.1", dsts[(k / 2) % 3 == 0],
                                443);
        }
    int64_t end = t0 + 10 * NG + 40;
    /* h00 comes back long after it was evicted, calling an address it never
     * called before; and a late record of a new group already a whole
     * window behind (created, never reported, evicted). */
    for (int k = 0; k < 6; k++)
        r[n++] = rec_at(end + 2 * k, hosts[0], "beacon.exe", "10.0.0.1", dsts[2], 443);
    r[n++] = rec_at(t0, "late", "beacon.exe", "10.0.0.1", dsts[0], 443);
    CHECK(n <= (int)(sizeof r / sizeof r[0]));

    static const char *const big[] = {"time_bucket_length", "1", "number_buckets_in_range",
                                      "60", "min_number_periods", "2", NULL};
    static const char *const capped[] = {"time_bucket_length", "1", "number_buckets_in_range",
                                         "60", "min_number_periods", "2", "max_groups", "16",
                                         NULL};
    sink ref, s;
    char sum[512];
    CHECK(run_records(r, n, big, BW_UNSET, 1, &ref, sum, sizeof sum) == 0);
    CHECK(sum_field(sum, "groups evicted behind the window ") == 0);
    CHECK(sum_field(sum, "dropped at the group cap (1000000) ") == 0);
    CHECK(ref.count == 5 && ref.text && strstr(ref.text, "\"h00\"") &&
          strstr(ref.text, "\"h99\"") && !strstr(ref.text, "\"late\""));

    CHECK(run_records(r, n, capped, BW_UNSET, 1, &s, sum, sizeof sum) == 0);
    CHECK(sum_field(sum, "dropped at the group cap (16) ") == 0);
    CHECK(sum_field(sum, "groups evicted behind the window ") >= NG - 16);
    CHECK(sum_field(sum, "at most ") <= 16);
    CHECK(s.count == ref.count && s.text && !strcmp(s.text, ref.text));
    printf("# capped: %s\n", sum);
    free(s.text);

    /* Workers: each sweeps on its own (its latest time is a lower bound of
     * the input's); merged, they agree with the reference. */
    for (int nst = 2; nst <= 4; nst++)
        for (int chunked = 0; chunked < 2; chunked++) {
            CHECK(run_merged(r, n, capped, nst, chunked, &s, sum, sizeof sum) == 0);
            CHECK(sum_field(sum, "dropped at the group cap (16) ") == 0);
            CHECK(sum_field(sum, "groups evicted behind the window ") > 0);
            CHECK(s.count == ref.count && s.text && !strcmp(s.text, ref.text));
            free(s.text);
        }

    /* Grouped by source and destination:port (one destination per group,
     * where sweeps also run before the cap): the same. */
    for (int i = 0; i < n; i++)
        r[i].dst_port = 1000 + (r[i].host_name.p[1] - '0') * 10 + (r[i].host_name.p[2] - '0');
    static const char *const by_port[] = {"time_bucket_length", "1", "number_buckets_in_range",
                                          "60", "min_number_periods", "2", "group_by",
                                          "src_dst_port", NULL};
    static const char *const by_port_capped[] = {
        "time_bucket_length", "1", "number_buckets_in_range", "60", "min_number_periods", "2",
        "group_by", "src_dst_port", "max_groups", "32", NULL};
    sink ref2;
    CHECK(run_records(r, n, by_port, BW_UNSET, 1, &ref2, sum, sizeof sum) == 0);
    CHECK(ref2.count == 9 && ref2.text && strstr(ref2.text, "\"8.8.4.4:1099\"") &&
          strstr(ref2.text, "\"9.9.9.9:1000\""));
    CHECK(run_records(r, n, by_port_capped, BW_UNSET, 1, &s, sum, sizeof sum) == 0);
    CHECK(sum_field(sum, "dropped at the group cap (32) ") == 0);
    CHECK(sum_field(sum, "groups evicted behind the window ") >= 2 * NG - 32);
    CHECK(s.text && !strcmp(s.text, ref2.text));
    free(s.text);
    CHECK(run_merged(r, n, by_port_capped, 3, 1, &s, sum, sizeof sum) == 0);
    CHECK(sum_field(sum, "dropped at the group cap (32) ") == 0);
    CHECK(s.text && !strcmp(s.text, ref2.text));
    free(s.text);
    free(ref2.text);

    /* A now given only at finish, more than a window before the latest
     * event: its window's groups were evicted, so finish refuses rather
     * than report less; without eviction it is exact. */
    CHECK(run_records(r, n, capped, t0 + 300, 1, &s, NULL, 0) == BW_ERR_USAGE);
    free(s.text);
    CHECK(run_records(r, n, big, t0 + 300, 1, &s, NULL, 0) == 0);
    CHECK(s.count > 0);
    free(s.text);
    free(ref.text);
}

/* ------------------------------------------------------------------ */
/* Conformance                                                          */
/* ------------------------------------------------------------------ */

/* How the case is run: one instance, split over clones and merged, with
 * now given before reading (elastic.now), or now = the latest event. */
enum { MODE_PLAIN, MODE_CLONES, MODE_SET_NOW, MODE_AUTO_NOW };

static int run_case(const char *dir, int mode, int *ndocs)
{
    char path[4096];
    int bad = 0;
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *runtext = read_file(path, NULL);
    const char *rp = runtext;
    jv run;
    if (!runtext || jparse(&rp, &run)) {
        printf("# %s: cannot read run.json\n", dir);
        free(runtext);
        return 1;
    }
    leaf rl[64];
    size_t nrl = flatten(&run, "", rl, 0, 64);
    const jv *now = find_leaf(rl, nrl, "now");
    docs ev, exp, act = {0};
    snprintf(path, sizeof path, "%s/events.ndjson", dir);
    CHECK(load_ndjson(path, &ev) == 0);
    snprintf(path, sizeof path, "%s/expected.ndjson", dir);
    CHECK(load_ndjson(path, &exp) == 0);

    void *st[3] = {ops->create("elastic"), NULL, NULL};
    bw_errbuf eb = {{0}};
    char nowtxt[32];
    snprintf(nowtxt, sizeof nowtxt, "%.0f", now->num);
    for (size_t i = 0; i < nrl; i++) {
        if (strncmp(rl[i].path, "params.", 7))
            continue;
        char val[64];
        snprintf(val, sizeof val, "%.17g", rl[i].v->num);
        CHECK(ops->set(st[0], rl[i].path + 7, val, &eb) == 0);
    }
    if (mode == MODE_SET_NOW)
        CHECK(ops->set(st[0], "now", nowtxt, &eb) == 0);
    int nst = 1;
    if (mode == MODE_CLONES) {
        st[1] = ops->clone(st[0]);
        st[2] = ops->clone(st[0]);
        nst = 3;
    }
    int64_t latest = INT64_MIN;
    for (size_t i = 0; i < ev.n; i++) {
        bw_record r;
        to_record(&ev.v[i], &r);
        if (r.ts_us > latest)
            latest = r.ts_us;
        CHECK(ops->add(st[i % (size_t)nst], &r) == 0);
    }
    for (int k = 1; k < nst; k++) {
        CHECK(ops->merge(st[0], st[k], &eb) == 0);
        ops->destroy(st[k]);
    }
    bw_run brun = {(int64_t)now->num * 1000000, BW_UNSET, BW_UNSET, 1767250000000000LL, 1};
    if (mode == MODE_AUTO_NOW)
        brun.now_us = BW_UNSET;
    sink s = {0};
    int err = ops->finish(st[0], &brun, collect, &s, &eb);
    CHECK(err == 0);
    if (err)
        printf("# %s: %s\n", dir, eb.msg);
    CHECK(s.text == NULL || load_ndjson_text(s.text, &act) == 0);
    bad = compare_docs(dir, &exp, &act);
    char sum[512];
    ops->summary(st[0], sum, sizeof sum);
    printf("# %s mode %d: %zu expected, %d reported, %d problems; %s\n", dir, mode, exp.n,
           s.count, bad, sum);
    *ndocs = s.count;
    (void)latest;
    ops->destroy(st[0]);
    free(s.text);
    docs_free(&ev);
    docs_free(&exp);
    docs_free(&act);
    jv_free(&run);
    free(runtext);
    return bad;
}

static void test_conformance(void)
{
    static const char *const cases[] = {"edges", "mixed", "params"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "conformance/elastic/%s", cases[i]);
        const char *dir = tap_shared(rel);
        if (!dir)
            continue;
        char d[4096];
        snprintf(d, sizeof d, "%s", dir);
        int n;
        CHECK(run_case(d, MODE_PLAIN, &n) == 0);
        CHECK(run_case(d, MODE_CLONES, &n) == 0);
        CHECK(run_case(d, MODE_SET_NOW, &n) == 0);
        /* mixed: its latest event (of any process) is in the run's now
         * second, so now = latest event reproduces it. */
        if (!strcmp(cases[i], "mixed"))
            CHECK(run_case(d, MODE_AUTO_NOW, &n) == 0);
    }
}

int main(void)
{
    test_pct_index();
    test_truncated();
    test_bucket();
    test_reduce_early();
    test_reduce_regular();
    test_periodicity();
    test_params();
    test_lists();
    test_scope_and_group_by();
    test_document();
    test_caps_and_pruning();
    test_eviction();
    test_conformance();
    return tap_done();
}
