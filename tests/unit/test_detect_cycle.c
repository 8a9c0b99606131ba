/* Unit tests of the growing-sleep cycle test (lib/detect_cycle.c) and its
 * place in the estimator (lib/detect_period.c): the exact rise-count null
 * against brute force; Fibonacci and doubling sleeps under each jitter
 * model at 0, 20 and 50 % with 20 % missed beats found, with their cycle;
 * calibration on random (Poisson) timing, on bursty human sessions
 * (lognormal and Pareto idle times, with and without nights) and on a slow
 * trend. The calibration tables go to stderr. */
#include "detect_cycle.h"
#include "detect_period.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- a small deterministic RNG (splitmix64) ---- */
static uint64_t rs = 7;
static double unit(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)((z >> 11) + 1) / 9007199254740993.0; /* (0, 1) */
}

static double expo(double mean)
{
    return -log(unit()) * mean;
}

static double gauss(void)
{
    return sqrt(-2 * log(unit())) * cos(6.283185307179586 * unit());
}

#define MAXT 20000
static double tt[MAXT], scratch[3 * MAXT + 3];

/* ---- the null distribution ---- */

static size_t perm_rises(const int *v, size_t m)
{
    size_t r = 0;
    for (size_t i = 0; i + 1 < m; i++)
        r += v[i + 1] > v[i];
    return r;
}

/* every order of 0 .. m-1 (Heap's algorithm), rise counts tallied */
static void tally(size_t m, double *count)
{
    int v[8], c[8] = {0};
    for (size_t i = 0; i < m; i++)
        v[i] = (int)i;
    count[perm_rises(v, m)]++;
    size_t i = 0;
    while (i < m) {
        if ((size_t)c[i] < i) {
            size_t k = i % 2 ? (size_t)c[i] : 0;
            int t = v[k];
            v[k] = v[i];
            v[i] = t;
            count[perm_rises(v, m)]++;
            c[i]++;
            i = 0;
        } else {
            c[i++] = 0;
        }
    }
}

static void test_null(void)
{
    for (size_t m = 2; m <= 7; m++) {
        double count[8] = {0}, total = 0;
        tally(m, count);
        for (size_t k = 0; k < m; k++)
            total += count[k];
        for (size_t a = 0; a <= m; a++) {
            double tail = 0;
            for (size_t k = a; k < m; k++)
                tail += count[k];
            CHECK(fabs(bw_rises_sf(m, a, scratch) - tail / total) < 1e-12);
        }
    }
    /* symmetric about (m - 1) / 2, also at the largest exact size */
    CHECK(fabs(bw_rises_sf(100, 50, scratch) - 0.5) < 1e-12);
    CHECK(fabs(bw_rises_sf(BW_CYCLE_EXACT_MAX, BW_CYCLE_EXACT_MAX / 2, scratch) - 0.5) < 1e-9);
    CHECK(bw_rises_sf(10, 9, scratch) > 0 && bw_rises_sf(10, 10, scratch) == 0);
}

/* ---- growing sleeps ---- */

static const double fib[] = {1, 1, 2, 3, 5, 8, 13, 21, 34, 55};
static const double dbl[] = {1, 2, 4, 8, 16, 32, 64};

static double jittered(int model, double s, double j)
{
    return model == BW_JM_CS    ? s * (1 - j * unit())
           : model == BW_JM_SYM ? s * (1 + j * (2 * unit() - 1))
                                : s + j * s * unit();
}

/* A growing-sleep beacon: base x mult[0 .. k) then again, each sleep
 * jittered; a beat missed with probability `missed` (the schedule goes on),
 * a retry burst (1-3 events 1-5 s apart) after 5 % of beats. */
