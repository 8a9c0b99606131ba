/* Unit tests for the slice-based JSON scanner (lib/util_json.c): wanted
 * fields by dotted path, nesting vs dotted keys, arrays, _source, escapes,
 * every prefix of a document being incomplete, syntax and depth errors,
 * and the decimal parser. */
#include "tap.h"
#include "util_json.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const paths[] = {"@timestamp", "source.ip", "source.port",
                                    "event.category", "tls.client.server_name", "a"};
enum { P_TS, P_SIP, P_SPORT, P_CAT, P_SNI, P_A, P__N };

static bw_json_keys keys;
static bw_json_val vals[BW_JSON_MAX_KEYS];

static int scan(const char *s, size_t *end, uint32_t *nl)
{
    return bw_json_scan(&keys, s, strlen(s), vals, end, nl);
}

#define CHECK_VAL(i, t, lit) \
    CHECK(vals[i].type == (t) && vals[i].n == strlen(lit) && memcmp(vals[i].p, lit, vals[i].n) == 0)

static void test_basic(void)
{
    size_t end;
    uint32_t nl;
    const char *s = "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"source\":{\"ip\":\"10.0.0.1\","
                    "\"port\":443,\"x\":[1,{\"y\":2}]},\"event\":{\"category\":[\"network\"]},"
                    "\"a\":true,\"z\":null} trailing";
    CHECK(scan(s, &end, &nl) == BW_JSON_OK);
    CHECK(s[end] == ' ');
    CHECK(nl == 0);
    CHECK_VAL(P_TS, BW_JSON_STRING, "2026-01-01T00:00:00Z");
    CHECK_VAL(P_SIP, BW_JSON_STRING, "10.0.0.1");
    CHECK_VAL(P_SPORT, BW_JSON_NUMBER, "443");
    CHECK_VAL(P_CAT, BW_JSON_ARRAY, "[\"network\"]");
    CHECK_VAL(P_A, BW_JSON_TRUE, "true");
    CHECK(vals[P_SNI].type == BW_JSON_NONE);
    CHECK(vals[P_TS].esc == BW_JSON_ESC_NONE);
}

static void test_dotted_equals_nested(void)
{
    size_t end;
    uint32_t nl;
    CHECK(scan("{\"source.ip\":\"1.2.3.4\",\"tls.client\":{\"server_name\":\"a.example\"},"
               "\"tls\":{\"client.x\":1}}",
               &end, &nl) == BW_JSON_OK);
    CHECK_VAL(P_SIP, BW_JSON_STRING, "1.2.3.4");
    CHECK_VAL(P_SNI, BW_JSON_STRING, "a.example");
    CHECK(scan("{\"tls\":{\"client\":{\"server_name\":\"b.example\"}}}", &end, &nl) == BW_JSON_OK);
    CHECK_VAL(P_SNI, BW_JSON_STRING, "b.example");
    /* An escaped key decodes to the same path. */
    CHECK(scan("{\"sourc\\u0065\":{\"i\\u0070\":\"5.6.7.8\"}}", &end, &nl) == BW_JSON_OK);
    CHECK_VAL(P_SIP, BW_JSON_STRING, "5.6.7.8");
    /* Last occurrence wins; a wanted path holding an object is not reported. */
    CHECK(scan("{\"a\":1,\"a\":2,\"source\":{\"ip\":{\"v\":1}}}", &end, &nl) == BW_JSON_OK);
    CHECK_VAL(P_A, BW_JSON_NUMBER, "2");
    CHECK(vals[P_SIP].type == BW_JSON_NONE);
    /* A prefix of a wanted key is not the key. */
    CHECK(scan("{\"source\":\"x\",\"sourc\":{\"ip\":\"1.1.1.1\"}}", &end, &nl) == BW_JSON_OK);
    CHECK(vals[P_SIP].type == BW_JSON_NONE);
}

static void test_transparent(void)
{
    bw_json_keys k2;
    size_t end;
    uint32_t nl;
    const char *s = "{\"_index\":\"logs\",\"_source\":{\"@timestamp\":\"t\","
                    "\"source\":{\"ip\":\"x\"}},"
                    "\"x\":{\"_source\":{\"a\":1}}}";
    CHECK(bw_json_keys_init(&k2, paths, P__N, "_source") == 0);
    CHECK(bw_json_scan(&k2, s, strlen(s), vals, &end, &nl) == BW_JSON_OK);
    CHECK_VAL(P_TS, BW_JSON_STRING, "t");
    CHECK_VAL(P_SIP, BW_JSON_STRING, "x");
    CHECK(vals[P_A].type == BW_JSON_NONE); /* only the top-level _source is transparent */
    /* Without transparency the fields are under _source. */
    CHECK(scan(s, &end, &nl) == BW_JSON_OK);
    CHECK(vals[P_TS].type == BW_JSON_NONE);
}

