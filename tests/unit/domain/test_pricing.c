/*
 * test_pricing.c - pricing.h: ladder validation, deposit bands and
 * deposits, and the bounds on prices and quantities against the worst
 * amounts they allow. The price of a count is SQL's, tested through SQL
 * (tests/api/schema/test_pricing.py).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "domain/pricing.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAXT       (PRICING_MAX_TIERS + 2)

/* The ladder of API.md's example (its first tier prices the deposit). */
static const struct pricing_tier api_ladder[] = {
    {1, 9900, 0, false}, {10, 8900, 0, false}, {50, 7900, 0, false}};

static void test_basis(void)
{
    static const struct {
        const char *name;
        bool ok;
        enum pricing_basis basis;
    } cases[] = {
        {"participants", true, PRICING_BASIS_PARTICIPANTS},
        {"quantity", true, PRICING_BASIS_QUANTITY},
        {"Quantity", false, 0},
        {"participant", false, 0},
        {"quantity ", false, 0},
        {"", false, 0},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        enum pricing_basis b = PRICING_BASIS_QUANTITY;
        bool ok = pricing_basis_from_name(cases[i].name, &b);

        CHECK_MSG(ok == cases[i].ok, "basis \"%s\"", cases[i].name);
        if (ok) {
            CHECK_INT_EQ(b, cases[i].basis);
            CHECK_STR_EQ(pricing_basis_name(b), cases[i].name);
        }
    }
    CHECK(pricing_basis_name((enum pricing_basis)7) == NULL);
}

struct tiers_case {
    const char *name;
    struct pricing_tier tiers[MAXT];
    size_t n;
    int64_t list;
    enum pricing_tiers_fault fault;
    size_t index; /* meaningful when the fault names a tier */
};

