/* A slice-based JSON scanner for the hot ingest path: walks one JSON object
 * in a buffer, never allocating and never reading past the end, and reports
 * only the fields a reader asked for (by dotted path) as raw slices. Nested
 * objects and dotted keys name the same field ("source":{"ip":..} and
 * "source.ip"). Strings are unescaped on demand, never during the walk. */
#ifndef BW_UTIL_JSON_H
#define BW_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Caps. Nesting deeper than BW_JSON_MAX_DEPTH is an error (BW_JSON_EDEPTH);
 * keys longer than BW_JSON_MAX_KEY and paths longer than BW_JSON_MAX_PATH
 * are never wanted, so their values are validated and skipped. */
#define BW_JSON_MAX_DEPTH 64
#define BW_JSON_MAX_KEY 128
#define BW_JSON_MAX_PATH 256
#define BW_JSON_MAX_KEYS 48
#define BW_JSON_TABLE 256 /* hash slots; a power of two > 2 * paths+prefixes */

/* Value types reported in bw_json_val.type. */
enum {
    BW_JSON_NONE = 0, /* field absent */
    BW_JSON_STRING,   /* p/n: the text between the quotes, still escaped */
    BW_JSON_NUMBER,   /* p/n: the number as written */
    BW_JSON_TRUE,
    BW_JSON_FALSE,
    BW_JSON_NULL,
    BW_JSON_ARRAY /* p/n: the whole array text, brackets included */
};

/* Escape kinds of bw_json_val.esc. */
enum {
    BW_JSON_ESC_NONE = 0, /* the slice is the value */
    BW_JSON_ESC_JSON = 1, /* contains backslash escapes: bw_json_unescape */
    BW_JSON_ESC_CSV = 2   /* a CSV cell with doubled quotes (used by asim-csv) */
};

/* One reported value: a slice into the scanned buffer. */
typedef struct bw_json_val {
    const char *p;
    uint32_t n;
    uint8_t type; /* BW_JSON_* */
    uint8_t esc;  /* BW_JSON_ESC_* */
} bw_json_val;

/* Results of bw_json_scan / bw_json_skip. */
enum {
    BW_JSON_OK = 0,
    BW_JSON_INCOMPLETE, /* the input ended inside the value (all of it valid so far) */
    BW_JSON_ESYNTAX,    /* not JSON, or not an object where one is required */
    BW_JSON_EDEPTH      /* nested deeper than BW_JSON_MAX_DEPTH */
};

struct bw_json_slot {
    uint32_t hash;
    int16_t leaf;   /* index of the wanted path equal to this one, or -1 */
    int16_t prefix; /* index of a wanted path this one is a proper prefix of, or -1 */
    uint16_t len;   /* length of this path (for prefixes: of the prefix) */
};

/* The set of wanted fields, compiled once by bw_json_keys_init. */
typedef struct bw_json_keys {
    int n;
    const char *const *paths; /* borrowed; must outlive the keys (static strings) */
    const char *transparent;  /* borrowed or NULL: a top-level key whose object
                               * is read as the root ("_source") */
    struct bw_json_slot slot[BW_JSON_TABLE];
} bw_json_keys;

/* Compiles n dotted paths (n <= BW_JSON_MAX_KEYS, each shorter than
 * BW_JSON_MAX_PATH). The value of paths[i] is reported in vals[i] by
 * bw_json_scan. Returns 0, or -1 when a cap is exceeded (a programming
 * error). */
int bw_json_keys_init(bw_json_keys *k, const char *const *paths, int n,
                      const char *transparent);

/* Scans one JSON object starting at s[0] (no leading white space) within
 * s[0..n). Every vals[0..k->n) is reset, then set for each wanted field seen
 * (the last occurrence wins; a wanted path that holds an object is not
 * reported, its members are walked instead). On return *end is the offset
 * just past the object (BW_JSON_OK) or where scanning stopped, and *nl is
 * the number of newlines inside s[0..*end). Slices in vals point into s. */
int bw_json_scan(const bw_json_keys *k, const char *s, size_t n, bw_json_val *vals,
                 size_t *end, uint32_t *nl);

/* Validates and skips one JSON value of any type at s[0]; same results as
 * bw_json_scan. */
int bw_json_skip(const char *s, size_t n, size_t *end, uint32_t *nl);

/* Decodes the escapes of a JSON string body s[0..n) into out, which may be
 * s itself (decoding never lengthens). \uXXXX becomes UTF-8; lone
 * surrogates become U+FFFD. Returns the decoded length, or -1 on an invalid
 * escape. */
long bw_json_unescape(const char *s, size_t n, char *out);

/* Parses a decimal number (optional sign, digits, optional fraction and
 * exponent; no white space) and stores value * 10^scale, truncated toward
 * zero, in *out. Returns 0 when exact, 1 when digits were truncated, -1
 * when s is not a number or the result does not fit in int64. */
int bw_json_decimal(const char *s, size_t n, int scale, int64_t *out);

/* True when the JSON array text a[0..n) (as reported for BW_JSON_ARRAY)
 * holds a string element equal to the NUL-terminated word. */
int bw_json_array_has(const char *a, size_t n, const char *word);

#endif
