/*
 * test_forecast.c - the forecast against brute force, a full reference
 * recurrence and the binomial law, plus its cost at staff-view sizes.
 *
 * 1. For every n <= 16, a table of p vectors (random, halves, exact 0 and
 *    1, extremes) and every m from -1 to n + 1: all 2^n outcomes are
 *    enumerated and P(X >= m) compared with AUTO, DP and TREE within 1e-12.
 * 2. For n in the thousands, random p: a full (untruncated) recurrence in
 *    long double is the reference for DP and TREE at many m.
 * 3. All p equal: the binomial tail summed in log space (lgammal) for n up
 *    to 100,000.
 * 4. Refusals (NaN, < 0, > 1) and expected_participants.
 * 5. Timings for n = 10,000 and 100,000 are printed, not asserted.
 * 6. The whole forecast (forecast_run) against a reference that follows
 *    the arrivals one by one (A ~ Poisson, the first r taken, completers
 *    among them Binomial, the live ones enumerated), without the thinning
 *    the module uses: success, tier probabilities and completers, joins,
 *    participants, the price and the money, both bases, with and without
 *    a cap.
 * 7. Poisson laws against long double log-space terms; properties of the
 *    forecast at large sizes (monotone in m and lambda, tiers adding up to
 *    success, lambda = 0 equal to part 1); the arrivals rules; timings of
 *    the staff view at n = 100,000 and of the planner.
 */
#include "domain/forecast.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#define TOL 1e-12

static double max_err; /* largest |got - want| seen, reported at the end */

static void note_err(double got, double want)
{
    double e = fabs(got - want);
    if (e > max_err)
        max_err = e;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: a fixed, portable sequence. */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static double rng_uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next() >> 11) * 0x1.0p-53);
}

#if defined(__SANITIZE_ADDRESS__)
#define BUILD_NOTE " (ASan build, ~5-10x slower than -O2)"
#else
#define BUILD_NOTE ""
#endif

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Kinds of p vectors for the brute-force table. */
enum pgen {
    PGEN_RANDOM,   /* uniform [0, 1] */
    PGEN_HIGH,     /* uniform [0.6, 1], like real p_complete */
    PGEN_HALF,     /* all 0.5 */
    PGEN_ZERO_ONE, /* mixture with exact 0 and 1 */
    PGEN_EXTREME,  /* 1e-9, 1 - 1e-9, 1e-300 */
    PGEN_ALL_ONE,  /* all 1 */
    PGEN_ALL_ZERO, /* all 0 */
    PGEN_COUNT,
};

static void fill(double *p, size_t n, enum pgen kind)
{
    static const double extremes[] = {1e-9, 1.0 - 1e-9, 1e-300, 0.5,
                                      1.0 - 1e-15};
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case PGEN_RANDOM:
            p[i] = rng_uniform(0.0, 1.0);
            break;
        case PGEN_HIGH:
            p[i] = rng_uniform(0.6, 1.0);
            break;
        case PGEN_HALF:
            p[i] = 0.5;
            break;
        case PGEN_ZERO_ONE: {
            uint64_t r = rng_next() % 3;
            p[i] = r == 0 ? 0.0 : r == 1 ? 1.0 : rng_uniform(0.0, 1.0);
            break;
        }
        case PGEN_EXTREME:
            p[i] = extremes[rng_next() % 5];
            break;
        case PGEN_ALL_ONE:
            p[i] = 1.0;
            break;
        case PGEN_ALL_ZERO:
        case PGEN_COUNT:
            p[i] = 0.0;
            break;
        }
    }
}

/* pmf[k] = P(X = k) by enumerating all 2^n outcomes, n <= 16. */
static void brute_pmf(const double *p, size_t n, long double *pmf)
{
    for (size_t k = 0; k <= n; k++)
        pmf[k] = 0.0L;
    for (uint32_t mask = 0; mask < (1u << n); mask++) {
        long double prob = 1.0L;
        int k = 0;
        for (size_t i = 0; i < n; i++) {
            if (mask & (1u << i)) {
                prob *= p[i];
                k++;
            } else {
                prob *= 1.0L - p[i];
            }
        }
        pmf[k] += prob;
    }
}

/* P(X >= m) from a pmf over 0..n. */
static double tail(const long double *pmf, size_t n, long m)
{
    long double s = 0.0L;
    for (long k = m < 0 ? 0 : m; k <= (long)n; k++)
        s += pmf[k];
    return (double)s;
}