static const struct tiers_case tiers_cases[] = {
    {"api example",
     {{1, 9900, 0, false}, {10, 8900, 0, false}, {50, 7900, 0, false}},
     3,
     9900,
     PRICING_TIERS_OK,
     0},
    {"single tier at list",
     {{1, 10000, 0, false}},
     1,
     10000,
     PRICING_TIERS_OK,
     0},
    {"price 1 list 1", {{1, 1, 0, false}}, 1, 1, PRICING_TIERS_OK, 0},
    {"adjacent thresholds",
     {{1, 3, 0, false}, {2, 2, 0, false}, {3, 1, 0, false}},
     3,
     3,
     PRICING_TIERS_OK,
     0},
    /* the bounds: thresholds <= 10^6, prices <= 10^8 */
    {"threshold at the bound",
     {{1, 100, 0, false}, {PRICING_QUANTITY_MAX, 1, 0, false}},
     2,
     100,
     PRICING_TIERS_OK,
     0},
    {"threshold past the bound",
     {{1, 100, 0, false}, {PRICING_QUANTITY_MAX + 1, 1, 0, false}},
     2,
     100,
     PRICING_TIERS_THRESHOLD_ABOVE_MAX,
     1},
    {"huge threshold",
     {{1, 100, 0, false}, {INT64_MAX, 1, 0, false}},
     2,
     100,
     PRICING_TIERS_THRESHOLD_ABOVE_MAX,
     1},
    {"price at the bound",
     {{1, PRICING_PRICE_MAX_CENTS, 0, false}},
     1,
     INT64_MAX,
     PRICING_TIERS_OK,
     0},
    {"price past the bound, unknown list",
     {{1, PRICING_PRICE_MAX_CENTS + 1, 0, false}},
     1,
     INT64_MAX,
     PRICING_TIERS_PRICE_ABOVE_MAX,
     0},
    {"2^53 price",
     {{1, 100, 0, false}, {2, INT64_C(9007199254740992), 0, false}},
     2,
     INT64_MAX,
     PRICING_TIERS_PRICE_ABOVE_MAX,
     1},
    {"bound before list",
     {{1, PRICING_PRICE_MAX_CENTS + 1, 0, false}},
     1,
     100,
     PRICING_TIERS_PRICE_ABOVE_MAX,
     0},
    {"threshold bound before price",
     {{1, 100, 0, false}, {PRICING_QUANTITY_MAX + 1, 0, 0, false}},
     2,
     100,
     PRICING_TIERS_THRESHOLD_ABOVE_MAX,
     1},
    {"empty", {{0, 0, 0, false}}, 0, 100, PRICING_TIERS_EMPTY, 0},
    {"first 0", {{0, 100, 0, false}}, 1, 100, PRICING_TIERS_FIRST_NOT_ONE, 0},
    {"first 2",
     {{2, 100, 0, false}, {5, 90, 0, false}},
     2,
     100,
     PRICING_TIERS_FIRST_NOT_ONE,
     0},
    {"first negative",
     {{-1, 100, 0, false}},
     1,
     100,
     PRICING_TIERS_FIRST_NOT_ONE,
     0},
    {"repeat threshold 1",
     {{1, 100, 0, false}, {1, 90, 0, false}},
     2,
     100,
     PRICING_TIERS_THRESHOLD_ORDER,
     1},
    {"equal thresholds",
     {{1, 100, 0, false}, {10, 90, 0, false}, {10, 80, 0, false}},
     3,
     100,
     PRICING_TIERS_THRESHOLD_ORDER,
     2},
    {"descending threshold",
     {{1, 100, 0, false}, {10, 90, 0, false}, {5, 80, 0, false}},
     3,
     100,
     PRICING_TIERS_THRESHOLD_ORDER,
     2},
    {"price 0 first",
     {{1, 0, 0, false}},
     1,
     100,
     PRICING_TIERS_PRICE_BELOW_ONE,
     0},
    {"price 0 later",
     {{1, 100, 0, false}, {10, 0, 0, false}},
     2,
     100,
     PRICING_TIERS_PRICE_BELOW_ONE,
     1},
    {"price negative",
     {{1, 100, 0, false}, {10, -5, 0, false}},
     2,
     100,
     PRICING_TIERS_PRICE_BELOW_ONE,
     1},
    {"above list",
     {{1, 10001, 0, false}, {10, 9000, 0, false}},
     2,
     10000,
     PRICING_TIERS_PRICE_ABOVE_LIST,
     0},
    {"list 0", {{1, 1, 0, false}}, 1, 0, PRICING_TIERS_PRICE_ABOVE_LIST, 0},
    {"first above list",
     {{1, 100, 0, false}, {10, 90, 0, false}},
     2,
     95,
     PRICING_TIERS_PRICE_ABOVE_LIST,
     0},
    {"equal prices",
     {{1, 100, 0, false}, {10, 100, 0, false}},
     2,
     100,
     PRICING_TIERS_PRICE_ORDER,
     1},
    {"rising price",
     {{1, 100, 0, false}, {10, 90, 0, false}, {20, 95, 0, false}},
     3,
     100,
     PRICING_TIERS_PRICE_ORDER,
     2},
    /* the first fault in tier order wins ... */
    {"first fault wins",
     {{1, 100, 0, false}, {5, 200, 0, false}, {3, 50, 0, false}},
     3,
     1000,
     PRICING_TIERS_PRICE_ORDER,
     1},
    /* ... and within a tier, the threshold is judged before the price */
    {"threshold before price",
     {{1, 100, 0, false}, {1, 200, 0, false}},
     2,
     100,
     PRICING_TIERS_THRESHOLD_ORDER,
     1},
    {"below one before above list",
     {{1, 0, 0, false}},
     1,
     -1,
     PRICING_TIERS_PRICE_BELOW_ONE,
     0},
    {"above list before order",
     {{1, 100, 0, false}, {10, 150, 0, false}},
     2,
     120,
     PRICING_TIERS_PRICE_ABOVE_LIST,
     1},
    /* a tier's cost: optional, 0..10^8, may exceed the tier's price (a
     * loss leader) and need not fall with the volume */
    {"costs on some tiers",
     {{1, 9900, 0, false}, {10, 8900, 6000, true}, {50, 7900, 5200, true}},
     3,
     9900,
     PRICING_TIERS_OK,
     0},
    {"cost 0 and cost at the bound",
     {{1, 9900, 0, true}, {10, 8900, PRICING_PRICE_MAX_CENTS, true}},
     2,
     9900,
     PRICING_TIERS_OK,
     0},
    {"cost above the price, rising",
     {{1, 100, 150, true}, {10, 90, 160, true}},
     2,
     100,
     PRICING_TIERS_OK,
     0},
    {"cost negative",
     {{1, 100, 50, true}, {10, 90, -1, true}},
     2,
     100,
     PRICING_TIERS_COST_RANGE,
     1},
    {"cost above the bound",
     {{1, 100, PRICING_PRICE_MAX_CENTS + 1, true}},
     1,
     100,
     PRICING_TIERS_COST_RANGE,
     0},
    {"a cost without has_cost is not read",
     {{1, 100, -5, false}},
     1,
     100,
     PRICING_TIERS_OK,
     0},
    {"price order before cost",
     {{1, 100, 0, false}, {10, 100, -1, true}},
     2,
     100,
     PRICING_TIERS_PRICE_ORDER,
     1},
};

