/* Reader for Zeek conn.log in its native TSV form. Columns are found by
 * the #fields header, never by position, so extra columns (_node_name,
 * Stratosphere's label) are fine; '#path' other than conn/open_conn marks
 * a log of another kind. The hot loop splits on the separator with memchr
 * and parses numbers in place. */
#include "ingest_reader.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_COLS 256

enum col {
    C_IGNORE = 0, C_TS, C_ORIG_H, C_ORIG_P, C_RESP_H, C_RESP_P, C_PROTO, C_DURATION,
    C_ORIG_BYTES, C_RESP_BYTES, C_CONN_STATE, C_SERVICE_NAME
};

typedef struct zeek_state {
    char sep;
    char unset[16], empty[16];
    size_t unset_len, empty_len;
    int ncols;
    uint8_t col[MAX_COLS];
    int have_fields;
    int last_needed; /* index of the last column the record uses */
    int other_log; /* #path names a log that is not a session log */
} zeek_state;

static int starts(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

static int sniff(const char *buf, size_t n)
{
    if (starts(buf, n, "#separator"))
        return 100;
    if (starts(buf, n, "#fields\t"))
        return 90;
    return 0;
}

static void reset(zeek_state *z)
{
    memset(z, 0, sizeof *z);
    z->sep = '\t';
    memcpy(z->unset, "-", 1);
    z->unset_len = 1;
    memcpy(z->empty, "(empty)", 7);
    z->empty_len = 7;
}

static int init(bw_parse *p)
{
    zeek_state *z = malloc(sizeof *z);
    if (!z)
        return BW_ERR_NOMEM;
    reset(z);
    p->state = z;
    return BW_OK;
}

static void fini(bw_parse *p)
{
    free(p->state);
    p->state = NULL;
}

static enum col col_of(const char *s, size_t n)
{
    static const struct {
        const char *name;
        enum col c;
    } map[] = {
        {"ts", C_TS},
        {"id.orig_h", C_ORIG_H},
        {"id.orig_p", C_ORIG_P},
        {"id.resp_h", C_RESP_H},
        {"id.resp_p", C_RESP_P},
        {"proto", C_PROTO},
        {"duration", C_DURATION},
        {"orig_bytes", C_ORIG_BYTES},
        {"resp_bytes", C_RESP_BYTES},
        {"conn_state", C_CONN_STATE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].name) == n && memcmp(map[i].name, s, n) == 0)
            return map[i].c;
    return C_IGNORE;
}

/* "\x09" style escapes in #separator. */
static char unescape_sep(const char *s, size_t n)
{
    if (n == 4 && s[0] == '\\' && s[1] == 'x') {
        char hex[3] = {s[2], s[3], 0};
        return (char)strtol(hex, NULL, 16);
    }
    return n ? s[0] : '\t';
}

/* Applies one '#' directive line (without the newline). */
static void directive(bw_parse *p, zeek_state *z, const char *s, size_t n)
{
    const char *v;
    size_t vn;
    if (starts(s, n, "#separator ")) {
        z->sep = unescape_sep(s + 11, n - 11);
        return;
    }
    /* Other directives are "#name<sep>value...". */
    v = memchr(s, z->sep, n);
    if (!v)
        return;
    v++;
    vn = (size_t)(s + n - v);
    if (starts(s, n, "#unset_field") && vn < sizeof z->unset) {
        memcpy(z->unset, v, vn);
        z->unset_len = vn;
    } else if (starts(s, n, "#empty_field") && vn < sizeof z->empty) {
        memcpy(z->empty, v, vn);
        z->empty_len = vn;
    } else if (starts(s, n, "#path")) {
        z->other_log = !((vn == 4 && memcmp(v, "conn", 4) == 0) ||
                         (vn == 9 && memcmp(v, "open_conn", 9) == 0));
        if (z->other_log)
            p->reject = "a Zeek log other than conn/open_conn (see its #path)";
    } else if (starts(s, n, "#fields")) {
        int k = 0;
        const char *end = s + n;
        int have_ts = 0, have_h = 0;
        memset(z->col, 0, sizeof z->col);
        while (v <= end && k < MAX_COLS) {
            const char *e = memchr(v, z->sep, (size_t)(end - v));
            if (!e)
                e = end;
            enum col c = col_of(v, (size_t)(e - v));
            z->col[k++] = (uint8_t)c;
            have_ts |= c == C_TS;
            have_h |= c == C_RESP_H;
            v = e + 1;
        }
        z->ncols = k;
        z->last_needed = 0;
        for (int i = 0; i < k; i++)
            if (z->col[i] != C_IGNORE)
                z->last_needed = i;
        z->have_fields = have_ts && have_h;
        if (!z->have_fields)
            p->reject = "a Zeek log without ts and id.resp_h columns";
    }
}

static size_t header(bw_parse *p, const char *buf, size_t n)
{
    zeek_state *z = p->state;
    size_t pos = 0;
    while (pos < n && buf[pos] == '#') {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (buf + pos));
        if (len && buf[pos + len - 1] == '\r')
            len--;
        directive(p, z, buf + pos, len);
        pos = (size_t)(nl - buf) + 1;
    }
    return pos;
}

