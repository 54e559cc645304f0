/*
 * distributors.c - what the platform operator does: create distributors.
 *
 * commission_bp is 0..10000 (pricing.h shows that a commission on any
 * amount within the bounds fits); currency is one of the ISO 4217 codes
 * with two decimals that money_currency_supported lists, since every
 * amount is spoken in minor units and printed with two decimals.
 */
#include <string.h>

#include "api/platform/platform.h"
#include "engine/account.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"
#include "lib/money.h"

static struct db_stmt distributor_insert =
    DB_STMT("distributor_insert",
            "SELECT gb_distributor_create($1, $2, $3, $4, $5, $6)::text", 6);

/* POST /v1/platform/distributors {name, commission_bp, currency, owner:
 * {login, password}} -> 201 {distributor, owner} | 409 duplicate */
void distributors_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct distributor_new {
        const char *name;
        int64_t commission_bp;
        const char *currency;
    } dd, *d = &dd;
    memset(d, 0, sizeof *d);
    struct account_new *a = req_alloc(r, sizeof *a);
    memset(a, 0, sizeof *a);
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
    jfields_str(&of, "login", true, 1, LOGIN_MAX, &a->login, NULL);
    jfields_str(&of, "password", true, 1, 256, &a->password, NULL);
    if (!jfields_ok(&of)) {
        req_reply_error(r, 400, "invalid_field",
                        req_printf(r, "owner.%s", of.field), "%s", of.message);
        return;
    }
    a->field = "owner.";
    a->insert = &distributor_insert;
    a->params[0] = d->name;
    a->params[1] = req_printf(r, "%lld", (long long)d->commission_bp);
    a->params[2] = d->currency;
    a->login_param = 3;
    a->hash_param = 4;
    a->params[5] = r->id;
    account_create(r, a);
}
