/* Growing-sleep cycles: the rise count against its exact permutation null,
 * and the cycle's length, first and longest sleep (see detect_cycle.h and
 * docs/detector.md, step 5b, for the method and why). */
#include "detect_cycle.h"

#include <math.h>
#include <stdlib.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile of v (n > 0; sorted here), linear interpolation. */
static double quant_of(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_d);
    double x = q * (double)(n - 1);
    size_t i = (size_t)x;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (x - (double)i) * (v[i + 1] - v[i]);
}

double bw_rises_sf(size_t m, size_t a, double *P)
{
    if (m < 2 || a == 0)
        return 1.0;
    if (a >= m)
        return 0.0;
    /* P[k] = share of the orders of n values with k rises; adding an n-th
     * value to an order with k rises keeps k (k + 1 places) or adds one
     * (n - k places): A(n, k) = (k + 1) A(n-1, k) + (n - k) A(n-1, k-1) */
    P[0] = 1.0;
    for (size_t n = 2; n <= m; n++) {
        double inv = 1.0 / (double)n;
        P[n - 1] = 0.0;
        for (size_t k = n - 1; k > 0; k--)
            P[k] = ((double)(k + 1) * P[k] + (double)(n - k) * P[k - 1]) * inv;
        P[0] *= inv;
    }
    double s = 0;
    for (size_t k = m - 1; k >= a; k--)
        s += P[k];
    return s < 1.0 ? s : 1.0;
}

/* Upper tail of the rise count for large m: the Eulerian distribution is
 * that of a sum of independent Bernoulli variables (its polynomial has
 * real roots only), so Bernstein's inequality bounds it. Conservative. */
static double rises_bound(size_t m, size_t a)
{
    double mu = (double)(m - 1) / 2, var = (double)(m + 1) / 12, t = (double)a - mu;
    if (t <= 0)
        return 1.0;
    return exp(-t * t / (2 * var + 2 * t / 3));
}

/* Walks the complete cycles of g: calls back with each one's first gap
 * index and end (exclusive) in *b, *e (returns 0 when done). A cycle ends
 * at a reset, a gap followed by one shorter than 1 / BW_CYCLE_RESET of it;
 * the first and last cycles are cut by the window and left out. */
typedef struct cyc_walk {
    const double *g;
    size_t n, pos, start;
    int started;
} cyc_walk;

static int cyc_next(cyc_walk *w, size_t *b, size_t *e)
{
    while (w->pos + 1 < w->n) {
        size_t i = w->pos++;
        if (w->g[i + 1] * BW_CYCLE_RESET < w->g[i]) {
            size_t s = w->start;
            int had = w->started;
            w->start = i + 1;
            w->started = 1;
            if (had) {
                *b = s;
                *e = i + 1;
                return 1;
            }
        }
    }
    return 0;
}

void bw_cycle_test(const double *g, size_t n, double *scratch, bw_cycle_est *c)
{
    *c = (bw_cycle_est){.ngaps = n, .p_raw = 1.0, .p = 1.0};
    if (n < 3)
        return;
    size_t rises = 0, resets = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        rises += g[i + 1] > g[i];
        resets += g[i + 1] * BW_CYCLE_RESET < g[i];
    }
    c->rises = rises;
    c->resets = resets;
    c->rise_frac = (double)rises / (double)(n - 1);
    double mu = (double)(n - 1) / 2, sd = sqrt((double)(n + 1) / 12);
    c->z = ((double)rises - mu) / sd;
    /* effect-size gate: a slow trend or a merged series can make a few
     * more rises than falls significant over thousands of gaps; a growing
     * sleep rises in most pairs and resets again and again */
    int gate = c->rise_frac >= BW_CYCLE_MIN_RISE && resets >= 2;
    /* the exact tail costs n^2 / 2: only where it can matter */
    if (c->z > 1.5 && (gate || n <= 512))
        c->p_raw = n <= BW_CYCLE_EXACT_MAX ? bw_rises_sf(n, rises, scratch) : rises_bound(n, rises);
    else
        c->p_raw = c->z > 0 ? 0.5 * erfc(c->z / sqrt(2.0)) : 1.0;
    if (!gate)
        return;
    c->p = c->p_raw;

    /* the cycle: complete cycles between resets */
    size_t nc = 0, b, e;
    cyc_walk w = {.g = g, .n = n};
    while (cyc_next(&w, &b, &e)) {
        double s = 0;
        for (size_t i = b; i < e; i++)
            s += g[i];
        scratch[nc++] = s;
    }
    c->ncycles = nc;
    if (nc == 0)
        return;
    double q1 = quant_of(scratch, nc, 0.25), q3 = quant_of(scratch, nc, 0.75);
    c->cycle_s = quant_of(scratch, nc, 0.5);
    c->qcd = q3 + q1 > 0 ? (q3 - q1) / (q3 + q1) : 0;
    /* the median's standard error from the quartiles (normal: sd = IQR /
     * 1.349, se of a median = 1.2533 sd / sqrt(n)) */
    double se = 1.2533 * (q3 - q1) / 1.349 / sqrt((double)nc);
    c->cycle_lo = c->cycle_s - 2 * se > 0 ? c->cycle_s - 2 * se : 0;
    c->cycle_hi = c->cycle_s + 2 * se;
    w = (cyc_walk){.g = g, .n = n};
    for (nc = 0; cyc_next(&w, &b, &e);)
        scratch[nc++] = g[b];
    c->first_s = quant_of(scratch, nc, 0.5);
    w = (cyc_walk){.g = g, .n = n};
    for (nc = 0; cyc_next(&w, &b, &e);)
        scratch[nc++] = g[e - 1];
    c->top_s = quant_of(scratch, nc, 0.5);
    w = (cyc_walk){.g = g, .n = n};
    for (nc = 0; cyc_next(&w, &b, &e);)
        scratch[nc++] = (double)(e - b);
    c->per_cycle = quant_of(scratch, nc, 0.9);
}
