/*
 * products.c - the distributor's catalogue (owner, operator).
 *
 * A product is what a campaign sells: its list price caps every tier price
 * and its stock must cover a campaign's max_quantity when it is published.
 * Every statement takes the caller's distributor id as $1 and filters on it,
 * so another distributor's products are not found (404). A creation writes
 * its audit line in its transaction (gb_product_create). SKUs are unique per
 * distributor (409 duplicate, field "sku").
 *
 * Prices are bounded by PRICING_PRICE_MAX_CENTS and stock by
 * PRICING_STOCK_MAX (pricing.h explains why every amount a campaign on the
 * product can reach then fits); a cost price above the list price is
 * accepted (a loss leader), within the same bound. PATCH edits the name,
 * the description and the two prices within the same bounds
 * (gb_product_update, with its audit line); a list price below a tier
 * price of one of the product's campaigns that can still sell is 409
 * invalid_state naming list_price_cents. The SKU is the product's key for
 * people and exports, and is not edited.
 */
#include <string.h>

#include "api/admin/admin.h"
#include "domain/pricing.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

struct product_new {
    const char *sku, *name, *description;
    int64_t list_price, cost_price, stock;
};

static struct db_stmt product_insert = DB_STMT(
    "product_insert",
    "SELECT gb_product_create($1, $2, $3, $4, $5, $6, $7, $8, $9)::text", 9);

static void products_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (db_is_unique_violation(res)) {
        req_reply_error(r, 409, "duplicate", "sku", "This sku is taken.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void products_create_run(struct req *r)
{
    struct product_new *p = r->state;
    const char *params[] = {req_tenant_param(r),
                            p->sku,
                            p->name,
                            p->description,
                            req_printf(r, "%lld", (long long)p->list_price),
                            req_printf(r, "%lld", (long long)p->cost_price),
                            req_printf(r, "%lld", (long long)p->stock),
                            req_printf(r, "%lld", (long long)r->who.id),
                            r->id};
    if (!req_exec(r, &product_insert, params, products_inserted_cb))
        return;
}

/* POST /v1/admin/products {sku, name, description?, list_price_cents,
 * cost_price_cents, stock} (owner, operator) -> 201 product | 400
 * invalid_field (prices 0..10^8 cents, list >= 1, stock 0..10^9) | 409
 * duplicate */
void products_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct product_new *p = req_alloc(r, sizeof *p);
    memset(p, 0, sizeof *p);
    p->description = "";
    r->state = p;
    static const char *const fields[] = {
        "sku",   "name", "description", "list_price_cents", "cost_price_cents",
        "stock", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "sku", true, 1, 64, &p->sku, NULL);
    jfields_str(&jf, "name", true, 1, 200, &p->name, NULL);
    jfields_str(&jf, "description", false, 0, 4000, &p->description, NULL);
    jfields_int(&jf, "list_price_cents", true, 1, PRICING_PRICE_MAX_CENTS,
                &p->list_price, NULL);
    jfields_int(&jf, "cost_price_cents", true, 0, PRICING_PRICE_MAX_CENTS,
                &p->cost_price, NULL);
    jfields_int(&jf, "stock", true, 0, PRICING_STOCK_MAX, &p->stock, NULL);
    if (jfields_ok(&jf) && !json_printable(p->sku, false))
        jfields_fail(&jf, "sku", "sku must not hold control characters");
    if (jfields_ok(&jf) && !json_printable(p->name, false))
        jfields_fail(&jf, "name", "name must not hold control characters");
    if (jfields_ok(&jf) && !json_printable(p->description, true))
        jfields_fail(&jf, "description",
                     "description must not hold control characters");
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, products_create_run);
}

static struct db_stmt product_list =
    DB_STMT("product_list",
            "SELECT p.id, gb_product_json(p)::text FROM products p"
            " WHERE p.distributor_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
            3);

static struct db_stmt product_get =
    DB_STMT("product_get",
            "SELECT gb_product_json(p)::text FROM products p"
            " WHERE p.distributor_id = $1 AND p.id = $2",
            2);

/* GET /v1/admin/products (owner, operator) -> {items, next_after} */
void products_list(struct req *r)
{
    req_tenant_list(r, &product_list);
}

/* GET /v1/admin/products/{id} (owner, operator) -> product | 404 */
void products_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    req_one_row(r, &product_get, params);
}

/* ------------------------------------------------------------- PATCH */

struct product_patch {
    const char *name, *description;
    int64_t list_price, cost_price;
    bool has_name, has_description, has_list_price, has_cost_price;
};

static struct db_stmt product_update =
    DB_STMT("product_update",
            "SELECT outcome, body::text"
            "  FROM gb_product_update($1, $2, $3, $4, $5, $6, $7, $8)",
            8);

static void products_updated_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0)
        req_reply_row_json(r, 200, res->res, 1);
    else if (strcmp(outcome, "list_price") == 0)
        req_reply_error(r, 409, "invalid_state", "list_price_cents",
                        "A campaign of this product that can still sell has "
                        "a tier price above this list price.");
    else
        req_reply_error(r, 404, "not_found", NULL, "No such product.");
}

static const char *products_opt_int(struct req *r, bool has, int64_t v)
{
    return has ? req_printf(r, "%lld", (long long)v) : NULL;
}

/* PATCH /v1/admin/products/{id} {name?, description?, list_price_cents?,
 * cost_price_cents?} (owner, operator) -> 200 product | 400 invalid_field
 * (the bounds of creation) | 404 | 409 invalid_state (list price under a
 * live campaign's tier price) */
void products_update(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct product_patch in;
    memset(&in, 0, sizeof in);
    static const char *const fields[] = {
        "name", "description", "list_price_cents", "cost_price_cents", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "name", false, 1, 200, &in.name, &in.has_name);
    jfields_str(&jf, "description", false, 0, 4000, &in.description,
                &in.has_description);
    jfields_int(&jf, "list_price_cents", false, 1, PRICING_PRICE_MAX_CENTS,
                &in.list_price, &in.has_list_price);
    jfields_int(&jf, "cost_price_cents", false, 0, PRICING_PRICE_MAX_CENTS,
                &in.cost_price, &in.has_cost_price);
    if (jfields_ok(&jf) && in.has_name && !json_printable(in.name, false))
        jfields_fail(&jf, "name", "name must not hold control characters");
    if (jfields_ok(&jf) && in.has_description &&
        !json_printable(in.description, true))
        jfields_fail(&jf, "description",
                     "description must not hold control characters");
    if (!req_fields_ok(r, &jf))
        return;
    if (!in.has_name && !in.has_description && !in.has_list_price &&
        !in.has_cost_price) {
        req_reply_error(r, 400, "invalid_field", NULL,
                        "Give name, description, list_price_cents or "
                        "cost_price_cents to change.");
        return;
    }
    const char *params[] = {
        req_tenant_param(r),
        req_printf(r, "%lld", (long long)r->params[0]),
        in.has_name ? in.name : NULL,
        in.has_description ? in.description : NULL,
        products_opt_int(r, in.has_list_price, in.list_price),
        products_opt_int(r, in.has_cost_price, in.cost_price),
        req_printf(r, "%lld", (long long)r->who.id),
        r->id};
    if (!req_query_db(r, &product_update, params, products_updated_cb))
        return;
}
