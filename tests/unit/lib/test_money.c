/*
 * test_money.c - money.h: the checked product, the deposit rounding and the
 * text form. Tables of cases, then randomised cross-checks against 128-bit
 * reference arithmetic and a printf-based rendering of the text form.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/money.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct binop_case {
    int64_t a, b;
    bool ok;
    int64_t want;
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
    {-1, "-0.01"},
    {-5, "-0.05"},
    {-99, "-0.99"},
    {10, "0.10"},
    {99, "0.99"},
    {100, "1.00"},
    {-100, "-1.00"},
    {123450, "1234.50"},
    {123456, "1234.56"},
    {-123450, "-1234.50"},
    {-123456, "-1234.56"},
    {100000000, "1000000.00"},
    {INT64_MAX, "92233720368547758.07"},
    {INT64_MIN, "-92233720368547758.08"},
    {INT64_MIN + 1, "-92233720368547758.07"},
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

/* The text form written another way: sign, then major and minor units
 * of the magnitude through printf. */
static void reference_format(int64_t cents, char *buf, size_t size)
{
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

    snprintf(buf, size, "%s%" PRIu64 ".%02u", cents < 0 ? "-" : "", mag / 100,
             (unsigned)(mag % 100));
}

static void test_random_cross_check(void)
{
    int bad_pct = 0, bad_mul = 0, bad_text = 0;

    for (int i = 0; i < 200000; i++) {
        int64_t a = rng_int64(), b = rng_int64();
        int64_t pct = (int64_t)(rng_next() % 201) - 100;
        __int128 p;
        int64_t out = 0;
        bool ok;
        char buf[MONEY_FMT_MAX], want[64];

        p = (__int128)a * b;
        ok = money_mul(a, b, &out);
        bad_mul += ok != fits_int64(p) || (ok && out != (int64_t)p);

        /* percent: ceiling, written differently */
        p = (__int128)a * pct;
        ok = money_mul_percent_ceil(a, pct, &out);
        if (ok != fits_int64(p)) {
            bad_pct++;
        } else if (ok) {
            __int128 w = p >= 0 ? (p + 99) / 100 : -((-p) / 100);
            bad_pct += out != (int64_t)w;
        }

        size_t len = money_format(a, buf);
        reference_format(a, want, sizeof want);
        bad_text += strcmp(buf, want) != 0 || len != strlen(want);
    }
    CHECK_INT_EQ(bad_mul, 0);
    CHECK_INT_EQ(bad_pct, 0);
    CHECK_INT_EQ(bad_text, 0);
}

int main(void)
{
    run_binop("mul", money_mul, mul_cases, N_ELEMS(mul_cases));
    run_binop("mul_percent_ceil", money_mul_percent_ceil, pct_cases,
              N_ELEMS(pct_cases));
    test_format();
    test_currency();
    test_random_cross_check();
    return unit_summary("money");
}