static void test_tiers_validate(void)
{
    for (size_t i = 0; i < N_ELEMS(tiers_cases); i++) {
        const struct tiers_case *c = &tiers_cases[i];
        size_t idx = 999;
        enum pricing_tiers_fault f =
            pricing_tiers_validate(c->tiers, c->n, c->list, &idx);
        bool names_tier = f != PRICING_TIERS_OK && f != PRICING_TIERS_EMPTY &&
                          f != PRICING_TIERS_TOO_MANY;

        CHECK_MSG(f == c->fault, "%s: fault %d, want %d", c->name, f, c->fault);
        CHECK_MSG(idx == (names_tier ? c->index : 999), "%s: index %zu",
                  c->name, idx);
        /* A NULL bad_index is allowed. */
        CHECK(pricing_tiers_validate(c->tiers, c->n, c->list, NULL) == f);
    }

    /* The count limit, both sides of it. */
    struct pricing_tier many[PRICING_MAX_TIERS + 1];
    size_t idx = 999;

    memset(many, 0, sizeof many);

    for (size_t i = 0; i < N_ELEMS(many); i++) {
        many[i].threshold = (int64_t)i * 10 + 1;
        many[i].unit_price_cents = 1000 - (int64_t)i;
    }
    CHECK_INT_EQ(pricing_tiers_validate(many, PRICING_MAX_TIERS, 1000, &idx),
                 PRICING_TIERS_OK);
    CHECK_INT_EQ(
        pricing_tiers_validate(many, PRICING_MAX_TIERS + 1, 1000, &idx),
        PRICING_TIERS_TOO_MANY);
    CHECK_INT_EQ(idx, 999);

    /* Every fault has its own sentence. */
    for (int a = PRICING_TIERS_OK; a <= PRICING_TIERS_COST_RANGE; a++) {
        const char *ma = pricing_tiers_fault_message(a);

        CHECK(ma != NULL && ma[0] != '\0');
        for (int b = a + 1; b <= PRICING_TIERS_COST_RANGE; b++)
            CHECK(strcmp(ma, pricing_tiers_fault_message(b)) != 0);
    }
    CHECK(pricing_tiers_fault_message((enum pricing_tiers_fault)99) != NULL);
    CHECK(strstr(pricing_tiers_fault_message(PRICING_TIERS_TOO_MANY), "20"));
    char bound[32];
    snprintf(bound, sizeof bound, "%" PRId64, PRICING_QUANTITY_MAX);
    CHECK(strstr(pricing_tiers_fault_message(PRICING_TIERS_THRESHOLD_ABOVE_MAX),
                 bound));
    snprintf(bound, sizeof bound, "%" PRId64, PRICING_PRICE_MAX_CENTS);
    CHECK(strstr(pricing_tiers_fault_message(PRICING_TIERS_PRICE_ABOVE_MAX),
                 bound));
    CHECK(strstr(pricing_tiers_fault_message(PRICING_TIERS_COST_RANGE), bound));
}

struct bands_case {
    const char *name;
    struct pricing_deposit_band bands[8];
    size_t n;
    enum pricing_bands_fault fault;
    size_t index;
};

