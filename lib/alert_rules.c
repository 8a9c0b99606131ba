/* The alert rules that run over stored findings (SPEC §3 "Alerts"):
 * Elastic's two prebuilt rules on the beaconing documents, the sentinel
 * rule's findings, which already are Sentinel alerts, and beaconwatch's
 * alerting findings with a severity from their score. Reads and
 * writes only through the store interface; de-duplication is the store's
 * (an alert id is the alert rule plus the finding it is about). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "beaconwatch/bw_store.h"
#include "rule_lists.h"
#include "util_sbuf.h"

#define HOUR_US ((int64_t)3600 * 1000000)
#define DAY_US (24 * HOUR_US)
#define DEFAULT_MAX 100
/* Candidates read per rule per run: the cap counts new alerts, so a run
 * looks past findings already alerted on, up to this many. */
#define CAND_FACTOR 50

#define RULE_C2 "Statistical Model Detected C2 Beaconing Activity"
#define RULE_C2_HIGH "Statistical Model Detected C2 Beaconing Activity with High Confidence"
#define ELASTIC_INDEX "ml_beaconing-1.0.0"
#define RULE_BW "Beaconwatch: Periodic Callback (Beaconing) Detected"

/* The start of both alert kinds' MITRE ATT&CK block: tactic Command and
 * Control, technique T1071; each adds its own second technique. */
#define THREAT_C2_T1071                                                                   \
    ",\"threat\":[{\"framework\":\"MITRE ATT&CK\",\"tactic\":{\"id\":\"TA0011\","         \
    "\"name\":\"Command and Control\","                                                    \
    "\"reference\":\"https://attack.mitre.org/tactics/TA0011/\"},"                          \
    "\"technique\":[{\"id\":\"T1071\",\"name\":\"Application Layer Protocol\","           \
    "\"reference\":\"https://attack.mitre.org/techniques/T1071/\"},"

/* A candidate copied out of the read cursor: alerts are written after the
 * read finishes, never while a statement on the findings is open. */
typedef struct cand {
    char *rule, *id, *host, *process, *source_ip, *json;
    int64_t ts_us;
    double score;
} cand;

typedef struct collect {
    const bw_name_set *excluded;
    int max; /* candidates kept per rule */
    int want_c2, want_high, want_sentinel, want_bw;
    cand *c2, *high, *sent, *bw;
    int nc2, nhigh, nsent, nbw;
    int oom;
} collect;

static int copy_cand(cand *c, const bw_stored_finding *f)
{
    memset(c, 0, sizeof *c);
    c->ts_us = f->ts_us;
    c->score = f->score;
    c->rule = strdup(f->rule);
    c->id = strdup(f->id);
    c->host = strdup(f->host);
    c->process = strdup(f->process);
    c->source_ip = strdup(f->source_ip);
    c->json = strdup(f->json);
    return c->rule && c->id && c->host && c->process && c->source_ip && c->json ? 0 : -1;
}

static void free_cand(cand *c)
{
    free(c->rule);
    free(c->id);
    free(c->host);
    free(c->process);
    free(c->source_ip);
    free(c->json);
}

static int on_candidate(void *ctx, const bw_stored_finding *f)
{
    collect *c = ctx;
    if (strcmp(f->rule, "elastic") == 0) {
        if (c->want_c2 && c->nc2 < c->max &&
            !bw_name_set_has(c->excluded, f->process, strlen(f->process))) {
            if (copy_cand(&c->c2[c->nc2++], f))
                goto oom;
        }
        /* beaconing_score is the finding's score for elastic documents. */
        if (c->want_high && c->nhigh < c->max && f->score == 3.0) {
            if (copy_cand(&c->high[c->nhigh++], f))
                goto oom;
        }
    } else if (strcmp(f->rule, "beaconwatch") == 0) {
        if (c->want_bw && c->nbw < c->max && copy_cand(&c->bw[c->nbw++], f))
            goto oom;
    } else if (c->want_sentinel && c->nsent < c->max) {
        if (copy_cand(&c->sent[c->nsent++], f))
            goto oom;
    }
    return 0;
oom:
    c->oom = 1;
    return 1;
}

