/*
 * payment.c - the payment webhook's path (payment.h).
 *
 * Its authentication is the signature of X-Signature
 * (crypto_webhook_verify, constant-time, 300 s tolerance). The tolerance
 * is checked against this host's clock, time(NULL): the check needs no
 * database, and an unsigned or stale request never costs a connection.
 * Deadlines (is the deposit window still open?) are then decided by the
 * database clock inside gb_payment_apply (schema/functions/payments.sql),
 * one statement taken under the rows' locks. Replays are safe by state,
 * not by a key: a delivery whose outcome is already applied changes
 * nothing and answers 200.
 */
#include "engine/payment.h"

#include <string.h>
#include <time.h>

#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/log.h"

static struct db_stmt payment_apply =
    DB_STMT("payment_apply",
            "SELECT outcome, payment::text"
            "  FROM gb_payment_apply($1::bigint, $2, $3::bigint, $4, $5)",
            5);

static void payment_apply_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status == DB_SQL_ERROR && (strcmp(res->sqlstate, "40P01") == 0 ||
                                        strcmp(res->sqlstate, "40001") == 0)) {
        /* lost a lock race: nothing was written, the provider retries */
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "The payment is busy; retry later.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", "payment_id", "No such payment.");
        return;
    }
    if (strcmp(outcome, "amount_mismatch") == 0) {
        req_reply_error(r, 400, "invalid_field", "amount_cents",
                        "amount_cents is not the payment's amount.");
        return;
    }
    if (strcmp(outcome, "conflict") == 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "This payment already succeeded under another "
                        "provider_ref.");
        return;
    }
    const char *text = req_printf(r, "{\"outcome\":\"%s\",\"payment\":%s}",
                                  outcome, PQgetvalue(res->res, 0, 1));
    req_reply_raw(r, 200, "application/json", text, strlen(text));
}

void payment_webhook_deliver(struct req *r, const char *signature,
                             const char *raw, size_t len)
{
    if (r->json) { /* the sandbox's own request body */
        cJSON_Delete(r->json);
        r->json = NULL;
    }
    r->body = raw;
    r->body_len = len;
    const char *secret = r->srv->cfg->payment_webhook_secret;
    if (secret[0] == '\0') {
        req_reply_error(r, 503, "unavailable", NULL,
                        "Payment webhooks are not configured: set "
                        "GROUPBUYD_PAYMENT_WEBHOOK_SECRET (config "
                        "payment_webhook_secret).");
        return;
    }
    enum crypto_webhook_result v =
        crypto_webhook_verify(signature, r->body ? r->body : "", r->body_len,
                              secret, strlen(secret), (int64_t)time(NULL));
    if (v != CRYPTO_WEBHOOK_OK) {
        log_warn("request %s: webhook signature %s", r->id,
                 crypto_webhook_result_name(v));
        req_reply_error(r, 401, "unauthenticated", NULL,
                        "Bad or stale webhook signature.");
        return;
    }
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"payment_id", "status", "amount_cents",
                                         "provider_ref", NULL};
    int64_t payment_id = 0, amount = 0;
    const char *status = NULL, *provider_ref = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "payment_id", true, 1, JSON_MAX_SAFE_INT, &payment_id,
                NULL);
    jfields_str(&jf, "status", true, 1, 16, &status, NULL);
    jfields_int(&jf, "amount_cents", true, 1, JSON_MAX_SAFE_INT, &amount, NULL);
    jfields_str(&jf, "provider_ref", true, 1, 255, &provider_ref, NULL);
    if (jfields_ok(&jf) && strcmp(status, "succeeded") != 0 &&
        strcmp(status, "failed") != 0)
        jfields_fail(&jf, "status", "status must be succeeded or failed.");
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_printf(r, "%lld", (long long)payment_id),
                            status, req_printf(r, "%lld", (long long)amount),
                            provider_ref, r->body};
    if (!req_query_db(r, &payment_apply, params, payment_apply_cb))
        return;
}
