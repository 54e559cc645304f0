/*
 * money.h - integer money: minor units (cents, 分) in int64, checked.
 *
 * Invariants of this module:
 *  - No floating point ever touches an amount. Every amount is an int64
 *    number of minor units; every helper computes the exact mathematical
 *    result and either stores it in *out and returns true, or returns false
 *    and leaves *out untouched when the exact result (or an exact
 *    intermediate product) does not fit in int64. Nothing wraps, nothing
 *    saturates.
 *  - The rounding rule of the deposits (whole percent: ceiling, toward
 *    +infinity) lives here, as the join computes deposits in C. The
 *    basis-point rule of the settlement lives only in SQL (gb_apply_bp):
 *    settlement runs in the database, and C never applies a bp.
 *  - The text form is decimal major units with exactly two fraction digits
 *    and no grouping: "1234.50", "-0.05", "0.00", for every int64 (INT64_MIN
 *    included). It is the one writer of that form (the CSV export's money
 *    cells go through it).
 *
 * The module is pure: no I/O, no allocation, no global state.
 */
#ifndef GROUPBUYD_MONEY_H
#define GROUPBUYD_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes money_format needs, NUL included: "-92233720368547758.08" is 21. */
#define MONEY_FMT_MAX 22

/* *out = a * b (e.g. unit price * quantity). False on overflow. */
bool money_mul(int64_t a, int64_t b, int64_t *out)
    __attribute__((warn_unused_result));

/* *out = ceil(amount * percent / 100), the exact ceiling toward +infinity
 * (for a negative product that is toward zero). Any percent is accepted.
 * False when the exact product amount * percent does not fit in int64.
 * Deposit: money_mul(price, qty, &t) then money_mul_percent_ceil(t, pct). */
bool money_mul_percent_ceil(int64_t amount, int64_t percent, int64_t *out)
    __attribute__((warn_unused_result));

/* Whether code is a currency the system accounts in: an ISO 4217 code
 * whose minor unit is 2 decimals (amounts are minor units and every text
 * form prints exactly two), from a short explicit list: CNY, HKD, MOP, SGD,
 * USD, EUR, GBP. Case-sensitive; NULL is false. A currency with 0 or 3
 * decimals (JPY, KWD) would need another text form, so it is refused;
 * TWD is left out too (ISO says 2, but it is used without cents). */
bool money_currency_supported(const char *code)
    __attribute__((warn_unused_result));

/* Writes cents as decimal major units with two fraction digits ("1234.50",
 * "-0.05", "0.00", no grouping, no currency sign) and a NUL into buf.
 * Defined for every int64. Returns the length written, NUL excluded
 * (at most MONEY_FMT_MAX - 1). */
size_t money_format(int64_t cents, char buf[static MONEY_FMT_MAX]);

#endif
