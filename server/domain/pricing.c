/*
 * pricing.c - tier ladders as input, and deposit bands (see pricing.h).
 *
 * Ladders and policies are tiny (at most 20 entries), so lookups are linear
 * scans.
 */
#include "domain/pricing.h"

#include <string.h>

#include "lib/money.h"

/* The arithmetic of the bounds in pricing.h, checked by the compiler. */
_Static_assert(PRICING_AMOUNT_MAX <= INT64_C(9007199254740992),
               "every amount must be exact in a JSON client (2^53)");
_Static_assert(PRICING_AMOUNT_MAX <= INT64_MAX / 10000,
               "amount x commission_bp must fit in int64");
_Static_assert(PRICING_AMOUNT_MAX <= INT64_MAX / PRICING_PERCENT_MAX,
               "price x quantity x deposit percent must fit in int64");

#define PRICING_STR_(x) #x
#define PRICING_STR(x)  PRICING_STR_(x)

const struct pricing_deposit_band
    pricing_default_deposit_policy[PRICING_DEFAULT_BANDS] = {
        {.min_score = 80, .deposit_percent = 0},
        {.min_score = 50, .deposit_percent = 10},
        {.min_score = 0, .deposit_percent = 30},
};

static const char *const pricing_basis_names[] = {
    [PRICING_BASIS_PARTICIPANTS] = "participants",
    [PRICING_BASIS_QUANTITY] = "quantity",
};

#define PRICING_BASIS_COUNT \
    (sizeof pricing_basis_names / sizeof pricing_basis_names[0])

const char *pricing_basis_name(enum pricing_basis basis)
{
    if ((unsigned)basis >= PRICING_BASIS_COUNT)
        return NULL;
    return pricing_basis_names[basis];
}

bool pricing_basis_from_name(const char *name, enum pricing_basis *out)
{
    for (size_t i = 0; i < PRICING_BASIS_COUNT; i++) {
        if (strcmp(name, pricing_basis_names[i]) == 0) {
            *out = (enum pricing_basis)i;
            return true;
        }
    }
    return false;
}

enum pricing_tiers_fault
pricing_tiers_validate(const struct pricing_tier *tiers, size_t n,
                       int64_t list_price_cents, size_t *bad_index)
{
    enum pricing_tiers_fault fault = PRICING_TIERS_OK;
    size_t i;

    if (n == 0)
        return PRICING_TIERS_EMPTY;
    if (n > PRICING_MAX_TIERS)
        return PRICING_TIERS_TOO_MANY;
    for (i = 0; i < n; i++) {
        const struct pricing_tier *t = &tiers[i];

        if (i == 0 && t->threshold != 1)
            fault = PRICING_TIERS_FIRST_NOT_ONE;
        else if (i > 0 && t->threshold <= tiers[i - 1].threshold)
            fault = PRICING_TIERS_THRESHOLD_ORDER;
        else if (t->threshold > PRICING_QUANTITY_MAX)
            fault = PRICING_TIERS_THRESHOLD_ABOVE_MAX;
        else if (t->unit_price_cents < 1)
            fault = PRICING_TIERS_PRICE_BELOW_ONE;
        else if (t->unit_price_cents > PRICING_PRICE_MAX_CENTS)
            fault = PRICING_TIERS_PRICE_ABOVE_MAX;
        else if (t->unit_price_cents > list_price_cents)
            fault = PRICING_TIERS_PRICE_ABOVE_LIST;
        else if (i > 0 && t->unit_price_cents >= tiers[i - 1].unit_price_cents)
            fault = PRICING_TIERS_PRICE_ORDER;
        else if (t->has_cost && (t->cost_price_cents < 0 ||
                                 t->cost_price_cents > PRICING_PRICE_MAX_CENTS))
            fault = PRICING_TIERS_COST_RANGE;
        if (fault != PRICING_TIERS_OK)
            break;
    }
    if (fault != PRICING_TIERS_OK && bad_index)
        *bad_index = i;
    return fault;
}

const char *pricing_tiers_fault_message(enum pricing_tiers_fault fault)
{
    switch (fault) {
    case PRICING_TIERS_OK:
        return "tiers are valid";
    case PRICING_TIERS_EMPTY:
        return "at least one tier is required";
    case PRICING_TIERS_TOO_MANY:
        return "too many tiers (at most " PRICING_STR(PRICING_MAX_TIERS) ")";
    case PRICING_TIERS_FIRST_NOT_ONE:
        return "the first tier's threshold must be 1";
    case PRICING_TIERS_THRESHOLD_ORDER:
        return "thresholds must be strictly ascending";
    case PRICING_TIERS_THRESHOLD_ABOVE_MAX:
        return "threshold must be at most 1000000";
    case PRICING_TIERS_PRICE_BELOW_ONE:
        return "unit_price_cents must be at least 1";
    case PRICING_TIERS_PRICE_ABOVE_MAX:
        return "unit_price_cents must be at most 100000000";
    case PRICING_TIERS_PRICE_ABOVE_LIST:
        return "unit_price_cents must not exceed the product's list price";
    case PRICING_TIERS_PRICE_ORDER:
        return "unit prices must be strictly descending";
    case PRICING_TIERS_COST_RANGE:
        return "cost_price_cents must be from 0 to 100000000";
    }
    return "invalid tiers";
}

