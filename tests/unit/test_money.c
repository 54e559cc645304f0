/*
 * test_money.c - money.h: checked arithmetic, both rounding rules, the text
 * form and its strict parser. Tables of cases, then randomised cross-checks
 * against 128-bit reference arithmetic.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct binop_case {
    int64_t a, b;
    bool ok;
    int64_t want;
};

static const struct binop_case add_cases[] = {
    {0, 0, true, 0},
    {1, 2, true, 3},
    {-5, 3, true, -2},
    {INT64_MAX, 0, true, INT64_MAX},
    {INT64_MAX - 1, 1, true, INT64_MAX},
    {INT64_MAX, 1, false, 0},
    {INT64_MAX, INT64_MAX, false, 0},
    {INT64_MIN, 0, true, INT64_MIN},
    {INT64_MIN + 1, -1, true, INT64_MIN},
    {INT64_MIN, -1, false, 0},
    {INT64_MIN, INT64_MIN, false, 0},
    {INT64_MIN, INT64_MAX, true, -1},
};

static const struct binop_case sub_cases[] = {
    {0, 0, true, 0},
    {3, 5, true, -2},
    {INT64_MAX, -1, false, 0},
    {INT64_MAX, 0, true, INT64_MAX},
    {INT64_MIN, 1, false, 0},
    {INT64_MIN, -1, true, INT64_MIN + 1},
    {0, INT64_MIN, false, 0},
    {-1, INT64_MIN, true, INT64_MAX},
    {0, INT64_MAX, true, -INT64_MAX},
};

static const struct binop_case mul_cases[] = {
    {0, 0, true, 0},
    {9900, 3, true, 29700},
    {-7, 6, true, -42},
    {INT64_MAX, 1, true, INT64_MAX},
    {INT64_MAX, -1, true, -INT64_MAX},
    {INT64_MAX, 2, false, 0},
    {INT64_MIN, 1, true, INT64_MIN},
    {INT64_MIN, -1, false, 0},
    {-1, INT64_MIN, false, 0},
    {INT64_MIN, 0, true, 0},
    {3037000499, 3037000499, true, 9223372030926249001},
    {3037000500, 3037000500, false, 0},
    {4611686018427387904, 2, false, 0},
    {-4611686018427387904, 2, true, INT64_MIN},
};

/* money_mul_bp: half away from zero; "(x*bp + 5000) div 10000" for x >= 0. */
static const struct binop_case bp_cases[] = {
    {0, 250, true, 0},
    {10000, 250, true, 250},
    {1, 5000, true, 1},  /* 0.5 -> 1 */
    {1, 4999, true, 0},  /* 0.4999 -> 0 */
    {3, 5000, true, 2},  /* 1.5 -> 2 */
    {5, 5000, true, 3},  /* 2.5 -> 3: half up, not to even */
    {199, 250, true, 5}, /* 4.975 -> 5 */
    {180, 250, true, 5}, /* 4.5 -> 5 */
    {179, 250, true, 4}, /* 4.475 -> 4 */
    {123456, 10000, true, 123456},
    {123456, 0, true, 0},
    {99, 1, true, 0},      /* 0.0099 -> 0 */
    {5000, 1, true, 1},    /* 0.5 -> 1 */
    {-1, 5000, true, -1},  /* -0.5 -> -1, mirror of 1 */
    {-1, 4999, true, 0},   /* -0.4999 -> 0 */
    {-3, 5000, true, -2},  /* -1.5 -> -2 */
    {-180, 250, true, -5}, /* -4.5 -> -5 */
    {-179, 250, true, -4},
    {-15001, 1, true, -2}, /* -1.5001 -> -2 (SQL's formula says -1) */
    {180, -250, true, -5}, /* negative bp: the product's sign counts */
    {-180, -250, true, 5},
    {INT64_MAX, 1, true, 922337203685478}, /* .5807 -> up */
    {INT64_MIN, 1, true, -922337203685478},
    {INT64_MAX / 10000, 10000, true, INT64_MAX / 10000},
    {INT64_MAX, 10000, false, 0},
    {INT64_MAX / 2 + 1, 2, false, 0},
    {INT64_MIN, -1, false, 0},
};

