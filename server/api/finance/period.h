/*
 * period.h - the settlement period (?from=&to=) that finance's list and
 * CSV export share.
 */
#ifndef GROUPBUYD_PERIOD_H
#define GROUPBUYD_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

struct req;

/* Reads ?name= ("from" or "to") of a settlement period. Absent: true,
 * *text NULL. An RFC 3339 time (rfc3339.h): true, *text its UTC form for
 * a timestamptz parameter and *us (when not NULL) its microseconds since
 * the epoch. Anything else: replies 400 invalid_field naming it and
 * returns false. */
bool period_bound(struct req *r, const char *name, const char **text,
                  int64_t *us) __attribute__((warn_unused_result));

#endif