/* Appends s as a JSON string. */
static void str(bw_sbuf *b, const char *s)
{
    bw_sbuf_cat(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            bw_sbuf_put(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            bw_sbuf_cat(b, esc);
        } else {
            bw_sbuf_put(b, s, 1);
        }
    }
    bw_sbuf_cat(b, "\"");
}

/* The alert's host, process and (when known) source of its finding. */
static void entities(bw_sbuf *b, const cand *c)
{
    bw_sbuf_cat(b, ",\"host\":{\"name\":");
    str(b, c->host);
    bw_sbuf_cat(b, "},\"process\":{\"name\":");
    str(b, c->process);
    bw_sbuf_cat(b, "}");
    if (c->source_ip[0]) {
        bw_sbuf_cat(b, ",\"source\":{\"ip\":");
        str(b, c->source_ip);
        bw_sbuf_cat(b, "}");
    }
}

/* The Elastic alert document (a flattened Kibana signal). */
static int elastic_doc(bw_sbuf *b, const char *name, const cand *c, int64_t created)
{
    char t[BW_TIME_STRLEN];
    b->n = 0;
    bw_time_format_ms(created, t);
    bw_sbuf_cat(b, "{\"@timestamp\":\"");
    bw_sbuf_cat(b, t);
    bw_sbuf_cat(b, "\",\"kibana.alert.rule.name\":");
    str(b, name);
    bw_sbuf_cat(b, ",\"kibana.alert.severity\":\"low\",\"kibana.alert.risk_score\":21,"
           "\"kibana.alert.original_time\":\"");
    bw_time_format_ms(c->ts_us, t);
    bw_sbuf_cat(b, t);
    bw_sbuf_cat(b, "\",\"kibana.alert.ancestors\":[{\"id\":");
    str(b, c->id);
    bw_sbuf_cat(b, ",\"index\":\"" ELASTIC_INDEX "\"}]");
    entities(b, c);
    bw_sbuf_cat(b, THREAT_C2_T1071
           "{\"id\":\"T1102\",\"name\":\"Web Service\","
           "\"reference\":\"https://attack.mitre.org/techniques/T1102/\","
           "\"subtechnique\":[{\"id\":\"T1102.002\",\"name\":\"Bidirectional Communication\","
           "\"reference\":\"https://attack.mitre.org/techniques/T1102/002/\"}]}]}],"
           "\"beaconing\":");
    bw_sbuf_cat(b, c->json);
    bw_sbuf_cat(b, "}");
    return b->oom ? BW_ERR_NOMEM : 0;
}

/* beaconwatch's severity and risk from the finding's score in [0, 1]. */
static const char *bw_severity(double score, int *risk)
{
    if (score >= 0.9) {
        *risk = 73;
        return "high";
    }
    if (score >= 0.7) {
        *risk = 47;
        return "medium";
    }
    *risk = 21;
    return "low";
}

/* The beaconwatch alert document: the same flattened signal shape as the
 * elastic alerts, the finding's explanation, and the finding itself. */