/* money_mul_percent_ceil: exact ceiling toward +infinity. */
static const struct binop_case pct_cases[] = {
    {0, 30, true, 0},
    {9900, 10, true, 990},
    {999, 30, true, 300}, /* 299.7 -> 300 */
    {1, 1, true, 1},      /* 0.01 -> 1 */
    {100, 1, true, 1},
    {101, 1, true, 2},    /* 1.01 -> 2 */
    {199, 50, true, 100}, /* 99.5 -> 100 */
    {200, 50, true, 100},
    {12345, 100, true, 12345},
    {12345, 0, true, 0},
    {-1, 1, true, 0},    /* -0.01 -> 0 (toward +inf) */
    {-101, 1, true, -1}, /* -1.01 -> -1 */
    {-100, 1, true, -1},
    {101, -1, true, -1},
    {INT64_MAX, 1, true, INT64_MAX / 100 + 1},
    {INT64_MIN, 1, true, INT64_MIN / 100},
    {INT64_MAX, 100, false, 0},
    {INT64_MAX / 100, 100, true, INT64_MAX / 100},
    {INT64_MAX / 100 + 1, 100, false, 0},
};

typedef bool (*binop_fn)(int64_t, int64_t, int64_t *);

static void run_binop(const char *name, binop_fn fn,
                      const struct binop_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct binop_case *c = &cases[i];
        int64_t out = 777;
        bool ok = fn(c->a, c->b, &out);

        CHECK_MSG(ok == c->ok, "%s case %zu (%" PRId64 ", %" PRId64 "): ok %d",
                  name, i, c->a, c->b, ok);
        if (c->ok)
            CHECK_MSG(out == c->want,
                      "%s case %zu (%" PRId64 ", %" PRId64 "): got %" PRId64
                      ", want %" PRId64,
                      name, i, c->a, c->b, out, c->want);
        else
            CHECK_MSG(out == 777, "%s case %zu: *out written on refusal", name,
                      i);
    }
}

struct format_case {
    int64_t cents;
    const char *text;
};

static const struct format_case format_cases[] = {
    {0, "0.00"},
    {1, "0.01"},
    {5, "0.05"},
    {-5, "-0.05"},
    {10, "0.10"},
    {99, "0.99"},
    {100, "1.00"},
    {-100, "-1.00"},
    {123450, "1234.50"},
    {123456, "1234.56"},
    {-123456, "-1234.56"},
    {100000000, "1000000.00"},
    {INT64_MAX, "92233720368547758.07"},
    {INT64_MIN, "-92233720368547758.08"},
    {INT64_MIN + 1, "-92233720368547758.07"},
};

struct parse_case {
    const char *text;
    bool ok;
    int64_t want;
};

static const struct parse_case parse_cases[] = {
    {"0.00", true, 0},
    {"0.01", true, 1},
    {"-0.05", true, -5},
    {"1234.50", true, 123450},
    {"-1234.56", true, -123456},
    {"10.00", true, 1000},
    {"92233720368547758.07", true, INT64_MAX},
    {"-92233720368547758.08", true, INT64_MIN},
    {"92233720368547758.08", false, 0},  /* INT64_MAX + 1 */
    {"-92233720368547758.09", false, 0}, /* below INT64_MIN */
    {"99999999999999999999999999.00", false, 0},
    {"184467440737095516.16", false, 0}, /* 2^64 cents: wraps uint64 */
    {"-0.00", false, 0},
    {"", false, 0},
    {"-", false, 0},
    {".50", false, 0},
    {"-.50", false, 0},
    {"1", false, 0},
    {"1.", false, 0},
    {"1.5", false, 0},
    {"1.500", false, 0},
    {"01.00", false, 0},
    {"00.00", false, 0},
    {"-01.00", false, 0},
    {"+1.00", false, 0},
    {" 1.00", false, 0},
    {"1.00 ", false, 0},
    {"1,000.00", false, 0},
    {"1.0a", false, 0},
    {"1e2.00", false, 0},
    {"--1.00", false, 0},
    {"1.-5", false, 0},
    {"0x10.00", false, 0},
    {"1.00\n", false, 0},
};

static void test_format(void)
{
    for (size_t i = 0; i < N_ELEMS(format_cases); i++) {
        char buf[MONEY_FMT_MAX];
        size_t len = money_format(format_cases[i].cents, buf);

        CHECK_STR_EQ(buf, format_cases[i].text);
        CHECK_INT_EQ(len, strlen(format_cases[i].text));
        CHECK(len <= MONEY_FMT_MAX - 1);
    }
}

static void test_currency(void)
{
    static const struct {
        const char *code;
        bool ok;
    } cases[] = {
        {"CNY", true},  {"HKD", true},   {"MOP", true},   {"SGD", true},
        {"USD", true},  {"EUR", true},   {"GBP", true},   {"cny", false},
        {"Cny", false}, {"JPY", false},  {"KWD", false},  {"TWD", false},
        {"XXX", false}, {"ABC", false},  {"CN", false},   {"CNYY", false},
        {"", false},    {" CNY", false}, {"CNY ", false}, {NULL, false},
    };

    for (size_t i = 0; i < N_ELEMS(cases); i++)
        CHECK_MSG(money_currency_supported(cases[i].code) == cases[i].ok,
                  "currency %s", cases[i].code ? cases[i].code : "NULL");
}

