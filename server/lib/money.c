/*
 * money.c - checked int64 minor-unit products, the deposit rounding, the
 * currencies accounted in and the text form.
 *
 * Every operation works on the exact product, detected with the compiler's
 * __builtin_mul_overflow, and rounds by quotient and remainder so that no
 * step after the product can overflow. Formatting goes through the
 * unsigned magnitude so that INT64_MIN has a text form too.
 */
#include "lib/money.h"

#include <string.h>

bool money_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;

    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
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