static int bw_doc(bw_sbuf *b, const cand *c, int64_t created)
{
    char t[BW_TIME_STRLEN], risk[16];
    int r;
    const char *sev = bw_severity(c->score, &r);
    const char *ex = strstr(c->json, "\"explanation\":\"");
    b->n = 0;
    bw_time_format_ms(created, t);
    bw_sbuf_cat(b, "{\"@timestamp\":\"");
    bw_sbuf_cat(b, t);
    bw_sbuf_cat(b, "\",\"kibana.alert.rule.name\":\"" RULE_BW "\",\"kibana.alert.severity\":");
    str(b, sev);
    snprintf(risk, sizeof risk, "%d", r);
    bw_sbuf_cat(b, ",\"kibana.alert.risk_score\":");
    bw_sbuf_cat(b, risk);
    bw_sbuf_cat(b, ",\"kibana.alert.original_time\":\"");
    bw_time_format_ms(c->ts_us, t);
    bw_sbuf_cat(b, t);
    bw_sbuf_cat(b, "\",\"kibana.alert.ancestors\":[{\"id\":");
    str(b, c->id);
    bw_sbuf_cat(b, ",\"rule\":\"beaconwatch\"}]");
    if (ex) {
        /* The document's own JSON string, copied as it is (already escaped). */
        const char *v = ex + strlen("\"explanation\":"), *e = v + 1;
        while (*e && *e != '"')
            e += e[0] == '\\' && e[1] ? 2 : 1;
        if (*e == '"') {
            bw_sbuf_cat(b, ",\"kibana.alert.reason\":");
            bw_sbuf_put(b, v, (size_t)(e + 1 - v));
        }
    }
    entities(b, c);
    bw_sbuf_cat(b, THREAT_C2_T1071
           "{\"id\":\"T1573\",\"name\":\"Encrypted Channel\","
           "\"reference\":\"https://attack.mitre.org/techniques/T1573/\"}]}],"
           "\"beaconwatch\":");
    bw_sbuf_cat(b, c->json);
    bw_sbuf_cat(b, "}");
    return b->oom ? BW_ERR_NOMEM : 0;
}

/* Stores one alert and reports it when new. */
static int raise_one(bw_store *s, const char *rule, const cand *c, const char *doc,
                     int64_t created, bw_alert_fn fn, void *ctx, int *nnew, uint64_t *added,
                     uint64_t *old, bw_errbuf *eb)
{
    int risk = 21;
    const char *sev = strcmp(rule, "beaconwatch") == 0 ? bw_severity(c->score, &risk) : "low";
    bw_sbuf id = {0};
    bw_alert a;
    int isnew = 0, err;
    bw_sbuf_cat(&id, rule);
    bw_sbuf_cat(&id, ":");
    bw_sbuf_cat(&id, c->rule);
    bw_sbuf_cat(&id, ":");
    bw_sbuf_cat(&id, c->id);
    if (id.oom) {
        free(id.p);
        return bw_errf(eb, BW_ERR_NOMEM, "alerts: out of memory");
    }
    a.id = id.p;
    a.rule = rule;
    a.finding_rule = c->rule;
    a.finding_id = c->id;
    a.ts_us = c->ts_us;
    a.created_us = created;
    a.severity = sev;
    a.risk = risk;
    a.host = c->host;
    a.process = c->process;
    a.source_ip = c->source_ip;
    a.json = doc;
    err = bw_store_put_alert(s, &a, &isnew, eb);
    if (!err) {
        if (isnew) {
            (*added)++;
            (*nnew)++;
            if (fn && fn(ctx, &a))
                err = bw_errf(eb, BW_ERR_STOPPED, "alerts: stopped by the callback");
        } else {
            (*old)++;
        }
    }
    free(id.p);
    return err;
}

