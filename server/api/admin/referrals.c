/*
 * referrals.c - who brought whom to a campaign (share links, 拼团 invites),
 * as its distributor's staff see it: each sharer who brought anyone, with
 * the participations they brought and how many paid, best first
 * (schema/functions/growth.sql, gb_campaign_referrals). The invitation
 * report's "shares" part is invitations.c's.
 */
#include "api/admin/admin.h"
#include "http/reply.h"
#include "http/request.h"

/* No row for a campaign that is not the distributor's. */
static struct db_stmt referrals_stmt =
    DB_STMT("campaign_referrals",
            "SELECT x::text FROM gb_campaign_referrals($1, $2) x"
            " WHERE x IS NOT NULL",
            2);

/* GET /v1/admin/campaigns/{id}/referrals (owner, operator) -> {campaign_id,
 * items: [{customer, code, joined, completed}]} | 404 */
void referrals_list(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    req_one_row(r, &referrals_stmt, params);
}
