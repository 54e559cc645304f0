/*
 * joinform.c - what a join asks, its read and how its refusals are
 * answered (see joinform.h). Not a handler.
 */
#include "api/shop/joinform.h"

#include <string.h>

#include "api/shop/address.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"

#define JOINFORM_CODE_MIN 8
#define JOINFORM_CODE_MAX 32

const char *joinform_share_code(struct jfields *jf)
{
    const char *code = NULL;
    bool present = false;
    jfields_str(jf, "share_code", false, 1, JOINFORM_CODE_MAX, &code, &present);
    if (!jfields_ok(jf) || !present)
        return NULL;
    if (!crypto_code_is_wellformed(code, strlen(code), JOINFORM_CODE_MIN,
                                   JOINFORM_CODE_MAX)) {
        jfields_fail(jf, "share_code", "share_code is not a share link's code");
        return NULL;
    }
    return code;
}

bool joinform_read(struct req *r, struct joinengine_join *j)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return false;
    memset(j, 0, sizeof *j);
    j->campaign = r->params[0];
    j->customer = r->who.id;
    static const char *const fields[] = {"quantity", "pickup_point_id",
                                         "address", "share_code", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "quantity", true, 1, JSON_MAX_SAFE_INT, &j->quantity,
                NULL);
    jfields_int(&jf, "pickup_point_id", false, 1, JSON_MAX_SAFE_INT,
                &j->pickup_point, NULL);
    const cJSON *address = jfields_object(&jf, "address", false);
    if (address != NULL && jfields_ok(&jf))
        j->address = address_read(r, &jf, address);
    j->share_code = joinform_share_code(&jf);
    return req_fields_ok(r, &jf);
}

void joinform_send_read(struct req *r, const struct joinengine_join *j,
                        db_result_cb *cb)
{
    const char *params[] = {req_printf(r, "{%lld}", (long long)j->campaign),
                            req_printf(r, "{%lld}", (long long)j->customer),
                            joinengine_half_life_param(r)};
    if (!req_exec(r, &joinengine_read_stmt, params, cb))
        return;
}

const PGresult *joinform_read_row(struct req *r, const struct db_result *res)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return NULL;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return NULL;
    }
    return res->res;
}

void joinform_reply_refusal(struct req *r, const char *reason, int score)
{
    if (strcmp(reason, "campaign_not_open") == 0)
        req_reply_error(r, 409, "campaign_not_open", NULL,
                        "The campaign is not open for joining.");
    else if (strcmp(reason, "per_customer_limit") == 0)
        req_reply_error(r, 409, "per_customer_limit", "quantity",
                        "The quantity is over the campaign's per-customer "
                        "limit.");
    else if (strcmp(reason, "reliability_too_low") == 0)
        req_reply_error(r, 403, "reliability_too_low", NULL,
                        "Your reliability score %d is below the campaign's "
                        "minimum.",
                        score);
    else if (strcmp(reason, "already_joined") == 0)
        req_reply_error(r, 409, "already_joined", NULL,
                        "You already take part in this campaign.");
    else if (strcmp(reason, "campaign_full") == 0)
        req_reply_error(r, 409, "campaign_full", "quantity",
                        "Not enough units are left for this quantity.");
    else if (strcmp(reason, "pickup_point_required") == 0)
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This campaign is picked up: name one of its "
                        "pickup_points.");
    else if (strcmp(reason, "pickup_point_invalid") == 0)
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This pickup point is not one of the campaign's.");
    else if (strcmp(reason, "pickup_point_not_taken") == 0)
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This campaign is delivered: it takes no pickup "
                        "point.");
    else if (strcmp(reason, "address_not_taken") == 0)
        req_reply_error(r, 400, "invalid_field", "address",
                        "This campaign is picked up: it takes no address.");
    else if (strcmp(reason, "share_code_invalid") == 0)
        req_reply_error(r, 400, "invalid_field", "share_code",
                        "This share code is not a share link of this "
                        "campaign.");
    else if (strcmp(reason, "pending_full") == 0) /* the bound on deposits */
        req_reply_error(r, 409, "campaign_full", "quantity",
                        "The units this campaign holds for deposits not yet "
                        "paid are taken; retry once deposits are paid or "
                        "expire.");
    else
        req_reply_error(r, 500, "internal", NULL, "Unknown join outcome.");
}
