/*
 * settlement.h - the money split of a succeeded campaign (结算), in cents.
 *
 * One settlement line per participation that ended `paid` or `defaulted`
 * (DESIGN.md, "Settlement"):
 *
 *   field                  paid line                  defaulted line
 *   gross_cents            unit_price * quantity      0
 *   forfeited_cents        0                          deposit_paid
 *   commission_cents       round(gross * bp)          round(forfeited * bp)
 *   manufacturer_cents     cost_price * quantity      0
 *   distributor_net_cents  gross - commission - mfr   forfeited - commission
 *
 * where round(x * bp) = (x * commission_bp + 5000) div 10000, i.e. half up
 * (x >= 0 here, so half up and half away from zero agree). It is computed
 * as q * bp + (r * bp + 5000) div 10000 with x = 10000 q + r, which equals
 * the formula exactly and cannot overflow for any x and any bp <= 10000.
 *
 * Invariants, for every line and therefore for the totals:
 *   commission + manufacturer + distributor_net == gross + forfeited
 *   0 <= commission <= gross + forfeited
 * distributor_net may be negative (cost price * quantity above what the
 * line brought in, e.g. a loss-leader campaign); it is kept as a plain
 * negative number, never clamped, so that the sums still reconcile.
 *
 * Reconciliation (exposed to finance): over a campaign,
 *   received - refunded == sum commission + sum manufacturer + sum net
 * where received = deposits + balances taken in and refunded = everything
 * paid back. settlement_reconcile returns the left side minus the right;
 * zero means the books close to the cent.
 *
 * Every operation is checked (__builtin_*_overflow): a result that would not
 * fit int64 makes the function return false and leaves its outputs
 * untouched. Inputs are validated (no negative amount, quantity >= 1,
 * 0 <= commission_bp <= 10000). The module is pure: no I/O, no allocation.
 */
#ifndef GROUPBUYD_SETTLEMENT_H
#define GROUPBUYD_SETTLEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SETTLEMENT_BP_ONE 10000 /* 100 % in basis points */

/* How the participation ended; only these two get a settlement line. */
enum settlement_status {
    SETTLEMENT_PAID,      /* paid the final price in full */
    SETTLEMENT_DEFAULTED, /* let the payment window pass: deposit forfeited */
};

/* What the database knows of one participation at settlement time. */
struct settlement_input {
    enum settlement_status status;
    int64_t quantity;           /* >= 1 */
    int64_t unit_price_cents;   /* the campaign's final unit price, >= 0 */
    int64_t deposit_paid_cents; /* deposit actually received, >= 0 */
    int64_t cost_price_cents;   /* product cost price per unit, >= 0 */
};

/* One settlement line; see the table above. */
struct settlement_line {
    int64_t gross_cents;
    int64_t forfeited_cents;
    int64_t commission_cents;
    int64_t manufacturer_cents;
    int64_t distributor_net_cents; /* may be negative */
};

/* Sums over the lines of one campaign. `quantity` sums every line (paid and
 * defaulted, as "totals are sums of the lines"); `paid_quantity` only the
 * units actually sold. Zero-initialise before the first settlement_add. */
struct settlement_totals {
    int64_t lines;
    int64_t paid_lines;
    int64_t defaulted_lines;
    int64_t quantity;
    int64_t paid_quantity;
    int64_t gross_cents;
    int64_t forfeited_cents;
    int64_t commission_cents;
    int64_t manufacturer_cents;
    int64_t distributor_net_cents;
};

/* (amount * bp + 5000) div 10000, exactly, into *out. False when amount < 0
 * or bp is outside [0, 10000]. */
bool settlement_apply_bp(int64_t amount_cents, int64_t bp, int64_t *out)
    __attribute__((warn_unused_result));

/* Fills *line from *in with commission_bp. False (line untouched) when an
 * input is out of range (see the file comment) or a result overflows. */
bool settlement_compute_line(const struct settlement_input *in,
                             int64_t commission_bp,
                             struct settlement_line *line)
    __attribute__((warn_unused_result));

/* Adds one line (and its input's quantity and status) to *totals. False
 * (totals untouched) on overflow. */
bool settlement_add(struct settlement_totals *totals,
                    const struct settlement_input *in,
                    const struct settlement_line *line)
    __attribute__((warn_unused_result));

/* Computes lines[0..n) from in[0..n) and *totals as their sums (totals is
 * overwritten, not added to). lines may be NULL when only the totals are
 * wanted. False on the first invalid input or overflow; then *totals is
 * untouched and lines[] may be partly written. */
bool settlement_compute(const struct settlement_input *in, size_t n,
                        int64_t commission_bp, struct settlement_line *lines,
                        struct settlement_totals *totals)
    __attribute__((warn_unused_result));

/* *difference = (received - refunded) - (commission + manufacturer +
 * distributor_net) over *totals; 0 means reconciled. False (difference
 * untouched) on overflow or a negative received or refunded. */
bool settlement_reconcile(int64_t received_cents, int64_t refunded_cents,
                          const struct settlement_totals *totals,
                          int64_t *difference)
    __attribute__((warn_unused_result));

#endif
