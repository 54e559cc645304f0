/*
 * staff.c - distributor staff: staff accounts and the audit log (owner).
 *
 * Every statement here takes the caller's distributor id as $1 and filters
 * on it: another distributor's rows are not found (404), never forbidden.
 */
#include <string.h>

#include "api/admin/admin.h"
#include "engine/account.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

/* A login held by another distributor's staff gets a row that never logs
 * in, answered like a free one (gb_staff_create, docs/decisions.md "Staff
 * logins held by another distributor"). */
static struct db_stmt staff_insert =
    DB_STMT("staff_insert",
            "SELECT gb_staff_create($1, $2, $3, $4, true, $5, $6)::text", 6);

/* POST /v1/admin/staff {login, password, role} (owner) -> 201 staff |
 * 409 duplicate (a login of this distributor) */
void staff_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct account_new *a = req_alloc(r, sizeof *a);
    memset(a, 0, sizeof *a);
    static const char *const fields[] = {"login", "password", "role", NULL};
    const char *role = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "login", true, 1, LOGIN_MAX, &a->login, NULL);
    jfields_str(&jf, "password", true, 1, 256, &a->password, NULL);
    jfields_str(&jf, "role", true, 1, 16, &role, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    if (strcmp(role, "operator") != 0 && strcmp(role, "finance") != 0) {
        req_reply_error(r, 400, "invalid_field", "role",
                        "role must be \"operator\" or \"finance\".");
        return;
    }
    a->field = "";
    a->insert = &staff_insert;
    a->params[0] = req_tenant_param(r);
    a->login_param = 1;
    a->hash_param = 2;
    a->params[3] = role;
    a->params[4] = req_printf(r, "%lld", (long long)r->who.id);
    a->params[5] = r->id;
    account_create(r, a);
}

static struct db_stmt staff_list_stmt =
    DB_STMT("staff_list_stmt",
            "SELECT s.id, gb_staff_json(s)::text FROM staff s"
            " WHERE s.distributor_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $3",
            3);

static struct db_stmt staff_get_stmt =
    DB_STMT("staff_get_stmt",
            "SELECT gb_staff_json(s)::text FROM staff s"
            " WHERE s.distributor_id = $1 AND s.id = $2",
            2);

/* GET /v1/admin/staff (owner) -> {items, next_after} */
void staff_list(struct req *r)
{
    req_tenant_list(r, &staff_list_stmt);
}

/* GET /v1/admin/staff/{id} (owner) -> staff | 404 */
void staff_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    req_one_row(r, &staff_get_stmt, params);
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
void staff_audit_list(struct req *r)
{
    req_tenant_list(r, &audit_list);
}
