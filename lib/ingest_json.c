/* The document stream shared by the JSON readers (see ingest_json.h).
 * Error recovery: a bad document whose error is on its first line skips
 * that line (NDJSON: every bad line is counted once). A bad document that
 * spans lines (pretty-printed) skips its first line and then every line
 * that does not start a new document ('{' or '[' first), so one broken
 * document is counted once, not once per line. */
#include "ingest_json.h"

#include <stdlib.h>
#include <string.h>

enum {
    RS_NONE = 0,
    RS_EOL,     /* skip through the next newline */
    RS_DOC_EOL, /* skip through the next newline, then RS_DOC_SCAN */
    RS_DOC_SCAN /* at a line start: skip lines until one starts with { or [ */
};

#define DETAIL_MAX 40

int bw_jstream_init(bw_jstream *js, const char *const *paths, int n, const char *transparent)
{
    js->resync = RS_NONE;
    if (bw_json_keys_init(&js->keys, paths, n, transparent) != 0)
        return BW_ERR_USAGE;
    return BW_OK;
}

int bw_jstream_new(bw_parse *p, const char *const *paths, int n, const char *transparent)
{
    bw_jstream *js = calloc(1, sizeof *js);
    int rc;
    if (!js)
        return BW_ERR_NOMEM;
    if ((rc = bw_jstream_init(js, paths, n, transparent)) != BW_OK) {
        free(js);
        return rc;
    }
    p->state = js;
    return BW_OK;
}

void bw_jstream_fini(bw_parse *p)
{
    free(p->state);
    p->state = NULL;
}


/* A short excerpt at s for a diagnostic: up to DETAIL_MAX bytes, one line. */
static bw_str excerpt(const char *s, size_t n)
{
    bw_str d;
    const char *q;
    d.p = s;
    d.n = n < DETAIL_MAX ? n : DETAIL_MAX;
    if ((q = memchr(s, '\n', d.n)))
        d.n = (size_t)(q - s);
    return d;
}

/* Runs the recovery state machine over buf[*pi..n); returns 0 when more
 * input is needed to finish it. */
static int resync_step(bw_jstream *js, const char *buf, size_t n, size_t *pi, uint64_t *line)
{
    size_t i = *pi;
    while (js->resync != RS_NONE && i < n) {
        if (js->resync == RS_EOL || js->resync == RS_DOC_EOL) {
            const char *q = memchr(buf + i, '\n', n - i);
            if (!q) {
                i = n;
                break;
            }
            i = (size_t)(q - buf) + 1;
            (*line)++;
            js->resync = js->resync == RS_EOL ? RS_NONE : RS_DOC_SCAN;
            continue;
        }
        /* RS_DOC_SCAN */
        while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
            i++;
        if (i >= n)
            break;
        if (buf[i] == '\n') {
            i++;
            (*line)++;
        } else if (buf[i] == '{' || buf[i] == '[') {
            js->resync = RS_NONE;
        } else {
            js->resync = RS_DOC_EOL;
        }
    }
    *pi = i;
    return js->resync == RS_NONE;
}

