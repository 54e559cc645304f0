/*
 * sessions.c - logging in and out, and who am I: staff and customers alike
 * (one file, since both logins share the realm machinery below).
 *
 * A login first takes an attempt from its client's allowance (account.h),
 * then, in one statement, its slot in the login's count and the account:
 * gb_login_begin (functions/identity.sql) counts the attempts of the last
 * minute under a lock and, under ten, records this one before any hashing, so
 * that concurrent attempts cannot all pass the count; at ten it answers 429.
 * The password is then verified on the worker pool, against a dummy hash when
 * the login does not exist, so that an unknown login and a wrong password
 * get the same answer after about the same time. A failure leaves its slot
 * as the failure; a success creates the session (only the token's SHA-256
 * is stored), deletes its own slot only (the failures of other attempts
 * keep counting), and upgrades the stored hash when it used fewer
 * iterations than configured, all in one call (gb_login_succeed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/identity/identity.h"
#include "domain/login.h"
#include "engine/account.h"
#include "engine/auth.h"
#include "engine/joinengine.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/json.h"

struct realm {
    const char *name; /* "staff" or "customer" */
    struct db_stmt *lookup;
};

struct login_state {
    const struct realm *realm;
    char login[LOGIN_MAX + 1];
    const char *password;
    const char *account_id;
    const char *slot; /* login_failures id of this attempt */
    char token[CRYPTO_TOKEN_LEN + 1];
    char token_hash[65];
};

#define LOGIN_LOOKUP(table, realm)                  \
    "SELECT b.slot, b.retry, u.id, u.password_hash" \
    "  FROM gb_login_begin('" realm "', $1) b"      \
    "  LEFT JOIN " table " u ON u.login = $1"

static struct db_stmt staff_lookup =
    DB_STMT("login_staff", LOGIN_LOOKUP("staff", "staff"), 1);
static struct db_stmt customer_lookup =
    DB_STMT("login_customer", LOGIN_LOOKUP("customers", "customer"), 1);

static struct db_stmt session_create =
    DB_STMT("session_create",
            "SELECT s.expires_at, s.account::text"
            "  FROM gb_login_succeed($1, $2, $3, $4, $5, $6) s",
            6);

static const struct realm realm_staff = {"staff", &staff_lookup};
static const struct realm realm_customer = {"customer", &customer_lookup};

static void sessions_reply_401(struct req *r)
{
    req_reply_error(r, 401, "unauthenticated", NULL,
                    "Wrong login or password.");
}

static void sessions_created_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct login_state *st = r->state;
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        if (res->status == DB_OK)
            sessions_reply_401(r); /* the account vanished meanwhile */
        else
            req_reply_db_error(r, res);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "token", st->token);
    cJSON_AddStringToObject(out, "expires_at", PQgetvalue(res->res, 0, 0));
    cJSON_AddItemToObject(out, st->realm->name,
                          cJSON_CreateRaw(PQgetvalue(res->res, 0, 1)));
    req_reply_json(r, 201, out);
}

static void sessions_verified_cb(struct req *r, bool ok, const char *rehash)
{
    struct login_state *st = r->state;
    if (!ok) {
        sessions_reply_401(r); /* the slot stays, as the failure */
        return;
    }
    unsigned char digest[CRYPTO_SHA256_LEN];
    if (!crypto_token_new(st->token) ||
        !crypto_token_hash(st->token, strlen(st->token), digest)) {
        req_reply_error(r, 500, "internal", NULL, "No randomness.");
        return;
    }
    crypto_hex_encode(digest, sizeof digest, st->token_hash);
    const char *params[] = {st->realm->name,
                            st->slot,
                            st->account_id,
                            st->token_hash,
                            req_printf(r, "%d", r->srv->cfg->session_ttl_s),
                            rehash ? req_strdup(r, rehash) : NULL};
    if (!req_query_db(r, &session_create, params, sessions_created_cb))
        return;
}

static void sessions_lookup_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct login_state *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQgetisnull(pg, 0, 0)) {
        req_add_header(r, "Retry-After", PQgetvalue(pg, 0, 1));
        req_reply_error(r, 429, "rate_limited", NULL,
                        "Too many failed logins; retry in %s seconds.",
                        PQgetvalue(pg, 0, 1));
        return;
    }
    st->slot = req_strdup(r, PQgetvalue(pg, 0, 0));
    const char *hash = NULL;
    if (!PQgetisnull(pg, 0, 2)) {
        st->account_id = req_strdup(r, PQgetvalue(pg, 0, 2));
        hash = req_strdup(r, PQgetvalue(pg, 0, 3));
    }
    if (!auth_verify_password(r, st->password, hash, sessions_verified_cb))
        return;
}

