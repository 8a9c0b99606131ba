/* Readers for Sentinel ASIM NetworkSession records (SPEC §2 `asim-csv`,
 * `asim-json`). CSV: RFC 4180 (quoted cells may hold commas, doubled
 * quotes and line breaks; CRLF or LF), columns found by header name, never
 * by position; unknown columns ignored; an empty cell is unset. JSON: an
 * array or NDJSON of flat objects. Both share one field map. */
#include "ingest_json.h"

#include <stdlib.h>
#include <string.h>

enum {
    A_TIME_GENERATED,
    A_START_TIME,
    A_SRC_IP,
    A_SRC_PORT,
    A_DST_IP,
    A_DST_PORT,
    A_SRC_BYTES,
    A_DST_BYTES,
    A_SRC_HOST,
    A_DVC_HOST,
    A_SRC_PROCESS,
    A_PROTOCOL,
    A_SUBTYPE,
    A_DST_DOMAIN,
    A_DST_FQDN,
    A_DURATION,
    A__COUNT
};

static const char *const asim_paths[A__COUNT] = {
    [A_TIME_GENERATED] = "TimeGenerated",
    [A_START_TIME] = "EventStartTime",
    [A_SRC_IP] = "SrcIpAddr",
    [A_SRC_PORT] = "SrcPortNumber",
    [A_DST_IP] = "DstIpAddr",
    [A_DST_PORT] = "DstPortNumber",
    [A_SRC_BYTES] = "SrcBytes",
    [A_DST_BYTES] = "DstBytes",
    [A_SRC_HOST] = "SrcHostname",
    [A_DVC_HOST] = "DvcHostname",
    [A_SRC_PROCESS] = "SrcProcessName",
    [A_PROTOCOL] = "NetworkProtocol",
    [A_SUBTYPE] = "EventSubType",
    [A_DST_DOMAIN] = "DstDomain",
    [A_DST_FQDN] = "DstFQDN",
    [A_DURATION] = "NetworkDuration",
};

static int bad(const bw_json_val *v, bw_str *detail, int why)
{
    bw_field_detail(v, detail);
    return why;
}

static const bw_json_val *either(const bw_json_val *v, int a, int b)
{
    return bw_field_present(&v[a]) ? &v[a] : &v[b];
}

static int asim_record(bw_parse *p, const bw_json_val *v, bw_record *r, bw_str *detail)
{
    const bw_json_val *tv = either(v, A_TIME_GENERATED, A_START_TIME);
    int64_t sport = -1, dport = -1;
    int t = bw_field_time(p, tv, &r->ts_us);

    if (t > 0)
        return BW_SKIP_NO_TIME;
    if (t < 0)
        return bad(tv, detail, BW_SKIP_BAD_TIME);
    if (bw_field_ip(p, &v[A_SRC_IP], &r->src_ip) != 0)
        return bad(&v[A_SRC_IP], detail, BW_SKIP_BAD_IP);
    if (bw_field_ip(p, &v[A_DST_IP], &r->dst_ip) != 0)
        return bad(&v[A_DST_IP], detail, BW_SKIP_BAD_IP);
    if (bw_field_int(&v[A_SRC_PORT], 0, 65535, &sport) != 0)
        return bad(&v[A_SRC_PORT], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[A_DST_PORT], 0, 65535, &dport) != 0)
        return bad(&v[A_DST_PORT], detail, BW_SKIP_BAD_NUMBER);
    r->src_port = (int32_t)sport;
    r->dst_port = (int32_t)dport;
    if (bw_field_int(&v[A_SRC_BYTES], 0, INT64_MAX, &r->src_bytes) != 0)
        return bad(&v[A_SRC_BYTES], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_int(&v[A_DST_BYTES], 0, INT64_MAX, &r->dst_bytes) != 0)
        return bad(&v[A_DST_BYTES], detail, BW_SKIP_BAD_NUMBER);
    /* ASIM NetworkDuration is in milliseconds. */
    if (bw_field_scaled(&v[A_DURATION], 3, &r->duration_us) != 0)
        return bad(&v[A_DURATION], detail, BW_SKIP_BAD_NUMBER);
    if (bw_field_str(p, either(v, A_SRC_HOST, A_DVC_HOST), &r->host_name) != 0 ||
        bw_field_str(p, &v[A_SRC_PROCESS], &r->process_name) != 0 ||
        bw_field_str(p, &v[A_PROTOCOL], &r->transport) != 0 ||
        bw_field_str(p, &v[A_SUBTYPE], &r->event_action) != 0 ||
        bw_field_str(p, either(v, A_DST_DOMAIN, A_DST_FQDN), &r->dst_domain) != 0)
        return BW_SKIP_TOO_LONG;
    return -1;
}