/* Unset ('-') and empty ('(empty)') fields both leave the record field
 * unknown: an empty string is no information either. */
static inline int is_unset(const zeek_state *z, const char *s, size_t n)
{
    if (n == 0)
        return 1;
    if (s[0] != z->unset[0] && s[0] != z->empty[0]) /* most fields: one compare */
        return 0;
    return (n == z->unset_len && memcmp(s, z->unset, n) == 0) ||
           (n == z->empty_len && memcmp(s, z->empty, n) == 0);
}

/* Zeek writes ts as seconds, '.', six digits; parse that shape inline and
 * leave every other form to bw_time_parse. */
static inline int parse_ts(const char *s, size_t n, int64_t *us)
{
    int64_t sec = 0, frac = 0;
    size_t i = 0;
    if (n >= 8 && n <= 19 && s[n - 7] == '.') {
        for (; i < n - 7; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (d > 9)
                goto slow;
            sec = sec * 10 + d;
        }
        for (i = n - 6; i < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (d > 9)
                goto slow;
            frac = frac * 10 + d;
        }
        *us = sec * 1000000 + frac;
        return 0;
    }
slow:
    return bw_time_parse(s, n, us);
}

/* Non-negative integer; -1 on junk or overflow past 2^62. */
static int64_t parse_uint(const char *s, size_t n)
{
    int64_t v = 0;
    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    return v;
}

/* Seconds with a fraction ("0.012744") to microseconds; -1 on junk. */
static int64_t parse_secs_us(const char *s, size_t n)
{
    size_t i = 0;
    int64_t sec = 0, us = 0;
    int nd = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (++nd > 12)
            return -1;
        sec = sec * 10 + (s[i++] - '0');
    }
    if (i < n && s[i] == '.') {
        int f = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (f < 6) {
                us = us * 10 + (s[i] - '0');
                f++;
            }
            i++;
        }
        while (f++ < 6)
            us *= 10;
    }
    if (i != n || (nd == 0 && n == 0))
        return -1;
    return sec * 1000000 + us;
}

/* The separator and newline as 16-byte splats, built once per line. */
typedef struct sep_splat {
#ifdef __SSE2__
    __m128i vs, vn;
#endif
    char sep;
} sep_splat;

static inline void seps_init(sep_splat *v, char sep)
{
#ifdef __SSE2__
    v->vs = _mm_set1_epi8(sep);
    v->vn = _mm_set1_epi8('\n');
#endif
    v->sep = sep;
}

/* Index of the next separator or newline at or after i (n when none).
 * Fields are short, so one 16-byte compare usually finds it; this beats a
 * memchr call per field by a wide margin. */
static inline size_t next_sep(const sep_splat *v, const char *b, size_t i, size_t n)
{
#ifdef __SSE2__
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(x, v->vs), _mm_cmpeq_epi8(x, v->vn)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && b[i] != v->sep && b[i] != '\n')
        i++;
    return i;
}

/* From b[i] to the end of the line: sets *eol to the newline's index (n
 * when none) and returns the number of separators before it. Counting the
 * columns nobody reads this way keeps the column check without a branchy
 * per-field loop. */
/* Set bits of a 16-bit mask; separators are sparse, so this beats the
 * libgcc popcount call that a baseline x86-64 build would make. */
static inline size_t bits(unsigned m)
{
    size_t c = 0;
    for (; m; m &= m - 1)
        c++;
    return c;
}

static size_t count_to_eol(const sep_splat *sv, const char *b, size_t i, size_t n, size_t *eol)
{
    size_t seps = 0;
    char sep = sv->sep;
#ifdef __SSE2__
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        unsigned mn = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sv->vn));
        unsigned ms = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sv->vs));
        if (mn) {
            unsigned before = (1u << __builtin_ctz(mn)) - 1;
            *eol = i + (size_t)__builtin_ctz(mn);
            return seps + bits(ms & before);
        }
        seps += bits(ms);
        i += 16;
    }
#endif
    while (i < n && b[i] != '\n')
        seps += b[i++] == sep;
    *eol = i;
    return seps;
}

