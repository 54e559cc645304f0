/*
 * test_reliability.c - reliability.h: DESIGN.md's anchors (75, 60, 83),
 * half-up rounding at exact halves, the 0 and 100 edges, parameter
 * validation, names, and the formula written out against random tallies.
 * Histories come as gb_customer_history gives them (per kind: count and sum
 * of decayed weights); the decay itself is SQL's and is tested through SQL
 * (tests/api/schema/test_domain_twins.py).
 *
 * Refit: the decay's C twin against the formula, the names and arrays,
 * evaluation against the score written out, refusals, and a synthetic
 * history drawn from known parameters (a 30-day half-life, defaults
 * weighing 3): the fit on the older four fifths recovers them within the
 * tolerances stated below and beats the defaults on the newest fifth.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/reliability.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define C RELIABILITY_COMPLETED
#define W RELIABILITY_WITHDRAWN
#define D RELIABILITY_DEFAULTED
#define X RELIABILITY_DEPOSIT_EXPIRED

/* Decayed weights of one event: fresh, 90, 180 and 360 days old with the
 * default half-life of 180 days. */
#define FRESH  1.0
#define AGE90  M_SQRT1_2
#define AGE180 0.5
#define AGE360 0.25

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-12;
}

struct group {
    enum reliability_event_kind kind;
    int64_t count;
    double weight_sum;
};

struct groups_case {
    const char *name;
    int vip;
    struct group groups[4];
    size_t n;
    int score;
    double p; /* 0: not checked */
};

static const struct groups_case groups_cases[] = {
    {"new customer", 0, {{0}}, 0, 75, 0.75},
    {"one fresh default", 0, {{D, 1, FRESH}}, 1, 60, 0.6},
    {"VIP 1 starts", 1, {{0}}, 0, 83, 5.0 / 6},
    {"VIP 2 starts (87.5 up)", 2, {{0}}, 0, 88, 0.875},
    {"VIP 3 starts", 3, {{0}}, 0, 90, 0.9},
    {"one fresh completion", 0, {{C, 1, FRESH}}, 1, 80, 0.8},
    {"one fresh withdrawal", 0, {{W, 1, FRESH}}, 1, 67, 3 / 4.5},
    {"one fresh expiry", 0, {{X, 1, FRESH}}, 1, 67, 3 / 4.5},
    {"default one half-life old", 0, {{D, 1, AGE180}}, 1, 67, 3 / 4.5},
    {"default two half-lives old", 0, {{D, 1, AGE360}}, 1, 71, 3 / 4.25},
    {"default 90 days old", 0, {{D, 1, AGE90}}, 1, 64, 3 / (4 + M_SQRT1_2)},
    {"completion one half-life old", 0, {{C, 1, AGE180}}, 1, 78, 3.5 / 4.5},
    {"ancient default", 0, {{D, 1, 0}}, 1, 75, 0.75},
    {"completed and defaulted",
     0,
     {{C, 1, FRESH}, {D, 1, FRESH}},
     2,
     67,
     4.0 / 6},
    {"four defaults (37.5 up)", 0, {{D, 4, 4}}, 1, 38, 0.375},
    {"VIP 1, two defaults (62.5 up)", 1, {{D, 2, 2}}, 1, 63, 0.625},
    {"VIP 1, default and withdrawal",
     1,
     {{D, 1, FRESH}, {W, 1, FRESH}},
     2,
     67,
     5 / 7.5},
    /* completions 10 and 400 days old, a withdrawal 30, an expiry 200 and a
     * default 700 days old: weights 0.5 ^ (age / 180) */
    {"mixed ages",
     2,
     {{C, 2, 1.1765348326074134},
      {W, 1, 0.8908987181403393},
      {X, 1, 0.4629373561436452},
      {D, 1, 0.06750373368076913}},
     4,
     82,
     0.8241679869641173},
    /* alpha + S = 3 + 57.5, D = 100: p = 0.605, 60.5 rounds up */
    {"60.5 up", 0, {{C, 58, 57.5}, {D, 38, 38}, {W, 1, 1}}, 3, 61, 0},
    /* Exact halves that floor(100 * p + 0.5) gets wrong in binary: */
    /* (3 + 8.5) / 20 = 0.575 */
    {"57.5 up", 0, {{C, 9, 8.5}, {D, 7, 7}, {W, 1, 1}}, 3, 58, 0},
    /* (3 + 11.5) / 100 = 0.145 */
    {"14.5 up", 0, {{C, 12, 11.5}, {D, 84, 84}, {W, 1, 1}}, 3, 15, 0},
    /* (3 + 53.5) / 100 = 0.565 */
    {"56.5 up", 0, {{C, 54, 53.5}, {D, 42, 42}, {X, 1, 1}}, 3, 57, 0},
    /* 3 / 24 = 0.125 */
    {"12.5 up", 0, {{D, 20, 20}}, 1, 13, 0},
    /* 3 / 600 = 0.005: the last score above 0 */
    {"0.5 up to 1", 0, {{D, 596, 596}}, 1, 1, 0},
    {"down to 0", 0, {{D, 597, 597}}, 1, 0, 0},
    {"a million defaults", 0, {{D, 1000000, 1000000}}, 1, 0, 0},
    /* (3 + 196) / 200 = 0.995: the first 100 */
    {"99.5 up to 100", 0, {{C, 196, 196}}, 1, 100, 0},
    {"99", 0, {{C, 195, 195}}, 1, 99, 0},
    {"ten thousand completions", 0, {{C, 10000, 10000}}, 1, 100, 0},
    {"empty groups", 1, {{C, 0, 0}, {D, 0, 0}}, 2, 83, 0},
    {"decayed groups", 0, {{C, 4, 2}, {X, 2, 1}}, 2, 77, 0}, /* 5 / 6.5 */
};