static const struct bands_case bands_cases[] = {
    {"default order", {{80, 0}, {50, 10}, {0, 30}}, 3, PRICING_BANDS_OK, 0},
    {"ascending order", {{0, 30}, {50, 10}, {80, 0}}, 3, PRICING_BANDS_OK, 0},
    {"shuffled", {{50, 10}, {0, 30}, {80, 0}}, 3, PRICING_BANDS_OK, 0},
    {"single zero", {{0, 0}}, 1, PRICING_BANDS_OK, 0},
    {"single full", {{0, 100}}, 1, PRICING_BANDS_OK, 0},
    {"edges", {{0, 100}, {100, 0}}, 2, PRICING_BANDS_OK, 0},
    {"equal percents", {{80, 10}, {0, 10}}, 2, PRICING_BANDS_OK, 0},
    {"empty", {{0, 0}}, 0, PRICING_BANDS_EMPTY, 0},
    {"score -1", {{0, 30}, {-1, 10}}, 2, PRICING_BANDS_SCORE_RANGE, 1},
    {"score 101", {{101, 0}, {0, 30}}, 2, PRICING_BANDS_SCORE_RANGE, 0},
    {"percent -1", {{0, -1}}, 1, PRICING_BANDS_PERCENT_RANGE, 0},
    {"percent 101", {{80, 0}, {0, 101}}, 2, PRICING_BANDS_PERCENT_RANGE, 1},
    {"ranges before duplicates",
     {{0, 30}, {0, 200}},
     2,
     PRICING_BANDS_PERCENT_RANGE,
     1},
    {"duplicate score",
     {{80, 0}, {80, 10}, {0, 30}},
     3,
     PRICING_BANDS_DUPLICATE_SCORE,
     1},
    {"duplicate zero",
     {{0, 30}, {50, 10}, {0, 20}},
     3,
     PRICING_BANDS_DUPLICATE_SCORE,
     2},
    {"higher band dearer",
     {{80, 20}, {50, 10}, {0, 30}},
     3,
     PRICING_BANDS_PERCENT_ORDER,
     0},
    {"ascending, dearer",
     {{0, 10}, {50, 20}},
     2,
     PRICING_BANDS_PERCENT_ORDER,
     1},
    {"order before zero band",
     {{50, 10}, {80, 20}},
     2,
     PRICING_BANDS_PERCENT_ORDER,
     1},
    {"no zero band", {{80, 0}, {50, 10}}, 2, PRICING_BANDS_NO_ZERO, 0},
    {"only band at 100", {{100, 0}}, 1, PRICING_BANDS_NO_ZERO, 0},
};

static void test_bands_validate(void)
{
    for (size_t i = 0; i < N_ELEMS(bands_cases); i++) {
        const struct bands_case *c = &bands_cases[i];
        size_t idx = 999;
        enum pricing_bands_fault f =
            pricing_bands_validate(c->bands, c->n, &idx);
        bool names_band = f != PRICING_BANDS_OK && f != PRICING_BANDS_EMPTY &&
                          f != PRICING_BANDS_TOO_MANY &&
                          f != PRICING_BANDS_NO_ZERO;

        CHECK_MSG(f == c->fault, "%s: fault %d, want %d", c->name, f, c->fault);
        CHECK_MSG(idx == (names_band ? c->index : 999), "%s: index %zu",
                  c->name, idx);
        CHECK(pricing_bands_validate(c->bands, c->n, NULL) == f);
    }

    CHECK_INT_EQ(pricing_bands_validate(pricing_default_deposit_policy,
                                        PRICING_DEFAULT_BANDS, NULL),
                 PRICING_BANDS_OK);

    struct pricing_deposit_band many[PRICING_MAX_BANDS + 1];
    size_t idx = 999;

    for (size_t i = 0; i < N_ELEMS(many); i++) {
        many[i].min_score = (int64_t)i * 4;
        many[i].deposit_percent = 100 - (int64_t)i * 4;
    }
    CHECK_INT_EQ(pricing_bands_validate(many, PRICING_MAX_BANDS, &idx),
                 PRICING_BANDS_OK);
    CHECK_INT_EQ(pricing_bands_validate(many, PRICING_MAX_BANDS + 1, &idx),
                 PRICING_BANDS_TOO_MANY);
    CHECK_INT_EQ(idx, 999);

    for (int a = PRICING_BANDS_OK; a <= PRICING_BANDS_NO_ZERO; a++) {
        const char *ma = pricing_bands_fault_message(a);

        CHECK(ma != NULL && ma[0] != '\0');
        for (int b = a + 1; b <= PRICING_BANDS_NO_ZERO; b++)
            CHECK(strcmp(ma, pricing_bands_fault_message(b)) != 0);
    }
    CHECK(pricing_bands_fault_message((enum pricing_bands_fault)99) != NULL);
}

