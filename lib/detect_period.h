/* Sleep and jitter estimation for one connection series (rule
 * `beaconwatch`): bursts folded into beats, the mean sleep found despite
 * missed beats, the uniform jitter band's edges read from the quantiles of
 * single sleeps, the jitter model picked, and a dispersion test against
 * random (Poisson-like) timing. Pure functions, no allocation. */
#ifndef BW_DETECT_PERIOD_H
#define BW_DETECT_PERIOD_H

#include <stddef.h>

/* Jitter models (bw_gen.h names them the same way). */
enum { BW_JM_NONE = 0, BW_JM_CS, BW_JM_SYM, BW_JM_SLIVER, BW_JM_GROWING };
/* "constant", "uniform-down" (Cobalt Strike), "symmetric" (Empire,
 * PoshC2), "added" (Sliver), "growing" (a cycle of growing sleeps: S is the
 * cycle's length, J unknown). */
const char *bw_jm_name(int model);

typedef struct bw_period_est {
    int ok;            /* 1 when there were enough beats to test */
    int estimated;     /* 1 when S, J and the rest below p were estimated */
    size_t nevents;    /* events offered */
    size_t nbeats;     /* after folding bursts */
    size_t nsingles;   /* beat gaps judged to be one sleep */
    double burst_s;    /* events closer than this to a beat's start fold into it */
    double first_s, last_s; /* first and last beat */
    double mean_sleep; /* mean of one sleep */
    double sleep_s;    /* estimated configured sleep S */
    double jitter;     /* estimated J, fraction of S */
    int model;         /* BW_JM_* */
    double s_lo, s_hi; /* ~95 % interval of S */
    double j_lo, j_hi; /* ~95 % interval of J */
    double expected;   /* beats expected between first and last beat */
    double seen;       /* nbeats / expected, at most 1 */
    double qcd, qcd0;  /* quartile dispersion of beat gaps, and its value
                          under the null (random timing) */
    double z;          /* the dispersion test's statistic */
    double p_periodic; /* its one-sided p-value */
    double p_cycle;    /* the growing-sleep test's (detect_cycle.h), 1 when
                          gated out */
    double p;          /* both tests together: min(p_periodic / 0.95,
                          p_cycle / 0.05), at most 1 (weighted Bonferroni) */
    double grow_first, grow_top; /* growing: median first and longest sleep
                                    of a cycle */
} bw_period_est;

/* Estimates the schedule of the n event times t (seconds, sorted
 * ascending). scratch must hold 3 * n doubles. Returns est->ok. When the
 * combined p-value is above p_max the (costlier) sleep and jitter
 * estimation is skipped: est->ok is 1, est->estimated 0, and only the mean
 * sleep, expected and seen beats are set beyond the tests; above p_mean
 * too, those are left 0 as well. When the
 * growing-sleep test decides p, the model is BW_JM_GROWING: sleep_s and its
 * interval are the cycle's length, jitter and its interval NaN, qcd / qcd0
 * the cycle lengths' dispersion against random (0.6563), mean_sleep the
 * cycle over its beats. */
int bw_period_estimate(const double *t, size_t n, double *scratch, double p_max,
                       double p_mean, bw_period_est *est);

/* Reorders v (n > k) so that v[k] is its k-th smallest (0-based), with
 * none larger before it and none smaller after: the k-th element of v
 * sorted, without sorting. */
void bw_select(double *v, size_t n, size_t k);

/* Upper tail of the standard normal, P(Z > z). */
double bw_norm_sf(double z);

/* Benjamini-Hochberg: replaces each of the n p-values in pq by its
 * adjusted value (q-value); scratch holds n entries. */
typedef struct bw_pidx {
    double p;
    size_t i;
} bw_pidx;
void bw_bh_adjust(double *pq, size_t n, bw_pidx *scratch);
/* The same for n p-values out of m >= n tests, the other m - n having
 * larger p-values than every one given whose q-value matters (q <= a level
 * below all of theirs): each q is min(1, min over ranks k' >= k of
 * p(k') m / k'). A q-value at or below every left-out p-value equals
 * bw_bh_adjust's over all m. */
void bw_bh_adjust_m(double *pq, size_t n, size_t m, bw_pidx *scratch);

#endif
