/*
 * api_campaigns.c - campaigns: the staff side (create, edit, publish,
 * cancel, list, view with stats and forecast) and the public side (list and
 * view with progress).
 *
 * Validation is done in C before anything is written: field types and
 * ranges (jfields), times (a strict RFC 3339 parser), tier ladders and
 * deposit policies (pricing module, tiers against the product's list price,
 * read tenant-scoped in the same request), and the rules across fields
 * (starts_at < ends_at, min_participants and per_customer_limit <=
 * max_quantity). The schema's CHECKs hold the same rules as a last line.
 *
 * Every campaign reply is the campaign's JSON built by SQL with "progress"
 * spliced in (engine/campaign_view.h); the staff view also splices "stats"
 * (built by SQL) and "forecast" (forecast module over p_complete_at_join
 * of the live participations).
 *
 * Edits use optimistic concurrency: PATCH reads the campaign with its
 * version, decides in C, and writes with "WHERE version = $v AND status =
 * $s"; a lost race re-reads and decides again (CAMPAIGN_PATCH_ATTEMPTS),
 * then answers 409 invalid_state. Every staff write records its audit line
 * (before and after) in the same statement or transaction.
 *
 * Decisions where the documents are silent (also in functions/campaigns.sql):
 *  - an unknown or foreign product_id is 400 invalid_field "product_id";
 *  - times: RFC 3339 with Z or a numeric offset, fraction up to 9 digits
 *    (kept to the microsecond), between 1970 and 9999; answered in UTC to
 *    the second;
 *  - deposit and payment windows: 1 s to 30 days;
 *  - min_participants may not exceed max_quantity (such a campaign could
 *    never succeed): 400 invalid_field "min_participants";
 *  - max_quantity, per_customer_limit, min_participants and tier thresholds
 *    are at most PRICING_QUANTITY_MAX (10^6), tier prices at most the
 *    product's list price, itself at most PRICING_PRICE_MAX_CENTS (10^8):
 *    so every amount the campaign can produce, settlement included, fits
 *    (pricing.h). Both hold for PATCH as for creation (the merged campaign
 *    is checked whole);
 *  - PATCH of a scheduled or open campaign: any field other than ends_at,
 *    description and tiers is 409 invalid_state (even with its current
 *    value); ends_at must be later than the current one; a campaign whose
 *    ends_at has passed (closing) takes no edit. In a draft, a PATCH that
 *    lowers max_quantity below per_customer_limit without naming it
 *    lowers per_customer_limit too (its default is max_quantity);
 *  - publish when ends_at has passed, or stock < max_quantity: 409
 *    invalid_state (field "ends_at" for the first). Publishing does not
 *    reserve stock.
 *
 * The public view (GET /v1/campaigns/{id}) is served through the view
 * cache of viewcache.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "domain/forecast.h"
#include "domain/pricing.h"
#include "engine/campaign_view.h"
#include "engine/idem.h"
#include "http/http.h"
#include "lib/json.h"
#include "lib/rfc3339.h"

#define CAMPAIGN_WINDOW_MAX     (30 * 86400)
#define CAMPAIGN_PATCH_ATTEMPTS 3
/* A campaign names a handful of pickup points (schema CHECK: 50). */
#define CAMPAIGN_PICKUP_POINTS_MAX 50
/* 9999-12-31T23:59:59.999999Z in microseconds since the epoch */
#define CAMPAIGN_TIME_MAX_US 253402300799999999LL

/* Parses an RFC 3339 time (rfc3339.h) into microseconds since the epoch,
 * within 1970..9999. */
static bool campaign_time_parse(const char *s, int64_t *out)
{
    int64_t us;
    if (!rfc3339_parse(s, &us) || us < 0 || us > CAMPAIGN_TIME_MAX_US)
        return false;
    *out = us;
    return true;
}

/* Microseconds since the epoch (0..CAMPAIGN_TIME_MAX_US) as an RFC 3339
 * UTC statement parameter. */
static char *campaign_time_text(struct req *r, int64_t us)
{
    char *out = req_alloc(r, RFC3339_MAX);
    rfc3339_format(us, out);
    return out;
}

/* ------------------------------------------------------------ input */

/* A campaign's editable fields, each with whether the request named it. */
struct campaign_in {
    int64_t product_id;
    const char *title, *description;
    int64_t starts_at, ends_at; /* microseconds since the epoch */
    enum pricing_basis basis;
    struct pricing_tier tiers[PRICING_MAX_TIERS];
    size_t ntiers;
    int64_t min_participants, max_quantity, per_customer_limit;
    struct pricing_deposit_band bands[PRICING_MAX_BANDS];
    size_t nbands;
    int64_t min_score, deposit_window, payment_window;
    /* fulfilment (issue 13) and the bound on units pending a deposit */
    bool pickup; /* fulfilment "pickup", else "delivery" */
    int64_t pickup_points[CAMPAIGN_PICKUP_POINTS_MAX];
    size_t npickup_points;
    int64_t after_sales_days, max_pending_share_bp;
    bool has_fulfilment, has_pickup_points, has_after_sales_days,
        has_max_pending_share_bp;
    bool has_product_id, has_title, has_description, has_starts_at, has_ends_at,
        has_basis, has_tiers, has_min_participants, has_max_quantity,
        has_per_customer_limit, has_policy, has_min_score, has_deposit_window,
        has_payment_window;
};

static const char *const campaign_fields[] = {"product_id",
                                              "title",
                                              "description",
                                              "starts_at",
                                              "ends_at",
                                              "tier_basis",
                                              "tiers",
                                              "min_participants",
                                              "max_quantity",
                                              "per_customer_limit",
                                              "deposit_policy",
                                              "min_score",
                                              "deposit_window_seconds",
                                              "payment_window_seconds",
                                              "max_pending_share_bp",
                                              "fulfilment",
                                              "pickup_point_ids",
                                              "after_sales_days",
                                              NULL};

/* Reads an array of at most max objects with exactly the members a and b,
 * integers, into pairs[]; false with *bad the index of the first faulty
 * element. */
