/*
 * participations.c - a campaign's participations as the distributor's
 * staff see them: each as the shopper sees it (engine/participation_view.h)
 * plus the customer (its display name, its login masked:
 * functions/customers.sql) and the customer's reliability score, the one a
 * join would use (the history with every distributor, this distributor's
 * VIP prior and model parameters), and the customer whose share link
 * brought it (referred_by_customer_id, null for none).
 */
#include <stdint.h>

#include "api/admin/admin.h"
#include "engine/joinengine.h"
#include "engine/participation_view.h"
#include "http/reply.h"
#include "http/request.h"

/* Columns: id, participation JSON, then the VIP level, the history and the
 * distributor's model parameters; one row with a null id when the campaign
 * has no participation after $2. */
static struct db_stmt part_list_campaign = DB_STMT(
    "participation_list_campaign",
    "SELECT p.id,"
    "       (gb_participation_view(p, c)::jsonb"
    "        || jsonb_build_object('customer', gb_customer_staff_json(cu),"
    "                              'referred_by_customer_id',"
    "                              p.referred_by_customer_id))::text,"
    "       coalesce(v.vip_level, 0), h.*,"
    "       gb_reliability_params(c.distributor_id)"
    "  FROM campaigns c"
    "  LEFT JOIN participations p ON p.campaign_id = c.id AND p.id > $2"
    "  LEFT JOIN customers cu ON cu.id = p.customer_id"
    "  LEFT JOIN customer_vip v ON v.distributor_id = c.distributor_id"
    "        AND v.customer_id = p.customer_id"
    "  LEFT JOIN LATERAL gb_customer_history("
    "       p.customer_id, gb_reliability_half_life(c.distributor_id, $5)) h"
    "    ON true"
    " WHERE c.distributor_id = $1 AND c.id = $4"
    " ORDER BY p.id LIMIT $3",
    5);

static void participations_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    participation_view_reply_list(r, res, *(int64_t *)r->state, true);
}

/* GET /v1/admin/campaigns/{id}/participations (owner, operator) ->
 * {items: [participation + "score"], next_after} | 404 */
void participations_list(struct req *r)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {req_tenant_param(r), after, limit1,
                            req_printf(r, "%lld", (long long)r->params[0]),
                            joinengine_half_life_param(r)};
    if (!req_query_db(r, &part_list_campaign, params, participations_list_cb))
        return;
}
