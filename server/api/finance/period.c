/*
 * period.c - the settlement period (?from=&to=) of finance's reads. Not a
 * handler: the settlement list and the CSV export both read their period
 * here, so they take exactly the same strings.
 */
#include "api/finance/period.h"

#include "http/reply.h"
#include "http/request.h"
#include "lib/rfc3339.h"

bool period_bound(struct req *r, const char *name, const char **text,
                  int64_t *us)
{
    const char *v = req_query(r, name);
    int64_t t;
    *text = NULL;
    if (v == NULL)
        return true;
    if (!rfc3339_parse(v, &t)) {
        req_reply_error(r, 400, "invalid_field", name,
                        "%s must be an RFC 3339 time such as "
                        "2026-12-01T00:00:00Z.",
                        name);
        return false;
    }
    char *utc = req_alloc(r, RFC3339_MAX);
    rfc3339_format(t, utc);
    *text = utc;
    if (us)
        *us = t;
    return true;
}