static bool campaign_pairs(const cJSON *arr, const char *a, const char *b,
                           int64_t (*pairs)[2], size_t max, size_t *n,
                           size_t *bad)
{
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        size_t members = 0;
        if (cJSON_IsObject(e)) {
            for (const cJSON *m = e->child; m != NULL; m = m->next)
                members++;
        }
        if (i >= max || !cJSON_IsObject(e) || members != 2 ||
            !json_item_int(json_get(e, a), -JSON_MAX_SAFE_INT,
                           JSON_MAX_SAFE_INT, &pairs[i][0]) ||
            !json_item_int(json_get(e, b), -JSON_MAX_SAFE_INT,
                           JSON_MAX_SAFE_INT, &pairs[i][1])) {
            *bad = i;
            return false;
        }
    }
    *n = i;
    return true;
}

/* campaign_pairs for a request field: fails jf on a bad element. */
static size_t campaign_read_pairs(struct jfields *jf, const cJSON *arr,
                                  const char *key, const char *a, const char *b,
                                  int64_t (*pairs)[2], size_t max)
{
    size_t n = 0, bad = 0;
    if (!campaign_pairs(arr, a, b, pairs, max, &n, &bad)) {
        jfields_fail(jf, key,
                     "%s[%zu] must be an object {\"%s\", \"%s\"} of integers",
                     key, bad, a, b);
        return 0;
    }
    return n;
}

/* pickup_point_ids: distinct positive integers (that they are the
 * distributor's active points is checked against the database). */
static void campaign_read_points(struct jfields *jf, const cJSON *arr,
                                 struct campaign_in *in)
{
    size_t n = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next) {
        int64_t id;
        if (!json_item_int(e, 1, JSON_MAX_SAFE_INT, &id)) {
            jfields_fail(jf, "pickup_point_ids",
                         "pickup_point_ids[%zu] must be a pickup point id", n);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (in->pickup_points[i] == id) {
                jfields_fail(jf, "pickup_point_ids",
                             "pickup_point_ids[%zu] repeats %lld", n,
                             (long long)id);
                return;
            }
        }
        in->pickup_points[n++] = id;
    }
    in->npickup_points = n;
    in->has_pickup_points = true;
}

/* Reads every field the request names into *in (required ones when
 * creating) and checks each on its own; rules across fields come later. */
static void campaign_read(struct jfields *jf, struct campaign_in *in,
                          bool create)
{
    const char *starts = NULL, *ends = NULL, *basis = NULL;
    jfields_only(jf, campaign_fields);
    jfields_int(jf, "product_id", create, 1, JSON_MAX_SAFE_INT, &in->product_id,
                &in->has_product_id);
    jfields_str(jf, "title", create, 1, 200, &in->title, &in->has_title);
    jfields_str(jf, "description", false, 0, 4000, &in->description,
                &in->has_description);
    jfields_str(jf, "starts_at", create, 1, 64, &starts, &in->has_starts_at);
    jfields_str(jf, "ends_at", create, 1, 64, &ends, &in->has_ends_at);
    jfields_str(jf, "tier_basis", create, 1, 32, &basis, &in->has_basis);
    const cJSON *tiers =
        jfields_array(jf, "tiers", create, 1, PRICING_MAX_TIERS);
    jfields_int(jf, "min_participants", create, 1, PRICING_QUANTITY_MAX,
                &in->min_participants, &in->has_min_participants);
    jfields_int(jf, "max_quantity", create, 1, PRICING_QUANTITY_MAX,
                &in->max_quantity, &in->has_max_quantity);
    jfields_int(jf, "per_customer_limit", false, 1, PRICING_QUANTITY_MAX,
                &in->per_customer_limit, &in->has_per_customer_limit);
    const cJSON *policy =
        jfields_array(jf, "deposit_policy", false, 1, PRICING_MAX_BANDS);
    jfields_int(jf, "min_score", false, 0, PRICING_SCORE_MAX, &in->min_score,
                &in->has_min_score);
    jfields_int(jf, "deposit_window_seconds", false, 1, CAMPAIGN_WINDOW_MAX,
                &in->deposit_window, &in->has_deposit_window);
    jfields_int(jf, "payment_window_seconds", false, 1, CAMPAIGN_WINDOW_MAX,
                &in->payment_window, &in->has_payment_window);
    jfields_int(jf, "max_pending_share_bp", false, 1, 10000,
                &in->max_pending_share_bp, &in->has_max_pending_share_bp);
    const char *fulfilment = NULL;
    jfields_str(jf, "fulfilment", false, 1, 16, &fulfilment,
                &in->has_fulfilment);
    const cJSON *points = jfields_array(jf, "pickup_point_ids", false, 0,
                                        CAMPAIGN_PICKUP_POINTS_MAX);
    jfields_int(jf, "after_sales_days", false, 0, 30, &in->after_sales_days,
                &in->has_after_sales_days);
    if (!jfields_ok(jf))
        return;
    if (in->has_fulfilment) {
        if (strcmp(fulfilment, "pickup") == 0)
            in->pickup = true;
        else if (strcmp(fulfilment, "delivery") != 0)
            jfields_fail(jf, "fulfilment",
                         "fulfilment must be \"delivery\" or \"pickup\"");
    }
    if (points != NULL)
        campaign_read_points(jf, points, in);
    if (in->has_title && !json_printable(in->title, false))
        jfields_fail(jf, "title", "title must not hold control characters");
    if (in->has_description && !json_printable(in->description, true))
        jfields_fail(jf, "description",
                     "description must not hold control characters");
    if (in->has_starts_at && !campaign_time_parse(starts, &in->starts_at))
        jfields_fail(jf, "starts_at",
                     "starts_at must be an RFC 3339 time such as "
                     "2026-12-01T02:00:00Z");
    if (in->has_ends_at && !campaign_time_parse(ends, &in->ends_at))
        jfields_fail(jf, "ends_at",
                     "ends_at must be an RFC 3339 time such as "
                     "2026-12-01T02:00:00Z");
    if (in->has_basis && !pricing_basis_from_name(basis, &in->basis))
        jfields_fail(jf, "tier_basis",
                     "tier_basis must be \"participants\" or \"quantity\"");
    if (tiers != NULL && jfields_ok(jf)) {
        int64_t pairs[PRICING_MAX_TIERS][2];
        in->ntiers =
            campaign_read_pairs(jf, tiers, "tiers", "threshold",
                                "unit_price_cents", pairs, PRICING_MAX_TIERS);
        for (size_t i = 0; i < in->ntiers; i++) {
            in->tiers[i].threshold = pairs[i][0];
            in->tiers[i].unit_price_cents = pairs[i][1];
        }
        size_t bad = 0;
        enum pricing_tiers_fault f =
            jfields_ok(jf)
                ? pricing_tiers_validate(in->tiers, in->ntiers, INT64_MAX, &bad)
                : PRICING_TIERS_OK;
        if (f != PRICING_TIERS_OK)
            jfields_fail(jf, "tiers", "tiers[%zu]: %s", bad,
                         pricing_tiers_fault_message(f));
        in->has_tiers = jfields_ok(jf);
    }
    if (policy != NULL && jfields_ok(jf)) {
        int64_t pairs[PRICING_MAX_BANDS][2];
        in->nbands =
            campaign_read_pairs(jf, policy, "deposit_policy", "min_score",
                                "deposit_percent", pairs, PRICING_MAX_BANDS);
        for (size_t i = 0; i < in->nbands; i++) {
            in->bands[i].min_score = pairs[i][0];
            in->bands[i].deposit_percent = pairs[i][1];
        }
        size_t bad = 0;
        enum pricing_bands_fault f =
            jfields_ok(jf) ? pricing_bands_validate(in->bands, in->nbands, &bad)
                           : PRICING_BANDS_OK;
        if (f == PRICING_BANDS_EMPTY || f == PRICING_BANDS_TOO_MANY ||
            f == PRICING_BANDS_NO_ZERO)
            jfields_fail(jf, "deposit_policy", "deposit_policy: %s",
                         pricing_bands_fault_message(f));
        else if (f != PRICING_BANDS_OK)
            jfields_fail(jf, "deposit_policy", "deposit_policy[%zu]: %s", bad,
                         pricing_bands_fault_message(f));
        in->has_policy = jfields_ok(jf);
    }
}

