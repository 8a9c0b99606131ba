/* The JSON endpoints of `beaconwatch serve` (docs/api.md): each reads its
 * parameters (capped in serve_params.c), asks the store through bw_dash.h
 * and writes one JSON document. Times out are epoch milliseconds. */
#include "serve_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beaconwatch/bw_dash.h"

#define TOP_N 20
#define TABLE_ROWS 100
#define GROUP_RECORDS 10000
#define DEST_ROWS 100
#define MAX_COUNT_ROWS 2000000 /* aggregate rows one request may hold */
#define HOUR_US (3600 * INT64_C(1000000))
#define DAY_US (24 * HOUR_US)

typedef struct req {
    bw_store *s;
    const bw_query *q;
    bw_sbuf *o;
    char *err;
    size_t errlen;
    bw_errbuf eb;
} req;

void bw_json_put_str(bw_sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    bw_sbuf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        bw_sbuf_put(b, run, (size_t)(s - run));
        run = s + 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            bw_sbuf_put(b, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            bw_sbuf_put(b, e, 6);
        }
    }
    bw_sbuf_put(b, run, (size_t)(s - run));
    bw_sbuf_put(b, "\"", 1);
}

static void put_opt_str(bw_sbuf *b, const char *s)
{
    if (s)
        bw_json_put_str(b, s);
    else
        bw_sbuf_cat(b, "null");
}