static void test_band_for_score(void)
{
    static const struct pricing_deposit_band shuffled[] = {
        {50, 10}, {0, 30}, {80, 0}};
    static const struct pricing_deposit_band no_zero[] = {{80, 0}, {50, 10}};
    static const struct {
        int64_t score;
        int64_t percent; /* -1: no band */
        int64_t percent_no_zero;
    } cases[] = {
        {100, 0, 0},  {99, 0, 0},        {80, 0, 0},          {79, 10, 10},
        {75, 10, 10}, {60, 10, 10},      {50, 10, 10},        {49, 30, -1},
        {30, 30, -1}, {1, 30, -1},       {0, 30, -1},         {-1, -1, -1},
        {101, 0, 0},  {INT64_MAX, 0, 0}, {INT64_MIN, -1, -1},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const struct pricing_deposit_band *d =
            pricing_band_for_score(pricing_default_deposit_policy,
                                   PRICING_DEFAULT_BANDS, cases[i].score);
        const struct pricing_deposit_band *s =
            pricing_band_for_score(shuffled, 3, cases[i].score);
        const struct pricing_deposit_band *z =
            pricing_band_for_score(no_zero, 2, cases[i].score);

        CHECK_INT_EQ(d ? d->deposit_percent : -1, cases[i].percent);
        CHECK_INT_EQ(s ? s->deposit_percent : -1, cases[i].percent);
        CHECK_INT_EQ(z ? z->deposit_percent : -1, cases[i].percent_no_zero);
    }
    CHECK(pricing_band_for_score(shuffled, 0, 50) == NULL);
}

static void test_deposit(void)
{
    static const struct {
        int64_t price, quantity, percent;
        bool ok;
        int64_t want;
    } cases[] = {
        {9900, 1, 0, true, 0},
        {9900, 1, 10, true, 990},
        {9900, 2, 30, true, 5940},
        {999, 1, 30, true, 300}, /* 299.7 -> 300 */
        {333, 1, 50, true, 167}, /* 166.5 -> 167 */
        {1, 1, 1, true, 1},      /* 0.01 -> 1 */
        {1, 1, 100, true, 1},
        {1, 99, 1, true, 1}, /* 0.99 -> 1 */
        {1, 100, 1, true, 1},
        {1, 101, 1, true, 2}, /* 1.01 -> 2 */
        {12345, 7, 100, true, 86415},
        {9900, 0, 30, true, 0},
        {0, 5, 30, true, 0},
        {-1, 1, 10, false, 0},
        {9900, -1, 10, false, 0},
        {9900, 1, -1, false, 0},
        {9900, 1, 101, false, 0},
        {INT64_MAX, 1, 0, true, 0},
        {INT64_MAX, 2, 0, false, 0}, /* price * quantity overflows */
        {INT64_MAX / 100, 1, 100, true, INT64_MAX / 100},
        {INT64_MAX / 100 + 1, 1, 100, false, 0},
        {INT64_MAX / 30, 1, 30, true, INT64_MAX / 100},
        {INT64_MAX / 30, 1, 29, true, 89159263022929500}, /* ...99.4 */
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int64_t out = 777;
        bool ok = pricing_deposit_cents(cases[i].price, cases[i].quantity,
                                        cases[i].percent, &out);

        CHECK_MSG(ok == cases[i].ok, "deposit case %zu", i);
        CHECK_INT_EQ(out, cases[i].ok ? cases[i].want : 777);
    }
}

