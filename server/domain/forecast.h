/*
 * forecast.h - will the campaign reach min_participants, at what price, and
 * for how much money? (the staff forecast and the ladder planner)
 *
 * Part 1, the people already in: a Poisson-binomial tail.
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
 * Part 2 (forecast_run, below) adds the people still to come and the
 * ladder; part 3 (forecast_arrivals_*) says how many are to come.
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

/* ------------------------------------------------------------------------
 * Part 2: the whole forecast (DESIGN.md "Forecast", "Ladder planning").
 *
 * The model. n live participations complete with p_i (X = their
 * completers, Poisson-binomial, exact as above). Further joins arrive as
 * A ~ Poisson(lambda), each completing with p_bar: by Poisson thinning,
 * A = B + D with B ~ Poisson(lambda p_bar) (future completers) and
 * D ~ Poisson(lambda (1 - p_bar)) independent, so
 *
 *   joins       J = n + B + D      (what prices the campaign: its tier)
 *   completers  C = X + B          (what makes it succeed: C >= m)
 *
 * and the joint law of (J, C) is a sum over b of P(B = b) times a law of X
 * and a law of D: no approximation, and a cost of O(width(B) x tiers +
 * width(X) + width(D)) after X's distribution. Each further join brings
 * quantity_per_join units, and max_quantity caps the units of all joins:
 * r = floor((max_quantity - live_quantity) / quantity_per_join) further
 * joins fit. While fewer than r arrive the split above holds as it is;
 * once r or more arrive, r are taken (J = n + r = jmax) and their
 * completers are Binomial(r, p_bar). Both branches are exact.
 *
 * The answers:
 *   success_probability      P(C >= m)
 *   expected_participants    E[C] (= sum p_i + lambda p_bar while the
 *                            cap is out of reach)
 *   expected_joins           E[J]
 *   expected_quantity        sum p_i q_i + quantity_per_join x (the
 *                            expected future completers)
 *   tier_probability[t]      P(C >= m and the joins end on tier t): the
 *                            probabilities of the tiers add up to the
 *                            success probability
 *   tier_completers[t]       E[C; C >= m and tier t]
 *   expected_unit_price      sum_t tier_probability[t] price_t / success:
 *                            the final price if the campaign succeeds
 *                            (without success, the price the joins alone
 *                            reach, weighted the same way)
 *   revenue, cost per tier   price_t (cost_t) x quantity_per_join x
 *                            tier_completers[t]: money changes hands only
 *                            when the campaign succeeds, at the final
 *                            tier's price, for the completers' units.
 *                            Every completer counts quantity_per_join units
 *                            here (exact for the planner, where everyone is
 *                            still to come).
 *
 * A tier applies from its threshold of the basis: participants count
 * joins, quantity counts units (live_quantity + quantity_per_join per
 * further join). The ladder must be valid (pricing.h): thresholds strictly
 * ascending from 1; a count below the second threshold is on the first
 * tier. The price of a live campaign's count is SQL's; this module only
 * weighs the tiers' intervals.
 *
 * Distributions are trimmed where their mass cannot be (each tail of each
 * below 1e-21, as above); the Poisson laws are computed in log space
 * (Loader's saddle point form) and normalised over their window. lambda
 * above FORECAST_LAMBDA_MAX is taken as that (the cap binds long before).
 * ------------------------------------------------------------------------
 */

#define FORECAST_MAX_TIERS  20
#define FORECAST_LAMBDA_MAX 1e7

struct forecast_tier {
    int64_t threshold;        /* >= 1, strictly ascending, the first 1 */
    int64_t unit_price_cents; /* >= 0 */
    int64_t cost_price_cents; /* >= 0: the manufacturer's, at this tier */
};

struct forecast_model {
    const double *p;         /* live participations' p_complete, n of them */
    const int64_t *quantity; /* their units (NULL: one each) */
    size_t n;
    int64_t live_quantity;    /* their units in all, >= 0 */
    double arrivals;          /* lambda: expected further joins, >= 0 */
    double p_arrival;         /* p_bar, in [0, 1] */
    double quantity_per_join; /* >= 1 */
    int64_t min_participants; /* m; <= 0: always met */
    int64_t max_quantity;     /* cap on all units; 0: none */
    bool quantity_basis;      /* tiers count units, else participants */
    const struct forecast_tier *tiers;
    size_t ntiers; /* 1..FORECAST_MAX_TIERS */
};

/* Below this success probability the price given success is not asked
 * of the distribution: such a probability is the tail of a tail, at the
 * limit of what doubles resolve (1 - P(A < r) cancels to 0 or 1e-16 near
 * 1e-16), so the conditional price would depend on rounding. The expected
 * final price is then the one over all outcomes. */
#define FORECAST_PRICE_MIN_SUCCESS 1e-12

struct forecast_outcome {
    double success_probability;
    double expected_participants;
    double expected_joins;
    double expected_quantity;
    double expected_unit_price_cents;
    double expected_revenue_cents;
    double expected_cost_cents;
    size_t ntiers;
    double tier_probability[FORECAST_MAX_TIERS];
    double tier_completers[FORECAST_MAX_TIERS];
    double tier_revenue_cents[FORECAST_MAX_TIERS];
    double tier_cost_cents[FORECAST_MAX_TIERS];
};

