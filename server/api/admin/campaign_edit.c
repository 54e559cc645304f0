/*
 * campaign_edit.c - PATCH /v1/admin/campaigns/{id}: a campaign edited
 * under optimistic concurrency. The body is read and checked as at
 * creation (campaign_form.h), then merged over the stored campaign, which
 * is checked whole.
 *
 * PATCH reads the campaign with its version (and, when tiers are named,
 * the first count they would raise the price of: the rule is SQL's,
 * gb_tiers_first_raised), decides in C, and writes with
 * "WHERE version = $v AND status = $s"; a lost race re-reads and decides
 * again (CAMPAIGN_EDIT_ATTEMPTS), then answers 409 invalid_state. The
 * write (gb_campaign_update) records its audit line (before and after) in
 * its transaction.
 *
 * Decisions where the documents are silent (also in functions/campaigns.sql):
 *  - PATCH of a scheduled or open campaign: any field other than ends_at,
 *    description, tiers and max_quantity is 409 invalid_state (even with
 *    its current value); ends_at must be later than the current one; tiers
 *    may not raise a price (their cost_price_cents may change: that is
 *    the distributor's money, not the shopper's); max_quantity may only
 *    grow (its current value changes nothing), and the write reserves the
 *    difference from the product's stock (gb_campaign_raise) or answers
 *    409 invalid_state "max_quantity"; its per_customer_limit stays; a
 *    campaign whose ends_at has passed (closing) takes no edit. In a
 *    draft, a PATCH that lowers max_quantity below per_customer_limit
 *    without naming it lowers per_customer_limit too (its default is
 *    max_quantity), and one that raises it raises a per_customer_limit
 *    that was at its default;
 *  - an unknown or foreign product_id is 400 invalid_field "product_id".
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "api/admin/campaign_form.h"
#include "domain/pricing.h"
#include "engine/campaign_view.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define CAMPAIGN_EDIT_ATTEMPTS 3

static const char *campaign_edit_int_text(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

struct campaign_patch {
    struct campaign_form in; /* what the request names */
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
    "       $4::bigint[] IS NULL OR gb_pickup_points_usable($1, $4::bigint[]),"
    "       gb_tiers_first_raised(c.tiers, $5::jsonb)"
    "  FROM campaigns c"
    "  JOIN products p ON p.distributor_id = c.distributor_id"
    "                 AND p.id = c.product_id"
    "  LEFT JOIN products np ON np.distributor_id = $1 AND np.id = $3::bigint"
    " WHERE c.distributor_id = $1 AND c.id = $2",
    5);

/* The outcome (updated, changed, understocked) and the campaign written. */
static struct db_stmt campaign_patch_write = DB_STMT(
    "campaign_patch_write",
    "SELECT u.outcome, " CAMPAIGN_VIEW_COL(
        "gb_campaign_view",
        "u.campaign") "  FROM gb_campaign_update($1, $2, $3, $4, $5, $6, $7,"
                      "       $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
                      "       $18, $19, $20, $21, $22, $23, $24) u",
    24);

static void campaign_edit_start(struct req *r);

static void campaign_edit_written_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_patch *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "updated") == 0) {
        campaign_view_reply_one(r, 200, res->res, 1, false);
        return;
    }
    if (strcmp(outcome, "understocked") == 0) {
        req_reply_error(r, 409, "invalid_state", "max_quantity",
                        "Not enough available stock: the product's stock "
                        "does not cover the larger max_quantity.");
        return;
    }
    if (++st->attempts < CAMPAIGN_EDIT_ATTEMPTS) {
        campaign_edit_start(r); /* lost a race: decide again */
        return;
    }
    req_reply_error(r, 409, "invalid_state", NULL,
                    "The campaign changed meanwhile; read it and retry.");
}