static void test_deposit_for_score(void)
{
    static const struct pricing_deposit_band no_zero[] = {{80, 0}, {50, 10}};
    static const struct {
        int64_t score, quantity;
        bool ok;
        int64_t deposit, percent;
    } cases[] = {
        {90, 2, true, 0, 0},     {80, 1, true, 0, 0},
        {75, 2, true, 1980, 10}, {50, 3, true, 2970, 10},
        {49, 1, true, 2970, 30}, {0, 2, true, 5940, 30},
        {-1, 1, false, 0, 0},    {75, -1, false, 0, 0},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int64_t dep = 777, pct = 777;
        bool ok = pricing_deposit_for_score(
            api_ladder[0].unit_price_cents, pricing_default_deposit_policy,
            PRICING_DEFAULT_BANDS, cases[i].score, cases[i].quantity, &dep,
            &pct);

        CHECK_MSG(ok == cases[i].ok, "for_score case %zu", i);
        CHECK_INT_EQ(dep, cases[i].ok ? cases[i].deposit : 777);
        CHECK_INT_EQ(pct, cases[i].ok ? cases[i].percent : 777);
    }

    int64_t dep = 777;
    CHECK(!pricing_deposit_for_score(api_ladder[0].unit_price_cents, no_zero, 2,
                                     40, 1, &dep, NULL));
    CHECK_INT_EQ(dep, 777);
    CHECK(pricing_deposit_for_score(api_ladder[0].unit_price_cents, no_zero, 2,
                                    60, 1, &dep, NULL));
    CHECK_INT_EQ(dep, 990);
}

/* The claim of pricing.h, on its C side: at the bounds, every deposit a
 * campaign can ask is computed without overflow and stays within
 * PRICING_AMOUNT_MAX (hence within 2^53), and the commission's product fits
 * bigint even computed naively. The settlement's side (lines and totals at
 * the bounds) runs in SQL and is tested there
 * (tests/api/finance/test_settlement_rules.py, "bounds" cases). */
static void test_bounds_worst_case(void)
{
    static const struct {
        int64_t price, quantity, percent, bp;
    } cases[] = {
        {PRICING_PRICE_MAX_CENTS, PRICING_QUANTITY_MAX, 100, 10000},
        {PRICING_PRICE_MAX_CENTS, PRICING_QUANTITY_MAX, 30, 9999},
        {1, PRICING_QUANTITY_MAX, 100, 0},
        {PRICING_PRICE_MAX_CENTS - 1, PRICING_QUANTITY_MAX - 1, 99, 5000},
        {PRICING_PRICE_MAX_CENTS, 1, 100, 10000},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct pricing_tier top[] = {{1, cases[i].price, 0, false}};
        int64_t deposit = -1, gross = -1;

        CHECK_INT_EQ(
            pricing_tiers_validate(top, 1, PRICING_PRICE_MAX_CENTS, NULL),
            PRICING_TIERS_OK);
        CHECK_MSG(pricing_deposit_cents(cases[i].price, cases[i].quantity,
                                        cases[i].percent, &deposit),
                  "bounds case %zu: deposit", i);
        CHECK(
            !__builtin_mul_overflow(cases[i].price, cases[i].quantity, &gross));
        CHECK(deposit >= 0 && deposit <= gross && gross <= PRICING_AMOUNT_MAX);
        /* Even the naive bigint form amount x bp + 5000 fits. */
        int64_t naive;
        CHECK(
            !__builtin_mul_overflow(PRICING_AMOUNT_MAX, cases[i].bp, &naive) &&
            !__builtin_add_overflow(naive, 5000, &naive));
    }
    CHECK(PRICING_AMOUNT_MAX <= INT64_C(9007199254740992));
}

int main(void)
{
    test_basis();
    test_tiers_validate();
    test_bands_validate();
    test_band_for_score();
    test_deposit();
    test_deposit_for_score();
    test_bounds_worst_case();
    return unit_summary("pricing");
}
