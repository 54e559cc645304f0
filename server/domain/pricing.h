/*
 * pricing.h - tier ladders as input, and deposit bands.
 *
 * A campaign's price is a step function of its count, given as a ladder of
 * tiers {threshold, unit_price_cents}. The price itself (the current and
 * the final one, the progress, the tiers announced, the rule that an edit
 * raises no count's price) is computed in one place, the database
 * (schema/functions/pricing.sql). This module checks a ladder given as
 * input, with a message per fault, before it is written.
 *
 * Invariants of a valid ladder (pricing_tiers_validate, DESIGN.md "Campaign
 * rules"): 1..PRICING_MAX_TIERS tiers; the first threshold is 1; thresholds
 * strictly ascending and at most PRICING_QUANTITY_MAX; prices strictly
 * descending; every price in [1, min(list price, PRICING_PRICE_MAX_CENTS)];
 * a tier's cost, when it has one, in [0, PRICING_PRICE_MAX_CENTS] (the
 * bound of a product's cost price). The schema holds the same shape for a
 * stored ladder.
 *
 * A deposit policy is a set of bands {min_score, deposit_percent}
 * (pricing_bands_validate): 1..PRICING_MAX_BANDS bands in any order;
 * min_score in 0..100 and unique; deposit_percent in 0..100; one band has
 * min_score 0, so every score 0..100 falls in exactly one band; and the
 * percent never rises with the score (a better customer never puts more
 * money down than a worse one). The band for a score is the one with the
 * highest min_score <= score.
 *
 * Money here goes through money.h: no floating point, overflow refused.
 * The module is pure: no I/O, no allocation, no global state besides the
 * constant default policy.
 */
#ifndef GROUPBUYD_PRICING_H
#define GROUPBUYD_PRICING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRICING_MAX_TIERS   20
#define PRICING_MAX_BANDS   20
#define PRICING_SCORE_MAX   100
#define PRICING_PERCENT_MAX 100

/*
 * Bounds on what enters the system, chosen so that no amount computed from
 * valid input can overflow: a product's list and cost prices,
 * hence every tier price, are at most PRICING_PRICE_MAX_CENTS (10^8 cents,
 * 1,000,000.00 a unit); a campaign's max_quantity, hence per_customer_limit,
 * every join's quantity and every tier threshold, at most
 * PRICING_QUANTITY_MAX (10^6 units). Every amount of a campaign is then at
 * most PRICING_AMOUNT_MAX = 10^14 cents in magnitude:
 *  - a line's gross (final price x quantity) and manufacturer share (cost
 *    price x quantity): quantity <= max_quantity, so <= 10^8 x 10^6;
 *  - a deposit: ceil(first price x quantity x percent / 100) <= gross,
 *    with the intermediate x percent <= 10^16;
 *  - the campaign's totals: the quantities of its paid lines sum to at most
 *    max_quantity (the live-quantity invariant), so each total is bounded
 *    like one line; commission <= gross + forfeited; distributor_net lies
 *    in [-manufacturer, gross + forfeited];
 *  - commission's product amount x commission_bp <= 10^14 x 10^4 = 10^18
 *    < 2^63, even computed naively in bigint.
 * 10^14 is also far inside +-2^53 (about 9.007 x 10^15), the integers a
 * JSON client reads exactly. A cost price above the list price is allowed
 * (a loss leader is legitimate business): it is bounded the same way.
 * Stock is never multiplied by money, so it gets a wider bound.
 */
#define PRICING_PRICE_MAX_CENTS INT64_C(100000000)
#define PRICING_QUANTITY_MAX    INT64_C(1000000)
#define PRICING_AMOUNT_MAX      (PRICING_PRICE_MAX_CENTS * PRICING_QUANTITY_MAX)
#define PRICING_STOCK_MAX       INT64_C(1000000000)

/* A tier may carry the manufacturer's price at its volume
 * (cost_price_cents, when has_cost): settlement pays the final tier's cost
 * for every unit, the product's cost price when it has none. A cost may
 * exceed the tier's price (a loss leader, as a product's may). */
struct pricing_tier {
    int64_t threshold;
    int64_t unit_price_cents;
    int64_t cost_price_cents;
    bool has_cost;
};

/* What a campaign's count counts (field tier_basis). */
enum pricing_basis {
    PRICING_BASIS_PARTICIPANTS, /* live participations */
    PRICING_BASIS_QUANTITY,     /* sum of their quantities */
};

/* "participants" / "quantity"; NULL for a value outside the enum. */
const char *pricing_basis_name(enum pricing_basis basis);

/* Reads the API/SQL name (case-sensitive). False for any other string. */
bool pricing_basis_from_name(const char *name, enum pricing_basis *out)
    __attribute__((warn_unused_result));

/* Why a ladder is refused. For every value but OK, EMPTY and TOO_MANY the
 * validator also names the index of the first faulty tier. */