static void test_pretty_and_escapes(void)
{
    size_t end;
    uint32_t nl;
    char out[64];
    const char *s = "{\n  \"a\" : \"x\\\"y\\\\z\\/\\u00e9\\ud83d\\ude00\\ud800!\" ,\n"
                    "  \"source\": {\n    \"ip\": \"1.2.3.4\"\n  }\n}\n";
    long m;
    CHECK(scan(s, &end, &nl) == BW_JSON_OK);
    CHECK(nl == 5);
    CHECK(s[end] == '\n');
    CHECK(vals[P_A].type == BW_JSON_STRING && vals[P_A].esc == BW_JSON_ESC_JSON);
    m = bw_json_unescape(vals[P_A].p, vals[P_A].n, out);
    CHECK(m == 16);
    CHECK(m == 16 && memcmp(out, "x\"y\\z/\xC3\xA9\xF0\x9F\x98\x80\xEF\xBF\xBD!", 16) == 0);
    CHECK(bw_json_unescape("\\q", 2, out) == -1);
    CHECK(bw_json_unescape("\\u12", 4, out) == -1);
    CHECK(bw_json_unescape("ab\\", 3, out) == -1);
    /* In place. */
    {
        char buf[] = "a\\tb\\u0041";
        CHECK(bw_json_unescape(buf, strlen(buf), buf) == 4 && memcmp(buf, "a\tbA", 4) == 0);
    }
}

/* Every proper prefix of a valid document is incomplete, never an error. */
static void test_prefixes(void)
{
    const char *docs[] = {
        ("{\"@timestamp\":\"2026-01-01T00:00:00.5Z\",\"source\":{\"ip\":\"::1\",\"port\":-1.5e+3},"
        "\"event\":{\"category\":[\"network\",{\"k\":[null,false]}]},\"a\":\"\\u00e9\\n\"}"),
        "{ \"x\" : [ [ ], { } , \"s\" ] , \"a\" : 0 , \"source.port\" : 12 }",
        "{}",
    };
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t n = strlen(docs[d]), end;
        uint32_t nl;
        int bad = 0;
        for (size_t k = 0; k < n; k++) {
            /* Exact-size heap copies so ASan catches any over-read. */
            char *c = malloc(k ? k : 1);
            memcpy(c, docs[d], k);
            if (bw_json_scan(&keys, c, k, vals, &end, &nl) != BW_JSON_INCOMPLETE)
                bad++;
            if (bw_json_skip(c, k, &end, &nl) != BW_JSON_INCOMPLETE)
                bad++;
            free(c);
        }
        CHECK(bad == 0);
        CHECK(bw_json_scan(&keys, docs[d], n, vals, &end, &nl) == BW_JSON_OK && end == n);
    }
}

static void test_errors(void)
{
    const char *bad[] = {
        "{\"a\":}",       "{\"a\" 1}",     "{a:1}",         "{\"a\":1,}",      "{\"a\":01}",
        "{\"a\":tru}",    "{\"a\":\"x\ny\"}", "{\"a\":\"\\x\"}", "[1]",           "{\"a\":[1,2}",
        "{\"a\":1 \"b\":2}", "{\"a\":-}",    "{\"a\":1.}",    "{\"a\":1e}",      "x",
        "{\"x\":{\"y\":1]}", "{\"a\":\"\\u12G4\"}", "{\"a\":NaN}", "{\"source\":{\"ip\":1,}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t end;
        uint32_t nl;
        int rc = scan(bad[i], &end, &nl);
        if (rc != BW_JSON_ESYNTAX)
            fprintf(stderr, "not a syntax error: %s (%d)\n", bad[i], rc);
        CHECK(rc == BW_JSON_ESYNTAX);
        CHECK(end <= strlen(bad[i]));
    }
}