static void test_groups_table(void)
{
    for (size_t i = 0; i < N_ELEMS(groups_cases); i++) {
        const struct groups_case *c = &groups_cases[i];
        struct reliability_tally t;
        struct reliability_result r;
        bool ok = true;

        reliability_tally_init(&t);
        for (size_t g = 0; g < c->n; g++)
            ok = ok && reliability_tally_add_group(&t, c->groups[g].kind,
                                                   c->groups[g].count,
                                                   c->groups[g].weight_sum);
        ok = ok && reliability_score_tally(&reliability_default_params, c->vip,
                                           &t, &r);
        CHECK_MSG(ok, "%s", c->name);
        if (!ok)
            continue;
        CHECK_MSG(r.score == c->score, "%s: score %d, want %d (p %.17g)",
                  c->name, r.score, c->score, r.p_complete);
        if (c->p > 0)
            CHECK_MSG(near(r.p_complete, c->p), "%s: p %.17g, want %.17g",
                      c->name, r.p_complete, c->p);
        CHECK(r.p_complete > 0 && r.p_complete < 1);
    }
}

/* Scores a tally of one group (n may be 0: an empty history). */
static bool score_one(const struct reliability_params *params, int vip,
                      const struct group *g, size_t n,
                      struct reliability_result *out)
{
    struct reliability_tally t;

    reliability_tally_init(&t);
    if (n > 0 &&
        !reliability_tally_add_group(&t, g->kind, g->count, g->weight_sum))
        return false;
    return reliability_score_tally(params, vip, &t, out);
}

static void test_custom_params(void)
{
    static const struct {
        const char *name;
        struct reliability_params params;
        int vip;
        struct group g;
        size_t n;
        int score;
    } cases[] = {
        {"default weighs 2", {180, 3, 2, 1, 0.5, 0.5, 2}, 0, {D, 1, 1}, 1, 50},
        {"beta 2", {180, 3, 2, 2, 0.5, 0.5, 1}, 0, {C, 1, 1}, 0, 60},
        {"withdrawals free", {180, 3, 2, 1, 0, 0.5, 1}, 0, {W, 1, 1}, 1, 75},
        {"no VIP bonus", {180, 3, 0, 1, 0.5, 0.5, 1}, 3, {C, 1, 1}, 0, 75},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct reliability_result r = {0};

        CHECK_MSG(score_one(&cases[i].params, cases[i].vip, &cases[i].g,
                            cases[i].n, &r) &&
                      r.score == cases[i].score,
                  "%s: score %d", cases[i].name, r.score);
    }
}