static size_t growing(const double *mult, size_t k, int model, double base, double j,
                      double missed, double span)
{
    size_t n = 0, step = 0;
    double now = unit() * base;
    while (now < span && n + 4 < MAXT) {
        if (unit() >= missed) {
            tt[n++] = now;
            if (unit() < 0.05) {
                double r = now;
                for (int i = 1 + (int)(unit() * 3); i > 0; i--)
                    tt[n++] = r += 1 + 4 * unit();
            }
        }
        now += jittered(model, base * mult[step], j);
        step = (step + 1) % k;
    }
    return n;
}

/* found with p below pbar, the cycle's length within tol */
static void check_growing(const char *name, const double *mult, size_t k, int model, double j,
                          double missed, double cycles, double pbar, double tol)
{
    double base = 30, cyc = 0;
    for (size_t i = 0; i < k; i++)
        cyc += base * mult[i];
    size_t n = growing(mult, k, model, base, j, missed, cyc * cycles);
    double want = model == BW_JM_CS    ? cyc * (1 - j / 2)
                  : model == BW_JM_SYM ? cyc
                                       : cyc * (1 + j / 2);
    bw_period_est e;
    int ok = bw_period_estimate(tt, n, scratch, 0.01, 1.0, &e);
    int found = ok && e.estimated && e.model == BW_JM_GROWING && e.p < pbar;
    int cyc_ok = fabs(e.sleep_s - want) <= tol * want && e.s_lo <= e.sleep_s &&
                 e.s_hi >= e.sleep_s && e.grow_first < e.grow_top;
    CHECK(found);
    CHECK(cyc_ok);
    fprintf(stderr,
            "  %-9s %-12s J %2.0f %% missed %2.0f %%, %4.0f cycles: %5zu events, p %.2g "
            "(cycle %.2g), S %.0f s (true %.0f), sleeps %.0f -> %.0f s, %.0f %% of beats\n",
            name, bw_jm_name(model), j * 100, missed * 100, cycles, n, e.p, e.p_cycle, e.sleep_s,
            want, e.grow_first, e.grow_top, e.seen * 100);
}

static void test_growing(void)
{
    static const int models[] = {BW_JM_CS, BW_JM_SYM, BW_JM_SLIVER};
    static const double jit[] = {0.0, 0.2, 0.5};
    for (int m = 0; m < 3; m++)
        for (int j = 0; j < 3; j++) {
            check_growing("fibonacci", fib, 10, models[m], jit[j], 0.2, 40, 1e-12, 0.1);
            check_growing("doubling", dbl, 7, models[m], jit[j], 0.2, 40, 1e-12, 0.1);
        }
    /* few cycles (a day at the evaluation's longest base, 2 min, holds 5-8):
     * the margin of power; over seeds the first two give p 1e-12 .. 1e-4,
     * and doubling with 50 % symmetric jitter and 20 % missed is often
     * too weak to survive Benjamini-Hochberg over thousands of groups */
    check_growing("fibonacci", fib, 10, BW_JM_CS, 0.5, 0.2, 12, 1e-4, 0.2);
    check_growing("doubling", dbl, 7, BW_JM_CS, 0.2, 0.2, 12, 1e-4, 0.2);
    check_growing("doubling", dbl, 7, BW_JM_SYM, 0.5, 0.2, 12, 0.01, 0.3);
}

/* ---- calibration ---- */

/* Human browsing: sessions of rapid clicks (each a page load of 1-4
 * connections within a second, then a read of 1-30 s), separated by idle
 * times: lognormal (median 10 min, sigma 1.5) or Pareto (from 60 s, alpha
 * 1.1); with nights, only 08-18 h of each day. */
