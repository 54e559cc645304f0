/* test_rfc3339.c - RFC 3339 parsing and formatting, table-driven. */
#include <stdio.h>

#include "lib/rfc3339.h"
#include "unit.h"

struct parse_case {
    const char *in;
    bool ok;
    int64_t us;
};

static const struct parse_case cases[] = {
    {"1970-01-01T00:00:00Z", true, 0},
    {"1970-01-01T00:00:01Z", true, 1000000},
    {"1969-12-31T23:59:59Z", true, -1000000},
    {"2026-12-01T02:00:00Z", true, 1796090400LL * 1000000},
    {"2026-12-01t02:00:00z", true, 1796090400LL * 1000000},
    {"2026-12-01T10:00:00+08:00", true, 1796090400LL * 1000000},
    {"2026-11-30T21:30:00-04:30", true, 1796090400LL * 1000000},
    {"2026-12-01T02:00:00.5Z", true, 1796090400LL * 1000000 + 500000},
    {"2026-12-01T02:00:00.123456789Z", true, 1796090400LL * 1000000 + 123456},
    {"2024-02-29T00:00:00Z", true, 1709164800LL * 1000000},
    {"2000-02-29T00:00:00Z", true, 951782400LL * 1000000},
    {"9999-12-31T23:59:59Z", true, 253402300799LL * 1000000},
    {"0001-01-01T00:00:00Z", true, -62135596800LL * 1000000},
    {"2023-02-29T00:00:00Z", false, 0},
    {"1900-02-29T00:00:00Z", false, 0},
    {"2026-13-01T00:00:00Z", false, 0},
    {"2026-00-01T00:00:00Z", false, 0},
    {"2026-04-31T00:00:00Z", false, 0},
    {"2026-12-01T24:00:00Z", false, 0},
    {"2026-12-01T23:60:00Z", false, 0},
    {"2026-12-31T23:59:60Z", false, 0}, /* no leap seconds */
    {"0000-01-01T00:00:00Z", false, 0},
    /* the instant in UTC stays in years 0001-9999 */
    {"0001-01-01T00:00:00-00:01", true, -62135596800LL * 1000000 + 60000000},
    {"0001-01-01T00:59:59.999999+00:59", true,
     -62135596800LL * 1000000 + 59999999},
    {"0001-01-01T00:00:00+00:01", false, 0},
    {"0001-01-01T00:30:00+01:00", false, 0},
    {"9999-12-31T22:59:59.999999-01:00", true, 253402300799999999LL},
    {"9999-12-31T23:59:59.999999-00:01", false, 0},
    {"9999-12-31T23:30:00-01:00", false, 0},
    {"2026-12-01T02:00:00", false, 0},   /* no offset */
    {"2026-12-01 02:00:00Z", false, 0},  /* space */
    {"2026-12-01T02:00Z", false, 0},     /* no seconds */
    {"2026-12-01T02:00:00.Z", false, 0}, /* empty fraction */
    {"2026-12-01T02:00:00.1234567890Z", false, 0},
    {"2026-12-01T02:00:00+0800", false, 0},
    {"2026-12-01T02:00:00+24:00", false, 0},
    {"2026-12-01T02:00:00Zjunk", false, 0},
    {"+2026-12-01T02:00:00Z", false, 0},
    {"2026-1-01T02:00:00Z", false, 0},
    {"", false, 0},
    {"2026", false, 0},
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = -42;
        bool ok = rfc3339_parse(cases[i].in, &us);
        CHECK_MSG(ok == cases[i].ok, "case %zu \"%s\"", i, cases[i].in);
        if (ok && cases[i].ok)
            CHECK_INT_EQ(us, cases[i].us);
    }
    /* format, and parse(format(x)) == x across a wide range */
    char buf[RFC3339_MAX];
    rfc3339_format(0, buf);
    CHECK_STR_EQ(buf, "1970-01-01T00:00:00.000000Z");
    rfc3339_format(-1, buf);
    CHECK_STR_EQ(buf, "1969-12-31T23:59:59.999999Z");
    rfc3339_format(1796090400LL * 1000000 + 123456, buf);
    CHECK_STR_EQ(buf, "2026-12-01T02:00:00.123456Z");
    rfc3339_format(253402300799999999LL, buf);
    CHECK_STR_EQ(buf, "9999-12-31T23:59:59.999999Z");
    int64_t x = -62135596800LL * 1000000;
    int roundtrip_bad = 0;
    for (int i = 0; i < 199000; i++) { /* stays within 9999 */
        int64_t back;
        rfc3339_format(x, buf);
        if (!rfc3339_parse(buf, &back) || back != x)
            roundtrip_bad++;
        x += 1581459157777LL; /* an odd step through 10,000 years */
    }
    CHECK_INT_EQ(roundtrip_bad, 0);
    struct rfc3339_fields f;
    rfc3339_fields(1709164800LL * 1000000 + 7, &f);
    CHECK(f.year == 2024 && f.month == 2 && f.day == 29 && f.hour == 0 &&
          f.micros == 7);
    return unit_summary("rfc3339");
}
