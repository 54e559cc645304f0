/*
 * fulfilment.c - the staff's side of orders: the list, the fulfilment steps
 * (ship, deliver, ready for pickup, pickup with the code) and the leader's
 * pickup list.
 *
 * An order is created by the database in the transaction that makes its
 * participation paid (functions/orders.sql); this file only moves it on.
 * Each transition is one SQL function that locks the order, checks its
 * state and writes the outbox event (order.shipped, ...), answering an
 * outcome that engine/order.c maps to the contract's status codes.
 *
 * Tenancy: staff statements take the distributor id, so another's order
 * is 404.
 *
 * The pickup code (DESIGN.md: 6 digits from a CSPRNG, compared in constant
 * time, shown only to the customer): drawn here with RAND_bytes and turned
 * into digits without modulo bias (fulfil.c); the order keeps SHA-256(salt
 * || code) with a 16-byte random salt, and the customer's copy is in
 * order_pickup_codes, which only the customer's statements read. At
 * pickup the handler reads salt and hash, hashes the code given and
 * compares with CRYPTO_memcmp; gb_order_pickup then counts a wrong code and
 * locks the order for 15 minutes at the fifth (429). Wrong codes are also
 * counted per staff member and per pickup point: past either budget every
 * pickup they make is 429 until older failures age out, so that guesses
 * spread over many orders stop too. A malformed code (not six digits) is
 * 400 and not counted.
 */
#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "domain/fulfil.h"
#include "engine/idem.h"
#include "engine/joinengine.h" /* array literals for statement parameters */
#include "engine/order.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/csv.h"
#include "lib/json.h"

#define ORDER_SALT_LEN 16
#define ORDER_HASH_LEN 32

static const char *fulfilment_int(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

/* ---------------------------------------------------- list and steps */

static const char *const order_statuses[] = {
    "to_ship", "shipped", "delivered", "ready_for_pickup", "picked_up", NULL};

static struct db_stmt order_list_staff =
    DB_STMT("order_list_staff",
            "SELECT o.id, (gb_order_json(o, NULL)::jsonb || jsonb_build_object("
            "         'customer', gb_customer_staff_json(k)))::text"
            "  FROM orders o JOIN customers k ON k.id = o.customer_id"
            " WHERE o.distributor_id = $1 AND o.id > $2"
            "   AND ($4::bigint IS NULL OR o.campaign_id = $4)"
            "   AND ($5::text IS NULL OR o.status = $5)"
            "   AND ($6::bigint IS NULL OR o.pickup_point_id = $6)"
            " ORDER BY o.id LIMIT $3",
            6);

static void fulfilment_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* Reads ?name= as an id (NULL when absent); false after replying 400. */
static bool fulfilment_query_id(struct req *r, const char *name,
                                const char **out)
{
    const char *v = req_query(r, name);
    *out = NULL;
    if (v == NULL)
        return true;
    char *end;
    long long id = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || id < 1 || id > JSON_MAX_SAFE_INT) {
        req_reply_error(r, 400, "invalid_field", name,
                        "%s must be a positive integer id.", name);
        return false;
    }
    *out = fulfilment_int(r, id);
    return true;
}

/* GET /v1/admin/orders?campaign_id=&status=&pickup_point_id= (owner,
 * operator) -> {items, next_after} */
void fulfilment_list(struct req *r)
{
    const char *campaign, *point, *limit1, *after;
    const char *status = req_query(r, "status");
    if (!fulfilment_query_id(r, "campaign_id", &campaign) ||
        !fulfilment_query_id(r, "pickup_point_id", &point))
        return;
    if (status != NULL) {
        bool known = false;
        for (int i = 0; order_statuses[i] != NULL; i++)
            known = known || strcmp(status, order_statuses[i]) == 0;
        if (!known) {
            req_reply_error(r, 400, "invalid_field", "status",
                            "Unknown order status.");
            return;
        }
    }
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {
        req_tenant_param(r), after, limit1, campaign, status, point};
    if (!req_query_db(r, &order_list_staff, params, fulfilment_list_cb))
        return;
}

static struct db_stmt order_ship =
    DB_STMT("order_ship",
            "SELECT outcome, body::text FROM gb_order_ship($1, $2, $3, $4)", 4);

