/* The slice-based JSON scanner declared in util_json.h. Hand-written because
 * it is the ingest hot path: one pass, no allocation, an FNV hash of the
 * dotted path computed while the key is scanned, and subtrees that hold no
 * wanted field validated and skipped without building their paths. All
 * walking is iterative with explicit depth caps, so hostile nesting cannot
 * exhaust the stack. */
#include "util_json.h"
#include "util_hex.h"

#include <string.h>

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
    return h;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t skip_ws(const char *s, size_t n, size_t i, uint32_t *nl)
{
    while (i < n) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
        } else if (c == '\n') {
            (*nl)++;
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* Continues a string whose opening quote is behind s[*pi]; leaves *pi just
 * past the closing quote. Raw control characters are not JSON (and a raw
 * newline means a broken NDJSON line), so they are errors. */
static int string_rest(const char *s, size_t n, size_t *pi, uint8_t *esc)
{
    size_t i = *pi;
    for (;;) {
        unsigned char c = 0;
        while (i < n) {
            c = (unsigned char)s[i];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            i++;
        }
        if (i >= n)
            goto incomplete;
        if (c == '"') {
            *pi = i + 1;
            return BW_JSON_OK;
        }
        if (c < 0x20)
            goto syntax;
        *esc = BW_JSON_ESC_JSON;
        if (i + 1 >= n)
            goto incomplete;
        switch (s[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            i += 2;
            break;
        case 'u':
            for (size_t k = i + 2; k < i + 6; k++) {
                if (k >= n)
                    goto incomplete;
                if (bw_hexval(s[k]) < 0)
                    goto syntax;
            }
            i += 6;
            break;
        default:
            goto syntax;
        }
    }
incomplete:
    *pi = i;
    return BW_JSON_INCOMPLETE;
syntax:
    *pi = i;
    return BW_JSON_ESYNTAX;
}

/* A number, strictly as JSON writes it. A number is never the last byte of
 * a valid document (a container is open), so running into the end of the
 * input means more is needed. */
static int scan_number(const char *s, size_t n, size_t *pi)
{
    size_t i = *pi;
    int rc = BW_JSON_INCOMPLETE;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        goto out;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        rc = BW_JSON_ESYNTAX;
        goto out;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n)
            goto out;
        if (!is_digit(s[i])) {
            rc = BW_JSON_ESYNTAX;
            goto out;
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n)
            goto out;
        if (!is_digit(s[i])) {
            rc = BW_JSON_ESYNTAX;
            goto out;
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n)
        rc = BW_JSON_OK;
out:
    *pi = i;
    return rc;
}

static int scan_literal(const char *s, size_t n, size_t *pi, const char *lit, size_t len)
{
    size_t avail = n - *pi, m = avail < len ? avail : len;
    if (memcmp(s + *pi, lit, m) != 0)
        return BW_JSON_ESYNTAX;
    if (m < len) {
        *pi = n;
        return BW_JSON_INCOMPLETE;
    }
    *pi += len;
    return BW_JSON_OK;
}

/* A scalar at s[*pi]: string, number or literal; sets *type and *esc. */
static int scan_scalar(const char *s, size_t n, size_t *pi, uint8_t *type, uint8_t *esc)
{
    switch (s[*pi]) {
    case '"':
        *type = BW_JSON_STRING;
        (*pi)++;
        return string_rest(s, n, pi, esc);
    case 't':
        *type = BW_JSON_TRUE;
        return scan_literal(s, n, pi, "true", 4);
    case 'f':
        *type = BW_JSON_FALSE;
        return scan_literal(s, n, pi, "false", 5);
    case 'n':
        *type = BW_JSON_NULL;
        return scan_literal(s, n, pi, "null", 4);
    default:
        *type = BW_JSON_NUMBER;
        return scan_number(s, n, pi);
    }
}

/* Validates and skips any value at s[*pi] with at most maxd containers open
 * at once. Iterative: a kind stack instead of recursion. */
static int skip_value(const char *s, size_t n, size_t *pi, int maxd, uint32_t *nl)
{
    char open[BW_JSON_MAX_DEPTH];
    int d = 0, rc;
    size_t i = *pi;
    uint8_t type, esc;

    for (;;) {
        /* A value starts at s[i]. */
        if (i >= n)
            goto incomplete;
        if (s[i] == '{' || s[i] == '[') {
            char c = s[i];
            if (d >= maxd) {
                rc = BW_JSON_EDEPTH;
                goto out;
            }
            open[d++] = c;
            i = skip_ws(s, n, i + 1, nl);
            if (i >= n)
                goto incomplete;
            if (s[i] == (c == '{' ? '}' : ']')) {
                i++;
                d--;
                goto after_value;
            }
            if (c == '[')
                continue;
            goto member;
        }
        if ((rc = scan_scalar(s, n, &i, &type, &esc)) != BW_JSON_OK)
            goto out;
    after_value:
        if (d == 0) {
            rc = BW_JSON_OK;
            goto out;
        }
        i = skip_ws(s, n, i, nl);
        if (i >= n)
            goto incomplete;
        if (s[i] == ',') {
            i = skip_ws(s, n, i + 1, nl);
            if (open[d - 1] == '[')
                continue;
            goto member;
        }
        if (s[i] == (open[d - 1] == '{' ? '}' : ']')) {
            i++;
            d--;
            goto after_value;
        }
        rc = BW_JSON_ESYNTAX;
        goto out;
    member:
        /* An object member: "key" ws : ws, then its value. */
        if (i >= n)
            goto incomplete;
        if (s[i] != '"') {
            rc = BW_JSON_ESYNTAX;
            goto out;
        }
        i++;
        if ((rc = string_rest(s, n, &i, &esc)) != BW_JSON_OK)
            goto out;
        i = skip_ws(s, n, i, nl);
        if (i >= n)
            goto incomplete;
        if (s[i] != ':') {
            rc = BW_JSON_ESYNTAX;
            goto out;
        }
        i = skip_ws(s, n, i + 1, nl);
    }
incomplete:
    rc = BW_JSON_INCOMPLETE;
out:
    *pi = i;
    return rc;
}

int bw_json_skip(const char *s, size_t n, size_t *end, uint32_t *nl)
{
    size_t i = 0;
    int rc;
    *nl = 0;
    rc = skip_value(s, n, &i, BW_JSON_MAX_DEPTH, nl);
    *end = i;
    return rc;
}

/* The text of a table entry (a wanted path, or a prefix of one). */
static const char *slot_text(const bw_json_keys *k, const struct bw_json_slot *sl)
{
    return k->paths[sl->leaf >= 0 ? sl->leaf : sl->prefix];
}

static struct bw_json_slot *slot_put(bw_json_keys *k, const char *p, size_t len)
{
    uint32_t h = fnv(FNV_BASIS, p, len);
    for (uint32_t j = h & (BW_JSON_TABLE - 1), tries = 0; tries < BW_JSON_TABLE;
         j = (j + 1) & (BW_JSON_TABLE - 1), tries++) {
        struct bw_json_slot *sl = &k->slot[j];
        if (sl->leaf < 0 && sl->prefix < 0) {
            sl->hash = h;
            sl->len = (uint16_t)len;
            return sl;
        }
        if (sl->hash == h && sl->len == len && memcmp(slot_text(k, sl), p, len) == 0)
            return sl;
    }
    return NULL;
}

int bw_json_keys_init(bw_json_keys *k, const char *const *paths, int n,
                      const char *transparent)
{
    if (n < 0 || n > BW_JSON_MAX_KEYS)
        return -1;
    k->n = n;
    k->paths = paths;
    k->transparent = transparent;
    for (int j = 0; j < BW_JSON_TABLE; j++) {
        k->slot[j].leaf = -1;
        k->slot[j].prefix = -1;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        struct bw_json_slot *sl;
        if (len == 0 || len >= BW_JSON_MAX_PATH)
            return -1;
        for (size_t j = 1; j < len; j++) {
            if (paths[i][j] != '.')
                continue;
            if (!(sl = slot_put(k, paths[i], j)))
                return -1;
            if (sl->prefix < 0)
                sl->prefix = (int16_t)i;
        }
        if (!(sl = slot_put(k, paths[i], len)))
            return -1;
        if (sl->leaf >= 0)
            return -1; /* the same path twice */
        sl->leaf = (int16_t)i;
    }
    return 0;
}

/* The table entry for path + "." + key (hash h), or NULL. */
static const struct bw_json_slot *lookup(const bw_json_keys *k, uint32_t h, const char *path,
                                         size_t plen, const char *key, size_t klen)
{
    size_t len = plen ? plen + 1 + klen : klen;
    for (uint32_t j = h & (BW_JSON_TABLE - 1), tries = 0; tries < BW_JSON_TABLE;
         j = (j + 1) & (BW_JSON_TABLE - 1), tries++) {
        const struct bw_json_slot *sl = &k->slot[j];
        const char *t;
        if (sl->leaf < 0 && sl->prefix < 0)
            return NULL;
        if (sl->hash != h || sl->len != len)
            continue;
        t = slot_text(k, sl);
        if (plen == 0) {
            if (memcmp(t, key, klen) == 0)
                return sl;
        } else if (memcmp(t, path, plen) == 0 && t[plen] == '.' &&
                   memcmp(t + plen + 1, key, klen) == 0) {
            return sl;
        }
    }
    return NULL;
}

int bw_json_scan(const bw_json_keys *k, const char *s, size_t n, bw_json_val *vals,
                 size_t *end, uint32_t *nl)
{
    struct frame {
        uint32_t h;    /* hash of the path of this object */
        uint16_t plen; /* its length in path[] */
    } fr[BW_JSON_MAX_DEPTH];
    char path[BW_JSON_MAX_PATH];
    char kbuf[BW_JSON_MAX_KEY];
    size_t tlen = k->transparent ? strlen(k->transparent) : 0;
    size_t i = 0;
    uint32_t lines = 0;
    int d = 0, rc;

    for (int j = 0; j < k->n; j++)
        vals[j].type = BW_JSON_NONE;
    if (n == 0)
        goto incomplete;
    if (s[0] != '{')
        goto syntax;
    fr[0].h = FNV_BASIS;
    fr[0].plen = 0;
    i = skip_ws(s, n, 1, &lines);
    if (i >= n)
        goto incomplete;
    if (s[i] == '}') {
        i++;
        rc = BW_JSON_OK;
        goto out;
    }
    for (;;) {
        const struct bw_json_slot *sl = NULL;
        const char *key;
        size_t ks, klen;
        uint32_t h = fr[d].h;
        uint8_t kesc = 0;
        unsigned char c = 0;

        /* A member: scan the key and hash path + "." + key on the way. */
        if (s[i] != '"')
            goto syntax;
        ks = ++i;
        if (fr[d].plen)
            h = (h ^ (uint8_t)'.') * FNV_PRIME;
        while (i < n) {
            c = (unsigned char)s[i];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            h = (h ^ c) * FNV_PRIME;
            i++;
        }
        if (i >= n)
            goto incomplete;
        if (c != '"') {
            if ((rc = string_rest(s, n, &i, &kesc)) != BW_JSON_OK)
                goto out;
        } else {
            i++;
        }
        key = s + ks;
        klen = i - 1 - ks;
        if (klen > BW_JSON_MAX_KEY) {
            key = NULL;
        } else if (kesc) {
            /* Rare: an escaped key. Decode it and hash it again. */
            long m = bw_json_unescape(key, klen, kbuf);
            if (m < 0)
                goto syntax;
            key = kbuf;
            klen = (size_t)m;
            h = fr[d].plen ? (fr[d].h ^ (uint8_t)'.') * FNV_PRIME : fr[d].h;
            h = fnv(h, key, klen);
        }
        i = skip_ws(s, n, i, &lines);
        if (i >= n)
            goto incomplete;
        if (s[i] != ':')
            goto syntax;
        i = skip_ws(s, n, i + 1, &lines);
        if (i >= n)
            goto incomplete;
        if (key)
            sl = lookup(k, h, path, fr[d].plen, key, klen);

        if (s[i] == '{') {
            int transparent = d == 0 && key && tlen && klen == tlen &&
                              memcmp(key, k->transparent, tlen) == 0;
            size_t plen = fr[d].plen, nlen = plen ? plen + 1 + klen : klen;
            if (transparent || (sl && sl->prefix >= 0 && nlen < BW_JSON_MAX_PATH)) {
                if (d + 1 >= BW_JSON_MAX_DEPTH) {
                    rc = BW_JSON_EDEPTH;
                    goto out;
                }
                d++;
                if (transparent) {
                    fr[d] = fr[0];
                } else {
                    if (plen)
                        path[plen] = '.';
                    memcpy(path + (plen ? plen + 1 : 0), key, klen);
                    fr[d].h = h;
                    fr[d].plen = (uint16_t)nlen;
                }
                i = skip_ws(s, n, i + 1, &lines);
                if (i >= n)
                    goto incomplete;
                if (s[i] != '}')
                    continue;
                i++;
                d--;
                goto after_value;
            }
            if ((rc = skip_value(s, n, &i, BW_JSON_MAX_DEPTH - d - 1, &lines)) != BW_JSON_OK)
                goto out;
        } else if (sl && sl->leaf >= 0) {
            bw_json_val *v = &vals[sl->leaf];
            size_t vs = i;
            v->esc = BW_JSON_ESC_NONE;
            if (s[i] == '[') {
                rc = skip_value(s, n, &i, BW_JSON_MAX_DEPTH - d - 1, &lines);
                v->type = BW_JSON_ARRAY;
            } else {
                rc = scan_scalar(s, n, &i, &v->type, &v->esc);
            }
            if (rc != BW_JSON_OK) {
                v->type = BW_JSON_NONE;
                goto out;
            }
            if (v->type == BW_JSON_STRING) {
                v->p = s + vs + 1;
                v->n = (uint32_t)(i - vs - 2);
            } else {
                v->p = s + vs;
                v->n = (uint32_t)(i - vs);
            }
        } else {
            if ((rc = skip_value(s, n, &i, BW_JSON_MAX_DEPTH - d - 1, &lines)) != BW_JSON_OK)
                goto out;
        }
    after_value:
        i = skip_ws(s, n, i, &lines);
        if (i >= n)
            goto incomplete;
        if (s[i] == ',') {
            i = skip_ws(s, n, i + 1, &lines);
            if (i >= n)
                goto incomplete;
            continue;
        }
        if (s[i] != '}')
            goto syntax;
        i++;
        if (d == 0) {
            rc = BW_JSON_OK;
            goto out;
        }
        d--;
        goto after_value;
    }
incomplete:
    rc = BW_JSON_INCOMPLETE;
    goto out;
syntax:
    rc = BW_JSON_ESYNTAX;
out:
    *end = i;
    *nl = lines;
    return rc;
}

static size_t utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static long hex4(const char *s)
{
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int x = bw_hexval(s[k]);
        if (x < 0)
            return -1;
        v = v * 16 + x;
    }
    return v;
}