int bw_alerts_run(bw_store *s, const bw_alert_opts *o, bw_alert_fn fn, void *ctx,
                  uint64_t *added, uint64_t *old, bw_errbuf *eb)
{
    collect c;
    bw_finding_query q;
    bw_name_set *excluded = NULL;
    bw_sbuf doc = {0};
    uint64_t na = 0, no = 0;
    int64_t now = o->now_us;
    int err = 0, tx = 0;
    memset(&c, 0, sizeof c);
    if (now == BW_UNSET) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        now = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
    }
    int max = o->max_per_rule > 0 ? o->max_per_rule : DEFAULT_MAX;
    int n1 = 0, n2 = 0, n3 = 0, n4 = 0;
    c.max = max * CAND_FACTOR;
    c.want_c2 = c.want_high = o->elastic;
    c.want_sentinel = o->sentinel;
    c.want_bw = o->beaconwatch;
    if (!(excluded = bw_name_set_new()) ||
        bw_name_set_add_list(excluded, BW_LIST_ELASTIC_ALERT_EXCLUDED) != 0 ||
        !(c.c2 = calloc((size_t)c.max, sizeof *c.c2)) ||
        !(c.high = calloc((size_t)c.max, sizeof *c.high)) ||
        !(c.sent = calloc((size_t)c.max, sizeof *c.sent)) ||
        !(c.bw = calloc((size_t)c.max, sizeof *c.bw))) {
        err = bw_errf(eb, BW_ERR_NOMEM, "alerts: out of memory");
        goto out;
    }
    c.excluded = excluded;
    if (o->elastic) {
        /* The prebuilt rules' query: the last hour of event.ingested. */
        bw_finding_query_init(&q);
        q.rule = "elastic";
        q.ingested_from = now - HOUR_US;
        q.ingested_to = now;
        q.only_alert = 1; /* is_beaconing */
        if ((err = bw_store_findings(s, &q, on_candidate, &c, eb)))
            goto fail;
    }
    if (o->sentinel) {
        /* The scheduled query runs daily: the findings of the last day. */
        bw_finding_query_init(&q);
        q.rule = "sentinel*";
        q.ingested_from = now - DAY_US;
        q.ingested_to = now;
        if ((err = bw_store_findings(s, &q, on_candidate, &c, eb)))
            goto fail;
    }
    if (o->beaconwatch) {
        /* Its scheduled run is daily, like sentinel's. */
        bw_finding_query_init(&q);
        q.rule = "beaconwatch";
        q.ingested_from = now - DAY_US;
        q.ingested_to = now;
        q.only_alert = 1;
        if ((err = bw_store_findings(s, &q, on_candidate, &c, eb)))
            goto fail;
    }
    if (!o->in_transaction) {
        if ((err = bw_store_begin(s, eb)))
            goto out;
        tx = 1;
    }
    /* At most max new alerts per rule and run (the rules' max_signals). */
    for (int i = 0; !err && i < c.nc2 && n1 < max; i++)
        if (!(err = elastic_doc(&doc, RULE_C2, &c.c2[i], now)))
            err = raise_one(s, "elastic-c2-beaconing", &c.c2[i], doc.p, now, fn, ctx, &n1,
                            &na, &no, eb);
    for (int i = 0; !err && i < c.nhigh && n2 < max; i++)
        if (!(err = elastic_doc(&doc, RULE_C2_HIGH, &c.high[i], now)))
            err = raise_one(s, "elastic-c2-beaconing-high", &c.high[i], doc.p, now, fn, ctx,
                            &n2, &na, &no, eb);
    for (int i = 0; !err && i < c.nsent && n3 < max; i++)
        err = raise_one(s, "sentinel", &c.sent[i], c.sent[i].json, now, fn, ctx, &n3, &na,
                        &no, eb);
    for (int i = 0; !err && i < c.nbw && n4 < max; i++)
        if (!(err = bw_doc(&doc, &c.bw[i], now)))
            err = raise_one(s, "beaconwatch", &c.bw[i], doc.p, now, fn, ctx, &n4, &na, &no, eb);
    if (err == BW_ERR_NOMEM)
        bw_errf(eb, err, "alerts: out of memory");
    if (!err && tx) {
        tx = 0;
        err = bw_store_commit(s, eb);
    }
    goto out;
fail:
    if (c.oom)
        err = bw_errf(eb, BW_ERR_NOMEM, "alerts: out of memory");
out:
    if (tx)
        bw_store_rollback(s);
    for (int i = 0; i < c.nc2; i++)
        free_cand(&c.c2[i]);
    for (int i = 0; i < c.nhigh; i++)
        free_cand(&c.high[i]);
    for (int i = 0; i < c.nsent; i++)
        free_cand(&c.sent[i]);
    for (int i = 0; i < c.nbw; i++)
        free_cand(&c.bw[i]);
    free(c.bw);
    free(c.c2);
    free(c.high);
    free(c.sent);
    free(doc.p);
    bw_name_set_free(excluded);
    if (added)
        *added = err ? 0 : na;
    if (old)
        *old = err ? 0 : no;
    return err;
}