static void sessions_login(struct req *r, const struct realm *realm)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct login_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    st->realm = realm;
    r->state = st;
    static const char *const fields[] = {"login", "password", NULL};
    const char *login = NULL;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "login", true, 1, 1024, &login, NULL);
    jfields_str(&jf, "password", true, 1, 1024, &st->password, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    /* A login that cannot exist is throttled and verified like any other
     * unknown one: its raw spelling keys the failures. */
    if (login_normalize(login, st->login) == LOGIN_INVALID)
        snprintf(st->login, sizeof st->login, "%s", login);
    if (!account_client_admit(r))
        return;
    const char *params[] = {st->login};
    if (!req_query_db(r, realm->lookup, params, sessions_lookup_cb))
        return;
}

/* POST /v1/admin/sessions {login, password} -> 201 {token, expires_at,
 * staff} | 401 | 429 */
void sessions_staff_login(struct req *r)
{
    sessions_login(r, &realm_staff);
}

/* POST /v1/sessions {login, password} -> 201 {token, expires_at, customer}
 * | 401 | 429 */
void sessions_customer_login(struct req *r)
{
    sessions_login(r, &realm_customer);
}

static struct db_stmt session_revoke =
    DB_STMT("session_revoke", "SELECT gb_session_revoke($1)", 1);

static void sessions_revoked_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    auth_session_forget(r->who.token_hash);
    req_reply_raw(r, 204, NULL, NULL, 0);
}

/* DELETE /v1/sessions/current [{}] (staff or customer) -> 204 | 400
 * invalid_json, invalid_field (a garbled body ends nothing) */
void sessions_logout(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {r->who.token_hash};
    if (!req_query_db(r, &session_revoke, params, sessions_revoked_cb))
        return;
}

static struct db_stmt me_staff =
    DB_STMT("me_staff",
            "SELECT gb_staff_json(s)::text FROM staff s WHERE s.id = $1", 1);
/* The customer's score with VIP level 0: /v1/me speaks for no distributor
 * (a distributor's VIP level shows in its own staff view and joins). */
static struct db_stmt me_customer =
    DB_STMT("me_customer",
            "SELECT gb_customer_json(c)::text, h.* FROM customers c"
            " CROSS JOIN gb_customer_history(c.id, $2) h WHERE c.id = $1",
            2);

static void sessions_me_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such account.");
        return;
    }
    req_reply_row_json(r, 200, res->res, 0);
}

static void sessions_me_customer_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such account.");
        return;
    }
    struct reliability_result score;
    if (!joinengine_history_score(&r->srv->cfg->reliability, res->res, 0, 1, 0,
                                  &score, NULL)) {
        req_reply_error(r, 500, "internal", NULL,
                        "The history cannot be scored.");
        return;
    }
    /* SQL's object with "reliability" added: parsed, added with cJSON,
     * printed with its numbers as SQL wrote them */
    const char *json = PQgetvalue(res->res, 0, 0);
    struct json_parse_error err;
    cJSON *obj = json_parse_strict(json, strlen(json), &err);
    cJSON *rel = cJSON_CreateObject();
    char *out = NULL;
    if (cJSON_IsObject(obj) && rel != NULL &&
        json_add_int(rel, "score", score.score) &&
        cJSON_AddItemToObject(obj, "reliability", rel)) {
        rel = NULL; /* obj's */
        out = json_print_exact(obj);
    }
    cJSON_Delete(rel);
    cJSON_Delete(obj);
    if (out == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    req_reply_raw(r, 200, "application/json", out, strlen(out));
    cJSON_free(out);
}

/* GET /v1/me (staff or customer) -> the account; a customer's with
 * "reliability": {"score"} */
void sessions_me(struct req *r)
{
    const char *id = req_printf(r, "%lld", (long long)r->who.id);
    if (r->who.kind == PRINCIPAL_STAFF) {
        const char *params[] = {id};
        if (!req_query_db(r, &me_staff, params, sessions_me_cb))
            return;
        return;
    }
    const char *params[] = {id, joinengine_half_life_param(r)};
    if (!req_query_db(r, &me_customer, params, sessions_me_customer_cb))
        return;
}
