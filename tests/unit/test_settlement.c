/*
 * test_settlement.c - settlement lines against hand-computed values.
 *
 * Tables: the rounding rule alone (half up at the .5 boundary, the
 * overflow-free split near INT64_MAX); whole lines (paid, defaulted, zero
 * and full commission, negative distributor net, big numbers, refusals);
 * totals of a campaign and the overflow of a sum; the reconciliation of a
 * campaign's money flows, to the cent and off by a cent.
 */
#include "settlement.h"
#include "unit.h"

#include <stdint.h>

#define PAID      SETTLEMENT_PAID
#define DEFAULTED SETTLEMENT_DEFAULTED

static void test_apply_bp(void)
{
    static const struct {
        int64_t amount, bp;
        bool ok;
        int64_t want;
    } cases[] = {
        {0, 500, true, 0},
        {1, 5000, true, 1},        /* 0.5 -> 1 (half up) */
        {3, 5000, true, 2},        /* 1.5 -> 2 */
        {1, 4999, true, 0},        /* 0.4999 -> 0 */
        {101, 50, true, 1},        /* 0.505 -> 1 */
        {99, 50, true, 0},         /* 0.495 -> 0 */
        {100, 50, true, 1},        /* 0.5 -> 1 */
        {17800, 500, true, 890},   /* exact */
        {1780, 500, true, 89},     /* 89.0 */
        {1790, 500, true, 90},     /* 89.5 -> 90 */
        {30, 500, true, 2},        /* 1.5 -> 2 */
        {9995, 10000, true, 9995}, /* 100 % */
        {9995, 0, true, 0},
        {INT64_MAX, 10000, true, INT64_MAX},
        {INT64_MAX, 1, true, 922337203685478}, /* ...477.58 -> 478 */
        {INT64_MAX - 1, 9999, true, 9222449699651090328LL},
        {INT64_MAX, 5000, true, 4611686018427387904LL}, /* .5 -> up */
        {-1, 500, false, 0},
        {100, -1, false, 0},
        {100, 10001, false, 0},
        {INT64_MIN, 500, false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = -7;
        bool ok = settlement_apply_bp(cases[i].amount, cases[i].bp, &got);
        CHECK_MSG(ok == cases[i].ok, "case %zu", i);
        CHECK_INT_EQ(got, ok ? cases[i].want : -7);
    }
}

struct line_case {
    const char *name;
    int64_t bp;
    struct settlement_input in;
    bool ok;
    struct settlement_line want;
};

/* {status, quantity, unit_price, deposit_paid, cost_price} ->
 * {gross, forfeited, commission, manufacturer, distributor_net} */
static const struct line_case line_cases[] = {
    {"paid 2 x 89.00, 5 %",
     500,
     {PAID, 2, 8900, 1780, 6000},
     true,
     {17800, 0, 890, 12000, 4910}},
    {"paid, commission 89.5 rounds up",
     500,
     {PAID, 1, 1790, 0, 1000},
     true,
     {1790, 0, 90, 1000, 700}},
    {"paid, commission 0.495 rounds down",
     50,
     {PAID, 1, 99, 0, 0},
     true,
     {99, 0, 0, 0, 99}},
    {"paid, commission 0.5 rounds up",
     5000,
     {PAID, 1, 1, 0, 0},
     true,
     {1, 0, 1, 0, 0}},
    {"paid, negative net kept",
     5000,
     {PAID, 3, 1, 0, 1},
     true,
     {3, 0, 2, 3, -2}},
    {"paid, zero commission",
     0,
     {PAID, 5, 1999, 600, 1500},
     true,
     {9995, 0, 0, 7500, 2495}},
    {"paid, 100 % commission",
     10000,
     {PAID, 5, 1999, 600, 1500},
     true,
     {9995, 0, 9995, 7500, -7500}},
    {"paid, deposit above price ignored",
     500,
     {PAID, 1, 2500, 3000, 2000},
     true,
     {2500, 0, 125, 2000, 375}},
    {"paid, price 0 (free sample)",
     500,
     {PAID, 1, 0, 0, 300},
     true,
     {0, 0, 0, 300, -300}},
    {"defaulted 2 x 89.00, 5 %",
     500,
     {DEFAULTED, 2, 8900, 1780, 6000},
     true,
     {0, 1780, 89, 0, 1691}},
    {"defaulted, 1.5 rounds up",
     500,
     {DEFAULTED, 1, 300, 30, 200},
     true,
     {0, 30, 2, 0, 28}},
    {"defaulted without deposit",
     500,
     {DEFAULTED, 4, 8900, 0, 6000},
     true,
     {0, 0, 0, 0, 0}},
    {"defaulted, zero commission",
     0,
     {DEFAULTED, 1, 8900, 890, 6000},
     true,
     {0, 890, 0, 0, 890}},
    {"big: gross INT64_MAX - 1, 99.99 %",
     9999,
     {PAID, 2, INT64_MAX / 2, 0, 0},
     true,
     {INT64_MAX - 1, 0, 9222449699651090328LL, 0, 922337203685478}},
    {"big: manufacturer above gross",
     100,
     {PAID, 1000000, 9000000000000LL, 0, 9200000000000LL},
     true,
     {9000000000000000000LL, 0, 90000000000000000LL, 9200000000000000000LL,
      -290000000000000000LL}},
    {"big: forfeited INT64_MAX",
     10000,
     {DEFAULTED, 1, 1, INT64_MAX, 0},
     true,
     {0, INT64_MAX, INT64_MAX, 0, 0}},
    {"overflow: gross", 500, {PAID, 2, INT64_MAX / 2 + 1, 0, 0}, false, {0}},
    {"overflow: manufacturer", 500, {PAID, 3, 1, 0, INT64_MAX / 2}, false, {0}},
    {"refused: quantity 0", 500, {PAID, 0, 100, 0, 50}, false, {0}},
    {"refused: negative price", 500, {PAID, 1, -100, 0, 50}, false, {0}},
    {"refused: negative deposit", 500, {DEFAULTED, 1, 100, -1, 50}, false, {0}},
    {"refused: negative cost", 500, {PAID, 1, 100, 0, -50}, false, {0}},
    {"refused: bp above 100 %", 10001, {PAID, 1, 100, 0, 50}, false, {0}},
    {"refused: negative bp", -1, {PAID, 1, 100, 0, 50}, false, {0}},
    {"refused: unknown status",
     500,
     {(enum settlement_status)7, 1, 100, 0, 50},
     false,
     {0}},
};

static void check_line(const struct settlement_line *got,
                       const struct settlement_line *want, const char *name)
{
    CHECK_MSG(got->gross_cents == want->gross_cents &&
                  got->forfeited_cents == want->forfeited_cents &&
                  got->commission_cents == want->commission_cents &&
                  got->manufacturer_cents == want->manufacturer_cents &&
                  got->distributor_net_cents == want->distributor_net_cents,
              "%s: got {%lld, %lld, %lld, %lld, %lld}", name,
              (long long)got->gross_cents, (long long)got->forfeited_cents,
              (long long)got->commission_cents,
              (long long)got->manufacturer_cents,
              (long long)got->distributor_net_cents);
}

static void test_lines(void)
{
    const struct settlement_line sentinel = {-1, -1, -1, -1, -1};

    for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        const struct line_case *c = &line_cases[i];
        struct settlement_line got = sentinel;
        bool ok = settlement_compute_line(&c->in, c->bp, &got);
        CHECK_MSG(ok == c->ok, "%s: returned %d", c->name, ok);
        check_line(&got, ok ? &c->want : &sentinel, c->name);
        if (!ok)
            continue;
        /* per-line invariants */
        __int128 in = (__int128)got.gross_cents + got.forfeited_cents;
        __int128 out = (__int128)got.commission_cents + got.manufacturer_cents +
                       got.distributor_net_cents;
        CHECK_MSG(in == out, "%s: split != gross + forfeited", c->name);
        CHECK_MSG(got.commission_cents >= 0 && got.commission_cents <= in,
                  "%s: commission out of range", c->name);
    }
}

