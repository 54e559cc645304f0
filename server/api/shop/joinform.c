/*
 * joinform.c - what a join asks and how its refusals are answered (see
 * joinform.h). Not a handler.
 */
#include "api/shop/joinform.h"

#include <string.h>

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
