/*
 * settlement.c - settlement lines, totals and the reconciliation check.
 *
 * Pure integer arithmetic on int64 cents (see settlement.h for the table
 * and the invariants). Each function computes into locals and writes its
 * outputs only once every step has succeeded, so a false return never
 * leaves a half-updated line or total behind.
 */
#include "settlement.h"

static bool settlement_input_valid(const struct settlement_input *in)
{
    return (in->status == SETTLEMENT_PAID ||
            in->status == SETTLEMENT_DEFAULTED) &&
           in->quantity >= 1 && in->unit_price_cents >= 0 &&
           in->deposit_paid_cents >= 0 && in->cost_price_cents >= 0;
}

bool settlement_apply_bp(int64_t amount_cents, int64_t bp, int64_t *out)
{
    int64_t whole, part;

    if (amount_cents < 0 || bp < 0 || bp > SETTLEMENT_BP_ONE)
        return false;
    /* amount = 10000 q + r: q * bp <= amount and r * bp + 5000 < 10^8 + 5000,
     * so neither can overflow; checked anyway, for the reader. */
    int64_t q = amount_cents / SETTLEMENT_BP_ONE;
    int64_t r = amount_cents % SETTLEMENT_BP_ONE;
    if (__builtin_mul_overflow(q, bp, &whole) ||
        __builtin_mul_overflow(r, bp, &part) ||
        __builtin_add_overflow(part, SETTLEMENT_BP_ONE / 2, &part) ||
        __builtin_add_overflow(whole, part / SETTLEMENT_BP_ONE, &whole))
        return false;
    *out = whole;
    return true;
}

bool settlement_compute_line(const struct settlement_input *in,
                             int64_t commission_bp,
                             struct settlement_line *line)
{
    struct settlement_line l = {0};
    int64_t base;

    if (!settlement_input_valid(in))
        return false;
    if (in->status == SETTLEMENT_PAID) {
        if (__builtin_mul_overflow(in->unit_price_cents, in->quantity,
                                   &l.gross_cents) ||
            __builtin_mul_overflow(in->cost_price_cents, in->quantity,
                                   &l.manufacturer_cents))
            return false;
        base = l.gross_cents;
    } else {
        l.forfeited_cents = in->deposit_paid_cents;
        base = l.forfeited_cents;
    }
    if (!settlement_apply_bp(base, commission_bp, &l.commission_cents) ||
        __builtin_sub_overflow(base, l.commission_cents,
                               &l.distributor_net_cents) ||
        __builtin_sub_overflow(l.distributor_net_cents, l.manufacturer_cents,
                               &l.distributor_net_cents))
        return false;
    *line = l;
    return true;
}

bool settlement_add(struct settlement_totals *totals,
                    const struct settlement_input *in,
                    const struct settlement_line *line)
{
    struct settlement_totals t = *totals;
    bool paid = in->status == SETTLEMENT_PAID;

    if (__builtin_add_overflow(t.lines, 1, &t.lines) ||
        __builtin_add_overflow(t.paid_lines, paid ? 1 : 0, &t.paid_lines) ||
        __builtin_add_overflow(t.defaulted_lines, paid ? 0 : 1,
                               &t.defaulted_lines) ||
        __builtin_add_overflow(t.quantity, in->quantity, &t.quantity) ||
        __builtin_add_overflow(t.paid_quantity, paid ? in->quantity : 0,
                               &t.paid_quantity) ||
        __builtin_add_overflow(t.gross_cents, line->gross_cents,
                               &t.gross_cents) ||
        __builtin_add_overflow(t.forfeited_cents, line->forfeited_cents,
                               &t.forfeited_cents) ||
        __builtin_add_overflow(t.commission_cents, line->commission_cents,
                               &t.commission_cents) ||
        __builtin_add_overflow(t.manufacturer_cents, line->manufacturer_cents,
                               &t.manufacturer_cents) ||
        __builtin_add_overflow(t.distributor_net_cents,
                               line->distributor_net_cents,
                               &t.distributor_net_cents))
        return false;
    *totals = t;
    return true;
}

bool settlement_compute(const struct settlement_input *in, size_t n,
                        int64_t commission_bp, struct settlement_line *lines,
                        struct settlement_totals *totals)
{
    struct settlement_totals t = {0};

    for (size_t i = 0; i < n; i++) {
        struct settlement_line l;
        if (!settlement_compute_line(&in[i], commission_bp, &l) ||
            !settlement_add(&t, &in[i], &l))
            return false;
        if (lines)
            lines[i] = l;
    }
    *totals = t;
    return true;
}

bool settlement_reconcile(int64_t received_cents, int64_t refunded_cents,
                          const struct settlement_totals *totals,
                          int64_t *difference)
{
    int64_t kept, split, diff;

    if (received_cents < 0 || refunded_cents < 0 ||
        __builtin_sub_overflow(received_cents, refunded_cents, &kept) ||
        __builtin_add_overflow(totals->commission_cents,
                               totals->manufacturer_cents, &split) ||
        __builtin_add_overflow(split, totals->distributor_net_cents, &split) ||
        __builtin_sub_overflow(kept, split, &diff))
        return false;
    *difference = diff;
    return true;
}