static void test_params_validate(void)
{
    static const char *const fields[] = {
        "half_life_days",   "prior_alpha_base", "prior_alpha_per_vip",
        "prior_beta",       "weight_withdrawn", "weight_deposit_expired",
        "weight_defaulted",
    };
    static const size_t offsets[] = {
        offsetof(struct reliability_params, half_life_days),
        offsetof(struct reliability_params, prior_alpha_base),
        offsetof(struct reliability_params, prior_alpha_per_vip),
        offsetof(struct reliability_params, prior_beta),
        offsetof(struct reliability_params, weight_withdrawn),
        offsetof(struct reliability_params, weight_deposit_expired),
        offsetof(struct reliability_params, weight_defaulted),
    };
    /* may the field be 0? (order of fields[]) */
    static const bool zero_ok[] = {false, false, true, false, true, true, true};
    static const double bad_any[] = {-1.0, -1e-300, NAN, INFINITY, -INFINITY};
    const char *bad = NULL;

    CHECK(reliability_params_validate(&reliability_default_params, &bad));
    CHECK(bad == NULL);
    CHECK(reliability_params_validate(&reliability_default_params, NULL));
    CHECK(reliability_default_params.half_life_days == 180 &&
          reliability_default_params.prior_alpha_base == 3 &&
          reliability_default_params.prior_alpha_per_vip == 2 &&
          reliability_default_params.prior_beta == 1 &&
          reliability_default_params.weight_withdrawn == 0.5 &&
          reliability_default_params.weight_deposit_expired == 0.5 &&
          reliability_default_params.weight_defaulted == 1);

    for (size_t f = 0; f < N_ELEMS(fields); f++) {
        for (size_t v = 0; v <= N_ELEMS(bad_any); v++) {
            struct reliability_params p = reliability_default_params;
            double *slot = (double *)((char *)&p + offsets[f]);
            double value = v < N_ELEMS(bad_any) ? bad_any[v] : 0.0;
            bool want = v == N_ELEMS(bad_any) && zero_ok[f];
            struct reliability_result r = {.score = -7};

            *slot = value;
            bad = NULL;
            CHECK_MSG(reliability_params_validate(&p, &bad) == want, "%s = %g",
                      fields[f], value);
            if (want) {
                CHECK(bad == NULL);
            } else {
                CHECK_STR_EQ(bad, fields[f]);
                /* Scoring refuses invalid parameters, *out untouched. */
                CHECK(!score_one(&p, 0, NULL, 0, &r));
                CHECK_INT_EQ(r.score, -7);
            }
        }
    }
    CHECK(sizeof(struct reliability_params) ==
          N_ELEMS(fields) * sizeof(double));
}

static void test_kind_names(void)
{
    static const char *const names[] = {"completed", "withdrawn", "defaulted",
                                        "deposit_expired"};
    static const enum reliability_event_kind kinds[] = {C, W, D, X};

    for (size_t i = 0; i < N_ELEMS(names); i++)
        CHECK_STR_EQ(reliability_event_kind_name(kinds[i]), names[i]);
    CHECK(reliability_event_kind_name((enum reliability_event_kind)4) == NULL);
    CHECK(reliability_event_kind_name((enum reliability_event_kind) - 1) ==
          NULL);
    CHECK_INT_EQ(RELIABILITY_EVENT_KINDS, 4);
}