/* POST /v1/admin/orders/{id}/ship {carrier, tracking_no} (owner, operator)
 * -> 200 order (shipped) | 400 | 404 | 409 invalid_state (not a delivery
 * order to ship, or no address) */
void fulfilment_ship(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"carrier", "tracking_no", NULL};
    const char *carrier = NULL, *tracking = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "carrier", true, 1, 64, &carrier, NULL);
    jfields_str(&jf, "tracking_no", true, 1, 64, &tracking, NULL);
    if (jfields_ok(&jf) && !json_printable(carrier, false))
        jfields_fail(&jf, "carrier",
                     "carrier must not hold control characters");
    if (jfields_ok(&jf) && !json_printable(tracking, false))
        jfields_fail(&jf, "tracking_no",
                     "tracking_no must not hold control characters");
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            fulfilment_int(r, r->params[0]), carrier, tracking};
    if (!req_query_db(r, &order_ship, params, order_outcome_cb))
        return;
}

static struct db_stmt order_deliver =
    DB_STMT("order_deliver",
            "SELECT outcome, body::text FROM gb_order_deliver($1, $2)", 2);

/* POST /v1/admin/orders/{id}/deliver (owner, operator) -> 200 order
 * (delivered) | 404 | 409 invalid_state (not shipped) */
void fulfilment_deliver(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {req_tenant_param(r),
                            fulfilment_int(r, r->params[0])};
    if (!req_query_db(r, &order_deliver, params, order_outcome_cb))
        return;
}

/* --------------------------------------------------- ready and pickup */

/* SHA-256(salt || code) into hash. */
static bool fulfilment_code_hash(const unsigned char *salt, const char *code,
                                 unsigned char *hash)
{
    unsigned char in[ORDER_SALT_LEN + FULFIL_CODE_LEN];
    unsigned int len = 0;
    memcpy(in, salt, ORDER_SALT_LEN);
    memcpy(in + ORDER_SALT_LEN, code, FULFIL_CODE_LEN);
    return EVP_Digest(in, sizeof in, hash, &len, EVP_sha256(), NULL) == 1 &&
           len == ORDER_HASH_LEN;
}

/* Draws a code and its salt and hashes them; false when the CSPRNG
 * fails. */
static bool fulfilment_code_new(char *code, unsigned char *salt,
                                unsigned char *hash)
{
    unsigned char bytes[FULFIL_CODE_BYTES];
    for (;;) {
        if (RAND_bytes(bytes, sizeof bytes) != 1)
            return false;
        if (fulfil_code_from_bytes(bytes, sizeof bytes, code))
            break;
    }
    return RAND_bytes(salt, ORDER_SALT_LEN) == 1 &&
           fulfilment_code_hash(salt, code, hash);
}

static struct db_stmt order_ready_read =
    DB_STMT("order_ready_read",
            "SELECT c.fulfilment, $3::bigint = ANY (c.pickup_point_ids),"
            "       (SELECT coalesce(array_agg(o.id ORDER BY o.id), '{}')::text"
            "          FROM orders o"
            "         WHERE o.distributor_id = $1 AND o.campaign_id = c.id"
            "           AND o.pickup_point_id = $3 AND o.status = 'to_ship')"
            "  FROM campaigns c WHERE c.distributor_id = $1 AND c.id = $2",
            3);

static struct db_stmt order_ready_write =
    DB_STMT("order_ready_write",
            "SELECT json_build_object('updated', gb_order_ready($1, $2, $3,"
            " $4::bigint[], $5::text[], $6::text[], $7::text[]))::text",
            7);

struct order_ready {
    const char *point;
};