/* Fills what a creation may leave out with the defaults of API.md. */
static void campaign_defaults(struct campaign_in *in)
{
    if (!in->has_description)
        in->description = "";
    if (!in->has_per_customer_limit)
        in->per_customer_limit = in->max_quantity;
    if (!in->has_policy) {
        memcpy(in->bands, pricing_default_deposit_policy,
               sizeof pricing_default_deposit_policy);
        in->nbands = PRICING_DEFAULT_BANDS;
    }
    if (!in->has_min_score)
        in->min_score = 0;
    if (!in->has_deposit_window)
        in->deposit_window = 900;
    if (!in->has_payment_window)
        in->payment_window = 86400;
    if (!in->has_after_sales_days)
        in->after_sales_days = 7;
    if (!in->has_max_pending_share_bp)
        in->max_pending_share_bp = 5000;
}

/* The rules across fields of a complete campaign. */
static void campaign_check(struct jfields *jf, const struct campaign_in *c)
{
    if (c->starts_at >= c->ends_at)
        jfields_fail(jf, "ends_at", "ends_at must be after starts_at");
    else if (c->per_customer_limit > c->max_quantity)
        jfields_fail(jf, "per_customer_limit",
                     "per_customer_limit must not exceed max_quantity");
    else if (c->min_participants > c->max_quantity)
        jfields_fail(jf, "min_participants",
                     "min_participants must not exceed max_quantity (each "
                     "participant takes at least one unit)");
    else if (c->pickup && c->npickup_points == 0)
        jfields_fail(jf, "pickup_point_ids",
                     "a pickup campaign needs at least one pickup point");
    else if (!c->pickup && c->npickup_points > 0)
        jfields_fail(jf, "pickup_point_ids",
                     "only a pickup campaign takes pickup points");
}

/* The pickup point ids as a bigint[] statement parameter. */
static char *campaign_points_param(struct req *r, const struct campaign_in *c)
{
    char *s = "{";
    for (size_t i = 0; i < c->npickup_points; i++)
        s = req_printf(r, "%s%s%lld", s, i ? "," : "",
                       (long long)c->pickup_points[i]);
    return req_printf(r, "%s}", s);
}

/* The tiers against the product's list price. */
static void campaign_check_price(struct jfields *jf,
                                 const struct campaign_in *c,
                                 int64_t list_price)
{
    size_t bad = 0;
    enum pricing_tiers_fault f =
        pricing_tiers_validate(c->tiers, c->ntiers, list_price, &bad);
    if (f != PRICING_TIERS_OK)
        jfields_fail(jf, "tiers", "tiers[%zu]: %s (list price %lld)", bad,
                     pricing_tiers_fault_message(f), (long long)list_price);
}

static char *campaign_tiers_json(struct req *r, const struct campaign_in *c)
{
    char *s = "[";
    for (size_t i = 0; i < c->ntiers; i++)
        s = req_printf(r, "%s%s{\"threshold\":%lld,\"unit_price_cents\":%lld}",
                       s, i ? "," : "", (long long)c->tiers[i].threshold,
                       (long long)c->tiers[i].unit_price_cents);
    return req_printf(r, "%s]", s);
}

static char *campaign_policy_json(struct req *r, const struct campaign_in *c)
{
    char *s = "[";
    for (size_t i = 0; i < c->nbands; i++)
        s = req_printf(r, "%s%s{\"min_score\":%lld,\"deposit_percent\":%lld}",
                       s, i ? "," : "", (long long)c->bands[i].min_score,
                       (long long)c->bands[i].deposit_percent);
    return req_printf(r, "%s]", s);
}