static bool tally_equal(const struct reliability_tally *a,
                        const struct reliability_tally *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static void test_tally_refusals(void)
{
    struct reliability_tally t, before;
    const struct reliability_params *p = &reliability_default_params;
    struct reliability_result r = {.score = -7};

    reliability_tally_init(&t);
    CHECK(reliability_tally_add_group(&t, D, 1, 1));
    before = t;

    CHECK(
        !reliability_tally_add_group(&t, (enum reliability_event_kind)9, 1, 1));
    CHECK(!reliability_tally_add_group(&t, C, -1, 0));
    CHECK(!reliability_tally_add_group(&t, C, 1, -0.5));
    CHECK(!reliability_tally_add_group(&t, C, 2, 2.5));
    CHECK(!reliability_tally_add_group(&t, C, 1, NAN));
    CHECK(!reliability_tally_add_group(&t, C, 1, INFINITY));
    CHECK(tally_equal(&t, &before));
    CHECK(reliability_tally_add_group(&t, C, 2, 2));
    CHECK_INT_EQ(t.count[C], 2);
    CHECK_INT_EQ(t.count[D], 1);

    /* VIP level out of range */
    static const int bad_vip[] = {-1, 4, 100};
    for (size_t i = 0; i < N_ELEMS(bad_vip); i++)
        CHECK(!reliability_score_tally(p, bad_vip[i], &t, &r));
    CHECK_INT_EQ(r.score, -7);

    /* a zeroed struct is an empty tally */
    struct reliability_tally z;
    memset(&z, 0, sizeof z);
    CHECK(reliability_score_tally(p, 0, &z, &r));
    CHECK_INT_EQ(r.score, 75);
    CHECK(r.s == 0 && r.f == 0);
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x2545f4914f6cdd1du;

static double rng_unit(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717u) >> 11) /
           9007199254740992.0;
}

/* Random tallies against the formula written out; the score is always
 * 0..100 and moves the right way. */
static void test_formula(void)
{
    const struct reliability_params *p = &reliability_default_params;
    int bad_formula = 0, bad_range = 0, bad_monotone = 0;
    static const double fw[] = {0, 0.5, 1, 0.5}; /* by kind */

    for (int iter = 0; iter < 20000; iter++) {
        struct reliability_tally t;
        struct reliability_result a, c;
        int vip = (int)(rng_unit() * 4);
        double s = 0, f = 0, alpha = 3 + 2 * vip;

        reliability_tally_init(&t);
        for (int k = 0; k < RELIABILITY_EVENT_KINDS; k++) {
            int64_t n = (int64_t)(rng_unit() * 20);
            double w = rng_unit() * (double)n;
            if (!reliability_tally_add_group(&t, (enum reliability_event_kind)k,
                                             n, w))
                bad_formula++;
            if (k == C)
                s += w;
            else
                f += w * fw[k];
        }
        if (!reliability_score_tally(p, vip, &t, &a)) {
            bad_formula++;
            continue;
        }
        double want_p = (alpha + s) / (alpha + 1 + s + f);
        bad_formula += !near(a.p_complete, want_p) ||
                       fabs(a.score - 100 * want_p) > 0.5 + 1e-9;
        bad_range += a.score < 0 || a.score > 100 || !(a.p_complete > 0) ||
                     !(a.p_complete < 1);

        /* one more fresh default never raises the score; one more fresh
         * completion never lowers it */
        struct reliability_tally more = t;
        if (!reliability_tally_add_group(&more, D, 1, 1) ||
            !reliability_score_tally(p, vip, &more, &c) || c.score > a.score ||
            c.p_complete >= a.p_complete)
            bad_monotone++;
        more = t;
        if (!reliability_tally_add_group(&more, C, 1, 1) ||
            !reliability_score_tally(p, vip, &more, &c) || c.score < a.score ||
            c.p_complete <= a.p_complete)
            bad_monotone++;
    }
    CHECK_INT_EQ(bad_formula, 0);
    CHECK_INT_EQ(bad_range, 0);
    CHECK_INT_EQ(bad_monotone, 0);
}

/* ------------------------------------------------------------------ refit */