static size_t asim_header_none(bw_parse *p, const char *buf, size_t n)
{
    (void)p;
    (void)buf;
    (void)n;
    return 0;
}

/* ---- asim-json ---- */

static int asim_json_sniff(const char *buf, size_t n)
{
    int first = bw_sniff_first(buf, n), score = 0;
    if (first != '{' && first != '[')
        return 0;
    if (bw_sniff_has(buf, n, "\"SrcIpAddr\"") || bw_sniff_has(buf, n, "\"DstIpAddr\""))
        score = 60;
    if (score && (bw_sniff_has(buf, n, "\"TimeGenerated\"") ||
                  bw_sniff_has(buf, n, "\"EventStartTime\"")))
        score += 35;
    return score;
}

static int asim_json_init(bw_parse *p)
{
    return bw_jstream_new(p, asim_paths, A__COUNT, NULL);
}

static size_t asim_json_feed(bw_parse *p, const char *buf, size_t n, int eof)
{
    return bw_jstream_feed(p, p->state, buf, n, eof, asim_record);
}

const bw_reader bw_reader_asim_json = {
    .format = BW_FMT_ASIM_JSON,
    .name = "asim-json",
    .describe = "Sentinel ASIM NetworkSession as a JSON array or NDJSON: TimeGenerated "
                "(else EventStartTime), SrcIpAddr/SrcPortNumber, DstIpAddr/DstPortNumber, "
                "SrcBytes/DstBytes, SrcHostname (else DvcHostname), SrcProcessName, "
                "NetworkProtocol, EventSubType, DstDomain (else DstFQDN), NetworkDuration (ms)",
    .sniff = asim_json_sniff,
    .init = asim_json_init,
    .fini = bw_jstream_fini,
    .header = asim_header_none,
    .feed = asim_json_feed,
    .splittable = bw_jstream_splittable,
};

/* ---- asim-csv ---- */

#define CSV_MAX_COLS 1024 /* columns beyond this are never mapped */

enum { CSV_OK = 0, CSV_INCOMPLETE, CSV_SYNTAX };

typedef struct csv_state {
    int have_header;
    int dead;   /* no usable header: every line is counted, none parsed */
    int resync; /* skip through the next newline */
    long ncols; /* cells in the header */
    uint8_t map[CSV_MAX_COLS]; /* column -> field + 1, 0 = ignored */
    bw_json_val vals[A__COUNT];
} csv_state;


/* Parses one record at s[0..n). Cell k goes to vals[map[k] - 1] when map
 * is given (and map[k] != 0), else to vals[k] for k < cap (the header).
 * On CSV_OK *end is past the record's line break (or at n at eof), *nl
 * counts the newlines in it (quoted ones included), *ncells its cells and
 * *blank tells an empty line. When more input could change the outcome and
 * eof is 0, returns CSV_INCOMPLETE. */