/* Stores field [f, f+fl) of column c into r; 0 or a skip reason + 1. */
static int field(const zeek_state *z, enum col c, const char *f, size_t fl, bw_record *r,
                 int *have_ts)
{
    int64_t v;
    if (c == C_IGNORE || is_unset(z, f, fl))
        return 0;
    switch (c) {
    case C_TS:
        if (parse_ts(f, fl, &r->ts_us) != 0)
            return BW_SKIP_BAD_TIME + 1;
        *have_ts = 1;
        break;
    case C_ORIG_H:
        if (bw_ip_parse(f, fl, &r->src_ip) != 0)
            return BW_SKIP_BAD_IP + 1;
        break;
    case C_RESP_H:
        if (bw_ip_parse(f, fl, &r->dst_ip) != 0)
            return BW_SKIP_BAD_IP + 1;
        break;
    case C_ORIG_P:
    case C_RESP_P:
        if ((v = parse_uint(f, fl)) < 0 || v > 65535)
            return BW_SKIP_BAD_NUMBER + 1;
        *(c == C_ORIG_P ? &r->src_port : &r->dst_port) = (int32_t)v;
        break;
    case C_ORIG_BYTES:
    case C_RESP_BYTES:
        if ((v = parse_uint(f, fl)) < 0)
            return BW_SKIP_BAD_NUMBER + 1;
        *(c == C_ORIG_BYTES ? &r->src_bytes : &r->dst_bytes) = v;
        break;
    case C_DURATION:
        if ((v = parse_secs_us(f, fl)) < 0)
            return BW_SKIP_BAD_NUMBER + 1;
        r->duration_us = v;
        break;
    case C_PROTO:
        r->transport.p = f;
        r->transport.n = fl;
        break;
    case C_CONN_STATE:
        r->conn_state.p = f;
        r->conn_state.n = fl;
        break;
    default:
        break;
    }
    return 0;
}

/* Parses the data line starting at b[i] into r and sets *eol to the index
 * of its newline (n when the buffer ends first). Returns 0 or the skip
 * reason + 1; after a bad field it only looks for the end of the line. */
static int parse_line(const zeek_state *z, const char *b, size_t i, size_t n, size_t *eol,
                      bw_record *r)
{
    int k = 0, have_ts = 0, why = 0;
    sep_splat sv;
    seps_init(&sv, z->sep);
    bw_record_clear(r);
    r->flags = BW_REC_CAT_NETWORK;
    for (;;) {
        size_t e = next_sep(&sv, b, i, n);
        int last = e >= n || b[e] == '\n';
        size_t fe = (last && e > i && b[e - 1] == '\r') ? e - 1 : e;
        if (k >= z->ncols)
            why = BW_SKIP_COLUMNS + 1;
        else
            why = field(z, (enum col)z->col[k], b + i, fe - i, r, &have_ts);
        k++;
        if (last) {
            *eol = e;
            break;
        }
        if (!why && k > z->last_needed) {
            k += (int)count_to_eol(&sv, b, e + 1, n, eol) + 1;
            break;
        }
        if (why) {
            const char *nl = memchr(b + e, '\n', n - e);
            *eol = nl ? (size_t)(nl - b) : n;
            return why;
        }
        i = e + 1;
    }
    if (why)
        return why;
    if (k != z->ncols)
        return BW_SKIP_COLUMNS + 1;
    return have_ts ? 0 : BW_SKIP_NO_TIME + 1;
}

static size_t feed(bw_parse *p, const char *buf, size_t n, int eof)
{
    zeek_state *z = p->state;
    size_t pos = 0;
    bw_record r;
    while (pos < n && !p->stopped) {
        const char *s = buf + pos;
        size_t eol, len;
        int why = 0;
        if (s[0] == '#' || s[0] == '\n' || s[0] == '\r' || !z->have_fields || z->other_log) {
            const char *nl = memchr(s, '\n', n - pos);
            eol = nl ? (size_t)(nl - buf) : n;
        } else {
            why = parse_line(z, buf, pos, n, &eol, &r);
        }
        int partial = eol >= n;
        if (partial && !eof)
            break; /* wait for the rest of the line */
        len = eol - pos;
        if (len && s[len - 1] == '\r')
            len--;
        if (len > p->max_record) {
            bw_parse_skip(p, BW_SKIP_TOO_LONG, p->line, s, 40);
        } else if (len == 0) {
            /* blank line */
        } else if (s[0] == '#') {
            directive(p, z, s, len);
            p->reject = NULL; /* mid-file: lines of other logs are counted instead */
        } else if (z->other_log) {
            bw_parse_skip(p, BW_SKIP_NOT_SESSION, p->line, "", 0);
        } else if (!z->have_fields) {
            bw_parse_skip(p, BW_SKIP_COLUMNS, p->line, "no #fields header", 17);
        } else if (why == 0) {
            bw_parse_emit(p, &r); /* a last line without its newline counts if whole */
        } else {
            /* When the input ends inside the line, it is truncated. */
            bw_parse_skip(p, partial ? BW_SKIP_TRUNCATED : (bw_skip)(why - 1), p->line, s,
                          len);
        }
        pos = partial ? n : eol + 1;
        if (!partial)
            p->line++;
    }
    return pos;
}

static int splittable(const char *buf, size_t n)
{
    return 1;
}

const bw_reader bw_reader_zeek = {
    .format = BW_FMT_ZEEK,
    .name = "zeek",
    .describe = "Zeek conn.log TSV (#fields header): ts, id.orig_h/p, id.resp_h/p, proto, "
                "duration, orig_bytes, resp_bytes, conn_state",
    .sniff = sniff,
    .init = init,
    .fini = fini,
    .header = header,
    .feed = feed,
    .splittable = splittable,
};