static const char *campaign_int_text(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

/* ------------------------------------------------------------ stored */

/* Strict decimal integer of a result cell. */
static bool campaign_cell_int(PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Reads a stored tier ladder (JSON text); false when it is not valid. */
static bool campaign_tiers_parse(const char *text, struct pricing_tier *tiers,
                                 size_t *n)
{
    struct json_parse_error err;
    cJSON *arr = json_parse_strict(text, strlen(text), &err);
    size_t i = 0;
    bool ok = cJSON_IsArray(arr);
    for (const cJSON *e = ok ? arr->child : NULL; ok && e != NULL;
         e = e->next, i++) {
        ok = i < PRICING_MAX_TIERS &&
             json_item_int(json_get(e, "threshold"), 1, JSON_MAX_SAFE_INT,
                           &tiers[i].threshold) &&
             json_item_int(json_get(e, "unit_price_cents"), 1,
                           JSON_MAX_SAFE_INT, &tiers[i].unit_price_cents);
    }
    cJSON_Delete(arr);
    if (!ok ||
        pricing_tiers_validate(tiers, i, INT64_MAX, NULL) != PRICING_TIERS_OK)
        return false;
    *n = i;
    return true;
}

/* ------------------------------------------------------------ create */

struct campaign_create {
    struct campaign_in in;
    int64_t limit; /* page size, for lists */
};

static struct db_stmt campaign_product =
    DB_STMT("campaign_product",
            "SELECT p.list_price_cents,"
            "       gb_pickup_points_usable($1, $3::bigint[])"
            "  FROM products p"
            " WHERE p.distributor_id = $1 AND p.id = $2",
            3);

static struct db_stmt campaign_insert = DB_STMT(
    "campaign_insert",
    "WITH n AS (INSERT INTO campaigns AS t (distributor_id, product_id, title,"
    "    description, starts_at, ends_at, tier_basis, tiers, min_participants,"
    "    max_quantity, per_customer_limit, deposit_policy, min_score,"
    "    deposit_window_seconds, payment_window_seconds,"
    "    max_pending_share_bp, fulfilment, pickup_point_ids, after_sales_days)"
    "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11,"
    "          $12::jsonb, $13, $14, $15, $18, $19, $20::bigint[], $21)"
    "  RETURNING t),"
    " a AS (INSERT INTO audit_log (distributor_id, staff_id, actor, action,"
    "                              entity, entity_id, after, request_id)"
    "       SELECT $1, $16::bigint, 'staff:' || $16::bigint, 'create',"
    "              'campaign', (n.t).id, gb_campaign_json(n.t)::jsonb, $17"
    "         FROM n)"
    " SELECT " CAMPAIGN_VIEW_COLS(
        "gb_campaign_json", "n.t",
        "k") "   FROM n, LATERAL gb_campaign_counted(n.t) k",
    21);

static void campaign_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status == DB_SQL_ERROR && strcmp(res->sqlstate, "23503") == 0) {
        req_reply_error(r, 400, "invalid_field", "product_id",
                        "No such product.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    campaign_view_reply_one(r, 201, res->res, 0, true);
}

/* The 15 field parameters $2..$16 of a complete campaign into params. */
static void campaign_params(struct req *r, const struct campaign_in *c,
                            const char **params)
{
    params[0] = campaign_int_text(r, c->product_id);
    params[1] = c->title;
    params[2] = c->description;
    params[3] = campaign_time_text(r, c->starts_at);
    params[4] = campaign_time_text(r, c->ends_at);
    params[5] = pricing_basis_name(c->basis);
    params[6] = campaign_tiers_json(r, c);
    params[7] = campaign_int_text(r, c->min_participants);
    params[8] = campaign_int_text(r, c->max_quantity);
    params[9] = campaign_int_text(r, c->per_customer_limit);
    params[10] = campaign_policy_json(r, c);
    params[11] = campaign_int_text(r, c->min_score);
    params[12] = campaign_int_text(r, c->deposit_window);
    params[13] = campaign_int_text(r, c->payment_window);
}

/* The 4 fulfilment parameters (max_pending_share_bp, fulfilment,
 * pickup_point_ids, after_sales_days) into params. */
static void campaign_params_fulfil(struct req *r, const struct campaign_in *c,
                                   const char **params)
{
    params[0] = campaign_int_text(r, c->max_pending_share_bp);
    params[1] = c->pickup ? "pickup" : "delivery";
    params[2] = campaign_points_param(r, c);
    params[3] = campaign_int_text(r, c->after_sales_days);
}

static void campaign_create_run(struct req *r)
{
    struct campaign_create *st = r->state;
    const char *params[21];
    params[0] = req_tenant_param(r);
    campaign_params(r, &st->in, params + 1);
    params[15] = campaign_int_text(r, r->who.id);
    params[16] = r->id;
    campaign_params_fulfil(r, &st->in, params + 17);
    if (!req_exec(r, &campaign_insert, params, campaign_inserted_cb))
        return;
}

static void campaign_product_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_create *st = r->state;
    int64_t list_price;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1 ||
        !campaign_cell_int(res->res, 0, 0, &list_price)) {
        req_reply_error(r, 400, "invalid_field", "product_id",
                        "No such product.");
        return;
    }
    struct jfields jf;
    jfields_init(&jf, r->json);
    campaign_check_price(&jf, &st->in, list_price);
    if (jfields_ok(&jf) && strcmp(PQgetvalue(res->res, 0, 1), "t") != 0)
        jfields_fail(&jf, "pickup_point_ids",
                     "pickup_point_ids must name active pickup points of "
                     "this distributor");
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, campaign_create_run);
}

/* POST /v1/admin/campaigns {product_id, title, description?, starts_at,
 * ends_at, tier_basis, tiers, min_participants, max_quantity,
 * per_customer_limit?, deposit_policy?, min_score?, deposit_window_seconds?,
 * payment_window_seconds?} (owner, operator) -> 201 campaign (draft) |
 * 400 invalid_field */
void api_campaigns_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct campaign_create *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    struct jfields jf;
    jfields_init(&jf, body);
    campaign_read(&jf, &st->in, true);
    if (jfields_ok(&jf)) {
        campaign_defaults(&st->in);
        campaign_check(&jf, &st->in);
    }
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            campaign_int_text(r, st->in.product_id),
                            campaign_points_param(r, &st->in)};
    if (!req_query_db(r, &campaign_product, params, campaign_product_cb))
        return;
}