enum pricing_bands_fault
pricing_bands_validate(const struct pricing_deposit_band *bands, size_t n,
                       size_t *bad_index)
{
    enum pricing_bands_fault fault = PRICING_BANDS_OK;
    bool has_zero = false;
    size_t i, j, bad = 0;

    if (n == 0)
        return PRICING_BANDS_EMPTY;
    if (n > PRICING_MAX_BANDS)
        return PRICING_BANDS_TOO_MANY;
    for (i = 0; i < n && fault == PRICING_BANDS_OK; i++) {
        bad = i;
        if (bands[i].min_score < 0 || bands[i].min_score > PRICING_SCORE_MAX)
            fault = PRICING_BANDS_SCORE_RANGE;
        else if (bands[i].deposit_percent < 0 ||
                 bands[i].deposit_percent > PRICING_PERCENT_MAX)
            fault = PRICING_BANDS_PERCENT_RANGE;
    }
    for (i = 1; i < n && fault == PRICING_BANDS_OK; i++) {
        for (j = 0; j < i; j++) {
            if (bands[j].min_score == bands[i].min_score) {
                fault = PRICING_BANDS_DUPLICATE_SCORE;
                bad = i;
                break;
            }
        }
    }
    for (i = 0; i < n && fault == PRICING_BANDS_OK; i++) {
        for (j = 0; j < n; j++) {
            if (bands[j].min_score < bands[i].min_score &&
                bands[j].deposit_percent < bands[i].deposit_percent) {
                fault = PRICING_BANDS_PERCENT_ORDER;
                bad = i;
                break;
            }
        }
    }
    if (fault != PRICING_BANDS_OK) {
        if (bad_index)
            *bad_index = bad;
        return fault;
    }
    for (i = 0; i < n; i++)
        has_zero = has_zero || bands[i].min_score == 0;
    return has_zero ? PRICING_BANDS_OK : PRICING_BANDS_NO_ZERO;
}

const char *pricing_bands_fault_message(enum pricing_bands_fault fault)
{
    switch (fault) {
    case PRICING_BANDS_OK:
        return "deposit policy is valid";
    case PRICING_BANDS_EMPTY:
        return "at least one deposit band is required";
    case PRICING_BANDS_TOO_MANY:
        return "too many deposit bands (at most " PRICING_STR(
            PRICING_MAX_BANDS) ")";
    case PRICING_BANDS_SCORE_RANGE:
        return "min_score must be between 0 and 100";
    case PRICING_BANDS_PERCENT_RANGE:
        return "deposit_percent must be between 0 and 100";
    case PRICING_BANDS_DUPLICATE_SCORE:
        return "min_score values must be unique";
    case PRICING_BANDS_PERCENT_ORDER:
        return "deposit_percent must not rise with min_score";
    case PRICING_BANDS_NO_ZERO:
        return "a band with min_score 0 is required";
    }
    return "invalid deposit policy";
}

const struct pricing_deposit_band *
pricing_band_for_score(const struct pricing_deposit_band *bands, size_t n,
                       int64_t score)
{
    const struct pricing_deposit_band *best = NULL;

    for (size_t i = 0; i < n; i++) {
        if (bands[i].min_score <= score &&
            (best == NULL || bands[i].min_score > best->min_score))
            best = &bands[i];
    }
    return best;
}

bool pricing_deposit_cents(int64_t first_tier_price_cents, int64_t quantity,
                           int64_t deposit_percent, int64_t *out)
{
    int64_t gross;

    if (first_tier_price_cents < 0 || quantity < 0 || deposit_percent < 0 ||
        deposit_percent > PRICING_PERCENT_MAX)
        return false;
    if (!money_mul(first_tier_price_cents, quantity, &gross))
        return false;
    return money_mul_percent_ceil(gross, deposit_percent, out);
}

bool pricing_deposit_for_score(int64_t first_tier_price_cents,
                               const struct pricing_deposit_band *bands,
                               size_t n_bands, int64_t score, int64_t quantity,
                               int64_t *deposit_cents, int64_t *percent)
{
    const struct pricing_deposit_band *band;
    int64_t deposit;

    band = pricing_band_for_score(bands, n_bands, score);
    if (band == NULL)
        return false;
    if (!pricing_deposit_cents(first_tier_price_cents, quantity,
                               band->deposit_percent, &deposit))
        return false;
    *deposit_cents = deposit;
    if (percent)
        *percent = band->deposit_percent;
    return true;
}