static int64_t ms(int64_t us)
{
    return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

static void put_ms(bw_sbuf *b, int64_t us)
{
    if (us == BW_UNSET)
        bw_sbuf_cat(b, "null");
    else
        bw_sbuf_printf(b, "%lld", (long long)ms(us));
}

static void put_i64(bw_sbuf *b, int64_t v)
{
    if (v == BW_UNSET)
        bw_sbuf_cat(b, "null");
    else
        bw_sbuf_printf(b, "%lld", (long long)v);
}

static void put_num(bw_sbuf *b, double v)
{
    if (!isfinite(v))
        bw_sbuf_cat(b, "null");
    else
        bw_sbuf_printf(b, "%.10g", v);
}

static int bad(req *r, const char *what, const char *name)
{
    snprintf(r->err, r->errlen, "%s%s%s%s", what, name ? " '" : "", name ? name : "",
             name ? "'" : "");
    return 400;
}

static int store_failed(req *r)
{
    snprintf(r->err, r->errlen, "%s", r->eb.msg[0] ? r->eb.msg : "store unavailable");
    return 503;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An optional time parameter: 0 (absent: *us untouched), or 400. */
static int time_param(req *r, const char *name, int64_t *us)
{
    const char *v = bw_query_get(r->q, name);
    if (v && bw_param_time(v, us) != 0)
        return bad(r, "bad time: parameter", name);
    return 0;
}

static int int_param(req *r, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    const char *v = bw_query_get(r->q, name);
    if (v && bw_param_int(v, lo, hi, out) != 0)
        return bad(r, "bad or out-of-range value: parameter", name);
    return 0;
}

/* The common parameters (from, to, host, process, rule) with the default
 * range: to = the newest finding (now when there is none), from = to -
 * span. */
static int filter_params(req *r, bw_dash_filter *f, int64_t span_us)
{
    int st;
    memset(f, 0, sizeof *f);
    f->to_us = BW_UNSET;
    f->from_us = BW_UNSET;
    if ((st = time_param(r, "from", &f->from_us)) || (st = time_param(r, "to", &f->to_us)))
        return st;
    if (f->to_us == BW_UNSET) {
        if (bw_dash_newest(r->s, &f->to_us, &r->eb))
            return store_failed(r);
        if (f->to_us == BW_UNSET)
            f->to_us = wall_us();
    }
    if (f->from_us == BW_UNSET)
        f->from_us = f->to_us - span_us;
    if (f->from_us > f->to_us)
        return bad(r, "'from' is after 'to'", NULL);
    f->host = bw_query_get(r->q, "host");
    f->process = bw_query_get(r->q, "process");
    f->rule = bw_query_get(r->q, "rule");
    if (f->rule && !bw_param_rule_ok(f->rule))
        return bad(r, "bad rule: parameter", "rule");
    return 0;
}

/* --- aggregates ----------------------------------------------------- */

typedef struct crow {
    char *key;
    int64_t bucket, distinct, findings;
} crow;

typedef struct crows {
    crow *v;
    size_t n, cap;
    int full; /* 1 out of memory, 2 over MAX_COUNT_ROWS */
} crows;

static int add_count(void *ctx, const bw_dash_count *c)
{
    crows *t = ctx;
    if (t->n == MAX_COUNT_ROWS) {
        t->full = 2;
        return 1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        crow *nv = realloc(t->v, cap * sizeof *nv);
        if (!nv) {
            t->full = 1;
            return 1;
        }
        t->v = nv;
        t->cap = cap;
    }
    crow *w = &t->v[t->n];
    if (!(w->key = strdup(c->key))) {
        t->full = 1;
        return 1;
    }
    w->bucket = c->bucket;
    w->distinct = c->distinct;
    w->findings = c->findings;
    t->n++;
    return 0;
}

static void crows_free(crows *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].key);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static int counts(req *r, const bw_dash_filter *f, bw_dash_by by, int64_t step, crows *t)
{
    if (bw_dash_counts(r->s, f, by, step, add_count, t, &r->eb)) {
        if (t->full) {
            snprintf(r->err, r->errlen, "%s", t->full == 1 ? "out of memory"
                                                           : "too many groups: narrow the "
                                                             "filter or the time range");
            return 503;
        }
        return store_failed(r);
    }
    return 0;
}

static int by_distinct(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->distinct != y->distinct)
        return x->distinct > y->distinct ? -1 : 1;
    if (x->findings != y->findings)
        return x->findings > y->findings ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int by_findings(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    if (x->findings != y->findings)
        return x->findings > y->findings ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void put_range(req *r, const bw_dash_filter *f, int64_t step, int64_t nsteps)
{
    bw_sbuf_cat(r->o, "{\"from\":");
    put_ms(r->o, f->from_us);
    bw_sbuf_cat(r->o, ",\"to\":");
    put_ms(r->o, f->to_us);
    bw_sbuf_printf(r->o, ",\"step\":%lld,\"steps\":[", (long long)(step / 1000000));
    for (int64_t i = 0; i < nsteps; i++) {
        if (i)
            bw_sbuf_put(r->o, ",", 1);
        put_ms(r->o, f->from_us + i * step);
    }
    bw_sbuf_cat(r->o, "]");
}

/* Stacked series over time (top_hosts, spread): the top TOP_N keys by
 * distinct values over the range, each with its distinct count per step;
 * with_other adds "Other", the sums over the remaining keys. */
static int series(req *r, bw_dash_by by, int64_t span_us, int64_t dflt_step_us,
                  const char *keyname, const char *arrname, int with_other)
{
    bw_dash_filter f;
    crows tot = {0}, bk = {0};
    int64_t *cells = NULL, asked = 0;
    int st;
    if ((st = filter_params(r, &f, span_us)) || (st = int_param(r, "step", 1, 100LL * 365 * 86400,
                                                                  &asked)))
        return st;
    f.only_alert = 1;
    if (dflt_step_us <= 0) /* the range in 48 steps, at least a minute each */
        dflt_step_us = (f.to_us - f.from_us) / 48 > 60000000 ? (f.to_us - f.from_us) / 48
                                                              : 60000000;
    int64_t step = bw_param_step(f.from_us, f.to_us, asked * 1000000, dflt_step_us,
                                 BW_SERVE_MAX_STEPS);
    int64_t nsteps = bw_param_nsteps(f.from_us, f.to_us, step);
    if ((st = counts(r, &f, by, 0, &tot)) || (st = counts(r, &f, by, step, &bk)))
        goto out;
    if (tot.n)
        qsort(tot.v, tot.n, sizeof *tot.v, by_distinct);
    size_t ntop = tot.n < TOP_N ? tot.n : TOP_N;
    int other = with_other && tot.n > ntop;
    size_t nser = ntop + (size_t)other;
    if (nser && !(cells = calloc(nser * (size_t)nsteps, sizeof *cells))) {
        snprintf(r->err, r->errlen, "out of memory");
        st = 503;
        goto out;
    }
    for (size_t i = 0; i < bk.n; i++) {
        const crow *c = &bk.v[i];
        size_t k;
        for (k = 0; k < ntop; k++)
            if (strcmp(tot.v[k].key, c->key) == 0)
                break;
        if (k == ntop && !other)
            continue;
        if (c->bucket >= 0 && c->bucket < nsteps)
            cells[k * (size_t)nsteps + (size_t)c->bucket] += c->distinct;
    }
    put_range(r, &f, step, nsteps);
    bw_sbuf_cat(r->o, ",\"series\":[");
    for (size_t k = 0; k < nser; k++) {
        int64_t total = 0;
        if (k < ntop) {
            total = tot.v[k].distinct;
        } else {
            for (size_t j = ntop; j < tot.n; j++)
                total += tot.v[j].distinct;
        }
        bw_sbuf_printf(r->o, "%s{\"%s\":", k ? "," : "", keyname);
        bw_json_put_str(r->o, k < ntop ? tot.v[k].key : "Other");
        bw_sbuf_printf(r->o, ",\"total\":%lld,\"%s\":[", (long long)total, arrname);
        for (int64_t i = 0; i < nsteps; i++)
            bw_sbuf_printf(r->o, "%s%lld", i ? "," : "",
                           (long long)cells[k * (size_t)nsteps + (size_t)i]);
        bw_sbuf_cat(r->o, "]}");
    }
    bw_sbuf_cat(r->o, "]}");
    st = 200;
out:
    free(cells);
    crows_free(&tot);
    crows_free(&bk);
    return st;
}

/* The beaconing findings of the request's filters counted per process
 * (findings, distinct hosts), sorted by cmp: the treemap and the table. */
static int process_counts(req *r, crows *t, int (*cmp)(const void *, const void *))
{
    bw_dash_filter f;
    int st;
    if ((st = filter_params(r, &f, 6 * HOUR_US)))
        return st;
    f.only_alert = 1;
    if ((st = counts(r, &f, BW_DASH_BY_PROCESS, 0, t)))
        return st;
    if (t->n)
        qsort(t->v, t->n, sizeof *t->v, cmp);
    return 0;
}

static int top_processes(req *r)
{
    crows t = {0};
    int st;
    if ((st = process_counts(r, &t, by_findings)))
        goto out;
    int64_t total = 0, rest = 0;
    for (size_t i = 0; i < t.n; i++) {
        total += t.v[i].findings;
        if (i >= TOP_N)
            rest += t.v[i].findings;
    }
    bw_sbuf_printf(r->o, "{\"total\":%lld,\"items\":[", (long long)total);
    for (size_t i = 0; i < t.n && i <= TOP_N; i++) {
        int64_t n = i < TOP_N ? t.v[i].findings : rest;
        bw_sbuf_cat(r->o, i ? ",{\"process\":" : "{\"process\":");
        bw_json_put_str(r->o, i < TOP_N ? t.v[i].key : "Other");
        bw_sbuf_printf(r->o, ",\"findings\":%lld,\"pct\":%.1f}", (long long)n,
                       round(1000.0 * (double)n / (double)total) / 10.0);
    }
    bw_sbuf_cat(r->o, "]}");
    st = 200;
out:
    crows_free(&t);
    return st;
}

static int hosts_affected(req *r)
{
    crows t = {0};
    int st;
    if ((st = process_counts(r, &t, by_distinct)))
        goto out;
    bw_sbuf_cat(r->o, "{\"rows\":[");
    for (size_t i = 0; i < t.n && i < TABLE_ROWS; i++) {
        bw_sbuf_cat(r->o, i ? ",{\"process\":" : "{\"process\":");
        bw_json_put_str(r->o, t.v[i].key);
        bw_sbuf_printf(r->o, ",\"hosts\":%lld,\"findings\":%lld}", (long long)t.v[i].distinct,
                       (long long)t.v[i].findings);
    }
    bw_sbuf_cat(r->o, "]}");
    st = 200;
out:
    crows_free(&t);
    return st;
}

/* --- findings --------------------------------------------------------- */

static const char *const ind_names[4] = {"low_frequency", "high_frequency",
                                         "low_source_bytes_variation",
                                         "low_destination_bytes_variation"};
static const char *const ind_text[4] = {"periodic (low frequency)",
                                        "low count variation (high frequency)",
                                        "low source bytes variation",
                                        "low destination bytes variation"};

/* The explanation: the rule's own text, or elastic's indicators. */
static void put_explanation(bw_sbuf *b, const bw_dash_finding *f)
{
    if (f->explanation || f->ind[0] < 0) {
        put_opt_str(b, f->explanation);
        return;
    }
    char text[256];
    size_t n = (size_t)snprintf(text, sizeof text, "score %g of 3", f->score);
    int any = 0;
    for (int i = 0; i < 4; i++)
        if (f->ind[i] > 0 && n < sizeof text)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", any++ ? ", " : ": ",
                                  ind_text[i]);
    if (!any && n < sizeof text)
        snprintf(text + n, sizeof text - n, ": no indicator");
    bw_json_put_str(b, text);
}

static void put_finding(bw_sbuf *b, const bw_dash_finding *f)
{
    bw_sbuf_cat(b, "{\"rule\":");
    bw_json_put_str(b, f->rule);
    bw_sbuf_cat(b, ",\"id\":");
    bw_json_put_str(b, f->id);
    bw_sbuf_cat(b, ",\"ts\":");
    put_ms(b, f->ts_us);
    bw_sbuf_cat(b, ",\"host\":");
    bw_json_put_str(b, f->host);
    bw_sbuf_cat(b, ",\"process\":");
    bw_json_put_str(b, f->process);
    bw_sbuf_cat(b, ",\"source_ip\":");
    bw_json_put_str(b, f->source_ip);
    bw_sbuf_cat(b, ",\"score\":");
    put_num(b, f->score);
    bw_sbuf_printf(b, ",\"alert\":%s,\"indicators\":", f->alert ? "true" : "false");
    if (f->ind[0] < 0) {
        bw_sbuf_cat(b, "null");
    } else {
        for (int i = 0; i < 4; i++)
            bw_sbuf_printf(b, "%s\"%s\":%s", i ? "," : "{", ind_names[i],
                           f->ind[i] > 0 ? "true" : "false");
        bw_sbuf_cat(b, "}");
    }
    bw_sbuf_cat(b, ",\"explanation\":");
    put_explanation(b, f);
    if (f->doc) {
        bw_sbuf_cat(b, ",\"doc\":");
        bw_sbuf_cat(b, f->doc); /* stored by the rules as one JSON document */
    }
    bw_sbuf_cat(b, "}");
}

typedef struct rows_ctx {
    bw_sbuf *o;
    int n;
} rows_ctx;

static int on_finding(void *ctx, const bw_dash_finding *f)
{
    rows_ctx *c = ctx;
    if (c->n++)
        bw_sbuf_put(c->o, ",", 1);
    put_finding(c->o, f);
    return 0;
}

static int page_params(req *r, int64_t *limit, int64_t *offset)
{
    int st;
    *limit = BW_SERVE_DEF_LIMIT;
    *offset = 0;
    if ((st = int_param(r, "limit", 0, BW_SERVE_MAX_LIMIT, limit)) ||
        (st = int_param(r, "offset", 0, BW_SERVE_MAX_OFFSET, offset)))
        return st;
    return 0;
}

static int findings(req *r)
{
    bw_dash_filter f;
    int64_t limit, offset, alert = 0, total = 0;
    bw_dash_sort sort = BW_DASH_SORT_SCORE;
    const char *so = bw_query_get(r->q, "sort");
    rows_ctx c = {r->o, 0};
    int st;
    if ((st = filter_params(r, &f, 6 * HOUR_US)) || (st = page_params(r, &limit, &offset)) ||
        (st = int_param(r, "alert", 0, 1, &alert)))
        return st;
    if (so && strcmp(so, "time") == 0)
        sort = BW_DASH_SORT_TIME;
    else if (so && strcmp(so, "score") != 0)
        return bad(r, "bad sort (score or time): parameter", "sort");
    f.only_alert = (int)alert;
    bw_sbuf_cat(r->o, "{\"rows\":[");
    if (bw_dash_findings(r->s, &f, sort, limit, offset, &total, on_finding, &c, &r->eb))
        return store_failed(r);
    bw_sbuf_printf(r->o, "],\"total\":%lld}", (long long)total);
    return 200;
}

static int finding(req *r)
{
    const char *rule = bw_query_get(r->q, "rule"), *id = bw_query_get(r->q, "id");
    rows_ctx c = {r->o, 0};
    if (!rule || !id)
        return bad(r, "missing parameter", rule ? "id" : "rule");
    if (bw_dash_finding_get(r->s, rule, id, on_finding, &c, &r->eb))
        return store_failed(r);
    if (!c.n) {
        snprintf(r->err, r->errlen, "no finding %s/%s", rule, id);
        return 404;
    }
    return 200;
}

/* --- sampled records ---------------------------------------------------- */

static int group_params(req *r, const char **host, const char **process, int64_t *from,
                        int64_t *to)
{
    int st;
    *host = bw_query_get(r->q, "host");
    *process = bw_query_get(r->q, "process");
    if (!*host || !*process)
        return bad(r, "missing parameter", *host ? "process" : "host");
    *from = *to = BW_UNSET;
    if ((st = time_param(r, "from", from)) || (st = time_param(r, "to", to)))
        return st;
    if (*from != BW_UNSET && *to != BW_UNSET && *from > *to)
        return bad(r, "'from' is after 'to'", NULL);
    return 0;
}

static void put_us_or_null(bw_sbuf *b, int64_t v)
{
    put_i64(b, v);
}

static int on_record(void *ctx, const bw_stored_record *x)
{
    rows_ctx *c = ctx;
    bw_sbuf *b = c->o;
    bw_sbuf_cat(b, c->n++ ? ",{\"ts\":" : "{\"ts\":");
    put_ms(b, x->ts_us);
    bw_sbuf_cat(b, ",\"src_ip\":");
    put_opt_str(b, x->src_ip[0] ? x->src_ip : NULL);
    bw_sbuf_cat(b, ",\"src_port\":");
    put_i64(b, x->src_port < 0 ? BW_UNSET : x->src_port);
    bw_sbuf_cat(b, ",\"dst_ip\":");
    put_opt_str(b, x->dst_ip[0] ? x->dst_ip : NULL);
    bw_sbuf_cat(b, ",\"dst_port\":");
    put_i64(b, x->dst_port < 0 ? BW_UNSET : x->dst_port);
    bw_sbuf_cat(b, ",\"transport\":");
    put_opt_str(b, x->transport);
    bw_sbuf_cat(b, ",\"src_bytes\":");
    put_us_or_null(b, x->src_bytes);
    bw_sbuf_cat(b, ",\"dst_bytes\":");
    put_us_or_null(b, x->dst_bytes);
    bw_sbuf_cat(b, ",\"duration\":");
    if (x->duration_us == BW_UNSET)
        bw_sbuf_cat(b, "null");
    else
        put_num(b, (double)x->duration_us / 1e6);
    bw_sbuf_cat(b, ",\"host_name\":");
    put_opt_str(b, x->host_name);
    bw_sbuf_cat(b, ",\"process_name\":");
    put_opt_str(b, x->process_name);
    bw_sbuf_cat(b, ",\"domain\":");
    put_opt_str(b, x->dst_domain);
    bw_sbuf_cat(b, ",\"action\":");
    put_opt_str(b, x->event_action);
    bw_sbuf_cat(b, ",\"conn_state\":");
    put_opt_str(b, x->conn_state);
    bw_sbuf_cat(b, "}");
    return 0;
}

static int events(req *r)
{
    const char *host, *process;
    int64_t from, to, limit, offset, total = 0;
    rows_ctx c = {r->o, 0};
    int st;
    if ((st = group_params(r, &host, &process, &from, &to)) ||
        (st = page_params(r, &limit, &offset)))
        return st;
    bw_sbuf_cat(r->o, "{\"rows\":[");
    if (bw_dash_records(r->s, host, process, from, to, limit, offset, &total, NULL, NULL,
                        on_record, &c, &r->eb))
        return store_failed(r);
    bw_sbuf_printf(r->o, "],\"total\":%lld}", (long long)total);
    return 200;
}

/* The group's newest records, for the timeline, bytes and histogram. */
typedef struct grec {
    int64_t ts, sb, db;
} grec;
typedef struct grecs {
    grec *v;
    size_t n;
} grecs;

static int on_grec(void *ctx, const bw_stored_record *x)
{
    grecs *g = ctx;
    if (g->n < GROUP_RECORDS)
        g->v[g->n++] = (grec){x->ts_us, x->src_bytes, x->dst_bytes};
    return 0;
}

typedef struct dest_ctx {
    bw_sbuf *o;
    int n;
} dest_ctx;

static int on_dest(void *ctx, const bw_dash_dest *d)
{
    dest_ctx *c = ctx;
    bw_sbuf_cat(c->o, c->n++ ? ",{\"ip\":" : "{\"ip\":");
    bw_json_put_str(c->o, d->ip);
    bw_sbuf_cat(c->o, ",\"port\":");
    put_i64(c->o, d->port < 0 ? BW_UNSET : d->port);
    bw_sbuf_cat(c->o, ",\"domain\":");
    put_opt_str(c->o, d->domain);
    bw_sbuf_printf(c->o, ",\"count\":%lld,\"bytes\":%lld}", (long long)d->count,
                   (long long)d->bytes);
    return 0;
}

/* A verdict, kept past the callback. */
typedef struct verdict {
    int found, alert;
    double score, period_s;
    int64_t ts_us;
    char rule[64], id[80];
    char *explanation; /* the JSON text of the explanation, owned */
} verdict;

static int on_verdict(void *ctx, const bw_dash_finding *f)
{
    verdict *v = ctx;
    bw_sbuf e = {0};
    v->found = 1;
    v->alert = f->alert;
    v->score = f->score;
    v->period_s = f->period_s;
    v->ts_us = f->ts_us;
    snprintf(v->rule, sizeof v->rule, "%s", f->rule);
    snprintf(v->id, sizeof v->id, "%s", f->id);
    put_explanation(&e, f);
    if (e.oom) {
        free(e.p);
        return 1;
    }
    v->explanation = e.p;
    return 0;
}

#define HIST_BINS 32
#define HIST_LO 1e-3    /* s */
#define HIST_HI 86400.0 /* s */

static double hist_edge(int k)
{
    return HIST_LO * pow(HIST_HI / HIST_LO, (double)k / HIST_BINS);
}

static int group(req *r)
{
    static const char *const families[3] = {"elastic", "sentinel*", "beaconwatch"};
    const char *host, *process;
    int64_t from, to, total = 0, first = BW_UNSET, last = BW_UNSET;
    grecs g = {0};
    verdict v[3];
    dest_ctx dc = {r->o, 0};
    int st;
    memset(v, 0, sizeof v);
    if ((st = group_params(r, &host, &process, &from, &to)))
        return st;
    if (!(g.v = malloc(GROUP_RECORDS * sizeof *g.v))) {
        snprintf(r->err, r->errlen, "out of memory");
        return 503;
    }
    if (bw_dash_records(r->s, host, process, from, to, GROUP_RECORDS, 0, &total, &first, &last,
                        on_grec, &g, &r->eb)) {
        st = store_failed(r);
        goto out;
    }
    for (int i = 0; i < 3; i++)
        if (bw_dash_verdict(r->s, families[i], host, process, on_verdict, &v[i], &r->eb)) {
            st = store_failed(r);
            goto out;
        }
    bw_sbuf *b = r->o;
    bw_sbuf_cat(b, "{\"host\":");
    bw_json_put_str(b, host);
    bw_sbuf_cat(b, ",\"process\":");
    bw_json_put_str(b, process);
    bw_sbuf_printf(b, ",\"events\":%lld,\"first\":", (long long)total);
    put_ms(b, first);
    bw_sbuf_cat(b, ",\"last\":");
    put_ms(b, last);
    /* Records came newest first; the charts want oldest first. */
    bw_sbuf_cat(b, ",\"timeline\":[");
    for (size_t i = g.n; i-- > 0;) {
        put_ms(b, g.v[i].ts);
        if (i)
            bw_sbuf_put(b, ",", 1);
    }
    bw_sbuf_cat(b, "],\"bytes\":[");
    for (size_t i = g.n; i-- > 0;) {
        bw_sbuf_put(b, "[", 1);
        put_ms(b, g.v[i].ts);
        bw_sbuf_put(b, ",", 1);
        put_i64(b, g.v[i].sb);
        bw_sbuf_put(b, ",", 1);
        put_i64(b, g.v[i].db);
        bw_sbuf_cat(b, i ? "]," : "]");
    }
    int64_t hist[HIST_BINS] = {0};
    for (size_t i = 0; i + 1 < g.n; i++) {
        double d = (double)(g.v[i].ts - g.v[i + 1].ts) / 1e6;
        int k = d <= HIST_LO ? 0 : (int)floor(HIST_BINS * log(d / HIST_LO) /
                                               log(HIST_HI / HIST_LO));
        hist[k < 0 ? 0 : k >= HIST_BINS ? HIST_BINS - 1 : k]++;
    }
    bw_sbuf_cat(b, "],\"interarrival\":{\"bins\":[");
    for (int k = 0; k < HIST_BINS; k++)
        bw_sbuf_printf(b, "%s{\"lo\":%.6g,\"hi\":%.6g,\"count\":%lld}", k ? "," : "",
                       hist_edge(k), hist_edge(k + 1), (long long)hist[k]);
    const verdict *pv = v[2].found && v[2].period_s >= 0   ? &v[2]
                        : v[0].found && v[0].period_s >= 0 ? &v[0]
                                                           : NULL;
    bw_sbuf_cat(b, "],\"period\":");
    if (pv)
        put_num(b, pv->period_s);
    else
        bw_sbuf_cat(b, "null");
    bw_sbuf_cat(b, ",\"period_rule\":");
    put_opt_str(b, pv ? (pv == &v[2] ? "beaconwatch" : "elastic") : NULL);
    bw_sbuf_cat(b, "},\"destinations\":[");
    if (bw_dash_destinations(r->s, host, process, from, to, DEST_ROWS, on_dest, &dc, &r->eb)) {
        st = store_failed(r);
        goto out;
    }
    bw_sbuf_cat(b, "],\"verdicts\":[");
    for (int i = 0; i < 3; i++) {
        bw_sbuf_cat(b, i ? ",{\"rule\":" : "{\"rule\":");
        if (!v[i].found) {
            bw_json_put_str(b, i == 1 ? "sentinel" : families[i]);
            bw_sbuf_cat(b, ",\"found\":false}");
            continue;
        }
        bw_json_put_str(b, v[i].rule);
        bw_sbuf_printf(b, ",\"found\":true,\"alert\":%s,\"score\":",
                       v[i].alert ? "true" : "false");
        put_num(b, v[i].score);
        bw_sbuf_cat(b, ",\"ts\":");
        put_ms(b, v[i].ts_us);
        bw_sbuf_cat(b, ",\"id\":");
        bw_json_put_str(b, v[i].id);
        bw_sbuf_cat(b, ",\"explanation\":");
        bw_sbuf_cat(b, v[i].explanation ? v[i].explanation : "null");
        bw_sbuf_cat(b, "}");
    }
    bw_sbuf_cat(b, "]}");
    st = 200;
out:
    for (int i = 0; i < 3; i++)
        free(v[i].explanation);
    free(g.v);
    return st;
}

/* --- meta --------------------------------------------------------------- */

typedef struct meta_ctx {
    bw_sbuf rules;
    int n;
    int64_t findings, first, last;
} meta_ctx;

static int on_rule(void *ctx, const bw_dash_rule *x)
{
    meta_ctx *m = ctx;
    bw_sbuf_cat(&m->rules, m->n++ ? ",{\"rule\":" : "{\"rule\":");
    bw_json_put_str(&m->rules, x->rule);
    bw_sbuf_printf(&m->rules, ",\"findings\":%lld,\"last_run\":", (long long)x->findings);
    put_ms(&m->rules, x->last_run_us);
    bw_sbuf_cat(&m->rules, "}");
    m->findings += x->findings;
    if (x->first_us != BW_UNSET && (m->first == BW_UNSET || x->first_us < m->first))
        m->first = x->first_us;
    if (x->last_us != BW_UNSET && (m->last == BW_UNSET || x->last_us > m->last))
        m->last = x->last_us;
    return 0;
}

static int meta(req *r, const char *version)
{
    meta_ctx m = {{0}, 0, 0, BW_UNSET, BW_UNSET};
    int st = 200;
    if (bw_dash_rules(r->s, on_rule, &m, &r->eb)) {
        st = store_failed(r);
        goto out;
    }
    bw_sbuf_cat(r->o, "{\"version\":");
    bw_json_put_str(r->o, version ? version : "");
    bw_sbuf_printf(r->o, ",\"schema\":%d,\"findings\":%lld,\"first\":", BW_STORE_SCHEMA,
                   (long long)m.findings);
    put_ms(r->o, m.first);
    bw_sbuf_cat(r->o, ",\"last\":");
    put_ms(r->o, m.last);
    bw_sbuf_cat(r->o, ",\"rules\":[");
    if (m.rules.p)
        bw_sbuf_cat(r->o, m.rules.p);
    bw_sbuf_cat(r->o, "]}");
    if (m.rules.oom)
        r->o->oom = 1;
out:
    free(m.rules.p);
    return st;
}

int bw_api_handle(bw_store *s, const char *path, const bw_query *q, const char *version,
                  bw_sbuf *out, char *err, size_t errlen)
{
    req r = {s, q, out, err, errlen, {{0}}};
    int st;
    if (strcmp(path, "/api/meta") == 0)
        st = meta(&r, version);
    else if (strcmp(path, "/api/main/top_hosts") == 0)
        st = series(&r, BW_DASH_BY_HOST, 6 * HOUR_US, 0, "host", "counts", 1);
    else if (strcmp(path, "/api/main/top_processes") == 0)
        st = top_processes(&r);
    else if (strcmp(path, "/api/main/hosts_affected") == 0)
        st = hosts_affected(&r);
    else if (strcmp(path, "/api/spread") == 0)
        st = series(&r, BW_DASH_BY_PROCESS, 14 * DAY_US, 3 * DAY_US, "process", "hosts", 0);
    else if (strcmp(path, "/api/findings") == 0)
        st = findings(&r);
    else if (strcmp(path, "/api/finding") == 0)
        st = finding(&r);
    else if (strcmp(path, "/api/events") == 0)
        st = events(&r);
    else if (strcmp(path, "/api/group") == 0)
        st = group(&r);
    else {
        snprintf(err, errlen, "no such endpoint: %s", path);
        return 404;
    }
    if (st == 200 && out->oom) {
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    return st;
}
