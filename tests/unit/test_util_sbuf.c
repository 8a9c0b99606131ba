/* Unit tests for lib/util_sbuf.c and lib/util_hex.h: bw_fmt_g6 against
 * printf's own "%.6g" over random magnitudes, values at and next to
 * rounding ties and powers of ten, signs, zero and the non-finite; the
 * growable buffer; hex encoding. */
#include "tap.h"
#include "util_hex.h"
#include "util_sbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long mismatches;
static void same_as_printf(double v)
{
    char a[BW_G6_LEN], b[64];
    size_t n = bw_fmt_g6(v, a);
    snprintf(b, sizeof b, "%.6g", v);
    if (strcmp(a, b) != 0 || n != strlen(b)) {
        if (mismatches++ < 10)
            fprintf(stderr, "# %.17g: bw_fmt_g6 \"%s\", printf \"%s\"\n", v, a, b);
    }
}

/* v, and the doubles either side of it */
static void around(double v)
{
    same_as_printf(v);
    same_as_printf(nextafter(v, 0));
    same_as_printf(nextafter(v, INFINITY));
    same_as_printf(-v);
}

static void test_g6(void)
{
    for (long i = 0; i < 300000; i++) {
        double e = (double)(next() % 2400) / 100.0 - 7.0; /* 1e-7 .. 1e17 */
        double u = (double)(next() >> 11) / 9007199254740992.0;
        same_as_printf((next() & 1 ? -1 : 1) * pow(10, e) * (1 + u));
        /* a rounding tie of the sixth digit at some scale, and its neighbours */
        around(((double)(next() % 900000) + 100000.5) * pow(10, (int)(next() % 22) - 11));
        around(999999.5 * pow(10, (int)(next() % 22) - 11)); /* rounds up a decade */
        around(pow(10, (int)(next() % 24) - 7));              /* where %g changes style */
        same_as_printf((double)(next() % 100000000));
        same_as_printf((double)(int64_t)(next() % 20000) / 1000.0 - 10);
    }
    static const double edge[] = {0.0, -0.0, 1e-5, 9.999995e-6, 1e-4, 9.99999e-5, 0.5,
                                  1, 123456, 999999, 1e6, 1e15, 999999999999999.9, 1e300,
                                  5e-324, 2.2250738585072014e-308};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        around(edge[i]);
    same_as_printf(NAN);
    same_as_printf(INFINITY);
    same_as_printf(-INFINITY);
    CHECK(mismatches == 0);
    char t[BW_G6_LEN];
    CHECK(bw_fmt_g6(300, t) == 3 && strcmp(t, "300") == 0);
    CHECK(bw_fmt_g6(0.123456789, t) == 8 && strcmp(t, "0.123457") == 0);
    CHECK(bw_fmt_g6(-1234567, t) == 12 && strcmp(t, "-1.23457e+06") == 0);
    CHECK(bw_fmt_g6(0.0000123, t) == 8 && strcmp(t, "1.23e-05") == 0);
}

static void test_sbuf(void)
{
    bw_sbuf b = {0};
    for (int i = 0; i < 1000; i++)
        bw_sbuf_printf(&b, "%d,", i);
    CHECK(!b.oom && b.n == strlen(b.p) && strncmp(b.p, "0,1,2,", 6) == 0);
    CHECK(strcmp(b.p + b.n - 4, "999,") == 0);
    free(b.p);
}

static void test_hex(void)
{
    const unsigned char d[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof d + 1];
    bw_hex_encode(d, sizeof d, out);
    CHECK_STR(out, "00017f80abff");
    for (int i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        char h[3], p[3];
        bw_hex_encode(&c, 1, h);
        snprintf(p, sizeof p, "%02x", i);
        CHECK_STR(h, p);
        CHECK(bw_hexval(h[0]) * 16 + bw_hexval(h[1]) == i);
    }
}

int main(void)
{
    test_g6();
    test_sbuf();
    test_hex();
    return tap_done();
}