/* ------------------------------------------------------------ edit */

struct campaign_patch {
    struct campaign_in in; /* what the request names */
    int attempts;
};

static struct db_stmt campaign_patch_read = DB_STMT(
    "campaign_patch_read",
    "SELECT c.status, c.version, c.product_id, c.title, c.description,"
    "       (extract(epoch FROM c.starts_at) * 1000000)::bigint,"
    "       (extract(epoch FROM c.ends_at) * 1000000)::bigint,"
    "       c.tier_basis, c.tiers::text, c.min_participants, c.max_quantity,"
    "       c.per_customer_limit, c.deposit_policy::text, c.min_score,"
    "       c.deposit_window_seconds, c.payment_window_seconds,"
    "       p.list_price_cents, np.list_price_cents, c.ends_at <= now(),"
    "       c.max_pending_share_bp, c.fulfilment, c.after_sales_days,"
    "       c.pickup_point_ids::text,"
    "       $4::bigint[] IS NULL OR gb_pickup_points_usable($1, $4::bigint[])"
    "  FROM campaigns c"
    "  JOIN products p ON p.distributor_id = c.distributor_id"
    "                 AND p.id = c.product_id"
    "  LEFT JOIN products np ON np.distributor_id = $1 AND np.id = $3::bigint"
    " WHERE c.distributor_id = $1 AND c.id = $2",
    4);

static struct db_stmt campaign_patch_write = DB_STMT(
    "campaign_patch_write",
    "WITH o AS (SELECT c FROM campaigns c"
    "            WHERE c.distributor_id = $1 AND c.id = $2),"
    " u AS (UPDATE campaigns t SET product_id = $5, title = $6,"
    "         description = $7, starts_at = $8, ends_at = $9,"
    "         tier_basis = $10, tiers = $11::jsonb, min_participants = $12,"
    "         max_quantity = $13, per_customer_limit = $14,"
    "         deposit_policy = $15::jsonb, min_score = $16,"
    "         deposit_window_seconds = $17, payment_window_seconds = $18,"
    "         max_pending_share_bp = $21, fulfilment = $22,"
    "         pickup_point_ids = $23::bigint[], after_sales_days = $24,"
    "         version = t.version + 1, updated_at = now()"
    "       WHERE t.distributor_id = $1 AND t.id = $2 AND t.version = $3"
    "         AND t.status = $4 AND (t.status = 'draft' OR t.ends_at > now())"
    "       RETURNING t),"
    " a AS (INSERT INTO audit_log (distributor_id, staff_id, actor, action,"
    "         entity, entity_id, before, after, request_id)"
    "       SELECT $1, $19::bigint, 'staff:' || $19::bigint, 'update',"
    "              'campaign', $2::bigint, gb_campaign_json(o.c)::jsonb,"
    "              gb_campaign_json(u.t)::jsonb, $20 FROM o, u)"
    " SELECT " CAMPAIGN_VIEW_COLS(
        "gb_campaign_json", "u.t",
        "k") "   FROM u, LATERAL gb_campaign_counted(u.t) k",
    24);

static void campaign_patch_start(struct req *r);

static void campaign_patch_written_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_patch *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) == 1) {
        campaign_view_reply_one(r, 200, res->res, 0, false);
        return;
    }
    if (++st->attempts < CAMPAIGN_PATCH_ATTEMPTS) {
        campaign_patch_start(r); /* lost a race: decide again */
        return;
    }
    req_reply_error(r, 409, "invalid_state", NULL,
                    "The campaign changed meanwhile; read it and retry.");
}

/* Fails jf for the first field a scheduled or open campaign may not take. */
static const char *campaign_patch_locked_field(const struct campaign_in *in)
{
    if (in->has_product_id)
        return "product_id";
    if (in->has_title)
        return "title";
    if (in->has_starts_at)
        return "starts_at";
    if (in->has_basis)
        return "tier_basis";
    if (in->has_min_participants)
        return "min_participants";
    if (in->has_max_quantity)
        return "max_quantity";
    if (in->has_per_customer_limit)
        return "per_customer_limit";
    if (in->has_policy)
        return "deposit_policy";
    if (in->has_min_score)
        return "min_score";
    if (in->has_deposit_window)
        return "deposit_window_seconds";
    if (in->has_payment_window)
        return "payment_window_seconds";
    if (in->has_max_pending_share_bp)
        return "max_pending_share_bp";
    if (in->has_fulfilment)
        return "fulfilment";
    if (in->has_pickup_points)
        return "pickup_point_ids";
    if (in->has_after_sales_days)
        return "after_sales_days";
    return NULL;
}

/* Reads a stored pickup_point_ids ("{1,2}") into c. */
static bool campaign_points_parse(const char *text, struct campaign_in *c)
{
    size_t n = 0;
    if (*text++ != '{')
        return false;
    while (*text != '}') {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno != 0 || end == text || v < 1 ||
            n == CAMPAIGN_PICKUP_POINTS_MAX)
            return false;
        c->pickup_points[n++] = v;
        text = end;
        if (*text == ',')
            text++;
        else if (*text != '}')
            return false;
    }
    c->npickup_points = n;
    return true;
}

/* Reads the stored campaign of the patch_read row into *c; false when the
 * stored data cannot be read. */
