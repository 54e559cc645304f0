/*
 * campaign_form.c - the campaign body that creation and PATCH both take
 * (campaign_form.h). Not a handler: the reader and checker the campaign
 * routes share.
 *
 * Validation is done in C before anything is written: field types and
 * ranges (jfields), times (a strict RFC 3339 parser), tier ladders and
 * deposit policies (pricing module, tiers against the product's list price,
 * read tenant-scoped in the same request by the caller), and the rules
 * across fields (starts_at < ends_at, min_participants and
 * per_customer_limit <= max_quantity). The schema's CHECKs hold the same
 * rules as a last line.
 *
 * Decisions where the documents are silent (also in functions/campaigns.sql):
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
 *    is checked whole).
 */
#include "api/admin/campaign_form.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "lib/rfc3339.h"

#define CAMPAIGN_FORM_WINDOW_MAX (30 * 86400)
/* 9999-12-31T23:59:59.999999Z in microseconds since the epoch */
#define CAMPAIGN_FORM_TIME_MAX_US 253402300799999999LL

static const char *campaign_form_int_text(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

/* Parses an RFC 3339 time (rfc3339.h) into microseconds since the epoch,
 * within 1970..9999. */
static bool campaign_form_time_parse(const char *s, int64_t *out)
{
    int64_t us;
    if (!rfc3339_parse(s, &us) || us < 0 || us > CAMPAIGN_FORM_TIME_MAX_US)
        return false;
    *out = us;
    return true;
}

/* Microseconds since the epoch (0..CAMPAIGN_FORM_TIME_MAX_US) as an RFC 3339
 * UTC statement parameter. */
static char *campaign_form_time_text(struct req *r, int64_t us)
{
    char *out = req_alloc(r, RFC3339_MAX);
    rfc3339_format(us, out);
    return out;
}

/* ------------------------------------------------------------ the body */

static const char *const campaign_form_fields[] = {"product_id",
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

bool campaign_form_pairs(const cJSON *arr, const char *a, const char *b,
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

/* Reads a ladder: an array of at most PRICING_MAX_TIERS objects, each with
 * the integers threshold and unit_price_cents and optionally
 * cost_price_cents (the manufacturer's price at that volume), and no other
 * member; false with *bad the index of the first faulty element. */
static bool campaign_form_ladder(const cJSON *arr, struct pricing_tier *tiers,
                                 size_t *n, size_t *bad)
{
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        size_t members = 0;
        if (cJSON_IsObject(e)) {
            for (const cJSON *m = e->child; m != NULL; m = m->next)
                members++;
        }
        struct pricing_tier t = {0, 0, 0, false};
        const cJSON *cost =
            cJSON_IsObject(e) ? json_get(e, "cost_price_cents") : NULL;
        t.has_cost = cost != NULL;
        if (i >= PRICING_MAX_TIERS || !cJSON_IsObject(e) ||
            members != (t.has_cost ? 3u : 2u) ||
            !json_item_int(json_get(e, "threshold"), -JSON_MAX_SAFE_INT,
                           JSON_MAX_SAFE_INT, &t.threshold) ||
            !json_item_int(json_get(e, "unit_price_cents"), -JSON_MAX_SAFE_INT,
                           JSON_MAX_SAFE_INT, &t.unit_price_cents) ||
            (t.has_cost &&
             !json_item_int(cost, -JSON_MAX_SAFE_INT, JSON_MAX_SAFE_INT,
                            &t.cost_price_cents))) {
            *bad = i;
            return false;
        }
        tiers[i] = t;
    }
    *n = i;
    return true;
}

/* campaign_form_pairs for a request field: fails jf on a bad element. */
static size_t campaign_form_read_pairs(struct jfields *jf, const cJSON *arr,
                                       const char *key, const char *a,
                                       const char *b, int64_t (*pairs)[2],
                                       size_t max)
{
    size_t n = 0, bad = 0;
    if (!campaign_form_pairs(arr, a, b, pairs, max, &n, &bad)) {
        jfields_fail(jf, key,
                     "%s[%zu] must be an object {\"%s\", \"%s\"} of integers",
                     key, bad, a, b);
        return 0;
    }
    return n;
}

/* pickup_point_ids: distinct positive integers (that they are the
 * distributor's active points is checked against the database). */
static void campaign_form_read_points(struct jfields *jf, const cJSON *arr,
                                      struct campaign_form *in)
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

void campaign_form_read(struct jfields *jf, struct campaign_form *in,
                        bool create)
{
    const char *starts = NULL, *ends = NULL, *basis = NULL;
    jfields_only(jf, campaign_form_fields);
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
    jfields_int(jf, "deposit_window_seconds", false, 1,
                CAMPAIGN_FORM_WINDOW_MAX, &in->deposit_window,
                &in->has_deposit_window);
    jfields_int(jf, "payment_window_seconds", false, 1,
                CAMPAIGN_FORM_WINDOW_MAX, &in->payment_window,
                &in->has_payment_window);
    jfields_int(jf, "max_pending_share_bp", false, 1, 10000,
                &in->max_pending_share_bp, &in->has_max_pending_share_bp);
    const char *fulfilment = NULL;
    jfields_str(jf, "fulfilment", false, 1, 16, &fulfilment,
                &in->has_fulfilment);
    const cJSON *points = jfields_array(jf, "pickup_point_ids", false, 0,
                                        CAMPAIGN_FORM_POINTS_MAX);
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
        campaign_form_read_points(jf, points, in);
    if (in->has_title && !json_printable(in->title, false))
        jfields_fail(jf, "title", "title must not hold control characters");
    if (in->has_description && !json_printable(in->description, true))
        jfields_fail(jf, "description",
                     "description must not hold control characters");
    if (in->has_starts_at && !campaign_form_time_parse(starts, &in->starts_at))
        jfields_fail(jf, "starts_at",
                     "starts_at must be an RFC 3339 time such as "
                     "2026-12-01T02:00:00Z");
    if (in->has_ends_at && !campaign_form_time_parse(ends, &in->ends_at))
        jfields_fail(jf, "ends_at",
                     "ends_at must be an RFC 3339 time such as "
                     "2026-12-01T02:00:00Z");
    if (in->has_basis && !pricing_basis_from_name(basis, &in->basis))
        jfields_fail(jf, "tier_basis",
                     "tier_basis must be \"participants\" or \"quantity\"");
    if (tiers != NULL && jfields_ok(jf)) {
        size_t bad = 0;
        if (!campaign_form_ladder(tiers, in->tiers, &in->ntiers, &bad))
            jfields_fail(jf, "tiers",
                         "tiers[%zu] must be an object {\"threshold\", "
                         "\"unit_price_cents\"} of integers, with an optional "
                         "integer \"cost_price_cents\"",
                         bad);
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
        in->nbands = campaign_form_read_pairs(jf, policy, "deposit_policy",
                                              "min_score", "deposit_percent",
                                              pairs, PRICING_MAX_BANDS);
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

void campaign_form_defaults(struct campaign_form *in)
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

void campaign_form_check(struct jfields *jf, const struct campaign_form *c)
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

char *campaign_form_points_param(struct req *r, const struct campaign_form *c)
{
    char *s = "{";
    for (size_t i = 0; i < c->npickup_points; i++)
        s = req_printf(r, "%s%s%lld", s, i ? "," : "",
                       (long long)c->pickup_points[i]);
    return req_printf(r, "%s}", s);
}

void campaign_form_check_price(struct jfields *jf,
                               const struct campaign_form *c,
                               int64_t list_price)
{
    size_t bad = 0;
    enum pricing_tiers_fault f =
        pricing_tiers_validate(c->tiers, c->ntiers, list_price, &bad);
    if (f != PRICING_TIERS_OK)
        jfields_fail(jf, "tiers", "tiers[%zu]: %s (list price %lld)", bad,
                     pricing_tiers_fault_message(f), (long long)list_price);
}

char *campaign_form_tiers_json(struct req *r, const struct campaign_form *c)
{
    char *s = "[";
    for (size_t i = 0; i < c->ntiers; i++) {
        const struct pricing_tier *t = &c->tiers[i];
        s = req_printf(r, "%s%s{\"threshold\":%lld,\"unit_price_cents\":%lld",
                       s, i ? "," : "", (long long)t->threshold,
                       (long long)t->unit_price_cents);
        if (t->has_cost)
            s = req_printf(r, "%s,\"cost_price_cents\":%lld", s,
                           (long long)t->cost_price_cents);
        s = req_printf(r, "%s}", s);
    }
    return req_printf(r, "%s]", s);
}

static char *campaign_form_policy_json(struct req *r,
                                       const struct campaign_form *c)
{
    char *s = "[";
    for (size_t i = 0; i < c->nbands; i++)
        s = req_printf(r, "%s%s{\"min_score\":%lld,\"deposit_percent\":%lld}",
                       s, i ? "," : "", (long long)c->bands[i].min_score,
                       (long long)c->bands[i].deposit_percent);
    return req_printf(r, "%s]", s);
}

/* ------------------------------------------------------------ stored */

bool campaign_form_cell_int(PGresult *res, int row, int col, int64_t *out)
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

bool campaign_form_tiers_parse(const char *text, struct pricing_tier *tiers,
                               size_t *n)
{
    size_t count = 0, bad;
    struct json_parse_error err;
    cJSON *arr = json_parse_strict(text, strlen(text), &err);
    bool ok =
        cJSON_IsArray(arr) && campaign_form_ladder(arr, tiers, &count, &bad);
    cJSON_Delete(arr);
    if (!ok || pricing_tiers_validate(tiers, count, INT64_MAX, NULL) !=
                   PRICING_TIERS_OK)
        return false;
    *n = count;
    return true;
}

/* ------------------------------------------------------------ parameters */

void campaign_form_params(struct req *r, const struct campaign_form *c,
                          const char **params)
{
    params[0] = campaign_form_int_text(r, c->product_id);
    params[1] = c->title;
    params[2] = c->description;
    params[3] = campaign_form_time_text(r, c->starts_at);
    params[4] = campaign_form_time_text(r, c->ends_at);
    params[5] = pricing_basis_name(c->basis);
    params[6] = campaign_form_tiers_json(r, c);
    params[7] = campaign_form_int_text(r, c->min_participants);
    params[8] = campaign_form_int_text(r, c->max_quantity);
    params[9] = campaign_form_int_text(r, c->per_customer_limit);
    params[10] = campaign_form_policy_json(r, c);
    params[11] = campaign_form_int_text(r, c->min_score);
    params[12] = campaign_form_int_text(r, c->deposit_window);
    params[13] = campaign_form_int_text(r, c->payment_window);
}

void campaign_form_params_fulfil(struct req *r, const struct campaign_form *c,
                                 const char **params)
{
    params[0] = campaign_form_int_text(r, c->max_pending_share_bp);
    params[1] = c->pickup ? "pickup" : "delivery";
    params[2] = campaign_form_points_param(r, c);
    params[3] = campaign_form_int_text(r, c->after_sales_days);
}