static void fulfilment_ready_written_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void fulfilment_ready_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct order_ready *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (strcmp(PQgetvalue(pg, 0, 0), "pickup") != 0 ||
        strcmp(PQgetvalue(pg, 0, 1), "t") != 0) {
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This is not a pickup point of the campaign.");
        return;
    }
    /* "{1,2,3}": one code per order, drawn here (see the header), into
     * three array literals built in evbuffers (linear in the orders) */
    const char *ids = PQgetvalue(pg, 0, 2);
    struct evbuffer *e[3];
    char *arrays[3];
    joinengine_arrays_open(e, 3);
    bool ok = true;
    for (const char *p = ids + 1; ok && *p != '}' && *p != '\0';) {
        char *end;
        (void)strtoll(p, &end, 10);
        char code[FULFIL_CODE_LEN + 1];
        unsigned char salt[ORDER_SALT_LEN], hash[ORDER_HASH_LEN];
        char salt_hex[2 * ORDER_SALT_LEN + 1], hash_hex[2 * ORDER_HASH_LEN + 1];
        ok = end != p && fulfilment_code_new(code, salt, hash);
        if (!ok)
            break;
        crypto_hex_encode(salt, sizeof salt, salt_hex);
        crypto_hex_encode(hash, sizeof hash, hash_hex);
        const char *sep = p == ids + 1 ? "" : ",";
        evbuffer_add_printf(e[0], "%s%s", sep, code);
        evbuffer_add_printf(e[1], "%s%s", sep, salt_hex);
        evbuffer_add_printf(e[2], "%s%s", sep, hash_hex);
        p = *end == ',' ? end + 1 : end;
    }
    joinengine_arrays_close(e, arrays, 3);
    const char *params[7] = {req_tenant_param(r),
                             fulfilment_int(r, r->params[0]), st->point, ids};
    for (int f = 0; f < 3; f++) {
        params[4 + f] = req_strdup(r, arrays[f]);
        free(arrays[f]);
    }
    if (!ok) {
        req_reply_error(r, 500, "internal", NULL,
                        "Pickup codes could not be drawn.");
        return;
    }
    if (!req_exec(r, &order_ready_write, params, fulfilment_ready_written_cb))
        return;
}

static void fulfilment_ready_run(struct req *r)
{
    struct order_ready *st = r->state;
    const char *params[] = {req_tenant_param(r),
                            fulfilment_int(r, r->params[0]), st->point};
    if (!req_exec(r, &order_ready_read, params, fulfilment_ready_read_cb))
        return;
}

/* POST /v1/admin/campaigns/{id}/orders/ready {pickup_point_id} (owner,
 * operator) -> 201 {"updated": N} | 400 (not a point of this pickup
 * campaign) | 404 */
void fulfilment_ready(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"pickup_point_id", NULL};
    int64_t point = 0;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "pickup_point_id", true, 1, JSON_MAX_SAFE_INT, &point,
                NULL);
    if (!req_fields_ok(r, &jf))
        return;
    struct order_ready *st = req_alloc(r, sizeof *st);
    st->point = fulfilment_int(r, point);
    r->state = st;
    idem_begin(r, fulfilment_ready_run);
}

static struct db_stmt order_pickup_read =
    DB_STMT("order_pickup_read",
            "SELECT encode(o.pickup_code_salt, 'hex'),"
            "       encode(o.pickup_code_sha256, 'hex')"
            "  FROM orders o WHERE o.distributor_id = $1 AND o.id = $2",
            2);

static struct db_stmt order_pickup_write = DB_STMT(
    "order_pickup_write",
    "SELECT outcome, body::text"
    "  FROM gb_order_pickup($1, $2, $3, decode($4, 'hex'), $5::boolean)",
    5);

/* The budgets' outcomes; the rest are every transition's. */
static void fulfilment_picked_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    const char *outcome =
        res->status == DB_OK ? PQgetvalue(res->res, 0, 0) : "";
    if (strcmp(outcome, "staff_budget") == 0)
        req_reply_error(r, 429, "rate_limited", "pickup_code",
                        "Too many wrong pickup codes from this account in "
                        "15 minutes: try again later.");
    else if (strcmp(outcome, "point_budget") == 0)
        req_reply_error(r, 429, "rate_limited", "pickup_code",
                        "Too many wrong pickup codes at this pickup point in "
                        "15 minutes: try again later.");
    else
        order_outcome_cb(res, arg);
}

static void fulfilment_pickup_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    const char *code = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such order.");
        return;
    }
    unsigned char salt[ORDER_SALT_LEN], stored[ORDER_HASH_LEN],
        seen[ORDER_HASH_LEN];
    const char *salt_hex = PQgetvalue(pg, 0, 0);
    const char *hash_hex = PQgetvalue(pg, 0, 1);
    /* Not ready (no code yet): the function answers invalid_state. */
    bool match =
        crypto_hex_decode(salt_hex, strlen(salt_hex), salt, sizeof salt) &&
        crypto_hex_decode(hash_hex, strlen(hash_hex), stored, sizeof stored) &&
        fulfilment_code_hash(salt, code, seen) &&
        CRYPTO_memcmp(seen, stored, sizeof stored) == 0;
    const char *params[] = {req_tenant_param(r), fulfilment_int(r, r->who.id),
                            fulfilment_int(r, r->params[0]), hash_hex,
                            match ? "true" : "false"};
    if (!req_query_db(r, &order_pickup_write, params, fulfilment_picked_cb))
        return;
}

