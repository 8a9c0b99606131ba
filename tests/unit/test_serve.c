/* Unit tests of the dashboard server's pure helpers (lib/serve_params.c,
 * the JSON string writer of lib/serve_api.c): query parsing and its caps,
 * parameter values, step widening, Accept-Encoding, If-None-Match,
 * --listen addresses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_api.h"
#include "serve_params.h"
#include "tap.h"

static int parse(const char *s, bw_query *q)
{
    char err[128];
    return bw_query_parse(s, strlen(s), q, err, sizeof err);
}

static void test_query(void)
{
    bw_query q;
    char err[128];
    CHECK(parse("", &q) == 0 && q.n == 0);
    CHECK(parse("&&&", &q) == 0 && q.n == 0);
    CHECK(parse("host=ws%2D01&process=a+b%20c&from=", &q) == 0 && q.n == 3);
    CHECK_STR(bw_query_get(&q, "host"), "ws-01");
    CHECK_STR(bw_query_get(&q, "process"), "a b c");
    CHECK_STR(bw_query_get(&q, "from"), "");
    CHECK(bw_query_get(&q, "to") == NULL);
    CHECK(parse("host", &q) == 0 && q.n == 1 && strcmp(bw_query_get(&q, "host"), "") == 0);
    CHECK(parse("process=%3D%26", &q) == 0 && strcmp(bw_query_get(&q, "process"), "=&") == 0);
    /* Errors name the parameter. */
    CHECK(bw_query_parse("colour=red", 10, &q, err, sizeof err) == 400);
    CHECK(strstr(err, "'colour'") != NULL);
    CHECK(bw_query_parse("host=a&host=b", 13, &q, err, sizeof err) == 400);
    CHECK(strstr(err, "repeated") != NULL);
    CHECK(parse("host=%zz", &q) == 400);
    CHECK(parse("host=%2", &q) == 400);
    CHECK(parse("host=%", &q) == 400);
    CHECK(parse("host=a%00b", &q) == 400);
    CHECK(parse("host=a%0ab", &q) == 400);
    CHECK(parse("=x", &q) == 400);
    CHECK(parse("averyveryverylongname=1", &q) == 400);
    /* Caps: a value of 256 bytes is fine, 257 is not. */
    char buf[600];
    memcpy(buf, "host=", 5);
    memset(buf + 5, 'a', 256);
    buf[261] = '\0';
    CHECK(parse(buf, &q) == 0 && strlen(bw_query_get(&q, "host")) == 256);
    buf[261] = 'a';
    buf[262] = '\0';
    CHECK(bw_query_parse(buf, strlen(buf), &q, err, sizeof err) == 400);
    CHECK(strstr(err, "too long") != NULL && strstr(err, "'host'") != NULL);
    /* A percent escape counts decoded: 256 x "%41" is 256 bytes. */
    size_t n = 0;
    n += (size_t)snprintf(buf, sizeof buf, "id=");
    for (int i = 0; i < 180; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%%41");
    CHECK(parse(buf, &q) == 0 && strlen(bw_query_get(&q, "id")) == 180);
    /* Every name once: 11 parameters; the query is bounded by names. */
    CHECK(parse("from=1&to=2&host=a&process=b&rule=c&step=1&alert=0&limit=1&offset=0"
                "&sort=time&id=x", &q) == 0 && q.n == 11);
    /* Not NUL-terminated input: only n bytes are read. */
    CHECK(bw_query_parse("host=abcdef", 7, &q, err, sizeof err) == 0);
    CHECK_STR(bw_query_get(&q, "host"), "ab");
}

static void test_values(void)
{
    int64_t v;
    CHECK(bw_param_time("0", &v) == 0 && v == 0);
    CHECK(bw_param_time("1655157579", &v) == 0 && v == INT64_C(1655157579000000));
    CHECK(bw_param_time("1655157579.5", &v) == 0 && v == INT64_C(1655157579500000));
    CHECK(bw_param_time("2022-06-13T21:59:39Z", &v) == 0 && v == INT64_C(1655157579000000));
    CHECK(bw_param_time("2022-06-13T23:59:39+02:00", &v) == 0 && v == INT64_C(1655157579000000));
    CHECK(bw_param_time("", &v) == -1);
    CHECK(bw_param_time("yesterday", &v) == -1);
    CHECK(bw_param_time("1655157579000", &v) == -1); /* ms: not seconds */
    CHECK(bw_param_int("42", 0, 100, &v) == 0 && v == 42);
    CHECK(bw_param_int("101", 0, 100, &v) == -1);
    CHECK(bw_param_int("-1", 0, 100, &v) == -1);
    CHECK(bw_param_int("1e3", 0, 10000, &v) == -1);
    CHECK(bw_param_int("", 0, 100, &v) == -1);
    CHECK(bw_param_int(" 1", 0, 100, &v) == -1);
    CHECK(bw_param_int("99999999999999999999", 0, INT64_MAX, &v) == -1);
    CHECK(bw_param_rule_ok("elastic"));
    CHECK(bw_param_rule_ok("sentinel-panos"));
    CHECK(bw_param_rule_ok("sent*"));
    CHECK(bw_param_rule_ok("*")); /* every rule */
    CHECK(!bw_param_rule_ok("a*b"));
    CHECK(!bw_param_rule_ok("a["));
    CHECK(!bw_param_rule_ok("a?"));
    CHECK(!bw_param_rule_ok(""));
}