/* Computes the outcome of m (see above). False, *out untouched, when an
 * input is outside its contract (a p_i, a quantity < 1, a ladder that is
 * not valid, a NaN) or memory runs out. Pure and thread-safe: it may run
 * on a worker thread. */
bool forecast_run(const struct forecast_model *m, struct forecast_outcome *out)
    __attribute__((warn_unused_result));

/* Poisson(mu) probabilities on the window where the mass lies: c[i] =
 * P(Y = off + i), i < len, normalised over the window. For tests and for
 * forecast_run; *c is malloc'd (the caller frees it). False for mu < 0,
 * NaN, above FORECAST_LAMBDA_MAX, or no memory. */
bool forecast_poisson(double mu, double **c, size_t *off, size_t *len)
    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------------
 * Part 3: the arrivals (DESIGN.md "Forecast", "Ladder planning").
 *
 * A distributor's history is its last (at most FORECAST_HISTORY_CAMPAIGNS)
 * closed campaigns with at least FORECAST_HISTORY_MIN_JOINS joins, as SQL
 * summarises them (functions/forecast.sql): the arrival curve F(tau) (the
 * share of a campaign's final joins that had joined by the fraction tau of
 * its duration, averaged over them, at tau = k / 100), their mean final
 * joins, the mean p_complete at join and quantity of their joins; and the
 * invitations of its closed campaigns (invited, joined after the
 * invitation). With fewer than FORECAST_HISTORY_MIN_CAMPAIGNS campaigns
 * the prior holds: F(tau) = tau, and the people still to come complete as
 * the people in (or as a new customer when nobody is in).
 *
 * A live campaign at fraction tau with n live joins expects
 *   lambda = n (1 - F) / F        (n > 0)
 *   lambda = mean_joins (1 - F)   (n = 0, history; 0 under the prior)
 * with F = F(tau) kept at least FORECAST_MIN_SHARE (a campaign seconds old
 * would otherwise divide by zero). A campaign not yet created (the
 * planner) expects audience x join share, the share being joined / invited
 * over the history's invitations, or FORECAST_PRIOR_JOIN_SHARE with fewer
 * than FORECAST_HISTORY_MIN_CAMPAIGNS campaigns that invited anyone.
 * ------------------------------------------------------------------------
 */

#define FORECAST_CURVE_POINTS          101 /* F(k / 100), k = 0..100 */
#define FORECAST_HISTORY_CAMPAIGNS     50
#define FORECAST_HISTORY_MIN_JOINS     5
#define FORECAST_HISTORY_MIN_CAMPAIGNS 3
#define FORECAST_MIN_SHARE             0.01
#define FORECAST_PRIOR_JOIN_SHARE      0.05

struct forecast_history {
    int64_t campaigns;                   /* the campaigns summarised */
    double curve[FORECAST_CURVE_POINTS]; /* F(k/100), in [0, 1] */
    double mean_joins;                   /* their mean final joins */
    double p_complete;                   /* mean p_complete at join */
    double quantity_per_join;            /* mean units per join */
    int64_t invitation_campaigns;        /* closed campaigns that invited */
    int64_t invited, invited_joined;     /* their invitations */
};

enum forecast_basis {
    FORECAST_BASIS_PRIOR,
    FORECAST_BASIS_HISTORY,
};

/* "prior" / "history". */
const char *forecast_basis_name(enum forecast_basis basis);

struct forecast_arrivals {
    double expected;          /* lambda */
    double share_by_now;      /* F(tau) (live campaigns) */
    double join_share;        /* audience -> joins (planner) */
    double p_complete;        /* p_bar */
    double quantity_per_join; /* q_bar, >= 1 */
    enum forecast_basis basis;
    int64_t campaigns_used; /* campaigns behind the basis (0: prior) */
};

/* F(tau): the curve read at tau in [0, 1] (linear between its points), or
 * tau itself under the prior (h NULL or too few campaigns). */
double forecast_share_by(const struct forecast_history *h, double tau);

/* The arrivals of a live campaign at fraction tau (clamped to [0, 1]) with
 * n live joins holding live_quantity units whose p_complete sum to
 * p_sum; p_new is a new customer's p_complete (the prior's p_bar when
 * nobody is in). per_customer_limit (>= 1) bounds the units per join.
 * False on inputs outside their ranges (NaN, negative). */
bool forecast_arrivals_campaign(const struct forecast_history *h, double tau,
                                size_t n, int64_t live_quantity, double p_sum,
                                double p_new, int64_t per_customer_limit,
                                struct forecast_arrivals *out)
    __attribute__((warn_unused_result));

/* The arrivals of a campaign not yet created, before an audience of that
 * many customers. */
bool forecast_arrivals_audience(const struct forecast_history *h,
                                int64_t audience, double p_new,
                                int64_t per_customer_limit,
                                struct forecast_arrivals *out)
    __attribute__((warn_unused_result));

#endif