static size_t human(int pareto, int nights, size_t want)
{
    size_t n = 0;
    double now = 0;
    while (n < want) {
        int clicks = 1 + (int)expo(6);
        for (int c = 0; c < clicks && n < want; c++) {
            int loads = 1 + (int)(unit() * 4);
            for (int l = 0; l < loads && n < want; l++)
                tt[n++] = now + unit() * 0.8;
            now += 1 + unit() * 29 + expo(5);
        }
        now += pareto ? 60 * pow(unit(), -1 / 1.1) : 600 * exp(1.5 * gauss());
        if (nights) {
            double h = fmod(now, 86400);
            if (h < 8 * 3600 || h > 18 * 3600)
                now += fmod(86400 + 8 * 3600 - h, 86400) + unit() * 1800;
        }
    }
    /* the page loads overlap: sort */
    for (size_t i = 1; i < n; i++) {
        double x = tt[i];
        size_t k = i;
        while (k > 0 && tt[k - 1] > x) {
            tt[k] = tt[k - 1];
            k--;
        }
        tt[k] = x;
    }
    return n;
}

static size_t poisson(size_t want)
{
    double now = 0;
    for (size_t i = 0; i < want; i++)
        tt[i] = now += expo(120);
    return want;
}

/* gaps whose mean grows tenfold over the series */
static size_t trend(size_t want)
{
    double now = 0;
    for (size_t i = 0; i < want; i++)
        tt[i] = now += expo(60 * (1 + 9 * (double)i / (double)want));
    return want;
}

/* Runs `reps` series of `events` from gen; checks the cycle test's rate of
 * p below 0.01 and 0.001 against twice the nominal rate (plus one, for
 * small counts). */
static void calibrate(const char *name, size_t (*gen)(size_t), size_t reps, size_t events)
{
    size_t c2 = 0, c3 = 0, r2 = 0, r3 = 0, p2 = 0, p3 = 0, tested = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        size_t n = gen(events);
        bw_period_est e;
        if (!bw_period_estimate(tt, n, scratch, 0.0, 1.0, &e) || e.nbeats < 8)
            continue;
        tested++;
        c2 += e.p_cycle < 0.01;
        c3 += e.p_cycle < 0.001;
        p2 += e.p < 0.01;
        p3 += e.p < 0.001;
        /* the rise test without the gate */
        size_t nb = 1;
        double last = tt[0];
        for (size_t i = 1; i < n; i++)
            if (tt[i] - last > e.burst_s) {
                scratch[nb++] = tt[i] - last;
                last = tt[i];
            }
        bw_cycle_est c;
        bw_cycle_test(scratch + 1, nb - 1, scratch + MAXT, &c);
        r2 += c.p_raw < 0.01;
        r3 += c.p_raw < 0.001;
    }
    fprintf(stderr,
            "  %-28s %5zu series: cycle p < 0.01 %4zu (%.4f), < 0.001 %3zu (%.4f); ungated "
            "%4zu / %3zu; combined p %4zu / %3zu\n",
            name, tested, c2, (double)c2 / (double)tested, c3, (double)c3 / (double)tested, r2,
            r3, p2, p3);
    CHECK(tested >= reps * 9 / 10);
    CHECK((double)c2 <= 2 * 0.01 * (double)tested + 1);
    CHECK((double)c3 <= 2 * 0.001 * (double)tested + 1);
}

static size_t human_ln(size_t n)
{
    return human(0, 0, n);
}
static size_t human_pareto(size_t n)
{
    return human(1, 0, n);
}
static size_t human_ln_nights(size_t n)
{
    return human(0, 1, n);
}
static size_t human_pareto_nights(size_t n)
{
    return human(1, 1, n);
}

static void test_calibration(void)
{
    calibrate("poisson, 200 events", poisson, 2000, 200);
    calibrate("poisson, 2,000 events", poisson, 300, 2000);
    calibrate("human lognormal, 300 events", human_ln, 2000, 300);
    calibrate("human pareto, 300 events", human_pareto, 2000, 300);
    calibrate("human lognormal + nights", human_ln_nights, 1000, 1000);
    calibrate("human pareto + nights", human_pareto_nights, 1000, 1000);
    calibrate("trend x10, 2,000 events", trend, 300, 2000);
}

int main(void)
{
    test_null();
    test_growing();
    test_calibration();
    return tap_done();
}