static void test_decay_and_names(void)
{
    static const struct {
        double age, h, want;
    } cases[] = {
        {0, 180, 1.0},          {180, 180, 0.5}, {360, 180, 0.25},
        {90, 180, M_SQRT1_2},   {-5, 180, 1.0},  {30, 30, 0.5},
        {30000, 30, 0x1p-1000}, {1e6, 1, 0.0},   {1000.5, 1, 0.0},
        {999, 1, 0x1p-999},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        double got = reliability_decay(cases[i].age, cases[i].h);
        double want = cases[i].want;
        CHECK_MSG(got == want || fabs(got - want) <= 1e-15 * want,
                  "decay(%g, %g) = %.17g, want %.17g", cases[i].age, cases[i].h,
                  got, want);
    }
    double v[RELIABILITY_PARAMS];
    struct reliability_params back;
    reliability_params_to_array(&reliability_default_params, v);
    CHECK(v[0] == 180 && v[1] == 3 && v[2] == 2 && v[3] == 1 && v[4] == 0.5 &&
          v[5] == 0.5 && v[6] == 1);
    reliability_params_from_array(v, &back);
    CHECK(memcmp(&back, &reliability_default_params, sizeof back) == 0);
    CHECK_STR_EQ(reliability_param_names[0], "half_life_days");
    CHECK_STR_EQ(reliability_param_names[6], "weight_defaulted");
}

/* Evaluation is the score of the same history. */
static void test_evaluate(void)
{
    struct reliability_event ev[] = {
        {0.0, D}, {180.0, C}, {90.0, W}, {400.0, X}, {0.0, C},
    };
    struct reliability_case cs[] = {
        {0, 0, 0, true},  /* new customer: 0.75 */
        {0, 1, 0, false}, /* one fresh default: 0.6 */
        {1, 4, 1, true},
        {0, 0, 3, false}, /* VIP 3: 0.9 */
    };
    struct reliability_cases c = {cs, N_ELEMS(cs), ev, N_ELEMS(ev)};
    struct reliability_fit_score sc;
    CHECK(reliability_cases_valid(&c));
    CHECK(reliability_evaluate(&reliability_default_params, &c, &sc));
    /* case 2: S = 0.5 + 1, F = 0.5 * 2^-0.5 + 0.5 * 2^(-400/180), VIP 1 */
    double s2 = 1.5, f2 = 0.5 * M_SQRT1_2 + 0.5 * pow(0.5, 400.0 / 180.0);
    double p2 = (5 + s2) / (6 + s2 + f2);
    double p[] = {0.75, 0.6, p2, 0.9};
    double y[] = {1, 0, 1, 0};
    double ll = 0, br = 0;
    for (int i = 0; i < 4; i++) {
        ll -= y[i] ? log(p[i]) : log(1 - p[i]);
        br += (p[i] - y[i]) * (p[i] - y[i]);
    }
    CHECK(sc.cases == 4);
    CHECK_MSG(near(sc.log_loss, ll / 4), "%.17g %.17g", sc.log_loss, ll / 4);
    CHECK_MSG(near(sc.brier, br / 4), "%.17g %.17g", sc.brier, br / 4);
    /* refusals */
    struct reliability_case bad_vip[] = {{0, 0, 4, true}};
    struct reliability_case bad_range[] = {{3, 3, 0, true}};
    struct reliability_event bad_age[] = {{NAN, C}};
    struct reliability_case one[] = {{0, 1, 0, true}};
    struct reliability_cases b1 = {bad_vip, 1, ev, N_ELEMS(ev)};
    struct reliability_cases b2 = {bad_range, 1, ev, N_ELEMS(ev)};
    struct reliability_cases b3 = {one, 1, bad_age, 1};
    struct reliability_cases none = {cs, 0, ev, 0};
    struct reliability_params out;
    CHECK(!reliability_evaluate(&reliability_default_params, &b1, &sc));
    CHECK(!reliability_evaluate(&reliability_default_params, &b2, &sc));
    CHECK(!reliability_evaluate(&reliability_default_params, &b3, &sc));
    CHECK(!reliability_evaluate(&reliability_default_params, &none, &sc));
    CHECK(!reliability_fit(&b1, &reliability_default_params, &out));
    CHECK(!reliability_fit(&none, &reliability_default_params, &out));
    struct reliability_params badp = reliability_default_params;
    badp.half_life_days = 0;
    CHECK(!reliability_evaluate(&badp, &c, &sc));
    CHECK(!reliability_fit(&c, &badp, &out));
}

