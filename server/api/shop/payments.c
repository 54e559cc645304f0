/*
 * payments.c - payment intents and the payment provider's webhook.
 *
 * A customer asks for an intent for what its participation owes now (the
 * deposit while pending_deposit, the balance while awaiting_payment); the
 * frontend hands it to the provider, which later reports the outcome to
 * the webhook. Both steps are one SQL function each
 * (schema/functions/payments.sql) called as one statement, so every decision is
 * taken under the rows' locks by the database clock.
 *
 * The webhook is a public route authenticated by its signature; its whole
 * path (engine/payment.c) is shared with the sandbox, so the handler only
 * hands over the request's own body and X-Signature.
 */
#include <string.h>

#include "api/shop/shop.h"
#include "engine/idem.h"
#include "engine/payment.h"
#include "http/reply.h"
#include "http/request.h"

/* ---- intents ------------------------------------------------------- */

static struct db_stmt payment_intent =
    DB_STMT("payment_intent",
            "SELECT outcome, payment::text, payment->>'id'"
            "  FROM gb_payment_intent($1::bigint, $2::bigint)",
            2);

static void payments_intent_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such participation.");
        return;
    }
    if (strcmp(outcome, "invalid_state") == 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "Nothing is due on this participation now.");
        return;
    }
    /* With the sandbox on, the shopper confirms on the web app's checkout
     * page (web/shop, route #/checkout/{payment_id}). */
    const char *checkout =
        r->srv->cfg->payment_sandbox
            ? req_printf(r, ",\"checkout_url\":\"/#/checkout/%s\"",
                         PQgetvalue(res->res, 0, 2))
            : "";
    idem_reply_text(r, 201,
                    req_printf(r, "{\"payment\":%s%s}",
                               PQgetvalue(res->res, 0, 1), checkout));
}

static void payments_intent_run(struct req *r)
{
    const char *params[] = {
        req_printf(r, "%lld", (long long)r->who.id),
        req_printf(r, "%lld", (long long)r->params[0]),
    };
    if (!req_exec(r, &payment_intent, params, payments_intent_cb))
        return;
}

/* POST /v1/participations/{id}/payments (customer) {} -> 201 {payment} |
 * 404 not_found | 409 invalid_state. A still-pending intent of the same
 * kind and amount is answered again (201) rather than a second one made. */
void payments_create(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, payments_intent_run);
}

/* ---- webhook ------------------------------------------------------- */

/* POST /v1/payments/webhook (signed by the provider) {payment_id, status,
 * amount_cents, provider_ref} -> 200 {outcome, payment} | 401 bad or stale
 * signature | 400 amount_cents | 404 payment_id | 503 no secret set */
void payments_webhook(struct req *r)
{
    payment_webhook_deliver(r, req_header(r, "X-Signature"), r->body,
                            r->body_len);
}