static bool campaign_from_row(PGresult *res, struct campaign_in *c)
{
    size_t bad;
    int64_t pairs[PRICING_MAX_BANDS][2];
    struct json_parse_error err;
    const char *policy = PQgetvalue(res, 0, 12);
    cJSON *arr = json_parse_strict(policy, strlen(policy), &err);
    bool ok = cJSON_IsArray(arr) &&
              campaign_pairs(arr, "min_score", "deposit_percent", pairs,
                             PRICING_MAX_BANDS, &c->nbands, &bad);
    for (size_t i = 0; ok && i < c->nbands; i++) {
        c->bands[i].min_score = pairs[i][0];
        c->bands[i].deposit_percent = pairs[i][1];
    }
    cJSON_Delete(arr);
    return ok && campaign_cell_int(res, 0, 2, &c->product_id) &&
           campaign_cell_int(res, 0, 5, &c->starts_at) &&
           campaign_cell_int(res, 0, 6, &c->ends_at) &&
           pricing_basis_from_name(PQgetvalue(res, 0, 7), &c->basis) &&
           campaign_tiers_parse(PQgetvalue(res, 0, 8), c->tiers, &c->ntiers) &&
           campaign_cell_int(res, 0, 9, &c->min_participants) &&
           campaign_cell_int(res, 0, 10, &c->max_quantity) &&
           campaign_cell_int(res, 0, 11, &c->per_customer_limit) &&
           campaign_cell_int(res, 0, 13, &c->min_score) &&
           campaign_cell_int(res, 0, 14, &c->deposit_window) &&
           campaign_cell_int(res, 0, 15, &c->payment_window) &&
           campaign_cell_int(res, 0, 19, &c->max_pending_share_bp) &&
           campaign_cell_int(res, 0, 21, &c->after_sales_days) &&
           campaign_points_parse(PQgetvalue(res, 0, 22), c) &&
           pricing_bands_validate(c->bands, c->nbands, &bad) ==
               PRICING_BANDS_OK;
}

/* The named fields of in over the stored campaign c. */
static void campaign_merge(struct campaign_in *c, const struct campaign_in *in)
{
    int64_t old_max = c->max_quantity;
    if (in->has_product_id)
        c->product_id = in->product_id;
    if (in->has_title)
        c->title = in->title;
    if (in->has_description)
        c->description = in->description;
    if (in->has_starts_at)
        c->starts_at = in->starts_at;
    if (in->has_ends_at)
        c->ends_at = in->ends_at;
    if (in->has_basis)
        c->basis = in->basis;
    if (in->has_tiers) {
        memcpy(c->tiers, in->tiers, sizeof in->tiers);
        c->ntiers = in->ntiers;
    }
    if (in->has_min_participants)
        c->min_participants = in->min_participants;
    if (in->has_max_quantity)
        c->max_quantity = in->max_quantity;
    if (in->has_per_customer_limit)
        c->per_customer_limit = in->per_customer_limit;
    else if (c->per_customer_limit > c->max_quantity ||
             c->per_customer_limit == old_max)
        c->per_customer_limit = c->max_quantity; /* follows its default */
    if (in->has_policy) {
        memcpy(c->bands, in->bands, sizeof in->bands);
        c->nbands = in->nbands;
    }
    if (in->has_min_score)
        c->min_score = in->min_score;
    if (in->has_deposit_window)
        c->deposit_window = in->deposit_window;
    if (in->has_payment_window)
        c->payment_window = in->payment_window;
    if (in->has_max_pending_share_bp)
        c->max_pending_share_bp = in->max_pending_share_bp;
    if (in->has_after_sales_days)
        c->after_sales_days = in->after_sales_days;
    if (in->has_fulfilment) {
        c->pickup = in->pickup;
        if (!in->pickup && !in->has_pickup_points)
            c->npickup_points = 0; /* delivery names no points */
    }
    if (in->has_pickup_points) {
        memcpy(c->pickup_points, in->pickup_points, sizeof in->pickup_points);
        c->npickup_points = in->npickup_points;
    }
}

static void campaign_patch_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_patch *st = r->state;
    const struct campaign_in *in = &st->in;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    const char *status = req_strdup(r, PQgetvalue(pg, 0, 0));
    const char *version = req_strdup(r, PQgetvalue(pg, 0, 1));
    bool draft = strcmp(status, "draft") == 0;
    bool live = strcmp(status, "scheduled") == 0 || strcmp(status, "open") == 0;
    bool due = strcmp(PQgetvalue(pg, 0, 18), "t") == 0;
    struct campaign_in c;
    int64_t list_price;
    memset(&c, 0, sizeof c);
    c.pickup = strcmp(PQgetvalue(pg, 0, 20), "pickup") == 0;
    c.title = req_strdup(r, PQgetvalue(pg, 0, 3));
    c.description = req_strdup(r, PQgetvalue(pg, 0, 4));
    if (!campaign_from_row(pg, &c) ||
        !campaign_cell_int(pg, 0, 16, &list_price)) {
        campaign_view_bad_data(r);
        return;
    }
    if (!draft && !live) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "A %s campaign cannot be edited.", status);
        return;
    }
    if (live) {
        const char *locked = campaign_patch_locked_field(in);
        if (locked != NULL) {
            req_reply_error(r, 409, "invalid_state", locked,
                            "A %s campaign takes only a later ends_at, "
                            "description and tiers that raise no price.",
                            status);
            return;
        }
        if (due) {
            req_reply_error(r, 409, "invalid_state", NULL,
                            "The campaign has reached its ends_at and is "
                            "closing.");
            return;
        }
        if (in->has_ends_at && in->ends_at <= c.ends_at) {
            req_reply_error(r, 409, "invalid_state", "ends_at",
                            "A %s campaign's ends_at may only be moved "
                            "later.",
                            status);
            return;
        }
    }
    if (in->has_product_id) {
        if (!campaign_cell_int(pg, 0, 17, &list_price)) {
            req_reply_error(r, 400, "invalid_field", "product_id",
                            "No such product.");
            return;
        }
    }
    struct campaign_in old = c;
    campaign_merge(&c, in);
    struct jfields jf;
    jfields_init(&jf, r->json);
    campaign_check(&jf, &c);
    campaign_check_price(&jf, &c, list_price);
    if (jfields_ok(&jf) && strcmp(PQgetvalue(pg, 0, 23), "t") != 0)
        jfields_fail(&jf, "pickup_point_ids",
                     "pickup_point_ids must name active pickup points of "
                     "this distributor");
    if (!req_fields_ok(r, &jf))
        return;
    int64_t first = 0;
    if (live && in->has_tiers &&
        pricing_tiers_raise_price(old.tiers, old.ntiers, c.tiers, c.ntiers,
                                  &first)) {
        req_reply_error(r, 409, "invalid_state", "tiers",
                        "These tiers would raise the price at count %lld; "
                        "a %s campaign may only add or lower tiers.",
                        (long long)first, status);
        return;
    }
    const char *params[24];
    params[0] = req_tenant_param(r);
    params[1] = campaign_int_text(r, r->params[0]);
    params[2] = version;
    params[3] = status;
    campaign_params(r, &c, params + 4);
    params[18] = campaign_int_text(r, r->who.id);
    params[19] = r->id;
    campaign_params_fulfil(r, &c, params + 20);
    if (!req_query_db(r, &campaign_patch_write, params,
                      campaign_patch_written_cb))
        return;
}

