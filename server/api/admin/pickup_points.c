/*
 * pickup_points.c - pickup points (自提点) of a distributor (owner,
 * operator).
 *
 * A pickup point is where a community leader (团长) hands out the orders of
 * pickup campaigns and earns commission_bp of their gross at settlement
 * (functions/settle.sql). Points are never deleted: a campaign or an order
 * may name them for years; `active: false` keeps a point out of new
 * campaigns. Every statement takes the caller's distributor id as $1, so
 * another distributor's points are not found (404). Writes carry their
 * audit line in their transaction (gb_pickup_point_create, _update).
 */
#include <string.h>

#include "api/admin/admin.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

struct pickup_in {
    const char *name, *address, *leader_name, *leader_phone;
    int64_t commission_bp;
    bool active;
    bool has_name, has_address, has_leader_name, has_leader_phone,
        has_commission_bp, has_active;
};

/* Reads the fields of a creation (every text and commission_bp required)
 * or of a patch (all optional, plus "active"). */
static void pickup_points_read(struct jfields *jf, struct pickup_in *in,
                               bool create)
{
    static const char *const create_fields[] = {"name",          "address",
                                                "leader_name",   "leader_phone",
                                                "commission_bp", NULL};
    static const char *const patch_fields[] = {
        "name",          "address", "leader_name", "leader_phone",
        "commission_bp", "active",  NULL};
    jfields_only(jf, create ? create_fields : patch_fields);
    jfields_str(jf, "name", create, 1, 200, &in->name, &in->has_name);
    jfields_str(jf, "address", create, 1, 500, &in->address, &in->has_address);
    jfields_str(jf, "leader_name", create, 1, 64, &in->leader_name,
                &in->has_leader_name);
    jfields_str(jf, "leader_phone", create, 1, 32, &in->leader_phone,
                &in->has_leader_phone);
    jfields_int(jf, "commission_bp", create, 0, 10000, &in->commission_bp,
                &in->has_commission_bp);
    if (!create)
        jfields_bool(jf, "active", false, &in->active, &in->has_active);
    const struct {
        const char *key;
        const char *value;
        bool has;
    } texts[] = {{"name", in->name, in->has_name},
                 {"address", in->address, in->has_address},
                 {"leader_name", in->leader_name, in->has_leader_name},
                 {"leader_phone", in->leader_phone, in->has_leader_phone}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (jfields_ok(jf) && texts[i].has &&
            !json_printable(texts[i].value, false))
            jfields_fail(jf, texts[i].key,
                         "%s must not hold control characters", texts[i].key);
    }
}

static const char *pickup_points_opt_int(struct req *r, bool has, int64_t v)
{
    return has ? req_printf(r, "%lld", (long long)v) : NULL;
}

static struct db_stmt pickup_insert = DB_STMT(
    "pickup_insert",
    "SELECT gb_pickup_point_create($1, $2, $3, $4, $5, $6, $7, $8)::text", 8);

static void pickup_points_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void pickup_points_create_run(struct req *r)
{
    struct pickup_in *in = r->state;
    const char *params[] = {req_tenant_param(r),
                            in->name,
                            in->address,
                            in->leader_name,
                            in->leader_phone,
                            pickup_points_opt_int(r, true, in->commission_bp),
                            pickup_points_opt_int(r, true, r->who.id),
                            r->id};
    if (!req_exec(r, &pickup_insert, params, pickup_points_inserted_cb))
        return;
}

/* POST /v1/admin/pickup-points {name, address, leader_name, leader_phone,
 * commission_bp 0..10000} (owner, operator) -> 201 pickup point | 400 */
void pickup_points_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct pickup_in *in = req_alloc(r, sizeof *in);
    memset(in, 0, sizeof *in);
    r->state = in;
    struct jfields jf;
    jfields_init(&jf, body);
    pickup_points_read(&jf, in, true);
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, pickup_points_create_run);
}

static struct db_stmt pickup_list =
    DB_STMT("pickup_list",
            "SELECT p.id, gb_pickup_point_json(p)::text FROM pickup_points p"
            " WHERE p.distributor_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
            3);

static struct db_stmt pickup_get =
    DB_STMT("pickup_get",
            "SELECT gb_pickup_point_json(p)::text FROM pickup_points p"
            " WHERE p.distributor_id = $1 AND p.id = $2",
            2);

/* GET /v1/admin/pickup-points (owner, operator) -> {items, next_after} */
void pickup_points_list(struct req *r)
{
    req_tenant_list(r, &pickup_list);
}

/* GET /v1/admin/pickup-points/{id} (owner, operator) -> point | 404 */
void pickup_points_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    req_one_row(r, &pickup_get, params);
}

/* Absent fields are NULL parameters and keep their value
 * (gb_pickup_point_update: no row for another distributor's point). */
static struct db_stmt pickup_update =
    DB_STMT("pickup_update",
            "SELECT p::text"
            "  FROM gb_pickup_point_update($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            "                              $10) p",
            10);

/* PATCH /v1/admin/pickup-points/{id} {name?, address?, leader_name?,
 * leader_phone?, commission_bp?, active?} (owner, operator) -> 200 point |
 * 400 | 404 */
void pickup_points_update(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct pickup_in in;
    memset(&in, 0, sizeof in);
    struct jfields jf;
    jfields_init(&jf, body);
    pickup_points_read(&jf, &in, false);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {
        req_tenant_param(r),
        req_printf(r, "%lld", (long long)r->params[0]),
        in.has_name ? in.name : NULL,
        in.has_address ? in.address : NULL,
        in.has_leader_name ? in.leader_name : NULL,
        in.has_leader_phone ? in.leader_phone : NULL,
        pickup_points_opt_int(r, in.has_commission_bp, in.commission_bp),
        in.has_active ? (in.active ? "true" : "false") : NULL,
        pickup_points_opt_int(r, true, r->who.id),
        r->id};
    req_one_row(r, &pickup_update, params);
}
