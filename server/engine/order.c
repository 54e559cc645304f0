/*
 * order.c - an order's and an after-sales request's SQL outcomes as the
 * contract's answers (order.h). The routes of both the customer and the
 * staff end in these, so they live below the handlers.
 */
#include "engine/order.h"

#include <string.h>

#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"

void order_outcome_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0)
        idem_reply_text(r, 200, PQgetvalue(res->res, 0, 1));
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such order.");
    else if (strcmp(outcome, "no_address") == 0)
        req_reply_error(r, 409, "invalid_state", "address",
                        "The order has no delivery address yet.");
    else if (strcmp(outcome, "locked") == 0)
        req_reply_error(r, 429, "rate_limited", "pickup_code",
                        "Too many wrong pickup codes: the order is locked "
                        "for 15 minutes.");
    else if (strcmp(outcome, "wrong_code") == 0)
        req_reply_error(r, 409, "invalid_state", "pickup_code",
                        "The pickup code is wrong.");
    else
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The order is not in a state that allows this.");
}

void order_aftersales_reply(struct req *r, const struct db_result *res,
                            int ok_status, const char *quantity_field)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0)
        idem_reply_text(r, ok_status, PQgetvalue(res->res, 0, 1));
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such resource.");
    else if (strcmp(outcome, "amount") == 0)
        req_reply_error(r, 400, "invalid_field", "amount_cents",
                        "The amount is more than was paid less what was "
                        "already refunded.");
    else if (strcmp(outcome, "quantity") == 0)
        req_reply_error(r, 400, "invalid_field", quantity_field,
                        "More units than the order holds (less those "
                        "already returned).");
    else
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The request does not apply in the current state.");
}
