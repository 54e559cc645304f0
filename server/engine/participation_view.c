/*
 * participation_view.c - a participation as the API answers it
 * (participation_view.h), shared by the shopper's routes and the staff's.
 *
 * The object and its unit_price_cents are SQL's; the staff's "score" is
 * the reliability module's (joinengine_history_score, with the
 * distributor's parameters of the column after the history), added with
 * cJSON.
 */
#include "engine/participation_view.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/reliability.h"
#include "engine/joinengine.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

char *participation_view_text(struct req *r, const PGresult *res, int row,
                              int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return req_strdup(r, PQgetvalue(res, row, col));
}

/* The participation JSON of row i with the customer's "score" added: SQL's
 * object parsed, the member added with cJSON, printed with its numbers as
 * SQL wrote them. NULL when unreadable or out of memory. */
static char *participation_view_with_score(struct req *r, const PGresult *res,
                                           int row, int col, int score)
{
    const char *text = PQgetvalue(res, row, col);
    struct json_parse_error err;
    cJSON *obj = PQgetisnull(res, row, col)
                     ? NULL
                     : json_parse_strict(text, strlen(text), &err);
    char *out = NULL;
    if (cJSON_IsObject(obj) && json_add_int(obj, "score", score)) {
        char *printed = json_print_exact(obj);
        if (printed != NULL)
            out = req_strdup(r, printed);
        cJSON_free(printed);
    }
    cJSON_Delete(obj);
    return out;
}

void participation_view_unreadable(struct req *r)
{
    req_reply_error(r, 500, "internal", NULL,
                    "The campaign's stored tiers cannot be read.");
}

void participation_view_reply_list(struct req *r, const struct db_result *res,
                                   int64_t limit, bool staff)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    int n = PQntuples(pg);
    if (staff && n == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (n > 0 && PQgetisnull(pg, 0, 0))
        n = 0; /* a campaign without (further) participations */
    bool more = n > limit;
    if (more)
        n = (int)limit;
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    evbuffer_add_printf(b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        char *text;
        if (staff) {
            struct reliability_result score;
            struct reliability_params params;
            if (!joinengine_params_cell(&r->srv->cfg->reliability, pg, i, 11,
                                        &params) ||
                !joinengine_history_score(&params, pg, i, 3,
                                          atoi(PQgetvalue(pg, i, 2)), &score,
                                          NULL)) {
                evbuffer_free(b);
                participation_view_unreadable(r);
                return;
            }
            text = participation_view_with_score(r, pg, i, 1, score.score);
        } else {
            text = participation_view_text(r, pg, i, 1);
        }
        if (text == NULL) {
            evbuffer_free(b);
            participation_view_unreadable(r);
            return;
        }
        evbuffer_add_printf(b, "%s%s", i ? "," : "", text);
    }
    if (more)
        evbuffer_add_printf(b, "],\"next_after\":%s}",
                            PQgetvalue(pg, n - 1, 0));
    else
        evbuffer_add_printf(b, "],\"next_after\":null}");
    size_t len = evbuffer_get_length(b);
    char *text = req_alloc(r, len + 1);
    evbuffer_remove(b, text, len);
    text[len] = '\0';
    evbuffer_free(b);
    req_reply_raw(r, 200, "application/json", text, len);
}
