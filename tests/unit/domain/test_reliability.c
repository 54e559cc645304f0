/*
 * test_reliability.c - reliability.h: DESIGN.md's anchors (75, 60, 83),
 * half-up rounding at exact halves, the 0 and 100 edges, parameter
 * validation, names, and the formula written out against random tallies.
 * Histories come as gb_customer_history gives them (per kind: count and sum
 * of decayed weights); the decay itself is SQL's and is tested through SQL
 * (tests/api/schema/test_domain_twins.py).
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
    test_groups_table();
    test_custom_params();
    test_params_validate();
    test_kind_names();
    test_tally_refusals();
    test_formula();
    return unit_summary("reliability");
}
