/*
 * money.c - checked int64 minor-unit arithmetic, rounding and text form.
 *
 * Every operation works on the exact product or sum, detected with the
 * compiler's __builtin_*_overflow, and rounds by quotient and remainder so
 * that no step after the product can overflow. Formatting goes through the
 * unsigned magnitude so that INT64_MIN has a text form too.
 */
#include "money.h"

#include <string.h>

bool money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;

    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool money_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;

    if (__builtin_sub_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool money_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;

    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool money_mul_bp(int64_t amount, int64_t bp, int64_t *out)
{
    int64_t p, q, r;

    if (__builtin_mul_overflow(amount, bp, &p))
        return false;
    /* C division truncates toward zero, so r has the sign of p and
     * |q| <= INT64_MAX / 10000: moving q one step away from zero is safe. */
    q = p / MONEY_BP_ONE;
    r = p % MONEY_BP_ONE;
    if (r >= MONEY_BP_ONE / 2)
        q++;
    else if (r <= -(MONEY_BP_ONE / 2))
        q--;
    *out = q;
    return true;
}

bool money_mul_percent_ceil(int64_t amount, int64_t percent, int64_t *out)
{
    int64_t p, q;

    if (__builtin_mul_overflow(amount, percent, &p))
        return false;
    q = p / 100;
    if (p % 100 > 0)
        q++; /* truncation went down only for a positive remainder */
    *out = q;
    return true;
}

bool money_currency_supported(const char *code)
{
    static const char *const codes[] = {"CNY", "HKD", "MOP", "SGD",
                                        "USD", "EUR", "GBP"};

    if (code == NULL)
        return false;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

size_t money_format(int64_t cents, char buf[static MONEY_FMT_MAX])
{
    char digits[24];
    size_t nd = 0, len = 0;
    uint64_t mag, major, minor;

    mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    major = mag / 100;
    minor = mag % 100;
    do {
        digits[nd++] = (char)('0' + major % 10);
        major /= 10;
    } while (major != 0);

    if (cents < 0)
        buf[len++] = '-';
    while (nd > 0)
        buf[len++] = digits[--nd];
    buf[len++] = '.';
    buf[len++] = (char)('0' + minor / 10);
    buf[len++] = (char)('0' + minor % 10);
    buf[len] = '\0';
    return len;
}

static bool money_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool money_parse(const char *s, int64_t *out)
{
    bool negative = false;
    uint64_t mag = 0, limit;
    const char *p = s;

    if (*p == '-') {
        negative = true;
        p++;
    }
    if (!money_is_digit(*p))
        return false;
    if (*p == '0' && p[1] != '.')
        return false; /* leading zero */
    for (; money_is_digit(*p); p++) {
        if (__builtin_mul_overflow(mag, 10u, &mag) ||
            __builtin_add_overflow(mag, (uint64_t)(*p - '0'), &mag))
            return false;
    }
    if (p[0] != '.' || !money_is_digit(p[1]) || !money_is_digit(p[2]) ||
        p[3] != '\0')
        return false;
    if (__builtin_mul_overflow(mag, 100u, &mag) ||
        __builtin_add_overflow(mag, (uint64_t)((p[1] - '0') * 10 + p[2] - '0'),
                               &mag))
        return false;

    limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (mag > limit || (negative && mag == 0))
        return false;
    if (!negative)
        *out = (int64_t)mag;
    else if (mag == limit)
        *out = INT64_MIN; /* 2^63 has no positive int64 to negate */
    else
        *out = -(int64_t)mag;
    return true;
}
