/* Growing-sleep cycles (rule `beaconwatch`): implants that sleep base x 1,
 * 1, 2, 3, 5 ... or base x 1, 2, 4 ... and then start again. Their gaps
 * rise step by step and fall at once; the test counts the rises against
 * every order of the series' own gaps (an exact permutation null), and the
 * description reads the cycle. Pure functions, no allocation. */
#ifndef BW_DETECT_CYCLE_H
#define BW_DETECT_CYCLE_H

#include <stddef.h>

/* A fall to less than 1 / BW_CYCLE_RESET of the previous gap ends a cycle. */
#define BW_CYCLE_RESET 4.0
/* Effect-size gate: at least this share of the adjacent gap pairs must rise
 * (and two resets be seen) for the test to count; below, p is 1. */
#define BW_CYCLE_MIN_RISE 0.6
/* Exact null distribution up to this many gaps (m^2 / 2 steps: 2 M, ~2 ms);
 * beyond, a Bernstein bound (with the gate holding, p < 1e-38 there). */
#define BW_CYCLE_EXACT_MAX 2048

typedef struct bw_cycle_est {
    size_t ngaps;     /* gaps offered */
    size_t rises;     /* adjacent pairs where the later gap is longer (ties: no) */
    double rise_frac; /* rises / (ngaps - 1) */
    double z;         /* (rises - mean) / sd under random order */
    double p_raw;     /* P(rises >= observed) under random order, ungated */
    double p;         /* p_raw when the gate holds, else 1 */
    size_t resets;    /* falls below 1 / BW_CYCLE_RESET of the previous gap */
    size_t ncycles;   /* complete cycles (between two resets) */
    double cycle_s;   /* median length of a complete cycle */
    double cycle_lo, cycle_hi; /* ~95 % interval of that median */
    double qcd;       /* quartile dispersion of the complete cycles' lengths */
    double first_s;   /* median first sleep of a cycle */
    double top_s;     /* median last (longest) sleep of a cycle */
    double per_cycle; /* beats in a full cycle (90th percentile over cycles) */
} bw_cycle_est;

/* Tests the n gaps g (seconds, in time order) for growing-sleep cycles and
 * describes the cycle. scratch must hold n + 1 doubles. p is an exact (or
 * conservative) p-value under the null that every order of these gaps is
 * equally likely, whatever their distribution. */
void bw_cycle_test(const double *g, size_t n, double *scratch, bw_cycle_est *c);

/* P(at least a rises) among the m - 1 adjacent pairs of a random order of m
 * distinct values (Eulerian numbers); scratch holds m doubles. */
double bw_rises_sf(size_t m, size_t a, double *scratch);

#endif
