/*
 * sandbox.c - the sandbox payment provider, for demos and tests.
 *
 * With payment.sandbox on (GROUPBUYD_PAYMENT_SANDBOX=1), the shopper's
 * checkout page of the web app plays the provider: it posts the shopper's
 * choice here, and this module writes exactly the webhook a real provider
 * would send (the payment's id and amount, a provider_ref, signed with the
 * webhook secret over t + "." + body) and hands the signed raw body to the
 * webhook's own path (engine/payment.c), which verifies the signature like
 * any other delivery. Nothing here touches a payment
 * itself, so the sandbox cannot do what a provider could not.
 *
 * Off, every /v1/sandbox/ path is unknown (404, before authentication:
 * http/dispatch.c). The provider_ref is "sandbox-<payment id>", so a second
 * confirmation of the same payment is the same event again, which the
 * webhook treats as a replay.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/shop/shop.h"
#include "engine/payment.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/json.h"

/* The payment, if it is one of this customer's: its amount. */
static struct db_stmt sandbox_payment =
    DB_STMT("sandbox_payment",
            "SELECT p.amount_cents"
            "  FROM payments p"
            "  JOIN participations pa ON pa.id = p.participation_id"
            " WHERE p.id = $1::bigint AND pa.customer_id = $2::bigint",
            2);

struct sandbox_state {
    const char *status; /* "succeeded" | "failed" */
};

static void sandbox_payment_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct sandbox_state *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such payment.");
        return;
    }
    long long id = (long long)r->params[0];
    const char *body =
        req_printf(r,
                   "{\"payment_id\":%lld,\"status\":\"%s\",\"amount_cents\":%s,"
                   "\"provider_ref\":\"sandbox-%lld\"}",
                   id, st->status, PQgetvalue(res->res, 0, 0), id);
    const char *secret = r->srv->cfg->payment_webhook_secret;
    long long t = (long long)time(NULL);
    const char *signed_text = req_printf(r, "%lld.%s", t, body);
    unsigned char mac[CRYPTO_SHA256_LEN];
    if (!crypto_hmac_sha256(secret, strlen(secret), signed_text,
                            strlen(signed_text), mac)) {
        req_reply_error(r, 500, "internal", NULL, "Internal error.");
        return;
    }
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    crypto_hex_encode(mac, sizeof mac, hex);
    const char *signature = req_printf(r, "t=%lld,v1=%s", t, hex);
    payment_webhook_deliver(r, signature, body, strlen(body));
}

/* POST /v1/sandbox/payments/{id} (the paying customer) {outcome:
 * "succeeded"|"failed"} -> what POST /v1/payments/webhook answers for the
 * signed event | 404 not_found (not this customer's payment, or sandbox
 * off) */
void sandbox_payment_outcome(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"outcome", NULL};
    const char *outcome = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "outcome", true, 1, 16, &outcome, NULL);
    if (jfields_ok(&jf) && strcmp(outcome, "succeeded") != 0 &&
        strcmp(outcome, "failed") != 0)
        jfields_fail(&jf, "outcome", "outcome must be succeeded or failed.");
    if (!req_fields_ok(r, &jf))
        return;
    struct sandbox_state *st = req_alloc(r, sizeof *st);
    st->status = strcmp(outcome, "succeeded") == 0 ? "succeeded" : "failed";
    r->state = st;
    const char *params[] = {
        req_printf(r, "%lld", (long long)r->params[0]),
        req_printf(r, "%lld", (long long)r->who.id),
    };
    if (!req_query_db(r, &sandbox_payment, params, sandbox_payment_cb))
        return;
}