static void test_totals(void)
{
    /* one campaign, final price 79.00, cost 60.00, commission 3.5 % */
    static const struct settlement_input in[] = {
        {PAID, 1, 7900, 0, 6000},    /* VIP, no deposit */
        {PAID, 2, 7900, 1980, 6000}, /* deposit 10 % of 2 x 99.00 */
        {DEFAULTED, 2, 7900, 1980, 6000},
        {PAID, 1, 7900, 2970, 6000},   /* deposit 30 % */
        {DEFAULTED, 1, 7900, 0, 6000}, /* defaulted without deposit */
    };
    const size_t n = sizeof in / sizeof in[0];
    struct settlement_line lines[5];
    struct settlement_totals t;
    /* by hand: gross 7900, 15800, 0, 7900, 0; forfeited 1980 on line 3;
     * commission (x * 350 + 5000) div 10000: 276.5 -> 277, 553, 69.3 -> 69,
     * 277, 0; manufacturer 6000, 12000, 0, 6000, 0 */
    static const struct settlement_line want[] = {
        {7900, 0, 277, 6000, 1623},
        {15800, 0, 553, 12000, 3247},
        {0, 1980, 69, 0, 1911},
        {7900, 0, 277, 6000, 1623},
        {0, 0, 0, 0, 0},
    };

    CHECK(settlement_compute(in, n, 350, lines, &t));
    for (size_t i = 0; i < n; i++)
        check_line(&lines[i], &want[i], "campaign line");
    CHECK_INT_EQ(t.lines, 5);
    CHECK_INT_EQ(t.paid_lines, 3);
    CHECK_INT_EQ(t.defaulted_lines, 2);
    CHECK_INT_EQ(t.quantity, 7);
    CHECK_INT_EQ(t.paid_quantity, 4);
    CHECK_INT_EQ(t.gross_cents, 31600);
    CHECK_INT_EQ(t.forfeited_cents, 1980);
    CHECK_INT_EQ(t.commission_cents, 1176);
    CHECK_INT_EQ(t.manufacturer_cents, 24000);
    CHECK_INT_EQ(t.distributor_net_cents, 8404);

    /* the same through settlement_add, and without lines */
    struct settlement_totals t2 = {0}, t3;
    for (size_t i = 0; i < n; i++)
        CHECK(settlement_add(&t2, &in[i], &lines[i]));
    CHECK(memcmp(&t, &t2, sizeof t) == 0);
    CHECK(settlement_compute(in, n, 350, NULL, &t3));
    CHECK(memcmp(&t, &t3, sizeof t) == 0);

    /* no lines: all zero */
    struct settlement_totals z;
    memset(&z, 0xab, sizeof z);
    CHECK(settlement_compute(NULL, 0, 350, NULL, &z));
    CHECK_INT_EQ(z.lines, 0);
    CHECK_INT_EQ(z.gross_cents, 0);
    CHECK_INT_EQ(z.distributor_net_cents, 0);

    /* a bad line anywhere refuses the whole, totals untouched */
    struct settlement_input bad[] = {in[0], in[1], {PAID, 0, 1, 0, 0}};
    struct settlement_totals keep;
    memset(&keep, 0x5a, sizeof keep);
    struct settlement_totals before = keep;
    CHECK(!settlement_compute(bad, 3, 350, NULL, &keep));
    CHECK(memcmp(&keep, &before, sizeof keep) == 0);

    /* each line fits, their sum does not */
    struct settlement_input huge[] = {{PAID, 1, INT64_MAX / 2 + 1, 0, 0},
                                      {PAID, 1, INT64_MAX / 2 + 1, 0, 0}};
    CHECK(!settlement_compute(huge, 2, 0, NULL, &keep));
    CHECK(memcmp(&keep, &before, sizeof keep) == 0);
    struct settlement_totals acc = {0};
    struct settlement_line hl;
    CHECK(settlement_compute_line(&huge[0], 0, &hl));
    CHECK(settlement_add(&acc, &huge[0], &hl));
    struct settlement_totals acc_before = acc;
    CHECK(!settlement_add(&acc, &huge[1], &hl));
    CHECK(memcmp(&acc, &acc_before, sizeof acc) == 0);
}