static int csv_record(const char *s, size_t n, int eof, const uint8_t *map, long ncols,
                      bw_json_val *vals, long cap, size_t *end, uint32_t *nl, long *ncells,
                      int *blank)
{
    size_t i = 0;
    uint32_t lines = 0;
    long c = 0;
    size_t len0 = 0;
    int rc = CSV_OK, quoted = 0;

    for (;;) {
        size_t cs, ce;
        uint8_t esc = BW_JSON_ESC_NONE;
        if (i < n && s[i] == '"') {
            quoted = 1;
            cs = ++i;
            for (;;) {
                const char *q = memchr(s + i, '"', n - i);
                if (!q) {
                    i = n;
                    rc = CSV_INCOMPLETE;
                    goto out;
                }
                lines += (uint32_t)bw_count_lines(s + i, (size_t)(q - (s + i)));
                i = (size_t)(q - s) + 1;
                if (i < n && s[i] == '"') {
                    esc = BW_JSON_ESC_CSV;
                    i++;
                    continue;
                }
                if (i >= n && !eof) {
                    rc = CSV_INCOMPLETE; /* it may be the first half of "" */
                    goto out;
                }
                break;
            }
            ce = i - 1;
            if (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                rc = CSV_SYNTAX;
                goto out;
            }
        } else {
            cs = i;
            while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
                i++;
            ce = i;
        }
        if (c == 0)
            len0 = ce - cs;
        if (ce > cs) {
            bw_json_val *v = NULL;
            if (map) {
                if (c < ncols && c < CSV_MAX_COLS && map[c])
                    v = &vals[map[c] - 1];
            } else if (c < cap) {
                v = &vals[c];
            }
            if (v) {
                v->p = s + cs;
                v->n = (uint32_t)(ce - cs);
                v->type = BW_JSON_STRING;
                v->esc = esc;
            }
        }
        c++;
        if (i >= n) {
            if (!eof)
                rc = CSV_INCOMPLETE;
            goto out;
        }
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (s[i] == '\r') {
            if (i + 1 < n && s[i + 1] == '\n') {
                i += 2;
                lines++;
            } else if (i + 1 >= n && !eof) {
                rc = CSV_INCOMPLETE;
            } else {
                i++; /* a bare CR ends the line, as old Mac files do */
            }
            goto out;
        }
        i++; /* '\n' */
        lines++;
        goto out;
    }
out:
    *end = i;
    *nl = lines;
    *ncells = c;
    *blank = c == 1 && !quoted && len0 == 0;
    return rc;
}

static int name_eq(const char *a, size_t n, const char *b)
{
    size_t k = 0;
    for (; k < n && b[k]; k++) {
        char x = a[k], y = b[k];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return k == n && b[k] == 0;
}

/* Maps a header cell to a field: names compare without case, and a unit
 * suffix as the Sentinel portal writes it ("TimeGenerated [UTC]") is
 * ignored. Returns field + 1, or 0. */
static uint8_t header_field(const bw_json_val *v)
{
    char buf[128];
    const char *s = v->p;
    size_t n = v->n;
    if (v->type != BW_JSON_STRING)
        return 0;
    if (v->esc != BW_JSON_ESC_NONE) {
        size_t o = 0;
        if (n > sizeof buf)
            return 0;
        for (size_t i = 0; i < n; i++) {
            buf[o++] = s[i];
            if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
                i++;
        }
        s = buf;
        n = o;
    }
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n && s[n - 1] == ']') {
        size_t k = n;
        while (k && s[k - 1] != '[')
            k--;
        if (k) {
            n = k - 1;
            while (n && s[n - 1] == ' ')
                n--;
        }
    }
    for (int f = 0; f < A__COUNT; f++) {
        if (name_eq(s, n, asim_paths[f]))
            return (uint8_t)(f + 1);
    }
    return 0;
}

/* Parses the header at s[0..n) (after an optional BOM and blank lines)
 * into st. Returns a CSV_* code; on CSV_OK *used bytes and *nl newlines
 * were consumed. */
