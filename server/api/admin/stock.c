/*
 * stock.c - PUT /v1/admin/products/{id}/stock: staff set how many units of
 * a product they hold or have secured (owner, operator).
 *
 * A product's stock is shared by its campaigns and moves by itself:
 * publishing reserves, the close commits, a shipment or pickup takes units
 * out, an after-sales return puts them back (functions/stock.sql). Staff
 * therefore set it against the stock_version they read: a version that a
 * shipment, a return or another edit has moved on answers 409 conflict
 * (read the product again, and decide again); a figure below what the
 * product's campaigns hold (reserved + committed) answers 409
 * invalid_state. Both are decided by gb_stock_set under the product's row
 * lock, which records the audit line (before and after) in its
 * transaction.
 */
#include <string.h>

#include "api/admin/admin.h"
#include "domain/pricing.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

/* stock_version is a PostgreSQL integer */
#define STOCK_VERSION_MAX INT64_C(2147483647)

/* The outcome, and the product (as written, or as found). */
static struct db_stmt stock_set =
    DB_STMT("stock_set",
            "SELECT s.outcome, s.product::text"
            "  FROM gb_stock_set($1, $2, $3, $4, $5, $6) s",
            6);

static void stock_put_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    const char *outcome = PQgetvalue(pg, 0, 0);
    if (strcmp(outcome, "ok") == 0)
        req_reply_row_json(r, 200, pg, 1);
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such product.");
    else if (strcmp(outcome, "conflict") == 0)
        req_reply_error(r, 409, "conflict", "stock_version",
                        "The stock changed meanwhile; read the product and "
                        "retry.");
    else /* below_held */
        req_reply_error(r, 409, "invalid_state", "stock",
                        "stock must not be below what the product's "
                        "campaigns hold (reserved + committed).");
}

/* PUT /v1/admin/products/{id}/stock {stock, stock_version} (owner,
 * operator) -> 200 product | 400 invalid_field | 404 | 409 conflict (stale
 * stock_version), invalid_state (below reserved + committed) */
void stock_put(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"stock", "stock_version", NULL};
    int64_t stock = 0, version = 0;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "stock", true, 0, PRICING_STOCK_MAX, &stock, NULL);
    jfields_int(&jf, "stock_version", true, 1, STOCK_VERSION_MAX, &version,
                NULL);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)stock),
                            req_printf(r, "%lld", (long long)version),
                            req_printf(r, "%lld", (long long)r->who.id),
                            r->id};
    if (!req_query_db(r, &stock_set, params, stock_put_cb))
        return;
}