long bw_json_unescape(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        char c = s[i];
        long cp;
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -1;
        c = s[i + 1];
        i += 2;
        switch (c) {
        case '"': out[o++] = '"'; continue;
        case '\\': out[o++] = '\\'; continue;
        case '/': out[o++] = '/'; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u': break;
        default: return -1;
        }
        if (i + 4 > n || (cp = hex4(s + i)) < 0)
            return -1;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = -1;
            if (i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u')
                lo = hex4(s + i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        /* Decoding in place is safe: each escape yields fewer bytes than
         * it takes, and it is fully read before anything is written. */
        o += utf8_put(out + o, (uint32_t)cp);
    }
    return (long)o;
}

int bw_json_decimal(const char *s, size_t n, int scale, int64_t *out)
{
    static const uint64_t pow10[20] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
        100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull,
        10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
        10000000000000000000ull};
    size_t i = 0;
    uint64_t m = 0;
    int neg = 0, nd = 0, digits = 0, dropped = 0;
    long e = scale;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < n && is_digit(s[i]); i++, digits++) {
        if (nd < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            nd += m != 0;
        } else {
            e++;
            dropped |= s[i] != '0';
        }
    }
    if (i < n && s[i] == '.') {
        int fd = 0;
        for (i++; i < n && is_digit(s[i]); i++, fd++) {
            if (nd < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                nd += m != 0;
                e--;
            } else {
                dropped |= s[i] != '0';
            }
        }
        if (fd == 0)
            return -1;
        digits += fd;
    }
    if (digits == 0)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        long x = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit(s[i]))
            return -1;
        for (; i < n && is_digit(s[i]); i++) {
            if (x < 100000)
                x = x * 10 + (s[i] - '0');
        }
        e += eneg ? -x : x;
    }
    if (i != n)
        return -1;
    if (m != 0 && e > 0) {
        if (e > 19 || m > UINT64_MAX / pow10[e])
            return -1;
        m *= pow10[e];
    } else if (m != 0 && e < 0) {
        if (e < -19) {
            m = 0;
            dropped = 1;
        } else {
            dropped |= m % pow10[-e] != 0;
            m /= pow10[-e];
        }
    }
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)m;
    }
    return dropped ? 1 : 0;
}

int bw_json_array_has(const char *a, size_t n, const char *word)
{
    size_t wl = strlen(word), i;
    uint32_t nl = 0;
    if (n < 2 || a[0] != '[')
        return 0;
    i = skip_ws(a, n, 1, &nl);
    while (i < n && a[i] != ']') {
        size_t vs = i, end;
        if (a[i] == '"') {
            uint8_t esc = 0;
            i++;
            if (string_rest(a, n, &i, &esc) != BW_JSON_OK)
                return 0;
            if (!esc) {
                if (i - vs - 2 == wl && memcmp(a + vs + 1, word, wl) == 0)
                    return 1;
            } else if (i - vs - 2 <= 256) {
                char buf[256];
                long m = bw_json_unescape(a + vs + 1, i - vs - 2, buf);
                if (m == (long)wl && memcmp(buf, word, wl) == 0)
                    return 1;
            }
        } else {
            if (bw_json_skip(a + i, n - i, &end, &nl) != BW_JSON_OK)
                return 0;
            i += end;
        }
        i = skip_ws(a, n, i, &nl);
        if (i < n && a[i] == ',')
            i = skip_ws(a, n, i + 1, &nl);
    }
    return 0;
}
