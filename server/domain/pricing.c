/*
 * pricing.c - tier ladders, progress and deposit bands (see pricing.h).
 *
 * Ladders and policies are tiny (at most 20 entries), so lookups are linear
 * scans and the raise check walks the merged breakpoints of both ladders.
 * Functions that take a "valid ladder" assert it in debug builds; the
 * handlers guarantee it by validating on the way in, and the schema keeps
 * what is stored valid.
 */
#include "domain/pricing.h"

#include <assert.h>
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

int64_t pricing_count(enum pricing_basis basis, int64_t participants,
                      int64_t quantity)
{
    return basis == PRICING_BASIS_QUANTITY ? quantity : participants;
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
    }
    return "invalid tiers";
}

/* Index of the tier that prices count: greatest threshold <= max(count, 1).
 * A valid ladder starts at 1, so tier 0 always qualifies. */
static size_t pricing_tier_index(const struct pricing_tier *tiers, size_t n,
                                 int64_t count)
{
    size_t i = 0;

    assert(n > 0 && tiers[0].threshold == 1);
    if (count < 1)
        count = 1;
    while (i + 1 < n && tiers[i + 1].threshold <= count)
        i++;
    return i;
}

int64_t pricing_unit_price(const struct pricing_tier *tiers, size_t n,
                           int64_t count)
{
    assert(count >= 0);
    return tiers[pricing_tier_index(tiers, n, count)].unit_price_cents;
}

bool pricing_next_tier(const struct pricing_tier *tiers, size_t n,
                       int64_t count, struct pricing_tier *next,
                       int64_t *needed)
{
    size_t i;

    assert(count >= 0);
    i = pricing_tier_index(tiers, n, count);
    if (i + 1 >= n)
        return false;
    *next = tiers[i + 1];
    *needed = next->threshold - count;
    return true;
}

bool pricing_threshold_reached(int64_t participants, int64_t min_participants)
{
    return participants >= min_participants;
}

void pricing_progress_compute(const struct pricing_tier *tiers, size_t n,
                              enum pricing_basis basis, int64_t participants,
                              int64_t quantity, int64_t min_participants,
                              int64_t max_quantity,
                              struct pricing_progress *out)
{
    int64_t count = pricing_count(basis, participants, quantity);

    assert(participants >= 0 && quantity >= 0);
    memset(out, 0, sizeof *out);
    out->participants = participants;
    out->quantity = quantity;
    out->remaining_quantity =
        quantity < max_quantity ? max_quantity - quantity : 0;
    out->current_unit_price_cents = pricing_unit_price(tiers, n, count);
    out->has_next_tier = pricing_next_tier(tiers, n, count, &out->next_tier,
                                           &out->next_tier_needed);
    out->threshold_reached =
        pricing_threshold_reached(participants, min_participants);
}

bool pricing_tiers_raise_price(const struct pricing_tier *old_tiers,
                               size_t n_old,
                               const struct pricing_tier *new_tiers,
                               size_t n_new, int64_t *first_count)
{
    size_t i = 0, j = 0;

    assert(n_old > 0 && old_tiers[0].threshold == 1);
    assert(n_new > 0 && new_tiers[0].threshold == 1);
    /* Walk the union of both threshold sets in ascending order. Both price
     * functions are constant from one breakpoint to the next, so the first
     * breakpoint where the new price is higher is the first count raised.
     * (Since valid prices only fall, a raised stretch always starts at an
     * old threshold; visiting the new ones too keeps the check exact without
     * leaning on that.) */
    while (i < n_old || j < n_new) {
        int64_t b;

        if (j >= n_new ||
            (i < n_old && old_tiers[i].threshold <= new_tiers[j].threshold))
            b = old_tiers[i].threshold;
        else
            b = new_tiers[j].threshold;
        if (pricing_unit_price(new_tiers, n_new, b) >
            pricing_unit_price(old_tiers, n_old, b)) {
            if (first_count)
                *first_count = b;
            return true;
        }
        while (i < n_old && old_tiers[i].threshold <= b)
            i++;
        while (j < n_new && new_tiers[j].threshold <= b)
            j++;
    }
    return false;
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
