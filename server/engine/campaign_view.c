/*
 * campaign_view.c - a campaign as the API answers it (campaign_view.h):
 * the JSON SQL built, answered as it is, alone or as the items of a page.
 * The staff's routes and the public catalogue answer campaigns alike, so
 * this lives below both.
 */
#include "engine/campaign_view.h"

#include <stdio.h>
#include <string.h>

#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"

char *campaign_view_text(struct req *r, PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return req_strdup(r, PQgetvalue(res, row, col));
}

void campaign_view_bad_data(struct req *r)
{
    req_reply_error(r, 500, "internal", NULL,
                    "The campaign's stored data is inconsistent.");
}

void campaign_view_reply_one(struct req *r, int status, PGresult *res, int col,
                             bool idem)
{
    char *text = campaign_view_text(r, res, 0, col);
    if (text == NULL)
        campaign_view_bad_data(r);
    else if (idem)
        idem_reply_text(r, status, text);
    else
        req_reply_raw(r, status, "application/json", text, strlen(text));
}

void campaign_view_reply_list(struct req *r, PGresult *res, int64_t limit)
{
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = (int)limit;
    size_t cap = 64, len = 0;
    char **items = req_alloc(r, sizeof *items * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
        items[i] = campaign_view_text(r, res, i, 1);
        if (items[i] == NULL) {
            campaign_view_bad_data(r);
            return;
        }
        cap += strlen(items[i]) + 1;
    }
    cap += more ? strlen(PQgetvalue(res, n - 1, 0)) : 4;
    char *out = req_alloc(r, cap);
    len += (size_t)snprintf(out, cap, "{\"items\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "",
                                items[i]);
    len += (size_t)snprintf(out + len, cap - len, "],\"next_after\":%s}",
                            more ? PQgetvalue(res, n - 1, 0) : "null");
    req_reply_raw(r, 200, "application/json", out, len);
}
