/*
 * campaign_form.h - the body of a campaign (POST and PATCH
 * /v1/admin/campaigns, and any route that takes the same body): read,
 * checked field by field and across fields, and turned into statement
 * parameters. Not a handler; the campaign handlers of admin/ share it.
 */
#ifndef GROUPBUYD_CAMPAIGN_FORM_H
#define GROUPBUYD_CAMPAIGN_FORM_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/pricing.h"
#include "lib/json.h"

struct req;

/* A campaign names a handful of pickup points (schema CHECK: 50). */
#define CAMPAIGN_FORM_POINTS_MAX 50

/* A campaign's editable fields, each with whether the request named it. */
struct campaign_form {
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
    /* fulfilment and the bound on units pending a deposit */
    bool pickup; /* fulfilment "pickup", else "delivery" */
    int64_t pickup_points[CAMPAIGN_FORM_POINTS_MAX];
    size_t npickup_points;
    int64_t after_sales_days, max_pending_share_bp;
    bool has_fulfilment, has_pickup_points, has_after_sales_days,
        has_max_pending_share_bp;
    bool has_product_id, has_title, has_description, has_starts_at, has_ends_at,
        has_basis, has_tiers, has_min_participants, has_max_quantity,
        has_per_customer_limit, has_policy, has_min_score, has_deposit_window,
        has_payment_window;
};

/* Reads every field the request names into *in (required ones when
 * creating) and checks each on its own; rules across fields come later
 * (campaign_form_check). */
void campaign_form_read(struct jfields *jf, struct campaign_form *in,
                        bool create);

/* Fills what a creation may leave out with the defaults of API.md. */
void campaign_form_defaults(struct campaign_form *in);

/* The rules across fields of a complete campaign. */
void campaign_form_check(struct jfields *jf, const struct campaign_form *c);

/* The tiers against the product's list price. */
void campaign_form_check_price(struct jfields *jf,
                               const struct campaign_form *c,
                               int64_t list_price);

/* The pickup point ids as a bigint[] statement parameter. */
char *campaign_form_points_param(struct req *r, const struct campaign_form *c);

/* The 14 field parameters of a complete campaign (product_id, title,
 * description, starts_at, ends_at, tier_basis, tiers, min_participants,
 * max_quantity, per_customer_limit, deposit_policy, min_score,
 * deposit_window_seconds, payment_window_seconds) into params[0..13]. */
void campaign_form_params(struct req *r, const struct campaign_form *c,
                          const char **params);

/* The 4 fulfilment parameters (max_pending_share_bp, fulfilment,
 * pickup_point_ids, after_sales_days) into params. */
void campaign_form_params_fulfil(struct req *r, const struct campaign_form *c,
                                 const char **params);

/* Reads an array of at most max objects with exactly the members a and b,
 * integers, into pairs[]; false with *bad the index of the first faulty
 * element. */
bool campaign_form_pairs(const cJSON *arr, const char *a, const char *b,
                         int64_t (*pairs)[2], size_t max, size_t *n,
                         size_t *bad);

/* A ladder as the JSON text of a statement parameter. */
char *campaign_form_tiers_json(struct req *r, const struct campaign_form *c);

/* Reads the stored ladder of a campaign being edited (JSON text), with the
 * pairs reader a request's tiers go through; false when it is not a valid
 * ladder. The one place C reads a stored ladder: to merge an edit and
 * check it whole against the list price (the price itself is SQL's). */
bool campaign_form_tiers_parse(const char *text, struct pricing_tier *tiers,
                               size_t *n);

/* Strict decimal integer of a result cell. */
bool campaign_form_cell_int(PGresult *res, int row, int col, int64_t *out);

#endif
