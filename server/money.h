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
 *  - One rounding rule per kind of percentage, the ones of DESIGN.md:
 *      basis points (10000 = 100 %): round to nearest, half away from zero.
 *        For x >= 0 this is exactly "(x * bp + 5000) div 10000"; for x < 0
 *        it is the mirror image, so money_mul_bp(-x, bp) ==
 *        -money_mul_bp(x, bp) and a reversal cancels its original to the
 *        cent. (The SQL form "(x * bp + 5000) / 10000" is only correct for
 *        x * bp >= 0, since SQL division truncates toward zero.)
 *      whole percent (deposits): ceiling, toward +infinity.
 *  - The text form is decimal major units with exactly two fraction digits
 *    and no grouping: "1234.50", "-0.05", "0.00". money_format writes it for
 *    every int64 (INT64_MIN included) and money_parse reads exactly the
 *    strings money_format writes, nothing else.
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

/* Basis points in one whole (100 %). */
#define MONEY_BP_ONE 10000

/* *out = a + b. False on overflow. */
bool money_add(int64_t a, int64_t b, int64_t *out)
    __attribute__((warn_unused_result));

/* *out = a - b. False on overflow. */
bool money_sub(int64_t a, int64_t b, int64_t *out)
    __attribute__((warn_unused_result));

/* *out = a * b (e.g. unit price * quantity). False on overflow. */
bool money_mul(int64_t a, int64_t b, int64_t *out)
    __attribute__((warn_unused_result));

/* *out = amount * bp / 10000 rounded to nearest, half away from zero; for
 * amount * bp >= 0 that is "(amount * bp + 5000) div 10000" of DESIGN.md.
 * Any bp is accepted (the caller range-checks its own fields, e.g. a
 * commission_bp in 0..10000). False when the exact product amount * bp does
 * not fit in int64; the rounding step itself never overflows. */
bool money_mul_bp(int64_t amount, int64_t bp, int64_t *out)
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

/* Strict inverse of money_format. s must be NUL-terminated and be exactly
 *   "-"? ("0" | [1-9][0-9]*) "." [0-9][0-9]
 * with the value in int64 range; "-0.00" is refused (money_format never
 * writes it), as are "+1.00", "1.5", "01.00", ".50", "1,000.00", blanks and
 * anything trailing. True and *out in cents, else false and *out untouched. */
bool money_parse(const char *s, int64_t *out)
    __attribute__((warn_unused_result));

#endif