static void test_reconcile(void)
{
    /* money flows of the campaign in test_totals, plus one withdrawal:
     *   line 1: balance 7900 received
     *   line 2: deposit 1980 + balance 13820 received
     *   line 3: deposit 1980 received, forfeited
     *   line 4: deposit 2970 received; price 7900 -> balance 4930 received
     *   line 5: nothing
     *   withdrawn: deposit 990 received, 990 refunded (no line) */
    static const struct settlement_input in[] = {
        {PAID, 1, 7900, 0, 6000},         {PAID, 2, 7900, 1980, 6000},
        {DEFAULTED, 2, 7900, 1980, 6000}, {PAID, 1, 7900, 2970, 6000},
        {DEFAULTED, 1, 7900, 0, 6000},
    };
    struct settlement_totals t;
    int64_t received = 7900 + 1980 + 13820 + 1980 + 2970 + 4930 + 990;
    int64_t refunded = 990;
    int64_t diff = 42;

    CHECK(settlement_compute(in, 5, 350, NULL, &t));
    CHECK(settlement_reconcile(received, refunded, &t, &diff));
    CHECK_INT_EQ(diff, 0);
    CHECK(settlement_reconcile(received - 1, refunded, &t, &diff));
    CHECK_INT_EQ(diff, -1); /* a cent missing */
    CHECK(settlement_reconcile(received, refunded - 1, &t, &diff));
    CHECK_INT_EQ(diff, 1); /* a refund not paid */

    /* deposit above the final price: the excess is refunded */
    struct settlement_input over = {PAID, 1, 2500, 3000, 2000};
    CHECK(settlement_compute(&over, 1, 500, NULL, &t));
    CHECK(settlement_reconcile(3000, 500, &t, &diff));
    CHECK_INT_EQ(diff, 0);

    /* negative distributor net still reconciles */
    struct settlement_input loss = {PAID, 3, 1, 0, 1};
    CHECK(settlement_compute(&loss, 1, 5000, NULL, &t));
    CHECK_INT_EQ(t.distributor_net_cents, -2);
    CHECK(settlement_reconcile(3, 0, &t, &diff));
    CHECK_INT_EQ(diff, 0);

    /* refusals leave diff untouched */
    diff = 42;
    CHECK(!settlement_reconcile(-1, 0, &t, &diff));
    CHECK(!settlement_reconcile(0, -1, &t, &diff));
    struct settlement_totals big = {0};
    big.commission_cents = INT64_MAX;
    big.manufacturer_cents = 1;
    CHECK(!settlement_reconcile(0, 0, &big, &diff));
    big.manufacturer_cents = 0;
    big.distributor_net_cents = INT64_MIN + 1; /* split = 0 */
    CHECK(settlement_reconcile(INT64_MAX, 0, &big, &diff));
    CHECK_INT_EQ(diff, INT64_MAX);
    big.distributor_net_cents = -1; /* split = INT64_MAX - 1 */
    diff = 42; /* kept = -INT64_MAX, kept - split does not fit */
    CHECK(!settlement_reconcile(0, INT64_MAX, &big, &diff));
    CHECK_INT_EQ(diff, 42);
}

int main(void)
{
    test_apply_bp();
    test_lines();
    test_totals();
    test_reconcile();
    return unit_summary("settlement");
}