static int parse_header(csv_state *st, const char *s, size_t n, int eof, size_t *used,
                        uint32_t *nl)
{
    static bw_json_val none;
    bw_json_val cells[CSV_MAX_COLS];
    size_t i = 0, end = 0;
    uint32_t lines = 0, hl = 0;
    long nc = 0;
    int blank, rc;

    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    else if (n < 3 && !eof && memcmp(s, "\xEF\xBB\xBF", n) == 0)
        return CSV_INCOMPLETE;
    while (i < n && (s[i] == '\r' || s[i] == '\n'))
        lines += s[i++] == '\n';
    if (i >= n && !eof)
        return CSV_INCOMPLETE;
    for (long k = 0; k < CSV_MAX_COLS; k++)
        cells[k] = none;
    rc = csv_record(s + i, n - i, eof, NULL, 0, cells, CSV_MAX_COLS, &end, &hl, &nc, &blank);
    *used = i + end;
    *nl = lines + hl;
    if (rc != CSV_OK)
        return rc;
    st->ncols = nc;
    memset(st->map, 0, sizeof st->map);
    for (long k = 0; k < nc && k < CSV_MAX_COLS; k++) {
        uint8_t f = header_field(&cells[k]);
        int dup = 0;
        for (long j = 0; f && j < k && j < CSV_MAX_COLS; j++)
            dup |= st->map[j] == f;
        if (!dup) /* the first of duplicate columns wins */
            st->map[k] = f;
    }
    st->have_header = 1;
    return CSV_OK;
}

static int asim_csv_init(bw_parse *p)
{
    csv_state *st = calloc(1, sizeof *st);
    if (!st)
        return BW_ERR_NOMEM;
    p->state = st;
    return BW_OK;
}

static void asim_csv_fini(bw_parse *p)
{
    free(p->state);
    p->state = NULL;
}

static size_t max_record(const bw_parse *p)
{
    return p->max_record ? p->max_record : (1u << 20);
}

/* Leaves p->line alone: the driver numbers lines after the header. When
 * the header is incomplete or bad here, feed() meets it and reports it. */
static size_t asim_csv_header(bw_parse *p, const char *buf, size_t n)
{
    csv_state *st = p->state;
    size_t used = 0, lim = n < max_record(p) ? n : max_record(p);
    uint32_t nl = 0;
    if (st->have_header || parse_header(st, buf, lim, 0, &used, &nl) != CSV_OK)
        return 0;
    return used;
}