static void test_steps(void)
{
    const int64_t s = 1000000, h = 3600 * s;
    CHECK(bw_param_nsteps(0, 6 * h, h) == 7);
    CHECK(bw_param_nsteps(0, 6 * h - 1, h) == 6);
    CHECK(bw_param_nsteps(10, 0, h) == 0);
    CHECK(bw_param_step(0, 6 * h, 0, 450 * s, 1000) == 450 * s);
    CHECK(bw_param_step(0, 6 * h, 60 * s, 450 * s, 1000) == 60 * s);
    CHECK(bw_param_step(0, 60 * s, 1500000, 0, 1000) == 2 * s); /* whole seconds */
    CHECK(bw_param_step(0, 6 * h, 1, 0, 1000) == 22 * s);      /* widened */
    CHECK(bw_param_nsteps(0, 6 * h, 22 * s) <= 1000);
    CHECK(bw_param_nsteps(0, 6 * h, 21 * s) > 1000);
    int64_t big = INT64_C(4102444800) * s;
    int64_t st = bw_param_step(0, big, s, 0, 1000);
    CHECK(bw_param_nsteps(0, big, st) <= 1000 && bw_param_nsteps(0, big, st - s) > 1000);
    CHECK(bw_param_step(5, 5, 0, 0, 1000) == s);
}

static void test_headers(void)
{
    CHECK(bw_accepts_gzip("gzip"));
    CHECK(bw_accepts_gzip("gzip, deflate, br"));
    CHECK(bw_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    CHECK(bw_accepts_gzip("*"));
    CHECK(!bw_accepts_gzip(NULL));
    CHECK(!bw_accepts_gzip(""));
    CHECK(!bw_accepts_gzip("identity"));
    CHECK(!bw_accepts_gzip("gzip;q=0"));
    CHECK(!bw_accepts_gzip("gzip; q=0.0, br"));
    CHECK(!bw_accepts_gzip("x-gzip2"));
    CHECK(bw_etag_match("\"abc\"", "\"abc\""));
    CHECK(bw_etag_match("\"abc-gz\"", "\"abc\""));
    CHECK(bw_etag_match("W/\"abc\"", "\"abc\""));
    CHECK(bw_etag_match("\"x\", \"abc\"", "\"abc\""));
    CHECK(bw_etag_match("*", "\"abc\""));
    CHECK(!bw_etag_match("\"abcd\"", "\"abc\""));
    CHECK(!bw_etag_match("\"ab\"", "\"abc\""));
    CHECK(!bw_etag_match("abc", "\"abc\""));
    CHECK(!bw_etag_match("\"abc", "\"abc\""));
    CHECK(!bw_etag_match(NULL, "\"abc\""));
    CHECK(!bw_etag_match("", "\"abc\""));
    CHECK(bw_secret_equal("s3cret", "s3cret"));
    CHECK(!bw_secret_equal("s3cret", "s3cre"));
    CHECK(!bw_secret_equal("s3cre", "s3cret"));
    CHECK(!bw_secret_equal("", "x"));
    CHECK(bw_secret_equal("", ""));
}

static void test_listen(void)
{
    struct sockaddr_storage a;
    socklen_t len;
    int lo = -1;
    CHECK(bw_listen_parse("127.0.0.1:8080", &a, &len, &lo) == 0 && lo == 1);
    CHECK(a.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&a)->sin_port) == 8080);
    CHECK(bw_listen_parse("127.1.2.3:0", &a, &len, &lo) == 0 && lo == 1);
    CHECK(bw_listen_parse("localhost:80", &a, &len, &lo) == 0 && lo == 1);
    CHECK(bw_listen_parse("0.0.0.0:80", &a, &len, &lo) == 0 && lo == 0);
    CHECK(bw_listen_parse("10.1.2.3:80", &a, &len, &lo) == 0 && lo == 0);
    CHECK(bw_listen_parse("[::1]:80", &a, &len, &lo) == 0 && lo == 1 && a.ss_family == AF_INET6);
    CHECK(bw_listen_parse("[::]:80", &a, &len, &lo) == 0 && lo == 0);
    CHECK(bw_listen_parse("::1:80", &a, &len, &lo) == -1);
    CHECK(bw_listen_parse("127.0.0.1", &a, &len, &lo) == -1);
    CHECK(bw_listen_parse("127.0.0.1:65536", &a, &len, &lo) == -1);
    CHECK(bw_listen_parse("127.0.0.1:-1", &a, &len, &lo) == -1);
    CHECK(bw_listen_parse(":80", &a, &len, &lo) == -1);
    CHECK(bw_listen_parse("example.org:80", &a, &len, &lo) == -1);
    CHECK(bw_listen_parse("[::1:80", &a, &len, &lo) == -1);
}

static void test_json_str(void)
{
    bw_sbuf b = {0};
    bw_json_put_str(&b, "a\"b\\c\n\x01\xc3\xa9");
    CHECK_STR(b.p, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
    free(b.p);
}

int main(void)
{
    test_query();
    test_values();
    test_steps();
    test_headers();
    test_listen();
    test_json_str();
    return tap_done();
}
