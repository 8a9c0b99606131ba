/* What the JSON-based readers (zeek-json, ecs, asim-json, eve) share: the
 * document stream loop (NDJSON, concatenated or pretty-printed documents,
 * a top-level array), its error recovery and line accounting, sniffing
 * helpers, and typed getters that turn scanned slices into record fields.
 * The asim-csv reader uses the getters too. */
#ifndef BW_INGEST_JSON_H
#define BW_INGEST_JSON_H

#include "ingest_reader.h"
#include "util_json.h"

/* Stream state of one parse; embed it in the reader's p->state. */
typedef struct bw_jstream {
    bw_json_keys keys;
    bw_json_val vals[BW_JSON_MAX_KEYS];
    int resync; /* recovery in progress after a bad document, see ingest_json.c */
} bw_jstream;

/* Turns the scanned fields of one document into r (already cleared).
 * Returns -1 to emit r, or the bw_skip reason, with *detail pointing at a
 * short text for the diagnostic (may stay empty). */
typedef int (*bw_jrecord_fn)(bw_parse *p, const bw_json_val *v, bw_record *r,
                             bw_str *detail);

/* Compiles the wanted paths (static strings) into js; 0 or BW_ERR_USAGE. */
int bw_jstream_init(bw_jstream *js, const char *const *paths, int n, const char *transparent);

/* The reader init()/fini() of a JSON reader: p->state becomes a new
 * bw_jstream owned by p (freed by bw_jstream_fini). 0 or a bw_err. */
int bw_jstream_new(bw_parse *p, const char *const *paths, int n, const char *transparent);
void bw_jstream_fini(bw_parse *p);

/* The reader feed() of a JSON reader: parses each complete document in
 * buf[0..n) with the scanner and hands it to fn; see bw_reader.feed for the
 * contract. Documents may be separated by white space, commas and the
 * brackets of a top-level array. */
size_t bw_jstream_feed(bw_parse *p, bw_jstream *js, const char *buf, size_t n, int eof,
                       bw_jrecord_fn fn);

/* The reader splittable() of a JSON reader: true when the first document
 * is an object that ends on its first line (NDJSON). */
int bw_jstream_splittable(const char *buf, size_t n);

/* Sniff helpers: the first non-blank byte after an optional UTF-8 BOM (or
 * -1), and whether a "key" (quoted) occurs in buf. */
int bw_sniff_first(const char *buf, size_t n);
int bw_sniff_has(const char *buf, size_t n, const char *quoted);

/* Typed getters. A field is absent when missing, null or an empty string;
 * absent fields leave *out untouched and return 0. Returns -1 on a bad
 * value. Strings are unescaped into p's scratch only when they hold
 * escapes; the result is valid until the scratch is reset. */
int bw_field_str(bw_parse *p, const bw_json_val *v, bw_str *out);
int bw_field_ip(bw_parse *p, const bw_json_val *v, bw_ip *out);
/* Integer in [lo, hi]; numbers written as strings are accepted, fractions
 * are not (except zeros: "443.0"). */
int bw_field_int(const bw_json_val *v, int64_t lo, int64_t hi, int64_t *out);
/* Non-negative decimal scaled by 10^scale and truncated ("0.25" s at
 * scale 6 = 250000 us). */
int bw_field_scaled(const bw_json_val *v, int scale, int64_t *out);
/* Timestamp (bw_time_parse): returns 0 and sets *out, 1 when absent, -1
 * when unparsable. */
int bw_field_time(bw_parse *p, const bw_json_val *v, int64_t *out);
/* True when v is present (not missing, null or ""). */
int bw_field_present(const bw_json_val *v);
/* True when v is a string equal to lit (unescaped comparison). */
int bw_field_eq(const bw_json_val *v, const char *lit);

/* Fills *detail with the raw text of v for a diagnostic (empty when absent). */
void bw_field_detail(const bw_json_val *v, bw_str *detail);

#endif
