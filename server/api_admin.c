/*
 * api_admin.c - distributor staff: staff accounts and the audit log.
 *
 * Every statement here takes the caller's distributor id as $1 and filters
 * on it: another distributor's rows are not found (404), never forbidden.
 */
#include <string.h>

#include "api.h"
#include "http.h"
#include "idem.h"
#include "json.h"
#include "login.h"

struct staff_new {
    char login[LOGIN_MAX + 1];
    const char *password;
    const char *role;
    const char *hash;
};

static struct db_stmt staff_insert = DB_STMT(
    "staff_insert",
    "WITH s AS (INSERT INTO staff (distributor_id, login, password_hash, role)"
    "           VALUES ($1, $2, $3, $4) RETURNING *),"
    " a AS (INSERT INTO audit_log (distributor_id, staff_id, actor, action,"
    "                              entity, entity_id, after, request_id)"
    "       SELECT $1, $5::bigint, 'staff:' || $5::bigint, 'create', 'staff', "
    "s.id,"
    "              gb_staff_json(s)::jsonb, $6 FROM s)"
    " SELECT gb_staff_json(s)::text FROM s",
    6);

static void staff_inserted_cb(const struct db_result *res, void *arg)
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

static void staff_run(struct req *r)
{
    struct staff_new *s = r->state;
    const char *params[] = {req_tenant_param(r),
                            s->login,
                            s->hash,
                            s->role,
                            req_printf(r, "%lld", (long long)r->who.id),
                            r->id};
    if (!req_exec(r, &staff_insert, params, staff_inserted_cb))
        return;
}

static void staff_hashed_cb(struct req *r, const char *encoded)
{
    struct staff_new *s = r->state;
    s->hash = req_strdup(r, encoded);
    idem_begin(r, staff_run);
}

/* POST /v1/admin/staff {login, password, role} (owner) -> 201 staff */
void api_staff_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct staff_new *s = req_alloc(r, sizeof *s);
    memset(s, 0, sizeof *s);
    r->state = s;
    static const char *const fields[] = {"login", "password", "role", NULL};
    const char *login = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "login", true, 1, LOGIN_MAX, &login, NULL);
    jfields_str(&jf, "password", true, 1, 256, &s->password, NULL);
    jfields_str(&jf, "role", true, 1, 16, &s->role, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    if (strcmp(s->role, "operator") != 0 && strcmp(s->role, "finance") != 0) {
        req_reply_error(r, 400, "invalid_field", "role",
                        "role must be \"operator\" or \"finance\".");
        return;
    }
    if (login_normalize(login, s->login) == LOGIN_INVALID) {
        req_reply_error(r, 400, "invalid_field", "login",
                        "login must be an e-mail address or a mainland "
                        "mobile number.");
        return;
    }
    size_t pwlen = strlen(s->password);
    if (pwlen < 8 || pwlen > 256) {
        req_reply_error(r, 400, "invalid_field", "password",
                        "password must be 8 to 256 bytes.");
        return;
    }
    if (!auth_hash_password(r, s->password, staff_hashed_cb))
        return;
}

static struct db_stmt staff_list =
    DB_STMT("staff_list",
            "SELECT s.id, gb_staff_json(s)::text FROM staff s"
            " WHERE s.distributor_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $3",
            3);

static struct db_stmt staff_get =
    DB_STMT("staff_get",
            "SELECT gb_staff_json(s)::text FROM staff s"
            " WHERE s.distributor_id = $1 AND s.id = $2",
            2);

/* GET /v1/admin/staff (owner) -> {items, next_after} */
void api_staff_list(struct req *r)
{
    req_tenant_list(r, &staff_list);
}

/* GET /v1/admin/staff/{id} (owner) -> staff | 404 */
void api_staff_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    req_one_row(r, &staff_get, params);
}

static struct db_stmt audit_list = DB_STMT(
    "audit_list",
    "SELECT a.id, json_build_object('id', a.id, 'actor', a.actor,"
    "  'staff_id', a.staff_id, 'action', a.action, 'entity', a.entity,"
    "  'entity_id', a.entity_id, 'before', a.before, 'after', a.after,"
    "  'request_id', a.request_id, 'created_at', gb_ts(a.created_at))::text"
    "  FROM audit_log a"
    " WHERE a.distributor_id = $1 AND a.id > $2 ORDER BY a.id LIMIT $3",
    3);

/* GET /v1/admin/audit-log (owner) -> {items, next_after} */
void api_audit_list(struct req *r)
{
    req_tenant_list(r, &audit_list);
}