static void test_parse(void)
{
    for (size_t i = 0; i < N_ELEMS(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        int64_t out = 777;
        bool ok = money_parse(c->text, &out);

        CHECK_MSG(ok == c->ok, "parse \"%s\": ok %d", c->text, ok);
        CHECK_INT_EQ(out, c->ok ? c->want : 777);
    }
    /* Every formatted edge parses back. */
    for (size_t i = 0; i < N_ELEMS(format_cases); i++) {
        int64_t out = 0;

        CHECK(money_parse(format_cases[i].text, &out));
        CHECK_INT_EQ(out, format_cases[i].cents);
    }
}

/* splitmix64: a deterministic stream, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A value of random magnitude: 1 to 64 bits, random sign. */
static int64_t rng_int64(void)
{
    unsigned bits = (unsigned)(rng_next() % 64) + 1;
    uint64_t v = rng_next();

    if (bits < 64)
        v &= ((uint64_t)1 << bits) - 1;
    return (int64_t)v;
}

static bool fits_int64(__int128 v)
{
    return v >= INT64_MIN && v <= INT64_MAX;
}

static void test_random_cross_check(void)
{
    int bad_bp = 0, bad_pct = 0, bad_arith = 0, bad_text = 0;

    for (int i = 0; i < 200000; i++) {
        int64_t a = rng_int64(), b = rng_int64();
        int64_t bp = (int64_t)(rng_next() % 20001) - 10000;
        int64_t pct = (int64_t)(rng_next() % 201) - 100;
        __int128 p;
        int64_t out = 0;
        bool ok;
        char buf[MONEY_FMT_MAX];

        /* add, sub, mul against 128-bit */
        p = (__int128)a + b;
        ok = money_add(a, b, &out);
        bad_arith += ok != fits_int64(p) || (ok && out != (int64_t)p);
        p = (__int128)a - b;
        ok = money_sub(a, b, &out);
        bad_arith += ok != fits_int64(p) || (ok && out != (int64_t)p);
        p = (__int128)a * b;
        ok = money_mul(a, b, &out);
        bad_arith += ok != fits_int64(p) || (ok && out != (int64_t)p);

        /* bp: round half away from zero, written differently */
        p = (__int128)a * bp;
        ok = money_mul_bp(a, bp, &out);
        if (ok != fits_int64(p)) {
            bad_bp++;
        } else if (ok) {
            __int128 want =
                p >= 0 ? (p + 5000) / 10000 : -((-p + 5000) / 10000);
            bad_bp += out != (int64_t)want;
        }

        /* percent: ceiling, written differently */
        p = (__int128)a * pct;
        ok = money_mul_percent_ceil(a, pct, &out);
        if (ok != fits_int64(p)) {
            bad_pct++;
        } else if (ok) {
            __int128 want = p >= 0 ? (p + 99) / 100 : -((-p) / 100);
            bad_pct += out != (int64_t)want;
        }

        /* text round trip */
        money_format(a, buf);
        ok = money_parse(buf, &out);
        bad_text += !ok || out != a;
    }
    CHECK_INT_EQ(bad_arith, 0);
    CHECK_INT_EQ(bad_bp, 0);
    CHECK_INT_EQ(bad_pct, 0);
    CHECK_INT_EQ(bad_text, 0);
}

/* money_mul_bp is odd-symmetric: a reversal cancels its original. */
static void test_bp_symmetry(void)
{
    static const int64_t bps[] = {0, 1, 250, 333, 5000, 9999, 10000};
    int bad = 0;

    for (size_t k = 0; k < N_ELEMS(bps); k++) {
        for (int64_t x = 0; x <= 30000; x++) {
            int64_t pos = 0, neg = 0;

            if (!money_mul_bp(x, bps[k], &pos) ||
                !money_mul_bp(-x, bps[k], &neg) || pos != -neg ||
                pos != (x * bps[k] + 5000) / 10000)
                bad++;
        }
    }
    CHECK_INT_EQ(bad, 0);
}

int main(void)
{
    run_binop("add", money_add, add_cases, N_ELEMS(add_cases));
    run_binop("sub", money_sub, sub_cases, N_ELEMS(sub_cases));
    run_binop("mul", money_mul, mul_cases, N_ELEMS(mul_cases));
    run_binop("mul_bp", money_mul_bp, bp_cases, N_ELEMS(bp_cases));
    run_binop("mul_percent_ceil", money_mul_percent_ceil, pct_cases,
              N_ELEMS(pct_cases));
    test_format();
    test_parse();
    test_currency();
    test_bp_symmetry();
    test_random_cross_check();
    return unit_summary("money");
}