size_t bw_jstream_feed(bw_parse *p, bw_jstream *js, const char *buf, size_t n, int eof,
                       bw_jrecord_fn fn)
{
    size_t i = 0, maxrec = p->max_record ? p->max_record : (1u << 20);
    uint64_t line = p->line;
    bw_record r;

    while (i < n && !p->stopped) {
        size_t start, lim, end = 0;
        uint64_t sline;
        uint32_t nl = 0;
        int rc, capped;
        char c;

        if (js->resync != RS_NONE) {
            if (!resync_step(js, buf, n, &i, &line))
                break;
            continue;
        }
        c = buf[i];
        if (c == '\n') {
            line++;
            i++;
            continue;
        }
        /* Separators between documents: white space, and the commas and
         * brackets of a top-level array (so an array needs no state). */
        if (c == ' ' || c == '\t' || c == '\r' || c == ',' || c == '[' || c == ']') {
            i++;
            continue;
        }
        if (c == '\xEF') { /* UTF-8 byte order mark */
            if (n - i < 3 && !eof)
                break;
            if (n - i >= 3 && buf[i + 1] == '\xBB' && buf[i + 2] == '\xBF') {
                i += 3;
                continue;
            }
        }
        start = i;
        sline = line;
        lim = n - i;
        capped = lim >= maxrec;
        if (capped)
            lim = maxrec;
        rc = bw_json_scan(&js->keys, buf + i, lim, js->vals, &end, &nl);
        if (rc == BW_JSON_OK) {
            bw_str detail = {NULL, 0};
            int why;
            i += end;
            line += nl;
            bw_parse_scratch_reset(p);
            bw_record_clear(&r);
            why = fn(p, js->vals, &r, &detail);
            if (why < 0) {
                if (bw_parse_emit(p, &r))
                    p->stopped = 1;
            } else {
                bw_parse_skip(p, (bw_skip)why, sline, detail.p, detail.n);
            }
            continue;
        }
        if (rc == BW_JSON_INCOMPLETE) {
            if (capped) {
                bw_str d = excerpt(buf + start, n - start);
                bw_parse_skip(p, BW_SKIP_TOO_LONG, sline, d.p, d.n);
                if (nl == 0) {
                    /* One over-long line: drop the rest of it. */
                    i = start + lim;
                    js->resync = RS_EOL;
                } else {
                    js->resync = RS_DOC_EOL;
                }
                continue;
            }
            if (!eof)
                break;
            {
                bw_str d = excerpt(buf + start, n - start);
                bw_parse_skip(p, BW_SKIP_TRUNCATED, sline, d.p, d.n);
            }
            line += bw_count_lines(buf + start, n - start);
            i = n;
            break;
        }
        /* BW_JSON_ESYNTAX or BW_JSON_EDEPTH */
        if (rc == BW_JSON_EDEPTH) {
            bw_parse_skip(p, BW_SKIP_SYNTAX, sline, "nesting too deep", 16);
        } else {
            bw_str d = excerpt(buf + start + end, n - start - end);
            bw_parse_skip(p, BW_SKIP_SYNTAX, sline, d.p, d.n);
        }
        if (nl == 0) {
            i = start + end;
            js->resync = RS_EOL;
        } else {
            js->resync = RS_DOC_EOL;
        }
    }
    p->line = line;
    return i;
}

int bw_jstream_splittable(const char *buf, size_t n)
{
    int c = bw_sniff_first(buf, n);
    size_t i = 0, end;
    uint32_t nl;
    const char *eol;
    if (c != '{')
        return 0;
    while (buf[i] != '{')
        i++;
    if (!(eol = memchr(buf + i, '\n', n - i)))
        return 0;
    return bw_json_skip(buf + i, (size_t)(eol - buf) - i, &end, &nl) == BW_JSON_OK;
}

int bw_sniff_first(const char *buf, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i < n ? (unsigned char)buf[i] : -1;
}

int bw_sniff_has(const char *buf, size_t n, const char *quoted)
{
    size_t m = strlen(quoted);
    const char *s = buf, *e = buf + n, *q;
    if (m == 0 || m > n)
        return 0;
    while ((size_t)(e - s) >= m && (q = memchr(s, quoted[0], (size_t)(e - s) - m + 1))) {
        if (memcmp(q, quoted, m) == 0)
            return 1;
        s = q + 1;
    }
    return 0;
}

int bw_field_present(const bw_json_val *v)
{
    return v->type != BW_JSON_NONE && v->type != BW_JSON_NULL &&
           !(v->type == BW_JSON_STRING && v->n == 0);
}

/* Decodes a CSV cell's doubled quotes in place; returns the new length. */
static size_t csv_undouble(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        s[o++] = s[i];
        if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
            i++;
    }
    return o;
}

