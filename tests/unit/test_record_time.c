/* Timestamp parsing and formatting: every form SPEC §2 lists. */
#include "beaconwatch/bw_record.h"
#include "tap.h"

static int64_t parse(const char *s)
{
    int64_t us = -42;
    if (bw_time_parse(s, strlen(s), &us) != 0)
        return -42;
    return us;
}

int main(void)
{
    char buf[BW_TIME_STRLEN];
    /* 2026-01-01T00:00:00Z = 1767225600 */
    CHECK(parse("2026-01-01T00:00:00Z") == 1767225600000000LL);
    CHECK(parse("2026-01-01T00:00:00.5Z") == 1767225600500000LL);
    CHECK(parse("2026-01-01T00:00:00.123456789Z") == 1767225600123456LL);
    CHECK(parse("2026-01-01T00:00:00.000Z") == 1767225600000000LL);
    CHECK(parse("2026-01-01T02:00:00+02:00") == 1767225600000000LL);
    CHECK(parse("2025-12-31T22:00:00-02:00") == 1767225600000000LL);
    CHECK(parse("2026-01-01T02:00:00+0200") == 1767225600000000LL);
    CHECK(parse("2026-01-01 00:00:00Z") == 1767225600000000LL);
    CHECK(parse("2026-01-01T00:00:00") == 1767225600000000LL); /* no zone: UTC */
    CHECK(parse("2026-01-01") == 1767225600000000LL);
    CHECK(parse("2016-08-17T10:37:05.052735+0200") == 1471423025052735LL);
    CHECK(parse("1767225600") == 1767225600000000LL);
    CHECK(parse("1767225600.25") == 1767225600250000LL);
    CHECK(parse("1655071198.444458") == 1655071198444458LL);
    CHECK(parse("1767225600123") == 1767225600123000LL); /* epoch ms */
    CHECK(parse("0.000123") == 123);                      /* relative capture */
    CHECK(parse("1.6644624567553e+09") == 1664462456755300LL);
    CHECK(parse(" 1767225600 ") == 1767225600000000LL);
    /* rejects */
    CHECK(parse("") == -42);
    CHECK(parse("abc") == -42);
    CHECK(parse("2026-13-01T00:00:00Z") == -42);
    CHECK(parse("2026-01-01T25:00:00Z") == -42);
    CHECK(parse("2026-01-01T00:00:00.Z") == -42);
    CHECK(parse("2026-01-01T00:00:00.1234567890Z") == -42); /* 10 fraction digits */
    CHECK(parse("2026-01-01T00:00:00Zjunk") == -42);
    CHECK(parse("12.34.56") == -42);
    CHECK(parse("-") == -42);
    /* formatting */
    bw_time_format(1767225600123456LL, buf);
    CHECK_STR(buf, "2026-01-01T00:00:00.123456Z");
    bw_time_format_ms(1767225600123456LL, buf);
    CHECK_STR(buf, "2026-01-01T00:00:00.123Z");
    bw_time_format(0, buf);
    CHECK_STR(buf, "1970-01-01T00:00:00.000000Z");
    bw_time_format(-1, buf);
    CHECK_STR(buf, "1969-12-31T23:59:59.999999Z");
    bw_time_format(951782400000000LL, buf); /* leap day 2000-02-29 */
    CHECK_STR(buf, "2000-02-29T00:00:00.000000Z");
    /* round trip over a range of days */
    for (int64_t d = -800; d < 40000; d += 37) {
        int64_t us = d * 86400000000LL + 12345678;
        bw_time_format(us, buf);
        CHECK(parse(buf) == us);
    }
    return tap_done();
}
