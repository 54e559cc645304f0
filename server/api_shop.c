/*
 * api_shop.c - what shoppers do through the public API: register.
 */
#include <string.h>

#include "api.h"
#include "http.h"
#include "idem.h"
#include "json.h"
#include "login.h"

struct customer_new {
    char login[LOGIN_MAX + 1];
    const char *password;
    const char *display_name;
    const char *hash;
};

static struct db_stmt customer_insert =
    DB_STMT("customer_insert",
            "INSERT INTO customers AS c (login, password_hash, display_name)"
            " VALUES ($1, $2, $3) RETURNING gb_customer_json(c)::text",
            3);

static void customer_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (db_is_unique_violation(res)) {
        req_reply_error(r, 409, "duplicate", "login", "This login is taken.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void customer_run(struct req *r)
{
    struct customer_new *c = r->state;
    const char *params[] = {c->login, c->hash, c->display_name};
    if (!req_exec(r, &customer_insert, params, customer_inserted_cb))
        return;
}

static void customer_hashed_cb(struct req *r, const char *encoded)
{
    struct customer_new *c = r->state;
    c->hash = req_strdup(r, encoded);
    idem_begin(r, customer_run);
}

/* POST /v1/customers {login, password, display_name} -> 201 customer |
 * 409 duplicate */
void api_customers_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct customer_new *c = req_alloc(r, sizeof *c);
    memset(c, 0, sizeof *c);
    r->state = c;
    static const char *const fields[] = {"login", "password", "display_name",
                                         NULL};
    const char *login = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "login", true, 1, LOGIN_MAX, &login, NULL);
    jfields_str(&jf, "password", true, 1, 256, &c->password, NULL);
    jfields_str(&jf, "display_name", true, 1, 64, &c->display_name, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    if (login_normalize(login, c->login) == LOGIN_INVALID) {
        req_reply_error(r, 400, "invalid_field", "login",
                        "login must be an e-mail address or a mainland "
                        "mobile number.");
        return;
    }
    size_t pwlen = strlen(c->password);
    if (pwlen < 8 || pwlen > 256) {
        req_reply_error(r, 400, "invalid_field", "password",
                        "password must be 8 to 256 bytes.");
        return;
    }
    if (!json_printable(c->display_name, false)) {
        req_reply_error(r, 400, "invalid_field", "display_name",
                        "display_name must not hold control characters.");
        return;
    }
    if (!auth_hash_password(r, c->password, customer_hashed_cb))
        return;
}
