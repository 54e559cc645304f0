/*
 * api_platform.c - what the platform operator does: create distributors.
 *
 * commission_bp is 0..10000 (pricing.h shows that a commission on any
 * amount within the bounds fits); currency is one of the ISO 4217 codes
 * with two decimals that money_currency_supported lists, since every
 * amount is spoken in minor units and printed with two decimals.
 */
#include <string.h>

#include "api.h"
#include "http.h"
#include "idem.h"
#include "json.h"
#include "login.h"
#include "money.h"

struct distributor_new {
    const char *name;
    int64_t commission_bp;
    const char *currency;
    char login[LOGIN_MAX + 1];
    const char *password;
    const char *hash;
};

static struct db_stmt distributor_insert = DB_STMT(
    "distributor_insert",
    "WITH d AS (INSERT INTO distributors (name, commission_bp, currency)"
    "           VALUES ($1, $2, $3) RETURNING *),"
    " s AS (INSERT INTO staff (distributor_id, login, password_hash, role)"
    "       SELECT d.id, $4, $5, 'owner' FROM d RETURNING *),"
    " a AS (INSERT INTO audit_log (distributor_id, actor, action, entity,"
    "                              entity_id, after, request_id)"
    "       SELECT d.id, 'platform', 'create', 'distributor', d.id,"
    "              gb_distributor_json(d)::jsonb, $6 FROM d)"
    " SELECT json_build_object("
    "   'distributor', gb_distributor_json(d),"
    "   'owner', json_build_object('id', s.id, 'login', s.login,"
    "                              'role', s.role,"
    "                              'distributor_id', s.distributor_id))::text"
    "   FROM d, s",
    6);

static void distributor_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (db_is_unique_violation(res)) {
        req_reply_error(r, 409, "duplicate", "owner.login",
                        "This login is taken.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void distributor_run(struct req *r)
{
    struct distributor_new *d = r->state;
    const char *params[] = {
        d->name,     req_printf(r, "%lld", (long long)d->commission_bp),
        d->currency, d->login,
        d->hash,     r->id};
    if (!req_exec(r, &distributor_insert, params, distributor_inserted_cb))
        return;
}

static void distributor_hashed_cb(struct req *r, const char *encoded)
{
    struct distributor_new *d = r->state;
    d->hash = req_strdup(r, encoded);
    idem_begin(r, distributor_run);
}

/* POST /v1/platform/distributors {name, commission_bp, currency, owner:
 * {login, password}} -> 201 {distributor, owner} | 409 duplicate */
void api_distributors_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct distributor_new *d = req_alloc(r, sizeof *d);
    memset(d, 0, sizeof *d);
    r->state = d;
    static const char *const fields[] = {"name", "commission_bp", "currency",
                                         "owner", NULL};
    static const char *const owner_fields[] = {"login", "password", NULL};
    struct jfields jf, of;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "name", true, 1, 128, &d->name, NULL);
    jfields_int(&jf, "commission_bp", true, 0, 10000, &d->commission_bp, NULL);
    d->currency = "CNY";
    jfields_str(&jf, "currency", false, 3, 3, &d->currency, NULL);
    const cJSON *owner = jfields_object(&jf, "owner", true);
    if (!req_fields_ok(r, &jf))
        return;
    if (!money_currency_supported(d->currency)) {
        req_reply_error(r, 400, "invalid_field", "currency",
                        "currency must be one of CNY, HKD, MOP, SGD, USD, "
                        "EUR, GBP (ISO 4217 codes with two decimals).");
        return;
    }
    jfields_init(&of, owner);
    jfields_only(&of, owner_fields);
    const char *login = NULL;
    jfields_str(&of, "login", true, 1, LOGIN_MAX, &login, NULL);
    jfields_str(&of, "password", true, 1, 256, &d->password, NULL);
    if (!jfields_ok(&of)) {
        req_reply_error(r, 400, "invalid_field",
                        req_printf(r, "owner.%s", of.field), "%s", of.message);
        return;
    }
    if (login_normalize(login, d->login) == LOGIN_INVALID) {
        req_reply_error(r, 400, "invalid_field", "owner.login",
                        "login must be an e-mail address or a mainland "
                        "mobile number.");
        return;
    }
    size_t pwlen = strlen(d->password);
    if (pwlen < 8 || pwlen > 256) {
        req_reply_error(r, 400, "invalid_field", "owner.password",
                        "password must be 8 to 256 bytes.");
        return;
    }
    if (!auth_hash_password(r, d->password, distributor_hashed_cb))
        return;
}