/* A synthetic history: customers joining over two years, each outcome
 * drawn from the true model on the customer's history before the join. */
struct synth {
    struct reliability_case *cases;
    struct reliability_event *events;
    size_t ncases, nevents;
};

static double synth_normal_clock; /* days, for ordering cases in time */

static void synth_make(const struct reliability_params *truth, int customers,
                       struct synth *out, double **times)
{
    size_t cap_c = (size_t)customers * 40, cap_e = cap_c * 20;
    out->cases = malloc(cap_c * sizeof *out->cases);
    out->events = malloc(cap_e * sizeof *out->events);
    double *when = malloc(cap_c * sizeof *when);
    out->ncases = out->nevents = 0;
    static const enum reliability_event_kind fails[] = {D, D, D, W, W, X};
    for (int cu = 0; cu < customers; cu++) {
        int vip = rng_unit() < 0.8 ? 0 : 1 + (int)(rng_unit() * 3);
        double t = rng_unit() * 200.0;
        double hist_t[64];
        enum reliability_event_kind hist_k[64];
        int nh = 0;
        int joins = 4 + (int)(rng_unit() * 20);
        for (int j = 0; j < joins && nh < 64; j++) {
            t += 1.0 + rng_unit() * 60.0;
            if (t > 730.0)
                break;
            struct reliability_case *k = &out->cases[out->ncases];
            k->first = out->nevents;
            k->count = (size_t)nh;
            k->vip_level = vip;
            for (int e = 0; e < nh; e++)
                out->events[out->nevents++] =
                    (struct reliability_event){t - hist_t[e], hist_k[e]};
            struct reliability_cases one = {k, 1, out->events, out->nevents};
            struct reliability_fit_score sc;
            /* p under the truth: evaluate a completed case gives -ln p */
            k->completed = true;
            if (!reliability_evaluate(truth, &one, &sc))
                abort();
            double p = exp(-sc.log_loss);
            k->completed = rng_unit() < p;
            when[out->ncases++] = t;
            hist_t[nh] = t + 0.5;
            hist_k[nh] = k->completed ? C : fails[(int)(rng_unit() * 6)];
            nh++;
        }
    }
    *times = when;
    (void)synth_normal_clock;
}

/* Sorts case indices by time: the older four fifths train, the newest
 * fifth is held out (as the refit's campaigns are split). */
