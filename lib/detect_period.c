/* Sleep and jitter estimation for one connection series (see
 * detect_period.h and docs/detector.md for the method and why). */
#include "detect_period.h"
#include "detect_cycle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *bw_jm_name(int model)
{
    static const char *const names[] = {"constant", "uniform-down", "symmetric", "added",
                                        "growing"};
    return model >= 0 && model <= BW_JM_GROWING ? names[model] : "?";
}

double bw_norm_sf(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

/* Hoare's partition of v (n > 2) around the median of its first, middle
 * and last values: returns left, with v[0, left) <= pivot <= v[left, n). */
static size_t partition_d(double *v, size_t n)
{
    double a = v[0], b = v[n / 2], c = v[n - 1];
    double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    size_t i = 0, j = n - 1;
    for (;;) {
        while (v[i] < piv)
            i++;
        while (v[j] > piv)
            j--;
        if (i >= j)
            return j + 1;
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
    }
}

/* Sorts v (n) ascending: an inlined quicksort (the smaller side first so
 * the stack stays O(log n)) with insertion sort for short runs; qsort's
 * comparison calls were a fifth of finish(). */
static void sort_d(double *v, size_t n)
{
    while (n > 24) {
        size_t left = partition_d(v, n);
        if (left < n - left) {
            sort_d(v, left);
            v += left;
            n -= left;
        } else {
            sort_d(v + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t k = i;
        while (k > 0 && v[k - 1] > x) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = x;
    }
}

/* Moves the values of v (n) below piv (or_equal: up to piv) to its front,
 * returning their count; no branch on the data (a partition's branches
 * mispredict half the time on random values): each value is swapped with
 * the first one not below, which stays where it was when the value is not
 * below either. */
static size_t partition_below(double *v, size_t n, double piv, int or_equal)
{
    size_t i = 0;
    for (size_t j = 0; j < n; j++) {
        double x = v[j];
        v[j] = v[i];
        v[i] = x;
        i += or_equal ? x <= piv : x < piv;
    }
    return i;
}

/* Selection by branch-free partitions around the median of three values,
 * down to a short run that is then sorted. A pivot that is the run's
 * smallest value leaves nothing below it: then the values equal to it go
 * first, and they are the answer when k falls among them. */
void bw_select(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* k in [lo, hi) */
    while (hi - lo > 16) {
        double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t left = lo + partition_below(v + lo, hi - lo, piv, 0);
        if (left == lo) {
            left = lo + partition_below(v + lo, hi - lo, piv, 1);
            if (k < left)
                return;
            lo = left;
        } else if (k < left) {
            hi = left;
        } else {
            lo = left;
        }
    }
    sort_d(v + lo, hi - lo);
}

/* quant(sorted v, n, q) without sorting v (reorders it). */
static double quant_sel(double *v, size_t n, double q)
{
    double x = q * (double)(n - 1);
    size_t i = (size_t)x;
    if (i + 1 >= n) {
        double m = v[0];
        for (size_t k = 1; k < n; k++)
            m = v[k] > m ? v[k] : m;
        return m;
    }
    bw_select(v, n, i);
    double next = v[i + 1];
    for (size_t k = i + 2; k < n; k++)
        next = v[k] < next ? v[k] : next;
    double f = x - (double)i;
    return v[i] + f * (next - v[i]);
}

static int cmp_pidx(const void *a, const void *b)
{
    const bw_pidx *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

void bw_bh_adjust(double *pq, size_t n, bw_pidx *s)
{
    bw_bh_adjust_m(pq, n, n, s);
}

void bw_bh_adjust_m(double *pq, size_t n, size_t m, bw_pidx *s)
{
    for (size_t i = 0; i < n; i++) {
        s[i].p = pq[i];
        s[i].i = i;
    }
    if (n)
        qsort(s, n, sizeof *s, cmp_pidx);
    double run = 1.0;
    for (size_t k = n; k-- > 0;) {
        double q = s[k].p * (double)m / (double)(k + 1);
        if (q < run)
            run = q;
        pq[s[k].i] = run;
    }
}

/* Quantile of sorted v (n > 0), linear interpolation. */
static double quant(const double *v, size_t n, double q)
{
    double x = q * (double)(n - 1);
    size_t i = (size_t)x;
    if (i + 1 >= n)
        return v[n - 1];
    double f = x - (double)i;
    return v[i] + f * (v[i + 1] - v[i]);
}

/* Operators configure round values: a sleep of 300 s or 5 min, not 315 s;
 * a jitter of 20 %, not 23 %. Every band [a, b] of uniform sleeps fits all
 * three jitter models, each with its own (S, J), so the reading picked is
 * the most probable one under a prior over round settings: the cost of a
 * reading is its negative log-likelihood given the estimate's standard
 * error (0.5 z^2) plus the cost of naming the value (the log of the
 * multiplier of a round unit, so that 21 x 15 s costs more than 5 min),
 * or a flat cost for an arbitrary value when nothing round is near. */
#define ARBITRARY_COST 6.0

/* Share of the false-positive budget given to the growing-sleep test (step
 * 2b): its p-values for real cycles are tiny, so a small share costs it
 * little, and the dispersion test's p-values grow by only 1 / 0.95. */
#define CYCLE_WEIGHT 0.05

static double round_cost(double x, double sd, const double *unit, const double *ucost,
                         size_t nunit)
{
    double best = ARBITRARY_COST;
    for (size_t i = 0; i < nunit; i++) {
        double k = floor(x / unit[i] + 0.5);
        if (k < 1)
            k = 1;
        double z = (x - k * unit[i]) / sd;
        double c = 0.5 * z * z + log(k) + ucost[i];
        if (c < best)
            best = c;
    }
    return best;
}

/* Sleep units: seconds up to a minute, then minutes, quarter and half
 * hours, hours, a quarter and half a day, a day. A unit of 1 s only for
 * short sleeps (its multiplier grows with the sleep anyway). */
static double sleep_cost(double p, double sd)
{
    static const double unit[] = {1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 21600,
                                  43200, 86400};
    static const double ucost[] = {0.5, 0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    return round_cost(p, sd, unit, ucost, sizeof unit / sizeof *unit);
}

/* Jitter in percent: tens first, then fives, then any whole percent; above
 * half the sleep rarely (a sleep of 1 h "+ up to 100 %" reads better as
 * 2 h shortened by up to 50 %). */
static double jitter_cost(double j, double sd)
{
    static const double unit[] = {0.1, 0.05, 0.01};
    static const double ucost[] = {0, 0.7, 2.3};
    if (j < 0.5 * sd)
        return 0; /* no jitter */
    double best = ARBITRARY_COST;
    for (size_t i = 0; i < 3; i++) {
        double k = floor(j / unit[i] + 0.5);
        if (k < 1)
            continue;
        double z = (j - k * unit[i]) / sd;
        double c = 0.5 * z * z + ucost[i];
        if (c < best)
            best = c;
    }
    return j > 0.6 + sd ? best + 1.5 : best;
}

/* Log-likelihoods ll[k] of the sorted gaps g (n) when sleeps are uniform
 * on [a, b] and a beat is missed with probability ms[k], k < nm: one sleep,
 * two (the triangle on [2a, 2b]) or more (a normal approximation), plus a
 * small floor for stray gaps. The terms that do not depend on the missed
 * share (the band tests, the two densities) are computed once per gap for
 * all of them, so the loop over the shares has no branch and no division,
 * and the densities of MIX_BLOCK gaps are multiplied before one log is
 * taken (the logs were a third of finish()): each lies between the floor,
 * at least 0.01 / dmax, and about 3 / w, so sixteen of them stay far
 * inside the range of a double. The normal density is left out where it
 * cannot change a sum that already holds the floor (below 2^-60 of it):
 * far from 3 sleeps, most gaps of a narrow band. A block's per-gap terms
 * are computed first (the exp calls), then multiplied in: a call in the
 * multiplying loop made every vector register be saved and reloaded
 * around it for each gap (a quarter of the fit). */
#define MIX_MAX 6    /* missed shares per call */
#define MIX_BLOCK 16
typedef double mix_v2 __attribute__((vector_size(16))); /* two shares at once */
static void mix_ll(const double *g, size_t n, size_t stride, double a, double b,
                   const double *ms, size_t nm, double dmax, double *ll)
{
    double w = b - a, mu = (a + b) / 2, var = w * w / 12;
    double m3 = 3 * mu, v3 = 3 * var, floor_d = 0.01 / dmax;
    double sq = sqrt(2 * 3.141592653589793 * v3), ww = w * w, c3max = 0;
    /* the per-gap terms' factors that do not vary, in lanes of two shares
     * (those past nm computed but unused) */
    _Static_assert(MIX_MAX == 6, "mix_ll: three lanes of two");
    mix_v2 c1[MIX_MAX / 2], c2[MIX_MAX / 2], c3[MIX_MAX / 2];
    for (size_t k = 0; k < MIX_MAX; k++) {
        double m = k < nm ? ms[k] : 0;
        c1[k / 2][k % 2] = (1 - m) / w;
        c2[k / 2][k % 2] = (1 - m) * m;
        c3[k / 2][k % 2] = m * m;
        c3max = m * m > c3max ? m * m : c3max;
    }
    for (size_t k = 0; k < nm; k++)
        ll[k] = 0;
    /* exp(-x) * c3max / sq < floor_d * 2^-60 for every x above xmax */
    double xmax = c3max > 0 ? log(c3max / (sq * floor_d)) + 60 * 0.6931471805599453 : -1;
    for (size_t i = 0; i < n;) {
        double one[MIX_BLOCK], tri[MIX_BLOCK], ex[MIX_BLOCK];
        int nb = 0;
        for (; i < n && nb < MIX_BLOCK; i += stride, nb++) {
            double d = g[i];
            one[nb] = d >= a && d <= b ? 1 : 0;
            tri[nb] = 0;
            ex[nb] = 0;
            if (d >= 2 * a && d <= 2 * b)
                tri[nb] = (d <= a + b ? d - 2 * a : 2 * b - d) / ww;
            double x = (d - m3) * (d - m3) / (2 * v3);
            if (x < xmax)
                ex[nb] = exp(-x) / sq;
        }
        /* an accumulator per lane, so that they stay in registers */
        mix_v2 p0 = {1, 1}, p1 = p0, p2 = p0;
        for (int k = 0; k < nb; k++) {
            p0 *= floor_d + one[k] * c1[0] + c2[0] * tri[k] + c3[0] * ex[k];
            p1 *= floor_d + one[k] * c1[1] + c2[1] * tri[k] + c3[1] * ex[k];
            p2 *= floor_d + one[k] * c1[2] + c2[2] * tri[k] + c3[2] * ex[k];
        }
        mix_v2 prod[MIX_MAX / 2] = {p0, p1, p2};
        for (size_t k = 0; k < nm; k++)
            ll[k] += log(prod[k / 2][k % 2]);
    }
}

/* Upper edge b of the band given its lower edge a, by maximum likelihood
 * over b in (a, 3.2 a] and the missed share m: needed when two sleeps can
 * be shorter than one (symmetric jitter above 1/3), where counting gaps as
 * single or double by their length fails. */
static double fit_upper(const double *g, size_t n, double a, double *m_out)
{
    size_t stride = n > 300 ? n / 300 : 1;
    double dmax = g[n - 1] > 0 ? g[n - 1] : 1;
    static const double ms[] = {0, 0.05, 0.1, 0.15, 0.2, 0.3};
    _Static_assert(sizeof ms / sizeof *ms <= MIX_MAX, "mix_ll: too many missed shares");
    double best = -1e300, bb = a * 1.5, bm = 0;
    for (int pass = 0; pass < 2; pass++) {
        double lo = pass ? bb / 1.04 : a * 1.02, hi = pass ? bb * 1.04 : a * 3.2;
        int steps = pass ? 24 : 48;
        for (int i = 0; i <= steps; i++) {
            double b = lo * pow(hi / lo, (double)i / steps);
            if (b <= a * 1.01)
                continue;
            double ll[sizeof ms / sizeof *ms];
            mix_ll(g, n, stride, a, b, ms, sizeof ms / sizeof *ms, dmax, ll);
            for (size_t k = 0; k < sizeof ms / sizeof *ms; k++) {
                if (ll[k] > best) {
                    best = ll[k];
                    bb = b;
                    bm = ms[k];
                }
            }
        }
    }
    *m_out = bm;
    return bb;
}

int bw_period_estimate(const double *t, size_t n, double *scratch, double p_max,
                       double p_mean, bw_period_est *e)
{
    memset(e, 0, sizeof *e);
    e->nevents = n;
    e->p = e->p_periodic = e->p_cycle = 1.0;
    if (n < 4)
        return 0;
    double *d = scratch, *w = scratch + n;

    /* 1. bursts: a retry or a tasking burst follows its beat within a small
     * fraction of the typical gap; fold it into the beat */
    size_t nd = 0;
    for (size_t i = 1; i < n; i++)
        d[nd++] = t[i] - t[i - 1];
    memcpy(w, d, nd * sizeof *d);
    double med_raw = quant_sel(w, nd, 0.5);
    double tau = 0.25 * med_raw;
    size_t nb = 0;
    double last = 0;
    for (size_t i = 0; i < n; i++) {
        if (nb == 0 || t[i] - last > tau) {
            w[nb++] = t[i]; /* beats into w (w is free again) */
            last = t[i];
        }
    }
    e->burst_s = tau;
    e->nbeats = nb;
    e->first_s = w[0];
    e->last_s = w[nb - 1];
    if (nb < 4 || e->last_s <= e->first_s)
        return 0;

    /* gaps between beats into d */
    size_t ng = 0;
    double sum = 0;
    for (size_t i = 1; i < nb; i++) {
        d[ng] = w[i] - w[i - 1];
        sum += d[ng++];
    }

    /* 2. dispersion test: quartile coefficient of dispersion of the gaps
     * against gaps of tau + exponential (random arrivals after folding);
     * the quartiles by selection: most series stop after the tests */
    double q3 = quant_sel(d, ng, 0.75), q1 = quant_sel(d, ng, 0.25);
    double mean = sum / (double)ng;
    double theta = mean - tau > 1e-9 ? mean - tau : 1e-9;
    e->qcd = q3 + q1 > 0 ? (q3 - q1) / (q3 + q1) : 0;
    e->qcd0 = 1.0986123 * theta / (2 * tau + 1.6739764 * theta);
    double sd0 = 0.564 * (e->qcd0 / 0.6563) / sqrt((double)ng);
    e->z = sd0 > 0 ? (e->qcd0 - e->qcd) / sd0 : 0;
    e->p_periodic = bw_norm_sf(e->z);

    /* 2b. growing sleeps: rises between adjacent gaps against every order
     * of the same gaps (the beats in w become the gaps in time order).
     * Weighted Bonferroni keeps the pair one valid test: under the null
     * P(p1 / (1 - W) <= a or p2 / W <= a) <= (1 - W) a + W a = a */
    for (size_t i = 0; i + 1 < nb; i++)
        w[i] = w[i + 1] - w[i];
    bw_cycle_est cy;
    bw_cycle_test(w, ng, scratch + 2 * n, &cy);
    e->p_cycle = cy.p;
    double a1 = e->p_periodic / (1 - CYCLE_WEIGHT), a2 = cy.p / CYCLE_WEIGHT;
    int growing = a2 < a1;
    e->p = growing ? a2 : a1;
    if (e->p > 1)
        e->p = 1;
    e->ok = 1;

    /* 3. mean sleep despite missed beats: each gap is k sleeps, k the
     * nearest whole number of the current estimate; mean = sum / sum k.
     * Done up to p_mean (rule `beaconwatch` compares the sleeps of the
     * sources of one destination, its p-values up to dst_port's). */
    if (e->p > p_mean && e->p > p_max)
        return 1;
    sort_d(d, ng);
    double mu = quant(d, ng, 0.5);
    for (int it = 0; it < 4 && mu > 0; it++) {
        double sd = 0, sk = 0;
        for (size_t i = 0; i < ng; i++) {
            double k = floor(d[i] / mu + 0.5);
            if (k < 1 || k > 8)
                continue;
            sd += d[i];
            sk += k;
        }
        if (sk <= 0)
            break;
        mu = sd / sk;
    }
    if (!(mu > 0))
        return 1;
    e->mean_sleep = mu;
    e->expected = (e->last_s - e->first_s) / mu + 1;
    e->seen = (double)nb / e->expected;
    if (e->seen > 1)
        e->seen = 1;
    if (e->p > p_max)
        return 1;
    if (growing) {
        /* S is the cycle: what repeats; J has no meaning here */
        e->model = BW_JM_GROWING;
        e->sleep_s = cy.cycle_s;
        e->s_lo = cy.cycle_lo;
        e->s_hi = cy.cycle_hi;
        e->jitter = e->j_lo = e->j_hi = NAN;
        e->grow_first = cy.first_s;
        e->grow_top = cy.top_s;
        e->qcd = cy.qcd;
        e->qcd0 = 0.6563; /* quartile dispersion of exponential lengths */
        e->mean_sleep = cy.cycle_s / cy.per_cycle;
        e->expected = (e->last_s - e->first_s) / cy.cycle_s * cy.per_cycle + 1;
        e->seen = (double)nb / e->expected;
        if (e->seen > 1)
            e->seen = 1;
        e->estimated = 1;
        return 1;
    }

    /* 4. single sleeps (sorted, they are a run of d) and the band's edges */
    size_t s0 = 0, s1 = 0;
    while (s0 < ng && d[s0] < 0.5 * mu)
        s0++;
    s1 = s0;
    while (s1 < ng && d[s1] < 1.5 * mu)
        s1++;
    size_t ns = s1 - s0;
    e->nsingles = ns;
    if (ns < 3)
        return 1;
    const double *sg = d + s0;
    /* trim 2 % each side against stray gaps (a retry left unfolded), then
     * extend by the expected distance of the outermost kept order
     * statistic from the edge of a uniform band (k + 1 spacings) */
    size_t k = (size_t)(0.02 * (double)ns);
    double lo = sg[k], hi = sg[ns - 1 - k];
    double spacing = ns - 1 - 2 * k > 0 ? (hi - lo) / (double)(ns - 1 - 2 * k) : 0;
    double a = lo - (double)(k + 1) * spacing, b = hi + (double)(k + 1) * spacing;
    if (a <= 0)
        a = lo;
    /* wide bands: the gap-length split above cut the band short; fit the
     * upper edge to all gaps */
    if (b > 1.6 * a && ng >= 8) {
        double m;
        b = fit_upper(d, ng, a, &m);
        mu = (a + b) / 2;
        e->mean_sleep = mu;
        ns = (size_t)((1 - m) * (double)ng + 0.5);
        e->nsingles = ns;
    }
    double width = b - a;
    /* an edge read from the (k + 1)-th order statistic is off by about
     * sqrt(k + 1) spacings */
    double se = sqrt((double)(k + 1)) * width / (double)(ns + 1) + 0.01 * mu / sqrt((double)ns);

    if (width < 0.03 * b) {
        e->model = BW_JM_NONE;
        e->sleep_s = quant(sg, ns, 0.5);
        e->jitter = width / e->sleep_s;
        e->s_lo = e->sleep_s - 2 * se;
        e->s_hi = e->sleep_s + 2 * se;
    } else {
        /* the band [a, b] fits all three models; take the most probable
         * reading under the prior over round settings (see round_cost);
         * Cobalt Strike's model, the most common, is cheaper by ln 2 */
        double P[3] = {b, (a + b) / 2, a};
        double J[3] = {width / b, width / (a + b), width / a};
        double SE[3] = {se, se / sqrt(2.0), se};
        int best = 0;
        double bestc = 1e300;
        for (int m = 0; m < 3; m++) {
            if (J[m] > 1.0)
                continue;
            double sd = SE[m] > 0.002 * P[m] ? SE[m] : 0.002 * P[m];
            double c = sleep_cost(P[m], sd) + jitter_cost(J[m], sqrt(2.0) * sd / P[m]) +
                       (m ? 0.6931 : 0);
            if (c < bestc - 1e-9) {
                bestc = c;
                best = m;
            }
        }
        e->model = BW_JM_CS + best;
        e->sleep_s = P[best];
        e->jitter = J[best];
        double sp = best == 1 ? se / sqrt(2.0) : se;
        e->s_lo = e->sleep_s - 2 * sp;
        e->s_hi = e->sleep_s + 2 * sp;
    }
    double jse = 2 * sqrt(2.0) * se / e->sleep_s;
    e->j_lo = e->jitter - jse > 0 ? e->jitter - jse : 0;
    e->j_hi = e->jitter + jse;
    if (e->s_lo < 0)
        e->s_lo = 0;

    /* 5. beats expected over the span at the mean sleep */
    e->expected = (e->last_s - e->first_s) / mu + 1;
    e->seen = (double)nb / e->expected;
    if (e->seen > 1)
        e->seen = 1;
    e->estimated = 1;
    return 1;
}