static const enum forecast_method methods[] = {
    FORECAST_METHOD_AUTO, FORECAST_METHOD_DP, FORECAST_METHOD_TREE};
static const char *const method_names[] = {"auto", "dp", "tree"};

static void check_against(const double *p, size_t n, long m, double want,
                          const char *what)
{
    for (size_t k = 0; k < 3; k++) {
        double got = -1.0;
        bool ok = forecast_success_probability_by(p, n, m, methods[k], &got);
        note_err(got, want);
        CHECK_MSG(ok && fabs(got - want) <= TOL && got >= 0.0 && got <= 1.0,
                  "%s n=%zu m=%ld %s: got %.17g want %.17g", what, n, m,
                  method_names[k], got, want);
    }
}

static void test_brute_force(void)
{
    double p[16];
    long double pmf[17];
    static const char *const kind_names[] = {
        "random", "high", "half", "zero_one", "extreme", "all_one", "all_zero"};

    for (size_t n = 0; n <= 16; n++) {
        for (int kind = 0; kind < PGEN_COUNT; kind++) {
            int reps = kind == PGEN_RANDOM || kind == PGEN_ZERO_ONE ? 3 : 1;
            for (int r = 0; r < reps; r++) {
                fill(p, n, (enum pgen)kind);
                brute_pmf(p, n, pmf);
                for (long m = -1; m <= (long)n + 1; m++)
                    check_against(p, n, m, tail(pmf, n, m), kind_names[kind]);
            }
        }
    }
}

/* Full recurrence in long double over 0..n: the reference for big n. */
static long double *reference_pmf(const double *p, size_t n)
{
    long double *q = calloc(n + 1, sizeof *q);
    if (!q)
        return NULL;
    q[0] = 1.0L;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j > 0; j--)
            q[j] = q[j] * (1.0L - p[i]) + q[j - 1] * (long double)p[i];
        q[0] *= 1.0L - p[i];
    }
    return q;
}

static void test_large_reference(void)
{
    struct {
        size_t n;
        double lo, hi;
    } cases[] = {
        {200, 0.0, 1.0},   {1000, 0.3, 0.99}, {2500, 0.0, 1.0},
        {3000, 0.7, 0.95}, {4000, 0.0, 0.1},
    };

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        double *p = malloc(n * sizeof *p);
        CHECK(p != NULL);
        if (!p)
            continue;
        for (size_t i = 0; i < n; i++)
            p[i] = rng_uniform(cases[c].lo, cases[c].hi);
        long double *pmf = reference_pmf(p, n);
        CHECK(pmf != NULL);
        double mean = 0.0;
        CHECK(forecast_expected_participants(p, n, &mean));
        /* every m near the mean, a sparse sweep elsewhere, and the ends */
        for (long m = 0; m <= (long)n + 1 && pmf; m++) {
            long from_mean = labs(m - lround(mean));
            bool near = from_mean <= 40 && from_mean % 4 == 0;
            bool edge = m <= 2 || m >= (long)n - 1;
            if (!near && !edge && m % 301 != 0)
                continue;
            double want = tail(pmf, n, m);
            double got;
            CHECK(forecast_success_probability_by(p, n, m, FORECAST_METHOD_TREE,
                                                  &got));
            note_err(got, want);
            CHECK_MSG(fabs(got - want) <= TOL, "tree n=%zu m=%ld: %.17g %.17g",
                      n, m, got, want);
            if (edge || from_mean % 20 == 0) {
                CHECK(forecast_success_probability_by(
                    p, n, m, FORECAST_METHOD_DP, &got));
                note_err(got, want);
                CHECK_MSG(fabs(got - want) <= TOL,
                          "dp n=%zu m=%ld: %.17g %.17g", n, m, got, want);
            }
        }
        free(pmf);
        free(p);
    }
}

/* tails[m] = P(Binomial(n, q) >= m) for m in 0..n+1: each term in log space
 * (lgammal, 64-bit mantissa), summed from the top in long double and
 * normalised. */