int bw_field_str(bw_parse *p, const bw_json_val *v, bw_str *out)
{
    char *d;
    long m;
    if (!bw_field_present(v))
        return 0;
    if (v->type != BW_JSON_STRING || v->esc == BW_JSON_ESC_NONE) {
        out->p = v->p;
        out->n = v->n;
        return 0;
    }
    if (!(d = bw_parse_scratch_put(p, v->p, v->n)))
        return -1;
    if (v->esc == BW_JSON_ESC_CSV) {
        m = (long)csv_undouble(d, v->n);
    } else if ((m = bw_json_unescape(d, v->n, d)) < 0) {
        return -1;
    }
    out->p = d;
    out->n = (size_t)m;
    return 0;
}

/* The text of a short scalar without escapes, trimmed of blanks, in buf
 * when it had to be decoded; NULL when it is not a scalar or too long. */
static const char *short_text(const bw_json_val *v, char *buf, size_t cap, size_t *len)
{
    const char *s = v->p;
    size_t n = v->n;
    if (v->type != BW_JSON_STRING && v->type != BW_JSON_NUMBER)
        return NULL;
    if (v->type == BW_JSON_STRING && v->esc != BW_JSON_ESC_NONE) {
        long m;
        if (n > cap)
            return NULL;
        if (v->esc == BW_JSON_ESC_CSV) {
            memcpy(buf, s, n);
            m = (long)csv_undouble(buf, n);
        } else if ((m = bw_json_unescape(s, n, buf)) < 0) {
            return NULL;
        }
        s = buf;
        n = (size_t)m;
    }
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    *len = n;
    return s;
}

int bw_field_ip(bw_parse *p, const bw_json_val *v, bw_ip *out)
{
    char buf[64];
    size_t n;
    const char *s;
    (void)p;
    if (!bw_field_present(v))
        return 0;
    if (v->type != BW_JSON_STRING || !(s = short_text(v, buf, sizeof buf, &n)))
        return -1;
    return bw_ip_parse(s, n, out) == 0 ? 0 : -1;
}

int bw_field_int(const bw_json_val *v, int64_t lo, int64_t hi, int64_t *out)
{
    char buf[64];
    size_t n;
    const char *s;
    int64_t x;
    if (!bw_field_present(v))
        return 0;
    if (!(s = short_text(v, buf, sizeof buf, &n)))
        return -1;
    if (bw_json_decimal(s, n, 0, &x) != 0 || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

int bw_field_scaled(const bw_json_val *v, int scale, int64_t *out)
{
    char buf[64];
    size_t n;
    const char *s;
    int64_t x;
    if (!bw_field_present(v))
        return 0;
    if (!(s = short_text(v, buf, sizeof buf, &n)))
        return -1;
    if (bw_json_decimal(s, n, scale, &x) < 0 || x < 0)
        return -1;
    *out = x;
    return 0;
}

int bw_field_time(bw_parse *p, const bw_json_val *v, int64_t *out)
{
    char buf[64];
    size_t n;
    const char *s;
    (void)p;
    if (!bw_field_present(v))
        return 1;
    if (!(s = short_text(v, buf, sizeof buf, &n)))
        return -1;
    return bw_time_parse(s, n, out) == 0 ? 0 : -1;
}

int bw_field_eq(const bw_json_val *v, const char *lit)
{
    char buf[64];
    size_t m = strlen(lit);
    long k;
    if (v->type != BW_JSON_STRING)
        return 0;
    if (v->esc == BW_JSON_ESC_NONE)
        return v->n == m && memcmp(v->p, lit, m) == 0;
    if (v->n > sizeof buf)
        return 0;
    if (v->esc == BW_JSON_ESC_CSV) {
        memcpy(buf, v->p, v->n);
        k = (long)csv_undouble(buf, v->n);
    } else {
        k = bw_json_unescape(v->p, v->n, buf);
    }
    return k == (long)m && memcmp(buf, lit, m) == 0;
}

void bw_field_detail(const bw_json_val *v, bw_str *detail)
{
    if (v->type == BW_JSON_NONE) { /* p/n are stale for absent fields */
        detail->p = NULL;
        detail->n = 0;
        return;
    }
    detail->p = v->p;
    detail->n = v->n < DETAIL_MAX ? v->n : DETAIL_MAX;
}
