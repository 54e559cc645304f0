/*
 * orders.c - a shopper's own orders: the list, one order (with its pickup
 * code from ready_for_pickup on), the delivery address, and the
 * after-sales request (售后) for money back on a delivered or picked-up
 * order.
 *
 * An order is created by the database in the transaction that makes its
 * participation paid (functions/orders.sql) and moved on by SQL functions
 * (orders.sql, aftersales.sql) whose outcomes engine/order.c answers. Every
 * statement here takes the customer's id, so another's order is 404; the
 * customer's copy of the pickup code (order_pickup_codes) is read only by
 * these statements.
 *
 * Decisions where the documents are silent: the after-sales request is
 * capped like the staff's approval (amount at most paid less refunded,
 * quantity at most the order's; else 400); its quantity may be 0 (money
 * back without a return, e.g. a damaged item kept). A request goes through
 * the Idempotency-Key machinery (money may move).
 */
#include <stdint.h>
#include <string.h>

#include "api/shop/address.h"
#include "api/shop/shop.h"
#include "domain/pricing.h"
#include "engine/idem.h"
#include "engine/order.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

static const char *orders_int(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

/* ------------------------------------------------------------ orders */

static struct db_stmt order_list_mine =
    DB_STMT("order_list_mine",
            "SELECT o.id, gb_order_customer_json(o)::text FROM orders o"
            " WHERE o.customer_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3",
            3);

static struct db_stmt order_get_mine =
    DB_STMT("order_get_mine",
            "SELECT gb_order_customer_json(o)::text FROM orders o"
            " WHERE o.customer_id = $1 AND o.id = $2",
            2);

static void orders_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* GET /v1/me/orders (customer) -> {items, next_after} */
void orders_list_mine(struct req *r)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {orders_int(r, r->who.id), after, limit1};
    if (!req_query_db(r, &order_list_mine, params, orders_list_cb))
        return;
}

/* GET /v1/orders/{id} (customer) -> own order, with pickup_code from
 * ready_for_pickup on | 404 */
void orders_get_mine(struct req *r)
{
    const char *params[] = {orders_int(r, r->who.id),
                            orders_int(r, r->params[0])};
    req_one_row(r, &order_get_mine, params);
}

static struct db_stmt order_set_address =
    DB_STMT("order_set_address",
            "SELECT outcome, body::text"
            "  FROM gb_order_set_address($1, $2, $3::jsonb)",
            3);

/* PUT /v1/orders/{id}/address {name, phone, region, line} (customer) ->
 * 200 order | 400 | 404 | 409 invalid_state (pickup, or shipped) */
void orders_set_address(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct jfields jf;
    jfields_init(&jf, body);
    const char *address = address_read(r, &jf, body);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {orders_int(r, r->who.id),
                            orders_int(r, r->params[0]), address};
    if (!req_query_db(r, &order_set_address, params, order_outcome_cb))
        return;
}

/* ------------------------------------------------------------ after-sales */

struct orders_aftersales {
    const char *reason;
    int64_t quantity, amount;
};

/* The request's answer: 201, its units named "quantity". */
static void orders_aftersales_cb(const struct db_result *res, void *arg)
{
    order_aftersales_reply(arg, res, 201, "quantity");
}

static struct db_stmt aftersales_request =
    DB_STMT("aftersales_request",
            "SELECT outcome, body::text FROM gb_after_sales_request($1, $2, "
            "$3, $4, $5)",
            5);

static void orders_aftersales_run(struct req *r)
{
    struct orders_aftersales *in = r->state;
    const char *params[] = {
        orders_int(r, r->who.id), orders_int(r, r->params[0]), in->reason,
        orders_int(r, in->quantity), orders_int(r, in->amount)};
    if (!req_exec(r, &aftersales_request, params, orders_aftersales_cb))
        return;
}

/* POST /v1/orders/{id}/after-sales {reason, quantity, amount_cents}
 * (customer) -> 201 request (pending) | 400 | 404 | 409 invalid_state (not
 * delivered or picked up, past after_sales_days, a request already open) */
void orders_aftersales_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct orders_aftersales *in = req_alloc(r, sizeof *in);
    memset(in, 0, sizeof *in);
    r->state = in;
    static const char *const fields[] = {"reason", "quantity", "amount_cents",
                                         NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "reason", true, 1, 1000, &in->reason, NULL);
    jfields_int(&jf, "quantity", true, 0, PRICING_QUANTITY_MAX, &in->quantity,
                NULL);
    jfields_int(&jf, "amount_cents", true, 1, JSON_MAX_SAFE_INT, &in->amount,
                NULL);
    if (jfields_ok(&jf) && !json_printable(in->reason, true))
        jfields_fail(&jf, "reason", "reason must not hold control characters");
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, orders_aftersales_run);
}
