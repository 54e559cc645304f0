/*
 * tier_price.c - the C side of the tier price, for the test that holds it
 * against SQL's gb_tier_price (tests/api/schema/test_domain_twins.py).
 *
 * The price of a count lives twice: pricing_unit_price in C answers the
 * progress and the participation, gb_tier_price in SQL fixes the final
 * price at close. This filter runs the C one: each input line is
 *
 *   count n threshold_1 price_1 ... threshold_n price_n
 *
 * and each output line is the unit price at count, or "invalid" when the
 * ladder does not pass pricing_tiers_validate (the test sends only valid
 * ones, so "invalid" means the generator and the validator disagree).
 * Exits 2 on malformed input.
 */
#include <inttypes.h>
#include <stdio.h>

#include "domain/pricing.h"

int main(void)
{
    int64_t count;
    size_t n;

    while (scanf("%" SCNd64 " %zu", &count, &n) == 2) {
        struct pricing_tier tiers[PRICING_MAX_TIERS];

        if (n < 1 || n > PRICING_MAX_TIERS || count < 0)
            return 2;
        for (size_t i = 0; i < n; i++)
            if (scanf("%" SCNd64 " %" SCNd64, &tiers[i].threshold,
                      &tiers[i].unit_price_cents) != 2)
                return 2;
        if (pricing_tiers_validate(tiers, n, INT64_MAX, NULL) !=
            PRICING_TIERS_OK)
            puts("invalid");
        else
            printf("%" PRId64 "\n", pricing_unit_price(tiers, n, count));
    }
    return feof(stdin) ? 0 : 2;
}
