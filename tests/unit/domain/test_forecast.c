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
    printf("forecast largest error against references: %.3g\n", max_err);
    return unit_summary("forecast");
}
