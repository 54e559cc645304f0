/*
 * signup.c - a shopper registers (POST /v1/customers). Customers are
 * platform-wide accounts, created by the same path as every account
 * (engine/account.h: normal login, password hashed off the loop, the
 * Idempotency-Key, 409 duplicate).
 */
#include <string.h>

#include "api/shop/shop.h"
#include "engine/account.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

static struct db_stmt customer_insert = DB_STMT(
    "customer_insert", "SELECT gb_customer_create($1, $2, $3)::text", 3);

/* POST /v1/customers {login, password, display_name} -> 201 customer |
 * 409 duplicate | 429. A registration must say that a login is taken; the
 * client's allowance (account.h) keeps that from being a fast oracle. */
void signup_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct account_new *a = req_alloc(r, sizeof *a);
    memset(a, 0, sizeof *a);
    static const char *const fields[] = {"login", "password", "display_name",
                                         NULL};
    const char *display_name = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "login", true, 1, LOGIN_MAX, &a->login, NULL);
    jfields_str(&jf, "password", true, 1, 256, &a->password, NULL);
    jfields_str(&jf, "display_name", true, 1, 64, &display_name, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    if (!json_printable(display_name, false)) {
        req_reply_error(r, 400, "invalid_field", "display_name",
                        "display_name must not hold control characters.");
        return;
    }
    a->field = "";
    a->anonymous = true;
    a->insert = &customer_insert;
    a->login_param = 0;
    a->hash_param = 1;
    a->params[2] = display_name;
    account_create(r, a);
}
