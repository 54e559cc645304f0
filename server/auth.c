/*
 * auth.c - see auth.h.
 *
 * The session lookup is one prepared statement keyed by the token's
 * SHA-256; a revoked or expired session is not found. Worker jobs copy
 * nothing from the request while they run: everything they read or write
 * was allocated in the request's arena before submission, and the request
 * is not freed before the job's done callback replies.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "workpool.h"

static struct db_stmt session_stmt =
    DB_STMT("auth_session",
            "SELECT s.staff_id, s.customer_id, st.distributor_id, st.role"
            "  FROM sessions s LEFT JOIN staff st ON st.id = s.staff_id"
            " WHERE s.token_sha256 = decode($1, 'hex') AND s.revoked_at IS NULL"
            "   AND s.expires_at > now()",
            1);

static unsigned auth_role_access(const char *role)
{
    if (strcmp(role, "owner") == 0)
        return ACCESS_OWNER;
    if (strcmp(role, "operator") == 0)
        return ACCESS_OPERATOR;
    if (strcmp(role, "finance") == 0)
        return ACCESS_FINANCE;
    return 0;
}

static void auth_reply_401(struct req *r)
{
    req_add_header(r, "WWW-Authenticate", "Bearer");
    req_reply_error(r, 401, "unauthenticated", NULL,
                    "A valid bearer token is required.");
}

static void auth_admit(struct req *r)
{
    if ((r->route->access & r->who.access) == 0) {
        req_reply_error(r, 403, "forbidden", NULL,
                        "Your role may not do this.");
        return;
    }
    r->route->handler(r);
}

static void auth_session_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        auth_reply_401(r);
        return;
    }
    struct principal *w = &r->who;
    if (!PQgetisnull(pg, 0, 0)) {
        w->kind = PRINCIPAL_STAFF;
        w->id = strtoll(PQgetvalue(pg, 0, 0), NULL, 10);
        w->distributor_id = strtoll(PQgetvalue(pg, 0, 2), NULL, 10);
        snprintf(w->role, sizeof w->role, "%s", PQgetvalue(pg, 0, 3));
        w->access = auth_role_access(w->role);
        snprintf(w->scope, sizeof w->scope, "staff:%lld", (long long)w->id);
    } else {
        w->kind = PRINCIPAL_CUSTOMER;
        w->id = strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
        w->access = ACCESS_CUSTOMER;
        snprintf(w->scope, sizeof w->scope, "customer:%lld", (long long)w->id);
    }
    auth_admit(r);
}

void auth_dispatch(struct req *r)
{
    snprintf(r->who.scope, sizeof r->who.scope, "anon");
    if (r->route->access == ACCESS_PUBLIC) {
        r->route->handler(r);
        return;
    }
    const char *h = req_header(r, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        auth_reply_401(r);
        return;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen(token);
    const char *platform = r->srv->cfg->platform_token;
    if (*platform &&
        crypto_secret_equal(token, len, platform, strlen(platform))) {
        r->who.kind = PRINCIPAL_PLATFORM;
        r->who.access = ACCESS_PLATFORM;
        snprintf(r->who.scope, sizeof r->who.scope, "platform");
        auth_admit(r);
        return;
    }
    unsigned char digest[CRYPTO_SHA256_LEN];
    if (!crypto_token_is_wellformed(token, len) ||
        !crypto_token_hash(token, len, digest)) {
        auth_reply_401(r);
        return;
    }
    crypto_hex_encode(digest, sizeof digest, r->who.token_hash);
    const char *params[] = {r->who.token_hash};
    if (!req_query_db(r, &session_stmt, params, auth_session_cb))
        return;
}

const char *req_tenant_param(struct req *r)
{
    return req_printf(r, "%lld", (long long)r->who.distributor_id);
}

/* ---- passwords on the worker pool ---------------------------------- */

struct pwjob {
    struct req *r;
    const char *password;
    size_t password_len;
    const char *encoded; /* verify: stored hash or NULL */
    int iterations;
    bool verify;
    bool ok;
    char *out; /* hash: the new hash; verify: a rehash or "" */
    auth_hash_cb *hash_cb;
    auth_verify_cb *verify_cb;
};

static void auth_pw_work(void *arg)
{
    struct pwjob *j = arg;
    j->out[0] = '\0';
    if (!j->verify) {
        j->ok =
            crypto_password_hash(j->password, j->password_len, j->iterations,
                                 j->out, CRYPTO_PASSWORD_ENCODED_MAX);
        return;
    }
    if (j->encoded == NULL) {
        crypto_password_verify_dummy(j->password, j->password_len,
                                     j->iterations);
        j->ok = false;
        return;
    }
    bool rehash = false;
    j->ok = crypto_password_verify(j->password, j->password_len, j->encoded,
                                   &rehash, j->iterations);
    if (j->ok && rehash &&
        !crypto_password_hash(j->password, j->password_len, j->iterations,
                              j->out, CRYPTO_PASSWORD_ENCODED_MAX))
        j->out[0] = '\0';
}

static void auth_pw_done(void *arg, bool cancelled)
{
    struct pwjob *j = arg;
    struct req *r = j->r;
    if (cancelled) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down; retry.");
        return;
    }
    if (!j->verify) {
        if (!j->ok) {
            req_reply_error(r, 500, "internal", NULL, "Hashing failed.");
            return;
        }
        j->hash_cb(r, j->out);
        return;
    }
    j->verify_cb(r, j->ok, j->out[0] ? j->out : NULL);
}

static bool auth_pw_submit(struct req *r, struct pwjob *j)
{
    j->r = r;
    j->iterations = r->srv->cfg->password_iterations;
    j->out = req_alloc(r, CRYPTO_PASSWORD_ENCODED_MAX);
    if (!workpool_submit(r->srv->work, auth_pw_work, auth_pw_done, j)) {
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "Too many logins at once; retry shortly.");
        return false;
    }
    return true;
}

bool auth_hash_password(struct req *r, const char *password, auth_hash_cb *cb)
{
    struct pwjob *j = req_alloc(r, sizeof *j);
    memset(j, 0, sizeof *j);
    j->password = password;
    j->password_len = strlen(password);
    j->hash_cb = cb;
    return auth_pw_submit(r, j);
}

bool auth_verify_password(struct req *r, const char *password,
                          const char *encoded, auth_verify_cb *cb)
{
    struct pwjob *j = req_alloc(r, sizeof *j);
    memset(j, 0, sizeof *j);
    j->password = password;
    j->password_len = strlen(password);
    j->encoded = encoded;
    j->verify = true;
    j->verify_cb = cb;
    return auth_pw_submit(r, j);
}