static void test_depth_and_caps(void)
{
    char buf[4096];
    size_t end, n = 0;
    uint32_t nl;
    int i;
    /* 200 nested arrays in an unwanted value. */
    n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"q\":");
    for (i = 0; i < 200; i++)
        buf[n++] = '[';
    for (i = 0; i < 200; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = 0;
    CHECK(scan(buf, &end, &nl) == BW_JSON_EDEPTH);
    /* 63 levels are fine. */
    n = (size_t)snprintf(buf, sizeof buf, "{\"q\":");
    for (i = 0; i < BW_JSON_MAX_DEPTH - 1; i++)
        buf[n++] = '[';
    for (i = 0; i < BW_JSON_MAX_DEPTH - 1; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = 0;
    CHECK(scan(buf, &end, &nl) == BW_JSON_OK);
    /* Deep objects along a wanted prefix are capped too. */
    {
        static const char *const deep[] = {"a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
                                           "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
                                           "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.b"};
        bw_json_keys kd;
        CHECK(bw_json_keys_init(&kd, deep, 1, NULL) == 0);
        n = 0;
        for (i = 0; i < 80; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"a\":");
        buf[n++] = '1';
        for (i = 0; i < 80; i++)
            buf[n++] = '}';
        CHECK(bw_json_scan(&kd, buf, n, vals, &end, &nl) == BW_JSON_EDEPTH);
    }
    /* A key longer than the cap is skipped, not matched. */
    n = (size_t)snprintf(buf, sizeof buf, "{\"");
    for (i = 0; i < BW_JSON_MAX_KEY + 10; i++)
        buf[n++] = 'k';
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\":{\"a\":1},\"a\":7}");
    CHECK(scan(buf, &end, &nl) == BW_JSON_OK);
    CHECK_VAL(P_A, BW_JSON_NUMBER, "7");
    /* Too many keys or a duplicate path is a programming error. */
    {
        bw_json_keys k2;
        static const char *const dup[] = {"a.b", "a.b"};
        CHECK(bw_json_keys_init(&k2, dup, 2, NULL) == -1);
        CHECK(bw_json_keys_init(&k2, paths, BW_JSON_MAX_KEYS + 1, NULL) == -1);
    }
}

static void test_decimal(void)
{
    int64_t v = 0;
    CHECK(bw_json_decimal("443", 3, 0, &v) == 0 && v == 443);
    CHECK(bw_json_decimal("0.25", 4, 6, &v) == 0 && v == 250000);
    CHECK(bw_json_decimal("0.012166976928710938", 20, 6, &v) == 1 && v == 12166);
    CHECK(bw_json_decimal("1e3", 3, 0, &v) == 0 && v == 1000);
    CHECK(bw_json_decimal("1.5E-1", 6, 3, &v) == 0 && v == 150);
    CHECK(bw_json_decimal("1.5", 3, 0, &v) == 1 && v == 1);
    CHECK(bw_json_decimal("73561", 5, -3, &v) == 1 && v == 73);
    CHECK(bw_json_decimal("-0", 2, 0, &v) == 0 && v == 0);
    CHECK(bw_json_decimal("-12", 3, 0, &v) == 0 && v == -12);
    CHECK(bw_json_decimal("+7", 2, 0, &v) == 0 && v == 7);
    CHECK(bw_json_decimal("443.000", 7, 0, &v) == 0 && v == 443);
    CHECK(bw_json_decimal("9223372036854775807", 19, 0, &v) == 0 && v == INT64_MAX);
    CHECK(bw_json_decimal("-9223372036854775808", 20, 0, &v) == 0 && v == INT64_MIN);
    CHECK(bw_json_decimal("9223372036854775808", 19, 0, &v) == -1);
    CHECK(bw_json_decimal("123456789012345678901234", 24, 0, &v) == -1);
    CHECK(bw_json_decimal("1e999999999", 11, 0, &v) == -1);
    CHECK(bw_json_decimal("1e-999999999", 12, 0, &v) == 1 && v == 0);
    CHECK(bw_json_decimal("0e999999", 8, 0, &v) == 0 && v == 0);
    CHECK(bw_json_decimal("", 0, 0, &v) == -1);
    CHECK(bw_json_decimal("-", 1, 0, &v) == -1);
    CHECK(bw_json_decimal("1.", 2, 0, &v) == -1);
    CHECK(bw_json_decimal("1e", 2, 0, &v) == -1);
    CHECK(bw_json_decimal("12a", 3, 0, &v) == -1);
    CHECK(bw_json_decimal("abc", 3, 0, &v) == -1);
    CHECK(bw_json_decimal(" 1", 2, 0, &v) == -1);
}

static void test_array_has(void)
{
    const char *a = "[ \"process\" , 1, {\"x\":[\"network\"]}, \"netw\\u006frk\" ]";
    CHECK(bw_json_array_has(a, strlen(a), "network"));
    CHECK(bw_json_array_has(a, strlen(a), "process"));
    CHECK(!bw_json_array_has(a, strlen(a), "x"));
    CHECK(!bw_json_array_has("[]", 2, "network"));
    CHECK(!bw_json_array_has("[\"networks\"]", 12, "network"));
    CHECK(!bw_json_array_has("\"network\"", 9, "network"));
}

int main(void)
{
    CHECK(bw_json_keys_init(&keys, paths, P__N, NULL) == 0);
    test_basic();
    test_dotted_equals_nested();
    test_transparent();
    test_pretty_and_escapes();
    test_prefixes();
    test_errors();
    test_depth_and_caps();
    test_decimal();
    test_array_has();
    return tap_done();
}
