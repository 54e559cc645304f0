/*
 * forecast.h - will the campaign reach min_participants? (staff forecast)
 *
 * Each live participation i completes with probability p_i (its customer's
 * p_complete from the reliability model). The number that complete is
 * X = sum of independent Bernoulli(p_i), a Poisson-binomial variable. This
 * module answers the two numbers of the staff view:
 *
 *   expected_participants = E[X] = sum p_i
 *   success_probability   = P(X >= m), m = min_participants
 *
 * Both are computed from the full distribution, never from a normal or
 * Poisson approximation. Two exact methods, chosen by cost:
 *
 *   FORECAST_METHOD_DP   the textbook recurrence over counts, truncated to
 *                        K = min(m, n - m + 1) states: it tracks P(X < m) when
 *                        m is small and P(failures <= n - m) when m is large.
 *                        Cost n * K multiply-adds, memory K doubles.
 *   FORECAST_METHOD_TREE the distribution as the product of the n polynomials
 *                        (1 - p_i + p_i z), multiplied in a balanced tree:
 *                        leaves of at most FORECAST_TREE_LEAF probabilities
 *                        by the recurrence, inner nodes by direct convolution
 *                        or, when both factors are long, by FFT. After every
 *                        product the node is cut to the window where its mass
 *                        can lie: by Bernstein's inequality a sum of s
 *                        Bernoullis with variance v lies beyond
 *                        mean +- (17.1 + sqrt(260 + 96.8 v)) with
 *                        probability <= 2 FORECAST_TRIM_EPS (1e-21 each
 *                        side), so a node keeps at most ~9.9 sqrt(s) + 35
 *                        entries whatever the p_i (v <= s / 4). The top
 *                        product for n = 100,000 is one FFT of at most 8192
 *                        points; memory is O(sqrt(n) log n) doubles. Cost
 *                        O(n FORECAST_TREE_LEAF + n log n), in practice
 *                        ~1,500 instructions per probability.
 *
 * FORECAST_METHOD_AUTO takes DP when K <= FORECAST_DP_MAX_STATES (then it
 * costs at most 128 multiply-adds per probability) and the tree otherwise;
 * both paths are thus linear in n with small constants, and n = 100,000 at
 * the worst m (near the mean) takes ~12 ms at -O2 on an idle core (17-27 ms
 * measured with the other core of a 2-core machine busy), inside the staff
 * view's 50 ms. Accuracy (checked by tests/unit/test_forecast.c against
 * brute force, an untruncated long double recurrence and the binomial law):
 * the answer is within 1e-12 of the exact Poisson-binomial tail for every n
 * and m, by either method. The DP's error is ~1e-15 (each step is a convex
 * combination); the tree's is the rounding of long convolutions, measured
 * at ~2e-14 for n = 30,000 and ~5e-14 for n = 100,000 (plus at most 4e-21
 * of trimmed mass per node, < n / 16 nodes). The answer is clamped to
 * [0, 1].
 *
 * Input contract: every p_i is a number in [0, 1] (NaN, infinities and
 * values outside are refused, not clamped: they mean a bug upstream and
 * the caller should answer an internal error rather than a wrong forecast).
 * The module is pure: no I/O, no global state (thread-safe); both methods
 * malloc their work space and free it before returning, and return false
 * when malloc fails.
 */
#ifndef GROUPBUYD_FORECAST_H
#define GROUPBUYD_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Above this many DP states (K) the recurrence gives way to the tree. */
#define FORECAST_DP_MAX_STATES 128
/* Probabilities per tree leaf (handled by the recurrence). */
#define FORECAST_TREE_LEAF 64
/* Mass each tail of each tree node may lose to trimming. */
#define FORECAST_TRIM_EPS 1e-21

enum forecast_method {
    FORECAST_METHOD_AUTO = 0, /* cheapest exact method (production) */
    FORECAST_METHOD_DP,       /* truncated recurrence, any size (tests) */
    FORECAST_METHOD_TREE,     /* tree of products, any size (tests) */
};

/* True when p[0..n) are all in [0, 1] (no NaN). p may be NULL when n == 0. */
bool forecast_probabilities_valid(const double *p, size_t n);

/* *out = sum of p[0..n), compensated (Neumaier) so that the error stays
 * within a few ulps for any n; 0 for n == 0. False (and *out untouched) when
 * a p_i is not in [0, 1]. */
bool forecast_expected_participants(const double *p, size_t n, double *out)
    __attribute__((warn_unused_result));

/* *out = P(sum of Bernoulli(p_i) >= min_participants), p[0..n) independent.
 * min_participants <= 0 gives 1 and min_participants > n gives 0. False (and
 * *out untouched) when a p_i is not in [0, 1] (checked first, whatever
 * min_participants) or memory runs out. */
bool forecast_success_probability(const double *p, size_t n,
                                  int64_t min_participants, double *out)
    __attribute__((warn_unused_result));

/* forecast_success_probability with the method forced (AUTO = the same
 * function); the forced methods exist so that tests can hold one against
 * the other on every size. */
bool forecast_success_probability_by(const double *p, size_t n,
                                     int64_t min_participants,
                                     enum forecast_method method, double *out)
    __attribute__((warn_unused_result));

#endif