static long double *binomial_tails(size_t n, double q)
{
    long double *t = malloc((n + 2) * sizeof *t);
    if (!t)
        return NULL;
    long double lq = logl(q), l1q = log1pl(-(long double)q);
    long double lnf = lgammal((long double)n + 1.0L);
    t[n + 1] = 0.0L;
    for (size_t k = n + 1; k-- > 0;) {
        long double lt = lnf - lgammal((long double)k + 1.0L) -
                         lgammal((long double)(n - k) + 1.0L) +
                         (long double)k * lq + (long double)(n - k) * l1q;
        t[k] = t[k + 1] + expl(lt);
    }
    /* lgammal(n + 1) is off by up to ~1e-14 relative at n = 1e5, the same
     * factor in every term: dividing by the total (exactly 1) cancels it */
    for (size_t k = 1; k <= n + 1; k++)
        t[k] /= t[0];
    t[0] = 1.0L;
    return t;
}

static void test_binomial(void)
{
    struct {
        size_t n;
        double q;
    } cases[] = {{10000, 0.5}, {10000, 0.83}, {10000, 0.999}, {100000, 0.5}};
    static const double zs[] = {-40, -3, -1, -0.5, 0, 0.5, 1, 3, 8, 40};

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        double q = cases[c].q;
        double *p = malloc(n * sizeof *p);
        long double *tails = binomial_tails(n, q);
        CHECK(p != NULL && tails != NULL);
        if (!p || !tails) {
            free(p);
            free(tails);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            p[i] = q;
        double mean = (double)n * q, sd = sqrt(mean * (1.0 - q));
        double got_mean = 0.0;
        CHECK(forecast_expected_participants(p, n, &got_mean));
        CHECK_MSG(fabs(got_mean - mean) <= 1e-9 * mean, "mean %.17g %.17g",
                  got_mean, mean);
        /* the big case is costly under ASan: fewer points */
        size_t step = n > 10000 ? 2 : 1;
        for (size_t z = 0; z < sizeof zs / sizeof zs[0]; z += step) {
            long m = (long)floor(mean + zs[z] * sd);
            if (m < 0)
                m = 0;
            if (m > (long)n + 1)
                m = (long)n + 1;
            double want = (double)tails[m], got;
            CHECK(forecast_success_probability(p, n, m, &got));
            note_err(got, want);
            CHECK_MSG(fabs(got - want) <= 1e-11,
                      "binomial n=%zu q=%g m=%ld: %.17g %.17g", n, q, m, got,
                      want);
        }
        free(tails);
        free(p);
    }
}

static void test_refusals(void)
{
    double bad[][3] = {{0.5, NAN, 0.5},
                       {0.5, -0.0001, 0.5},
                       {0.5, 1.0000001, 0.5},
                       {INFINITY, 0.5, 0.5},
                       {0.5, 0.5, -INFINITY}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double out = 42.0;
        CHECK(!forecast_probabilities_valid(bad[i], 3));
        CHECK(!forecast_expected_participants(bad[i], 3, &out));
        CHECK(!forecast_success_probability(bad[i], 3, 2, &out));
        CHECK(!forecast_success_probability(bad[i], 3, 0, &out));
        CHECK(!forecast_success_probability(bad[i], 3, 4, &out));
        CHECK(out == 42.0);
    }
    double good[] = {0.0, -0.0, 1.0};
    double out = -1.0;
    CHECK(forecast_probabilities_valid(good, 3));
    CHECK(forecast_success_probability(good, 3, 1, &out) && out == 1.0);
    CHECK(forecast_success_probability(good, 3, 2, &out) && out == 0.0);
    /* n == 0, p may be NULL */
    CHECK(forecast_expected_participants(NULL, 0, &out) && out == 0.0);
    CHECK(forecast_success_probability(NULL, 0, 0, &out) && out == 1.0);
    CHECK(forecast_success_probability(NULL, 0, 1, &out) && out == 0.0);
    CHECK(forecast_success_probability(good, 3, INT64_MAX, &out) && out == 0.0);
    CHECK(forecast_success_probability(good, 3, INT64_MIN, &out) && out == 1.0);
}

