/*
 * participation_view.c - a participation as the API answers it
 * (participation_view.h), shared by the shopper's routes and the staff's.
 *
 * unit_price_cents of a participation is the final price once the campaign
 * closed (SQL); while it is open the current price, computed here from the
 * tiers and the live counters with the pricing module and written into the
 * JSON that SQL built (gb_participation_json puts that key last, null).
 */
#include "engine/participation_view.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/pricing.h"
#include "domain/reliability.h"
#include "engine/joinengine.h"
#include "http/reply.h"
#include "http/request.h"

char *participation_view_text(struct req *r, const PGresult *res, int row,
                              int col, int64_t add_participants,
                              int64_t add_quantity, const char *extra)
{
    const char *json = PQgetvalue(res, row, col);
    size_t len = strlen(json);
    char *out;
    if (strcmp(PQgetvalue(res, row, col + 1), "t") == 0) {
        static const char tail[] = "\"unit_price_cents\" : null}";
        size_t tl = sizeof tail - 1;
        struct pricing_tier tiers[PRICING_MAX_TIERS];
        size_t n;
        enum pricing_basis basis;
        if (len < tl || strcmp(json + len - tl, tail) != 0 ||
            !joinengine_parse_tiers(PQgetvalue(res, row, col + 2), tiers, &n) ||
            !pricing_basis_from_name(PQgetvalue(res, row, col + 3), &basis))
            return NULL;
        int64_t participants =
            strtoll(PQgetvalue(res, row, col + 4), NULL, 10) + add_participants;
        int64_t quantity =
            strtoll(PQgetvalue(res, row, col + 5), NULL, 10) + add_quantity;
        if (participants < 0 || quantity < 0)
            return NULL;
        int64_t price = pricing_unit_price(
            tiers, n, pricing_count(basis, participants, quantity));
        out =
            req_printf(r, "%.*s%lld}", (int)(len - 5), json, (long long)price);
    } else {
        out = req_strdup(r, json);
    }
    if (extra != NULL) {
        len = strlen(out);
        out = req_printf(r, "%.*s, %s}", (int)(len - 1), out, extra);
    }
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
        const char *extra = NULL;
        if (staff) {
            struct reliability_result score;
            if (!joinengine_history_score(&r->srv->cfg->reliability, pg, i, 8,
                                          atoi(PQgetvalue(pg, i, 7)), &score,
                                          NULL)) {
                evbuffer_free(b);
                participation_view_unreadable(r);
                return;
            }
            extra = req_printf(r, "\"score\" : %d", score.score);
        }
        char *text = participation_view_text(r, pg, i, 1, 0, 0, extra);
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