static void campaign_patch_start(struct req *r)
{
    struct campaign_patch *st = r->state;
    const char *params[] = {
        req_tenant_param(r), campaign_int_text(r, r->params[0]),
        st->in.has_product_id ? campaign_int_text(r, st->in.product_id) : NULL,
        st->in.has_pickup_points ? campaign_points_param(r, &st->in) : NULL};
    if (!req_query_db(r, &campaign_patch_read, params, campaign_patch_read_cb))
        return;
}

/* PATCH /v1/admin/campaigns/{id} {any field of the creation} (owner,
 * operator) -> 200 campaign | 400 invalid_field | 404 | 409 invalid_state */
void api_campaigns_update(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct campaign_patch *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    struct jfields jf;
    jfields_init(&jf, body);
    campaign_read(&jf, &st->in, false);
    if (!req_fields_ok(r, &jf))
        return;
    campaign_patch_start(r);
}

/* ------------------------------------------------------------ publish */

static struct db_stmt campaign_publish = DB_STMT(
    "campaign_publish",
    "WITH c AS (SELECT c.status, c.ends_at > now() AS future,"
    "                  p.stock >= c.max_quantity AS stocked"
    "             FROM campaigns c"
    "             JOIN products p ON p.distributor_id = c.distributor_id"
    "                            AND p.id = c.product_id"
    "            WHERE c.distributor_id = $1 AND c.id = $2),"
    " u AS (UPDATE campaigns t"
    "          SET status = CASE WHEN t.starts_at <= now() THEN 'open'"
    "                            ELSE 'scheduled' END,"
    "              version = t.version + 1, updated_at = now()"
    "         FROM products p"
    "        WHERE t.distributor_id = $1 AND t.id = $2"
    "          AND t.status = 'draft' AND t.ends_at > now()"
    "          AND p.distributor_id = t.distributor_id AND p.id = t.product_id"
    "          AND p.stock >= t.max_quantity"
    "        RETURNING t),"
    " a AS (INSERT INTO audit_log (distributor_id, staff_id, actor, action,"
    "         entity, entity_id, before, after, request_id)"
    "       SELECT $1, $3::bigint, 'staff:' || $3::bigint, 'publish',"
    "              'campaign', $2::bigint, jsonb_build_object('status', "
    "c.status),"
    "              gb_campaign_json(u.t)::jsonb, $4 FROM c, u)"
    " SELECT c.status, c.future, c.stocked, " CAMPAIGN_VIEW_COLS(
        "gb_campaign_json", "u.t",
        "k") "   FROM c LEFT JOIN u ON true"
             "   LEFT JOIN LATERAL gb_campaign_counted(u.t) k ON true",
    4);

static void campaign_published_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (!PQgetisnull(pg, 0, 4)) { /* u's tiers: the update happened */
        campaign_view_reply_one(r, 200, pg, 3, true);
        return;
    }
    if (strcmp(PQgetvalue(pg, 0, 0), "draft") != 0)
        req_reply_error(r, 409, "invalid_state", NULL,
                        "Only a draft can be published; this campaign is %s.",
                        PQgetvalue(pg, 0, 0));
    else if (strcmp(PQgetvalue(pg, 0, 1), "t") != 0)
        req_reply_error(r, 409, "invalid_state", "ends_at",
                        "ends_at has passed; set a later one first.");
    else if (strcmp(PQgetvalue(pg, 0, 2), "t") != 0)
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The product's stock is below max_quantity.");
    else
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The campaign changed meanwhile; read it and retry.");
}

static void campaign_publish_run(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            campaign_int_text(r, r->params[0]),
                            campaign_int_text(r, r->who.id), r->id};
    if (!req_exec(r, &campaign_publish, params, campaign_published_cb))
        return;
}

/* POST /v1/admin/campaigns/{id}/publish [{}] (owner, operator) -> 200
 * campaign (scheduled, or open when starts_at <= now) | 400 invalid_json,
 * invalid_field | 404 | 409 invalid_state */
void api_campaigns_publish(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, campaign_publish_run);
}

/* ------------------------------------------------------------ cancel */

static struct db_stmt campaign_cancel = DB_STMT(
    "campaign_cancel",
    "SELECT gb_campaign_cancel_audited($1::bigint, $2::bigint, $3::bigint, $4)",
    4);

static struct db_stmt campaign_get_plain =
    DB_STMT("campaign_get_plain",
            "SELECT " CAMPAIGN_VIEW_COLS(
                "gb_campaign_json", "c",
                "k") "  FROM campaigns c, LATERAL gb_campaign_counted(c) k"
                     " WHERE c.distributor_id = $1 AND c.id = $2",
            2);

static void campaign_cancel_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    campaign_view_reply_one(r, 200, res->res, 0, true);
}

static void campaign_cancelled_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (strcmp(outcome, "cancelled") != 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "Only a draft, scheduled or open campaign can be "
                        "cancelled.");
        return;
    }
    const char *params[] = {req_tenant_param(r),
                            campaign_int_text(r, r->params[0])};
    if (!req_exec(r, &campaign_get_plain, params, campaign_cancel_read_cb))
        return;
}

static void campaign_cancel_run(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            campaign_int_text(r, r->params[0]),
                            campaign_int_text(r, r->who.id), r->id};
    if (!req_exec(r, &campaign_cancel, params, campaign_cancelled_cb))
        return;
}

/* POST /v1/admin/campaigns/{id}/cancel [{}] (owner, operator) -> 200
 * campaign (cancelled, deposits refunded) | 400 invalid_json,
 * invalid_field | 404 | 409 invalid_state */
void api_campaigns_cancel(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, campaign_cancel_run);
}

/* ------------------------------------------------------------ staff reads */