static void test_expected(void)
{
    struct {
        double p[6];
        size_t n;
        double want;
    } cases[] = {
        {{0.75, 0.6, 0.83, 0.0, 1.0, 0.5}, 6, 3.68},
        {{0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 6, 0.6},
        {{1, 1, 1, 1, 1, 1}, 6, 6.0},
        {{1e-300, 1, 1e-300, 0, 0, 0}, 6, 1.0},
        {{0.25}, 1, 0.25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = -1.0;
        CHECK(forecast_expected_participants(cases[i].p, cases[i].n, &got));
        CHECK_MSG(fabs(got - cases[i].want) <= 1e-15, "case %zu: %.17g", i,
                  got);
    }
    /* a million 0.1s: compensated sum stays exact to a few ulps */
    size_t n = 1000000;
    double *p = malloc(n * sizeof *p);
    CHECK(p != NULL);
    if (p) {
        for (size_t i = 0; i < n; i++)
            p[i] = 0.1;
        double got = 0.0;
        CHECK(forecast_expected_participants(p, n, &got));
        CHECK_MSG(fabs(got - 100000.0) <= 1e-9, "%.17g", got);
        free(p);
    }
}

/* Times the AUTO path at m near the mean (the costliest m) and at m small. */
static void test_timing(void)
{
    static const size_t sizes[] = {10000, 100000};

    for (size_t s = 0; s < 2; s++) {
        size_t n = sizes[s];
        double *p = malloc(n * sizeof *p);
        CHECK(p != NULL);
        if (!p)
            continue;
        for (size_t i = 0; i < n; i++)
            p[i] = rng_uniform(0.5, 1.0);
        double mean = 0.0, got = 0.0;
        CHECK(forecast_expected_participants(p, n, &mean));
        /* tree at its costliest; DP at its costliest; tree at small m;
         * DP at small m */
        long ms[] = {(long)mean, FORECAST_DP_MAX_STATES,
                     FORECAST_DP_MAX_STATES + 1, 10};
        for (size_t k = 0; k < 4; k++) {
            double best = 1e9;
            for (int rep = 0; rep < 2; rep++) {
                double t0 = now_ms();
                CHECK(forecast_success_probability(p, n, ms[k], &got));
                double t = now_ms() - t0;
                best = t < best ? t : best;
            }
            printf("forecast timing%s: n=%zu m=%ld P=%.6f: %.2f ms (best of "
                   "2)\n",
                   BUILD_NOTE, n, ms[k], got, best);
        }
        free(p);
    }
}

/* ---------------------------------------------------------- forecast_run */

/* P(Poisson(mu) = a) in long double, by log space. */
static long double ref_dpois(long a, double mu)
{
    if (mu == 0.0)
        return a == 0 ? 1.0L : 0.0L;
    return expl((long double)a * logl(mu) - (long double)mu -
                lgammal((long double)a + 1.0L));
}

/* P(Binomial(r, p) = k) in long double. */
static long double ref_dbinom(long k, long r, double p)
{
    if (p == 0.0)
        return k == 0 ? 1.0L : 0.0L;
    if (p == 1.0)
        return k == r ? 1.0L : 0.0L;
    return expl(lgammal((long double)r + 1) - lgammal((long double)k + 1) -
                lgammal((long double)(r - k) + 1) + (long double)k * logl(p) +
                (long double)(r - k) * log1pl(-(long double)p));
}

struct ref_outcome {
    long double success, participants, joins, price_w, price_any, revenue, cost,
        quantity;
    long double prob[FORECAST_MAX_TIERS], comp[FORECAST_MAX_TIERS];
};

/* The tier of a count: greatest threshold <= max(count, 1). */
static size_t ref_tier(const struct forecast_tier *t, size_t nt, double count)
{
    size_t k = 0;
    double c = count < 1.0 ? 1.0 : count;
    while (k + 1 < nt && (double)t[k + 1].threshold <= c + 1e-9)
        k++;
    return k;
}

/* The model followed arrival by arrival (see the header). */
static void ref_run(const struct forecast_model *m, struct ref_outcome *o)
{
    memset(o, 0, sizeof *o);
    long double pmf[17];
    brute_pmf(m->p, m->n, pmf);
    double q = m->quantity_per_join, n = (double)m->n;
    long r = 1L << 30;
    if (m->max_quantity > 0) {
        double room = (double)(m->max_quantity - m->live_quantity);
        r = room > 0 ? (long)floor(room / q + 1e-9) : 0;
    }
    long amax = (long)(m->arrivals + 12.0 * sqrt(m->arrivals) + 60.0);
    for (long a = 0; a <= amax; a++) {
        long double pa = ref_dpois(a, m->arrivals);
        long taken = a < r ? a : r;
        double joins = n + (double)taken;
        double count = m->quantity_basis
                           ? (double)m->live_quantity + q * (double)taken
                           : joins;
        size_t t = ref_tier(m->tiers, m->ntiers, count);
        long double price = (long double)m->tiers[t].unit_price_cents;
        o->joins += pa * joins;
        o->price_any += pa * price;
        for (long k = 0; k <= taken; k++) {
            long double pk = pa * ref_dbinom(k, taken, m->p_arrival);
            for (size_t x = 0; x <= m->n; x++) {
                long double w = pk * pmf[x];
                long double c = (long double)(x + (size_t)k);
                o->participants += w * c;
                if (c < (long double)m->min_participants)
                    continue;
                o->success += w;
                o->prob[t] += w;
                o->comp[t] += w * c;
                o->price_w += w * price;
                o->revenue += w * price * q * c;
                o->cost +=
                    w * (long double)m->tiers[t].cost_price_cents * q * c;
            }
        }
    }
}

static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

static void test_run_reference(void)
{
    struct forecast_tier tiers[4];
    double p[8];
    int64_t qty[8];
    int cases = 0;
    for (int rep = 0; rep < 400; rep++) {
        size_t n = (size_t)rng_below(9);
        size_t nt = 1 + (size_t)rng_below(4);
        int64_t th = 1, price = 10000 + (int64_t)rng_below(5000);
        bool qb = rng_below(2) == 1;
        for (size_t t = 0; t < nt; t++) {
            tiers[t].threshold = th;
            tiers[t].unit_price_cents = price;
            tiers[t].cost_price_cents = 3000 + (int64_t)rng_below(4000);
            th += 1 + (int64_t)rng_below(qb ? 8 : 5);
            price -= 1 + (int64_t)rng_below(2000);
        }
        int64_t live_q = 0;
        for (size_t i = 0; i < n; i++) {
            p[i] = rng_below(5) == 0 ? (double)rng_below(2)
                                     : rng_uniform(0.0, 1.0);
            qty[i] = 1 + (int64_t)rng_below(3);
            live_q += qty[i];
        }
        struct forecast_model m = {
            .p = p,
            .quantity = qty,
            .n = n,
            .live_quantity = live_q,
            .arrivals = rng_below(6) == 0 ? 0.0 : rng_uniform(0.0, 9.0),
            .p_arrival = rng_below(8) == 0 ? (double)rng_below(2)
                                           : rng_uniform(0.0, 1.0),
            .quantity_per_join =
                rng_below(3) == 0 ? 1.0 : rng_uniform(1.0, 3.0),
            .min_participants = (int64_t)rng_below(12) - 1,
            .max_quantity =
                rng_below(3) == 0 ? 0 : live_q + (int64_t)rng_below(14),
            .quantity_basis = qb,
            .tiers = tiers,
            .ntiers = nt,
        };
        struct forecast_outcome o;
        struct ref_outcome want;
        bool ok = forecast_run(&m, &o);
        CHECK_MSG(ok, "rep %d refused", rep);
        if (!ok)
            continue;
        ref_run(&m, &want);
        cases++;
        const double tol = 1e-10;
        double wp = (double)want.success;
        CHECK_MSG(fabs(o.success_probability - wp) <= tol,
                  "rep %d success %.17g want %.17g", rep, o.success_probability,
                  wp);
        CHECK_MSG(fabs(o.expected_joins - (double)want.joins) <= 1e-9,
                  "rep %d joins %.17g want %.17g", rep, o.expected_joins,
                  (double)want.joins);
        CHECK_MSG(fabs(o.expected_participants - (double)want.participants) <=
                      1e-9,
                  "rep %d participants %.17g want %.17g", rep,
                  o.expected_participants, (double)want.participants);
        for (size_t t = 0; t < nt; t++) {
            CHECK_MSG(fabs(o.tier_probability[t] - (double)want.prob[t]) <= tol,
                      "rep %d tier %zu %.17g want %.17g", rep, t,
                      o.tier_probability[t], (double)want.prob[t]);
            CHECK_MSG(fabs(o.tier_completers[t] - (double)want.comp[t]) <= 1e-9,
                      "rep %d tier %zu completers %.17g want %.17g", rep, t,
                      o.tier_completers[t], (double)want.comp[t]);
        }
        double wprice = wp > FORECAST_PRICE_MIN_SUCCESS
                            ? (double)(want.price_w / want.success)
                            : (double)want.price_any;
        CHECK_MSG(fabs(o.expected_unit_price_cents - wprice) <= 1e-6,
                  "rep %d price %.17g want %.17g", rep,
                  o.expected_unit_price_cents, wprice);
        CHECK_MSG(fabs(o.expected_revenue_cents - (double)want.revenue) <= 1e-4,
                  "rep %d revenue %.17g want %.17g", rep,
                  o.expected_revenue_cents, (double)want.revenue);
        CHECK_MSG(fabs(o.expected_cost_cents - (double)want.cost) <= 1e-4,
                  "rep %d cost %.17g want %.17g", rep, o.expected_cost_cents,
                  (double)want.cost);
    }
    printf("forecast_run against the arrival-by-arrival reference: %d cases\n",
           cases);
}

static void test_poisson(void)
{
    static const double mus[] = {1e-6, 0.5, 3.0, 17.25, 1000.0, 123456.7, 4e6};
    for (size_t i = 0; i < sizeof mus / sizeof mus[0]; i++) {
        double *c = NULL;
        size_t off = 0, len = 0;
        bool ok = forecast_poisson(mus[i], &c, &off, &len);
        CHECK(ok);
        if (!ok)
            continue;
        long double total = 0.0L, worst = 0.0L;
        for (size_t k = 0; k < len; k++) {
            total += c[k];
            long double want = ref_dpois((long)(off + k), mus[i]);
            if (want > 1e-12L) {
                long double rel = fabsl((long double)c[k] - want) / want;
                if (rel > worst)
                    worst = rel;
            }
        }
        /* the reference's own error grows with lgammal(mu) ~ mu ln mu */
        CHECK_MSG(worst <= 1e-12L + 2e-19L * mus[i] * logl(mus[i] + 1.0L),
                  "mu %g: relative error %Lg", mus[i], worst);
        CHECK_MSG(fabsl(total - 1.0L) <= 1e-13L, "mu %g: total %.17Lg", mus[i],
                  total);
        /* the mass outside the window is below 1e-20 */
        CHECK(off == 0 || ref_dpois((long)off - 1, mus[i]) < 1e-20L);
        CHECK(ref_dpois((long)(off + len), mus[i]) < 1e-20L);
        free(c);
    }
    double *c;
    size_t off, len;
    CHECK(!forecast_poisson(-1.0, &c, &off, &len));
    CHECK(!forecast_poisson(NAN, &c, &off, &len));
    CHECK(!forecast_poisson(FORECAST_LAMBDA_MAX * 2, &c, &off, &len));
    CHECK(forecast_poisson(0.0, &c, &off, &len) && off == 0 && len == 1 &&
          c[0] == 1.0);
    free(c);
}

static const struct forecast_tier ladder3[] = {
    {1, 9900, 6000}, {10, 8900, 5600}, {50, 7900, 5200}};

/* Properties at sizes no reference reaches. */
static void test_run_properties(void)
{
    size_t n = 3000;
    double *p = malloc(n * sizeof *p);
    CHECK(p != NULL);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = rng_uniform(0.4, 1.0);
    struct forecast_model m = {.p = p,
                               .n = n,
                               .live_quantity = (int64_t)n,
                               .arrivals = 0.0,
                               .p_arrival = 0.7,
                               .quantity_per_join = 1.0,
                               .tiers = ladder3,
                               .ntiers = 3};
    /* lambda = 0: the success probability of part 1 */
    double mean;
    CHECK(forecast_expected_participants(p, n, &mean));
    static const long ms[] = {0, 1, 2000, 2100, 2200, 2300, 3000, 3001};
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
        struct forecast_outcome o;
        double want;
        m.min_participants = ms[k];
        CHECK(forecast_run(&m, &o));
        CHECK(forecast_success_probability(p, n, ms[k], &want));
        CHECK_MSG(fabs(o.success_probability - want) <= 1e-12,
                  "m=%ld %.17g %.17g", ms[k], o.success_probability, want);
        CHECK(fabs(o.expected_participants - mean) <= 1e-9 * mean);
    }
    /* lower m never lowers success; more arrivals never lower the joins
     * nor (for a fixed m) the success; tiers add up to success */
    double prev_joins = -1.0;
    for (double lambda = 0.0; lambda <= 4000.0; lambda += 500.0) {
        double prev = 2.0;
        m.arrivals = lambda;
        for (long mm = 1500; mm <= 6000; mm += 250) {
            struct forecast_outcome o;
            m.min_participants = mm;
            CHECK(forecast_run(&m, &o));
            CHECK_MSG(o.success_probability <= prev + 1e-12,
                      "lambda %g m %ld: %.17g after %.17g", lambda, mm,
                      o.success_probability, prev);
            prev = o.success_probability;
            double sum = 0.0;
            for (size_t t = 0; t < o.ntiers; t++)
                sum += o.tier_probability[t];
            CHECK(fabs(sum - o.success_probability) <= 1e-12);
            CHECK(fabs(o.expected_participants - (mean + 0.7 * lambda)) <=
                  1e-7 * (mean + lambda));
            if (mm == 1500) {
                CHECK(o.expected_joins >= prev_joins - 1e-9);
                CHECK(fabs(o.expected_joins - ((double)n + lambda)) <= 1e-6);
                prev_joins = o.expected_joins;
            }
        }
    }
    /* a cap: no more joins than it allows, and success impossible when m
     * is beyond it */
    m.arrivals = 5000.0;
    m.max_quantity = (int64_t)n + 400;
    m.min_participants = 2500;
    struct forecast_outcome o;
    CHECK(forecast_run(&m, &o));
    CHECK(o.expected_joins <= (double)n + 400.0 + 1e-9);
    CHECK(o.expected_joins >= (double)n + 399.0);
    m.min_participants = (int64_t)n + 401;
    CHECK(forecast_run(&m, &o));
    CHECK(o.success_probability == 0.0);
    CHECK(o.expected_revenue_cents == 0.0);
    /* refusals */
    struct forecast_model bad = m;
    bad.p_arrival = NAN;
    CHECK(!forecast_run(&bad, &o));
    bad = m;
    bad.quantity_per_join = 0.5;
    CHECK(!forecast_run(&bad, &o));
    bad = m;
    bad.arrivals = -1.0;
    CHECK(!forecast_run(&bad, &o));
    static const struct forecast_tier bad_ladder[] = {{1, 100, 0}, {1, 90, 0}};
    bad = m;
    bad.tiers = bad_ladder;
    bad.ntiers = 2;
    CHECK(!forecast_run(&bad, &o));
    bad.ntiers = 0;
    CHECK(!forecast_run(&bad, &o));
    free(p);
}

static void test_arrivals(void)
{
    struct forecast_history h = {.campaigns = 3,
                                 .mean_joins = 40.0,
                                 .p_complete = 0.8,
                                 .quantity_per_join = 1.5,
                                 .invitation_campaigns = 3,
                                 .invited = 200,
                                 .invited_joined = 30};
    for (size_t k = 0; k < FORECAST_CURVE_POINTS; k++)
        h.curve[k] = sqrt((double)k / 100.0); /* early joiners */
    struct forecast_arrivals a;
    /* the design's example: 5 in, half the time gone, prior F = tau */
    CHECK(forecast_arrivals_campaign(NULL, 0.5, 5, 5, 3.7, 0.75, 2, &a));
    CHECK(a.basis == FORECAST_BASIS_PRIOR && a.campaigns_used == 0);
    CHECK(fabs(a.expected - 5.0) < 1e-12);
    CHECK(fabs(a.p_complete - 0.74) < 1e-12);
    CHECK(a.quantity_per_join == 1.0);
    /* history: F(0.25) = 0.5 -> lambda = n */
    CHECK(forecast_arrivals_campaign(&h, 0.25, 8, 8, 6.0, 0.75, 2, &a));
    CHECK(a.basis == FORECAST_BASIS_HISTORY && a.campaigns_used == 3);
    CHECK(fabs(a.share_by_now - 0.5) < 1e-12);
    CHECK(fabs(a.expected - 8.0) < 1e-12);
    CHECK(a.p_complete == 0.8 && a.quantity_per_join == 1.5);
    /* interpolation between points */
    CHECK(fabs(forecast_share_by(&h, 0.255) -
               (0.5 + 0.5 * (sqrt(0.26) - 0.5))) < 1e-12);
    /* nobody in: the mean final joins still to come */
    CHECK(forecast_arrivals_campaign(&h, 0.25, 0, 0, 0.0, 0.75, 2, &a));
    CHECK(fabs(a.expected - 20.0) < 1e-12);
    CHECK(forecast_arrivals_campaign(NULL, 0.25, 0, 0, 0.0, 0.75, 2, &a));
    CHECK(a.expected == 0.0 && a.p_complete == 0.75);
    /* seconds old: F kept at 1 %; ended: nobody else */
    CHECK(forecast_arrivals_campaign(NULL, 0.0, 1, 1, 0.75, 0.75, 2, &a));
    CHECK(fabs(a.expected - 99.0) < 1e-9);
    CHECK(forecast_arrivals_campaign(NULL, 1.0, 1, 1, 0.75, 0.75, 2, &a));
    CHECK(a.expected == 0.0);
    CHECK(forecast_arrivals_campaign(NULL, 7.0, 1, 1, 0.75, 0.75, 2, &a));
    CHECK(a.expected == 0.0);
    /* quantity per join within the per-customer limit */
    h.quantity_per_join = 9.0;
    CHECK(forecast_arrivals_campaign(&h, 0.5, 1, 1, 0.75, 0.75, 2, &a));
    CHECK(a.quantity_per_join == 2.0);
    h.quantity_per_join = 1.5;
    /* two campaigns are not a history */
    h.campaigns = 2;
    CHECK(forecast_arrivals_campaign(&h, 0.25, 8, 8, 6.0, 0.75, 2, &a));
    CHECK(a.basis == FORECAST_BASIS_PRIOR && fabs(a.expected - 24.0) < 1e-9);
    h.campaigns = 3;
    /* the planner: 15 % of invitations joined */
    CHECK(forecast_arrivals_audience(&h, 1000, 0.75, 2, &a));
    CHECK(a.basis == FORECAST_BASIS_HISTORY && fabs(a.expected - 150.0) < 1e-9);
    CHECK(fabs(a.join_share - 0.15) < 1e-12 && a.p_complete == 0.8);
    h.invitation_campaigns = 2;
    CHECK(forecast_arrivals_audience(&h, 1000, 0.75, 2, &a));
    CHECK(a.basis == FORECAST_BASIS_PRIOR && fabs(a.expected - 50.0) < 1e-9);
    CHECK(forecast_arrivals_audience(NULL, 100000, 0.75, 1, &a));
    CHECK(fabs(a.expected - 5000.0) < 1e-9 && a.p_complete == 0.75);
    /* refusals */
    CHECK(!forecast_arrivals_audience(NULL, -1, 0.75, 1, &a));
    CHECK(!forecast_arrivals_campaign(NULL, NAN, 1, 1, 0.5, 0.75, 1, &a));
    CHECK(!forecast_arrivals_campaign(NULL, 0.5, 1, 1, 2.0, 0.75, 1, &a));
    h.curve[3] = 1.5;
    CHECK(!forecast_arrivals_campaign(&h, 0.5, 1, 1, 0.5, 0.75, 1, &a));
}

/* The staff view's worst case and the planner's, timed (printed). */
static void test_run_timing(void)
{
    size_t n = 100000;
    double *p = malloc(n * sizeof *p);
    CHECK(p != NULL);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = rng_uniform(0.5, 1.0);
    struct forecast_model m = {.p = p,
                               .n = n,
                               .live_quantity = (int64_t)n,
                               .arrivals = 100000.0,
                               .p_arrival = 0.75,
                               .quantity_per_join = 1.0,
                               .min_participants = 150000,
                               .tiers = ladder3,
                               .ntiers = 3};
    struct forecast_outcome o;
    double t0 = now_ms();
    CHECK(forecast_run(&m, &o));
    printf("forecast_run timing%s: n=100000 lambda=100000: %.2f ms (P=%.6f)\n",
           BUILD_NOTE, now_ms() - t0, o.success_probability);
    struct forecast_model plan = {.arrivals = 5000.0,
                                  .p_arrival = 0.75,
                                  .quantity_per_join = 1.2,
                                  .min_participants = 3000,
                                  .max_quantity = 1000000,
                                  .tiers = ladder3,
                                  .ntiers = 3};
    t0 = now_ms();
    CHECK(forecast_run(&plan, &o));
    printf("forecast_run timing%s: planner, audience 100000 x 5 %%: %.3f ms "
           "(P=%.6f)\n",
           BUILD_NOTE, now_ms() - t0, o.success_probability);
    free(p);
}

static void timed(const char *name, void (*fn)(void))
{
    double t0 = now_ms();
    fn();
    printf("forecast %s: %.0f ms\n", name, now_ms() - t0);
}

int main(void)
{
    timed("refusals", test_refusals);
    timed("expected", test_expected);
    timed("brute_force", test_brute_force);
    timed("large_reference", test_large_reference);
    timed("binomial", test_binomial);
    timed("timing", test_timing);
    timed("run_reference", test_run_reference);
    timed("poisson", test_poisson);
    timed("run_properties", test_run_properties);
    timed("arrivals", test_arrivals);
    timed("run_timing", test_run_timing);
    printf("forecast largest error against references: %.3g\n", max_err);
    return unit_summary("forecast");
}
