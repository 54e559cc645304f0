/*
 * rfc3339.c - see rfc3339.h. Calendar arithmetic is H. Hinnant's
 * days-from-civil and civil-from-days over the proleptic Gregorian
 * calendar, exact for every year we accept.
 */
#include "lib/rfc3339.h"

#include <stddef.h>

static int64_t rfc3339_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void rfc3339_civil_from_days(int64_t z, int64_t *y, int64_t *m,
                                    int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n decimal digits; stops at the first non-digit, so it
 * never reads past a NUL. */
static bool rfc3339_digits(const char *s, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool rfc3339_parse(const char *s, int64_t *unix_us)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, mo, d, h, mi, se, oh, om, frac = 0, off = 0;
    if (!rfc3339_digits(s, 4, &y) || s[4] != '-' ||
        !rfc3339_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !rfc3339_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !rfc3339_digits(s + 11, 2, &h) || s[13] != ':' ||
        !rfc3339_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !rfc3339_digits(s + 17, 2, &se))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 6)
                frac = frac * 10 + (*p - '0');
        if (n < 1 || n > 9)
            return false;
        for (; n < 6; n++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        if (!rfc3339_digits(p + 1, 2, &oh) || p[3] != ':' ||
            !rfc3339_digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || se > 59)
        return false;
    int64_t secs = rfc3339_days_from_civil(y, mo, d) * 86400 + h * 3600 +
                   mi * 60 + se - off * 60;
    int64_t us = secs * 1000000 + frac;
    if (us < RFC3339_MIN_US || us > RFC3339_MAX_US)
        return false; /* the offset moved it out of years 0001-9999 */
    *unix_us = us;
    return true;
}

void rfc3339_fields(int64_t unix_us, struct rfc3339_fields *out)
{
    int64_t micros = unix_us % 1000000;
    int64_t secs = unix_us / 1000000;
    if (micros < 0) {
        micros += 1000000;
        secs--;
    }
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t sod = secs - days * 86400;
    rfc3339_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = sod / 3600;
    out->minute = sod / 60 % 60;
    out->second = sod % 60;
    out->micros = micros;
}

/* Writes v as exactly n decimal digits (v < 10^n, v >= 0). */
static char *rfc3339_put(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

void rfc3339_format(int64_t unix_us, char out[RFC3339_MAX])
{
    struct rfc3339_fields f;
    rfc3339_fields(unix_us, &f);
    char *p = out;
    p = rfc3339_put(p, f.year, 4);
    *p++ = '-';
    p = rfc3339_put(p, f.month, 2);
    *p++ = '-';
    p = rfc3339_put(p, f.day, 2);
    *p++ = 'T';
    p = rfc3339_put(p, f.hour, 2);
    *p++ = ':';
    p = rfc3339_put(p, f.minute, 2);
    *p++ = ':';
    p = rfc3339_put(p, f.second, 2);
    *p++ = '.';
    p = rfc3339_put(p, f.micros, 6);
    *p++ = 'Z';
    *p = '\0';
}