static const double *sort_times;
static int by_time(const void *a, const void *b)
{
    double x = sort_times[*(const size_t *)a],
           y = sort_times[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* A history drawn from truth (3000 customers), fitted on its older four
 * fifths; *fit, and the held-out scores of the fit, the defaults and the
 * truth. */
static void fit_synthetic(const struct reliability_params *truthp,
                          struct reliability_params *fitp,
                          struct reliability_fit_score *prop_out,
                          struct reliability_fit_score *def_out,
                          struct reliability_fit_score *tru_out)
{
    struct reliability_params truth = *truthp;
    struct synth s;
    double *when;
    synth_make(&truth, 3000, &s, &when);
    size_t n = s.ncases, *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_times = when;
    qsort(order, n, sizeof *order, by_time);
    size_t ntrain = n - n / 5;
    struct reliability_case *train = malloc(ntrain * sizeof *train),
                            *hold = malloc((n - ntrain) * sizeof *hold);
    for (size_t i = 0; i < n; i++) {
        if (i < ntrain)
            train[i] = s.cases[order[i]];
        else
            hold[i - ntrain] = s.cases[order[i]];
    }
    struct reliability_cases tr = {train, ntrain, s.events, s.nevents};
    struct reliability_cases ho = {hold, n - ntrain, s.events, s.nevents};
    struct reliability_params fit;
    clock_t c0 = clock();
    CHECK(reliability_fit(&tr, &reliability_default_params, &fit));
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    struct reliability_fit_score def, prop, tru;
    CHECK(reliability_evaluate(&reliability_default_params, &ho, &def));
    CHECK(reliability_evaluate(&fit, &ho, &prop));
    CHECK(reliability_evaluate(&truth, &ho, &tru));
    printf("refit: truth half_life %.0f, default weight %.1f: %zu cases (%zu "
           "events), %.2f s CPU: half_life %.1f, alpha %.2f + %.2f vip, beta "
           "%.2f, weights %.2f %.2f %.2f; held-out log loss %.4f (defaults "
           "%.4f, truth %.4f)\n",
           truth.half_life_days, truth.weight_defaulted, n, s.nevents, secs,
           fit.half_life_days, fit.prior_alpha_base, fit.prior_alpha_per_vip,
           fit.prior_beta, fit.weight_withdrawn, fit.weight_deposit_expired,
           fit.weight_defaulted, prop.log_loss, def.log_loss, tru.log_loss);
    *fitp = fit;
    *prop_out = prop;
    *def_out = def;
    *tru_out = tru;
    /* in the box, and never worse than the start on the training cases */
    double v[RELIABILITY_PARAMS], d[RELIABILITY_PARAMS];
    reliability_params_to_array(&fit, v);
    reliability_params_to_array(&reliability_default_params, d);
    for (int j = 0; j < RELIABILITY_PARAMS; j++)
        CHECK(v[j] >= d[j] * 0.25 * (1 - 1e-12) &&
              v[j] <= d[j] * 4 * (1 + 1e-12));
    struct reliability_fit_score ftr, dtr;
    CHECK(reliability_evaluate(&fit, &tr, &ftr));
    CHECK(reliability_evaluate(&reliability_default_params, &tr, &dtr));
    CHECK(ftr.log_loss <= dtr.log_loss);
    free(order);
    free(train);
    free(hold);
    free(when);
    free(s.cases);
    free(s.events);
}

static void test_fit_recovers(void)
{
    struct reliability_params truth = reliability_default_params, fit;
    struct reliability_fit_score prop, def, tru;
    /* inside the box: a 60-day half-life, defaults weighing 3. Stated
     * tolerances: the half-life within 20 %, the weight of a default
     * within 35 %; held out, better than the defaults and within 0.005
     * of the truth's own log loss */
    truth.half_life_days = 60.0;
    truth.weight_defaulted = 3.0;
    fit_synthetic(&truth, &fit, &prop, &def, &tru);
    CHECK_MSG(fabs(fit.half_life_days - 60.0) <= 12.0, "half life %.3f",
              fit.half_life_days);
    CHECK_MSG(fabs(fit.weight_defaulted - 3.0) <= 1.05, "default weight %.3f",
              fit.weight_defaulted);
    CHECK(prop.log_loss < def.log_loss);
    CHECK(prop.log_loss <= tru.log_loss + 0.005);
    /* a 30-day half-life lies below the box (45 days = 0.25 x 180): the fit
     * stops at its edge and still beats the defaults */
    truth.half_life_days = 30.0;
    fit_synthetic(&truth, &fit, &prop, &def, &tru);
    CHECK_MSG(fabs(fit.half_life_days - 45.0) <= 0.1, "half life %.3f",
              fit.half_life_days);
    CHECK(prop.log_loss < def.log_loss);
}

int main(void)
{
    test_groups_table();
    test_custom_params();
    test_params_validate();
    test_kind_names();
    test_tally_refusals();
    test_formula();
    test_decay_and_names();
    test_evaluate();
    test_fit_recovers();
    return unit_summary("reliability");
}