static size_t asim_csv_feed(bw_parse *p, const char *buf, size_t n, int eof)
{
    csv_state *st = p->state;
    size_t i = 0, maxrec = max_record(p);
    uint64_t line = p->line;
    bw_record r;

    while (i < n && !p->stopped) {
        size_t start = i, lim = n - i, end = 0;
        int capped = lim >= maxrec, at_end, rc, blank, why;
        uint64_t sline = line;
        uint32_t nl = 0;
        long nc = 0;
        bw_str detail = {NULL, 0};

        if (st->resync) {
            const char *q = memchr(buf + i, '\n', n - i);
            if (!q) {
                i = n;
                break;
            }
            i = (size_t)(q - buf) + 1;
            line++;
            st->resync = 0;
            continue;
        }
        if (capped)
            lim = maxrec;
        at_end = eof && lim == n - i;
        if (st->dead) {
            /* Without a header no cell has a meaning: count each line. */
            if (buf[i] == '\n') {
                i++;
                line++;
            } else {
                bw_parse_skip(p, BW_SKIP_COLUMNS, line, "no usable CSV header", 20);
                st->resync = 1;
            }
            continue;
        }
        if (!st->have_header) {
            rc = parse_header(st, buf + i, lim, at_end, &end, &nl);
            if (rc == CSV_OK) {
                i += end;
                line += nl;
                continue;
            }
            if (rc == CSV_INCOMPLETE && !capped && !at_end)
                break;
            bw_parse_skip(p, rc == CSV_SYNTAX ? BW_SKIP_SYNTAX
                             : capped         ? BW_SKIP_TOO_LONG
                                              : BW_SKIP_TRUNCATED,
                          line, "CSV header", 10);
            st->dead = 1;
            st->resync = 1;
            continue;
        }
        for (int k = 0; k < A__COUNT; k++)
            st->vals[k].type = BW_JSON_NONE;
        rc = csv_record(buf + i, lim, at_end, st->map, st->ncols, st->vals, 0, &end, &nl, &nc,
                        &blank);
        if (rc == CSV_INCOMPLETE) {
            if (capped) {
                bw_parse_skip(p, BW_SKIP_TOO_LONG, sline, buf + start, 0);
                line += bw_count_lines(buf + start, lim);
                i = start + lim;
                st->resync = 1;
                continue;
            }
            if (!eof)
                break;
            bw_parse_skip(p, BW_SKIP_TRUNCATED, sline, buf + start, 0);
            line += bw_count_lines(buf + start, n - start);
            i = n;
            break;
        }
        if (rc == CSV_SYNTAX) {
            bw_parse_skip(p, BW_SKIP_SYNTAX, sline, buf + start + end,
                          n - start - end < 40 ? n - start - end : 40);
            i = start + end;
            line += nl;
            st->resync = 1;
            continue;
        }
        i += end;
        line += nl;
        if (blank)
            continue;
        if (nc != st->ncols) {
            bw_parse_skip(p, BW_SKIP_COLUMNS, sline, NULL, 0);
            continue;
        }
        bw_parse_scratch_reset(p);
        bw_record_clear(&r);
        why = asim_record(p, st->vals, &r, &detail);
        if (why < 0) {
            if (bw_parse_emit(p, &r))
                p->stopped = 1;
        } else {
            bw_parse_skip(p, (bw_skip)why, sline, detail.p, detail.n);
        }
    }
    p->line = line;
    return i;
}

static int asim_csv_sniff(const char *buf, size_t n)
{
    int first = bw_sniff_first(buf, n), score;
    const char *eol;
    size_t len;
    if (first < 0 || first == '{' || first == '[')
        return 0;
    eol = memchr(buf, '\n', n);
    len = eol ? (size_t)(eol - buf) : n;
    if (!memchr(buf, ',', len) || !bw_sniff_has(buf, len, "SrcIpAddr"))
        return 0;
    score = 60;
    if (bw_sniff_has(buf, len, "TimeGenerated") || bw_sniff_has(buf, len, "EventStartTime"))
        score += 35;
    return score;
}

/* Quoted cells may hold line breaks, so a split at a newline is only safe
 * when the file uses no quoting at all. The first bytes stand for the
 * file: a file that starts quoting later and also puts a line break inside
 * a quoted cell right at a chunk boundary costs a few skipped lines. */
static int asim_csv_splittable(const char *buf, size_t n)
{
    return memchr(buf, '"', n) == NULL;
}

const bw_reader bw_reader_asim_csv = {
    .format = BW_FMT_ASIM_CSV,
    .name = "asim-csv",
    .describe = "Sentinel ASIM NetworkSession as CSV with a header row (RFC 4180 quoting, "
                "columns by name): TimeGenerated (else EventStartTime), SrcIpAddr/"
                "SrcPortNumber, DstIpAddr/DstPortNumber, SrcBytes/DstBytes, SrcHostname "
                "(else DvcHostname), SrcProcessName, NetworkProtocol, EventSubType, DstDomain "
                "(else DstFQDN), NetworkDuration (ms)",
    .sniff = asim_csv_sniff,
    .init = asim_csv_init,
    .fini = asim_csv_fini,
    .header = asim_csv_header,
    .feed = asim_csv_feed,
    .splittable = asim_csv_splittable,
};