enum pricing_tiers_fault {
    PRICING_TIERS_OK = 0,
    PRICING_TIERS_EMPTY,               /* no tier */
    PRICING_TIERS_TOO_MANY,            /* more than PRICING_MAX_TIERS */
    PRICING_TIERS_FIRST_NOT_ONE,       /* tiers[0].threshold != 1 */
    PRICING_TIERS_THRESHOLD_ORDER,     /* threshold <= the previous one */
    PRICING_TIERS_THRESHOLD_ABOVE_MAX, /* threshold > PRICING_QUANTITY_MAX */
    PRICING_TIERS_PRICE_BELOW_ONE,     /* unit_price_cents < 1 */
    PRICING_TIERS_PRICE_ABOVE_MAX,     /* unit_price_cents > the price bound */
    PRICING_TIERS_PRICE_ABOVE_LIST,    /* unit_price_cents > list price */
    PRICING_TIERS_PRICE_ORDER,         /* price >= the previous one */
    PRICING_TIERS_COST_RANGE, /* cost_price_cents outside 0..the price bound */
};

/* Checks a ladder against the rules above, for a product whose list price
 * is list_price_cents. Tiers are examined in order and, within a tier, in
 * the order of the enum, so the answer is the first fault met. On a fault
 * other than EMPTY or TOO_MANY, *bad_index (when not NULL) is the index of
 * the faulty tier; otherwise *bad_index is left untouched. */
enum pricing_tiers_fault
pricing_tiers_validate(const struct pricing_tier *tiers, size_t n,
                       int64_t list_price_cents, size_t *bad_index)
    __attribute__((warn_unused_result));

/* A human sentence for a fault, without the index, e.g. "thresholds must be
 * strictly ascending". Never NULL. */
const char *pricing_tiers_fault_message(enum pricing_tiers_fault fault);

struct pricing_deposit_band {
    int64_t min_score;
    int64_t deposit_percent;
};

/* DESIGN.md's default policy: >= 80 -> 0 %, >= 50 -> 10 %, else 30 %,
 * listed from the highest min_score down as in API.md. */
#define PRICING_DEFAULT_BANDS 3
extern const struct pricing_deposit_band
    pricing_default_deposit_policy[PRICING_DEFAULT_BANDS];

/* Why a deposit policy is refused. For every value but OK, EMPTY, TOO_MANY
 * and NO_ZERO the validator also names the index of the faulty band. */
enum pricing_bands_fault {
    PRICING_BANDS_OK = 0,
    PRICING_BANDS_EMPTY,           /* no band */
    PRICING_BANDS_TOO_MANY,        /* more than PRICING_MAX_BANDS */
    PRICING_BANDS_SCORE_RANGE,     /* min_score outside 0..100 */
    PRICING_BANDS_PERCENT_RANGE,   /* deposit_percent outside 0..100 */
    PRICING_BANDS_DUPLICATE_SCORE, /* min_score equal to an earlier band's */
    PRICING_BANDS_PERCENT_ORDER,   /* percent above a lower band's percent */
    PRICING_BANDS_NO_ZERO,         /* no band with min_score 0 */
};

/* Checks a deposit policy against the rules above. Checks run in passes:
 * count, then each band's ranges in order, then duplicates (the later band
 * of a pair is named), then the percent order (the band with the higher
 * min_score is named), then the band at 0. *bad_index (when not NULL) is set
 * for the faults that name a band and left untouched otherwise. */
enum pricing_bands_fault
pricing_bands_validate(const struct pricing_deposit_band *bands, size_t n,
                       size_t *bad_index) __attribute__((warn_unused_result));

/* A human sentence for a fault, without the index. Never NULL. */
const char *pricing_bands_fault_message(enum pricing_bands_fault fault);

/* The band with the highest min_score <= score, or NULL when none (only
 * possible for a policy without a band at 0, or a negative score). Bands
 * may be in any order; a score above 100 gets the highest band. */
const struct pricing_deposit_band *
pricing_band_for_score(const struct pricing_deposit_band *bands, size_t n,
                       int64_t score);

/* deposit = ceil(first_tier_price_cents * quantity * deposit_percent / 100)
 * (DESIGN.md). False when first_tier_price_cents < 0, quantity < 0,
 * deposit_percent is outside 0..100, or the exact product overflows int64;
 * *out untouched then. */
bool pricing_deposit_cents(int64_t first_tier_price_cents, int64_t quantity,
                           int64_t deposit_percent, int64_t *out)
    __attribute__((warn_unused_result));

/* The deposit a customer of this score owes on joining with quantity units:
 * the band for the score, applied to the first tier's price (the stored
 * ladder's first; functions/pricing.sql reads it). False when no band
 * covers the score or pricing_deposit_cents refuses; on success *percent
 * (when not NULL) is the band's percent. */
bool pricing_deposit_for_score(int64_t first_tier_price_cents,
                               const struct pricing_deposit_band *bands,
                               size_t n_bands, int64_t score, int64_t quantity,
                               int64_t *deposit_cents, int64_t *percent)
    __attribute__((warn_unused_result));

#endif