/* Fails jf for the first field a scheduled or open campaign may not take. */
static const char *campaign_edit_locked_field(const struct campaign_form *in)
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
static bool campaign_edit_points_parse(const char *text,
                                       struct campaign_form *c)
{
    size_t n = 0;
    if (*text++ != '{')
        return false;
    while (*text != '}') {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno != 0 || end == text || v < 1 || n == CAMPAIGN_FORM_POINTS_MAX)
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
static bool campaign_edit_from_row(PGresult *res, struct campaign_form *c)
{
    size_t bad;
    int64_t pairs[PRICING_MAX_BANDS][2];
    struct json_parse_error err;
    const char *policy = PQgetvalue(res, 0, 12);
    cJSON *arr = json_parse_strict(policy, strlen(policy), &err);
    bool ok = cJSON_IsArray(arr) &&
              campaign_form_pairs(arr, "min_score", "deposit_percent", pairs,
                                  PRICING_MAX_BANDS, &c->nbands, &bad);
    for (size_t i = 0; ok && i < c->nbands; i++) {
        c->bands[i].min_score = pairs[i][0];
        c->bands[i].deposit_percent = pairs[i][1];
    }
    cJSON_Delete(arr);
    return ok && campaign_form_cell_int(res, 0, 2, &c->product_id) &&
           campaign_form_cell_int(res, 0, 5, &c->starts_at) &&
           campaign_form_cell_int(res, 0, 6, &c->ends_at) &&
           pricing_basis_from_name(PQgetvalue(res, 0, 7), &c->basis) &&
           campaign_form_tiers_parse(PQgetvalue(res, 0, 8), c->tiers,
                                     &c->ntiers) &&
           campaign_form_cell_int(res, 0, 9, &c->min_participants) &&
           campaign_form_cell_int(res, 0, 10, &c->max_quantity) &&
           campaign_form_cell_int(res, 0, 11, &c->per_customer_limit) &&
           campaign_form_cell_int(res, 0, 13, &c->min_score) &&
           campaign_form_cell_int(res, 0, 14, &c->deposit_window) &&
           campaign_form_cell_int(res, 0, 15, &c->payment_window) &&
           campaign_form_cell_int(res, 0, 19, &c->max_pending_share_bp) &&
           campaign_form_cell_int(res, 0, 21, &c->after_sales_days) &&
           campaign_edit_points_parse(PQgetvalue(res, 0, 22), c) &&
           pricing_bands_validate(c->bands, c->nbands, &bad) ==
               PRICING_BANDS_OK;
}

/* The named fields of in over the stored campaign c (a draft, or a live
 * campaign when !draft: its per_customer_limit then stays as it is). */
static void campaign_edit_merge(struct campaign_form *c,
                                const struct campaign_form *in, bool draft)
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
    else if (draft && (c->per_customer_limit > c->max_quantity ||
                       c->per_customer_limit == old_max))
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

static void campaign_edit_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_patch *st = r->state;
    const struct campaign_form *in = &st->in;
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
    struct campaign_form c;
    int64_t list_price;
    memset(&c, 0, sizeof c);
    c.pickup = strcmp(PQgetvalue(pg, 0, 20), "pickup") == 0;
    c.title = req_strdup(r, PQgetvalue(pg, 0, 3));
    c.description = req_strdup(r, PQgetvalue(pg, 0, 4));
    if (!campaign_edit_from_row(pg, &c) ||
        !campaign_form_cell_int(pg, 0, 16, &list_price)) {
        campaign_view_bad_data(r);
        return;
    }
    if (!draft && !live) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "A %s campaign cannot be edited.", status);
        return;
    }
    if (live) {
        const char *locked = campaign_edit_locked_field(in);
        if (locked != NULL) {
            req_reply_error(r, 409, "invalid_state", locked,
                            "A %s campaign takes only a later ends_at, "
                            "description, tiers that raise no price and a "
                            "larger max_quantity.",
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
        if (in->has_max_quantity && in->max_quantity < c.max_quantity) {
            req_reply_error(r, 409, "invalid_state", "max_quantity",
                            "A %s campaign's max_quantity may only grow "
                            "(it is %lld).",
                            status, (long long)c.max_quantity);
            return;
        }
    }
    if (in->has_product_id) {
        if (!campaign_form_cell_int(pg, 0, 17, &list_price)) {
            req_reply_error(r, 400, "invalid_field", "product_id",
                            "No such product.");
            return;
        }
    }
    campaign_edit_merge(&c, in, draft);
    struct jfields jf;
    jfields_init(&jf, r->json);
    campaign_form_check(&jf, &c);
    campaign_form_check_price(&jf, &c, list_price);
    if (jfields_ok(&jf) && strcmp(PQgetvalue(pg, 0, 23), "t") != 0)
        jfields_fail(&jf, "pickup_point_ids",
                     "pickup_point_ids must name active pickup points of "
                     "this distributor");
    if (!req_fields_ok(r, &jf))
        return;
    /* the PATCH rule, decided by the read (functions/pricing.sql): the
     * smallest count the new tiers would charge more, or null */
    int64_t first = 0;
    if (live && in->has_tiers && campaign_form_cell_int(pg, 0, 24, &first)) {
        req_reply_error(r, 409, "invalid_state", "tiers",
                        "These tiers would raise the price at count %lld; "
                        "a %s campaign may only add or lower tiers.",
                        (long long)first, status);
        return;
    }
    const char *params[24];
    params[0] = req_tenant_param(r);
    params[1] = campaign_edit_int_text(r, r->params[0]);
    params[2] = version;
    params[3] = status;
    campaign_form_params(r, &c, params + 4);
    campaign_form_params_fulfil(r, &c, params + 18);
    params[22] = campaign_edit_int_text(r, r->who.id);
    params[23] = r->id;
    if (!req_query_db(r, &campaign_patch_write, params,
                      campaign_edit_written_cb))
        return;
}

static void campaign_edit_start(struct req *r)
{
    struct campaign_patch *st = r->state;
    const char *params[] = {
        req_tenant_param(r), campaign_edit_int_text(r, r->params[0]),
        st->in.has_product_id ? campaign_edit_int_text(r, st->in.product_id)
                              : NULL,
        st->in.has_pickup_points ? campaign_form_points_param(r, &st->in)
                                 : NULL,
        st->in.has_tiers ? campaign_form_tiers_json(r, &st->in) : NULL};
    if (!req_query_db(r, &campaign_patch_read, params, campaign_edit_read_cb))
        return;
}

/* PATCH /v1/admin/campaigns/{id} {any field of the creation} (owner,
 * operator) -> 200 campaign | 400 invalid_field | 404 | 409 invalid_state */
void campaign_edit_patch(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct campaign_patch *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    struct jfields jf;
    jfields_init(&jf, body);
    campaign_form_read(&jf, &st->in, false);
    if (!req_fields_ok(r, &jf))
        return;
    campaign_edit_start(r);
}
