/*
 * rfc3339.h - RFC 3339 times in and out, exactly, with integers. Pure: no
 * I/O, no time zone database, no locale.
 *
 * Input is "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)" with T and Z in
 * either case, years 0001-9999, no leap second (:60 is refused). Digits of
 * the fraction past the sixth are dropped (microsecond precision, like
 * PostgreSQL's timestamptz). The instant itself must lie in years
 * 0001-9999 in UTC too (RFC3339_MIN_US..RFC3339_MAX_US), so that every time
 * read is written back by rfc3339_format and accepted by PostgreSQL:
 * "0001-01-01T00:30:00+01:00" (year 0 in UTC) is refused. Output is always
 * UTC.
 *
 * This is the one reader of times from clients: campaigns, the settlement
 * list and the settlement export all parse here and hand SQL a timestamptz
 * in UTC.
 */
#ifndef GROUPBUYD_RFC3339_H
#define GROUPBUYD_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" and its NUL */
#define RFC3339_MAX 28

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z */
#define RFC3339_MIN_US (-62135596800LL * 1000000)
#define RFC3339_MAX_US (253402300800LL * 1000000 - 1)

struct rfc3339_fields {
    int64_t year, month, day, hour, minute, second, micros;
};

/* Parses s into microseconds since 1970-01-01T00:00:00Z (negative before
 * it). False on anything that is not such a time. */
bool rfc3339_parse(const char *s, int64_t *unix_us)
    __attribute__((warn_unused_result));

/* The UTC calendar fields of a time. */
void rfc3339_fields(int64_t unix_us, struct rfc3339_fields *out);

/* Writes "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
void rfc3339_format(int64_t unix_us, char out[RFC3339_MAX]);

#endif