static const char *const campaign_statuses[] = {
    "draft",  "scheduled", "open",    "succeeded",
    "failed", "cancelled", "settled", NULL};

static struct db_stmt campaign_list =
    DB_STMT("campaign_list",
            "SELECT c.id, " CAMPAIGN_VIEW_COLS(
                "gb_campaign_json", "c",
                "k") "  FROM campaigns c, LATERAL gb_campaign_counted(c) k"
                     " WHERE c.distributor_id = $1 AND c.id > $2"
                     "   AND ($4::text IS NULL OR c.status = $4)"
                     " ORDER BY c.id LIMIT $3",
            4);

static void campaign_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_create *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    campaign_view_reply_list(r, res->res, st->limit);
}

/* GET /v1/admin/campaigns?status= (staff) -> {items, next_after} */
void api_campaigns_list(struct req *r)
{
    const char *limit1, *after;
    struct campaign_create *st = req_alloc(r, sizeof *st);
    r->state = st;
    if (!req_page(r, &limit1, &after, &st->limit))
        return;
    const char *status = req_query(r, "status");
    bool known = status == NULL;
    for (size_t i = 0; !known && campaign_statuses[i] != NULL; i++)
        known = strcmp(status, campaign_statuses[i]) == 0;
    if (!known) {
        req_reply_error(r, 400, "invalid_field", "status",
                        "status must be one of draft, scheduled, open, "
                        "succeeded, failed, cancelled, settled.");
        return;
    }
    const char *params[] = {req_tenant_param(r), after, limit1, status};
    if (!req_query_db(r, &campaign_list, params, campaign_list_cb))
        return;
}

static struct db_stmt campaign_get = DB_STMT(
    "campaign_get",
    "SELECT " CAMPAIGN_VIEW_COLS(
        "gb_campaign_json", "c",
        "k") ","
             "       (SELECT json_build_object("
             "          'pending_deposit', count(*) FILTER (WHERE p.status = "
             "'pending_deposit'),"
             "          'active', count(*) FILTER (WHERE p.status = 'active'),"
             "          'withdrawn', count(*) FILTER (WHERE p.status = "
             "'withdrawn'),"
             "          'expired', count(*) FILTER (WHERE p.status = "
             "'expired'),"
             "          'awaiting_payment', count(*) FILTER (WHERE p.status = "
             "'awaiting_payment'),"
             "          'paid', count(*) FILTER (WHERE p.status = 'paid'),"
             "          'defaulted', count(*) FILTER (WHERE p.status = "
             "'defaulted'),"
             "          'refunded', count(*) FILTER (WHERE p.status = "
             "'refunded'),"
             "          'void', count(*) FILTER (WHERE p.status = 'void'))"
             "          FROM participations p WHERE p.campaign_id = "
             "c.id)::text,"
             "       (SELECT array_agg(p.p_complete_at_join ORDER BY p.id)"
             "          FROM participations p WHERE p.campaign_id = c.id"
             "           AND p.status IN ('pending_deposit', 'active'))::text,"
             "       c.status"
             "  FROM campaigns c, LATERAL gb_campaign_counted(c) k"
             " WHERE c.distributor_id = $1 AND c.id = $2",
    2);

/* The "forecast" member: over the live participations' p_complete_at_join
 * (array text "{0.75,0.6}" or NULL) while the campaign can still change;
 * a closed campaign's outcome is known (1 or 0, the participants counted).
 * NULL on bad data or no memory. */
static char *campaign_forecast_text(struct req *r, PGresult *res)
{
    int64_t minp, counted;
    const char *status = PQgetvalue(res, 0, CAMPAIGN_VIEW_NCOLS + 2);
    if (!campaign_cell_int(res, 0, 5, &minp) ||
        !campaign_cell_int(res, 0, 3, &counted))
        return NULL;
    double expected = 0, prob = 0;
    if (strcmp(status, "succeeded") == 0 || strcmp(status, "settled") == 0) {
        expected = (double)counted;
        prob = 1;
    } else if (strcmp(status, "failed") != 0 &&
               strcmp(status, "cancelled") != 0 &&
               !PQgetisnull(res, 0, CAMPAIGN_VIEW_NCOLS + 1)) {
        const char *s = PQgetvalue(res, 0, CAMPAIGN_VIEW_NCOLS + 1);
        size_t cap = 1;
        for (const char *q = s; *q; q++)
            cap += *q == ',';
        double *p = malloc(cap * sizeof *p);
        if (p == NULL)
            return NULL;
        size_t n = 0;
        bool ok = *s == '{';
        for (const char *q = s + 1; ok && *q != '}'; n++) {
            char *end = NULL;
            if (n < cap)
                p[n] = strtod(q, &end);
            ok = end != NULL && end != q && (*end == ',' || *end == '}');
            if (ok)
                q = *end == ',' ? end + 1 : end;
        }
        ok = ok && forecast_expected_participants(p, n, &expected) &&
             forecast_success_probability(p, n, minp, &prob);
        free(p);
        if (!ok)
            return NULL;
    }
    return req_printf(r,
                      "\"forecast\":{\"expected_participants\":%.15g,"
                      "\"success_probability\":%.15g}",
                      expected, prob);
}

static void campaign_get_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    char *forecast = campaign_forecast_text(r, res->res);
    if (forecast == NULL) {
        req_reply_error(r, 500, "internal", NULL,
                        "The forecast could not be computed.");
        return;
    }
    char *extra =
        req_printf(r, "\"stats\":%s,%s",
                   PQgetvalue(res->res, 0, CAMPAIGN_VIEW_NCOLS), forecast);
    char *text = campaign_view_text(r, res->res, 0, 0, extra);
    if (text == NULL) {
        campaign_view_bad_data(r);
        return;
    }
    req_reply_raw(r, 200, "application/json", text, strlen(text));
}

/* GET /v1/admin/campaigns/{id} (staff) -> campaign with progress, stats,
 * forecast | 404 */
void api_campaigns_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            campaign_int_text(r, r->params[0])};
    if (!req_query_db(r, &campaign_get, params, campaign_get_cb))
        return;
}