/* POST /v1/admin/orders/{id}/pickup {pickup_code} (owner, operator) -> 200
 * order (picked_up) | 400 (not six digits) | 404 | 409 invalid_state (not
 * ready, or a wrong code) | 429 rate_limited (five wrong codes on the
 * order: 15 min; or the staff member's or the pickup point's budget of
 * wrong codes spent) */
void fulfilment_pickup(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"pickup_code", NULL};
    const char *code = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "pickup_code", true, FULFIL_CODE_LEN, FULFIL_CODE_LEN,
                &code, NULL);
    if (jfields_ok(&jf) && strspn(code, "0123456789") != FULFIL_CODE_LEN)
        jfields_fail(&jf, "pickup_code", "pickup_code must be six digits");
    if (!req_fields_ok(r, &jf))
        return;
    r->state = (void *)req_strdup(r, code);
    const char *params[] = {req_tenant_param(r),
                            fulfilment_int(r, r->params[0])};
    if (!req_query_db(r, &order_pickup_read, params, fulfilment_pickup_read_cb))
        return;
}

/* ------------------------------------------------------- pickup list */

static struct db_stmt order_pickup_list =
    DB_STMT("order_pickup_list",
            "SELECT o.id, k.display_name, gb_customer_masked(k.login),"
            "       o.quantity, o.status"
            "  FROM campaigns c"
            "  LEFT JOIN orders o ON o.distributor_id = c.distributor_id"
            "        AND o.campaign_id = c.id AND o.pickup_point_id = $3"
            "  LEFT JOIN customers k ON k.id = o.customer_id"
            " WHERE c.distributor_id = $1 AND c.id = $2"
            " ORDER BY o.id NULLS FIRST",
            3);

static void fulfilment_pickup_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) == 0) { /* a row per order, or one empty row */
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    static const char *const columns[] = {"order_id", "customer", "phone",
                                          "quantity", "status"};
    struct csv_buf b;
    csv_buf_init(&b);
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof columns / sizeof columns[0]; i++)
        ok = csv_append_str(&b, columns[i]);
    ok = ok && csv_end_row(&b);
    for (int i = 0; ok && i < PQntuples(pg); i++) {
        if (PQgetisnull(pg, i, 0))
            continue; /* the campaign has no order at this point */
        ok = csv_append_int(&b, strtoll(PQgetvalue(pg, i, 0), NULL, 10)) &&
             csv_append_str(&b, PQgetvalue(pg, i, 1)) &&
             csv_append_str(&b, PQgetvalue(pg, i, 2)) &&
             csv_append_int(&b, strtoll(PQgetvalue(pg, i, 3), NULL, 10)) &&
             csv_append_str(&b, PQgetvalue(pg, i, 4)) && csv_end_row(&b);
    }
    if (!ok) {
        csv_buf_cleanup(&b);
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    req_add_header(r, "Content-Disposition",
                   "attachment; filename=\"pickup-list.csv\"");
    req_reply_raw(r, 200, "text/csv; charset=utf-8", b.data ? b.data : "",
                  b.len);
    csv_buf_cleanup(&b);
}

/* GET /v1/admin/exports/pickup-list.csv?campaign_id=&pickup_point_id=
 * (owner, operator) -> text/csv: order_id, customer, phone (masked),
 * quantity, status | 400 (either missing) | 404 (not this distributor's
 * campaign) */
void fulfilment_pickup_list(struct req *r)
{
    const char *campaign, *point;
    if (!fulfilment_query_id(r, "campaign_id", &campaign) ||
        !fulfilment_query_id(r, "pickup_point_id", &point))
        return;
    if (campaign == NULL || point == NULL) {
        req_reply_error(r, 400, "invalid_field",
                        campaign == NULL ? "campaign_id" : "pickup_point_id",
                        "campaign_id and pickup_point_id are required.");
        return;
    }
    const char *params[] = {req_tenant_param(r), campaign, point};
    if (!req_query_db(r, &order_pickup_list, params, fulfilment_pickup_list_cb))
        return;
}
