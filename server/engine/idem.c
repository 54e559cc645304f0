/*
 * idem.c - see idem.h. The steps on the borrowed connection:
 *   BEGIN
 *   SELECT pg_try_advisory_xact_lock(k)        false -> 409 (running)
 *   SELECT the stored answer                   -> replay or 409
 *   ... the work's statements ...
 *   store the answer (gb_idem_store: replaces one older than 24 h)
 *   COMMIT                                     -> reply
 * Any reply before COMMIT frees the request, which releases the connection
 * with a ROLLBACK: the work's writes and the claim vanish together.
 */
#include "engine/idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/log.h"

struct idem {
    const char *key;
    const char *route;  /* "POST /v1/customers" */
    char body_hash[65]; /* hex SHA-256 of the body */
    char lock_key[24];  /* signed 64-bit advisory lock key */
    idem_run *run;
    int status; /* the answer being stored */
    const char *answer;
};

static struct db_stmt begin_stmt = DB_STMT(NULL, "BEGIN", 0);
static struct db_stmt commit_stmt = DB_STMT(NULL, "COMMIT", 0);
static struct db_stmt lock_stmt =
    DB_STMT("idem_lock", "SELECT pg_try_advisory_xact_lock($1::bigint)", 1);
static struct db_stmt find_stmt =
    DB_STMT("idem_find",
            "SELECT request_sha256 = decode($4, 'hex'), response_status,"
            "       response_body"
            "  FROM idempotency_keys"
            " WHERE principal = $1 AND route = $2 AND key = $3"
            "   AND created_at > now() - interval '24 hours'",
            4);
static struct db_stmt store_stmt =
    DB_STMT("idem_store", "SELECT gb_idem_store($1, $2, $3, $4, $5, $6)", 6);

static bool idem_key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    return true;
}

static void idem_reply_conflict(struct req *r, const char *why)
{
    req_reply_error(r, 409, "idempotency_conflict", NULL, "%s", why);
}

static const char *const *idem_params4(struct req *r)
{
    const char **p = req_alloc(r, 4 * sizeof *p);
    p[0] = r->who.scope;
    p[1] = r->idem->route;
    p[2] = r->idem->key;
    p[3] = r->idem->body_hash;
    return p;
}

static void idem_find_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) == 0) {
        r->idem->run(r);
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "t") != 0) {
        idem_reply_conflict(r, "This Idempotency-Key was used with a "
                               "different request.");
        return;
    }
    int status = atoi(PQgetvalue(res->res, 0, 1));
    const char *body = PQgetvalue(res->res, 0, 2);
    req_add_header(r, "Idempotent-Replayed", "true");
    req_reply_raw(r, status, "application/json", body, strlen(body));
}

static void idem_lock_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "t") != 0) {
        idem_reply_conflict(r, "A request with this Idempotency-Key is "
                               "still running.");
        return;
    }
    if (!db_conn_query(r->conn, &find_stmt, idem_params4(r), idem_find_cb, r)) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
    }
}

static void idem_begin_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *p[] = {r->idem->lock_key};
    if (!db_conn_query(r->conn, &lock_stmt, p, idem_lock_cb, r)) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
    }
}

static void idem_acquired_cb(struct db_conn *conn, void *arg)
{
    struct req *r = arg;
    r->job = NULL;
    if (conn == NULL) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
        return;
    }
    r->conn = conn;
    if (!db_conn_query(conn, &begin_stmt, NULL, idem_begin_cb, r)) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
    }
}

void idem_begin(struct req *r, idem_run *run)
{
    const char *key = req_header(r, "Idempotency-Key");
    if (key == NULL) {
        run(r);
        return;
    }
    if (!idem_key_valid(key)) {
        req_reply_error(r, 400, "invalid_field", "Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 visible ASCII "
                        "characters.");
        return;
    }
    struct idem *id = req_alloc(r, sizeof *id);
    memset(id, 0, sizeof *id);
    id->key = key;
    id->run = run;
    id->route = req_printf(r, "POST %s", r->path);
    unsigned char digest[CRYPTO_SHA256_LEN];
    if (!crypto_token_hash(r->body ? r->body : "", r->body_len, digest)) {
        req_reply_error(r, 500, "internal", NULL, "Hashing failed.");
        return;
    }
    crypto_hex_encode(digest, sizeof digest, id->body_hash);
    /* the lock key: the first 8 bytes of SHA-256(scope NUL route NUL key) */
    char *material =
        req_printf(r, "%s%c%s%c%s", r->who.scope, 0, id->route, 0, key);
    size_t mlen =
        strlen(r->who.scope) + 1 + strlen(id->route) + 1 + strlen(key);
    if (!crypto_token_hash(material, mlen, digest)) {
        req_reply_error(r, 500, "internal", NULL, "Hashing failed.");
        return;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | digest[i];
    snprintf(id->lock_key, sizeof id->lock_key, "%lld", (long long)(int64_t)u);
    r->idem = id;
    r->job = db_acquire(r->srv->db, idem_acquired_cb, r);
    if (r->job == NULL) {
        struct db_result un = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &un);
    }
}

static void req_conn_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    r->db_cb(res, r);
}

bool req_exec(struct req *r, struct db_stmt *stmt, const char *const *params,
              db_result_cb *cb)
{
    if (r->conn == NULL)
        return req_query_db(r, stmt, params, cb);
    r->db_cb = cb;
    if (!db_conn_query(r->conn, stmt, params, req_conn_cb, r)) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
        return false;
    }
    return true;
}

static void idem_commit_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    db_release(r->conn);
    r->conn = NULL;
    req_reply_raw(r, r->idem->status, "application/json", r->idem->answer,
                  strlen(r->idem->answer));
}

static void idem_store_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (!db_conn_query(r->conn, &commit_stmt, NULL, idem_commit_cb, r)) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
    }
}

void idem_reply_text(struct req *r, int status, const char *json)
{
    if (r->idem == NULL || r->conn == NULL || status < 200 || status > 299) {
        req_reply_raw(r, status, "application/json", json, strlen(json));
        return;
    }
    r->idem->status = status;
    r->idem->answer = req_strdup(r, json);
    const char **p = req_alloc(r, 6 * sizeof *p);
    memcpy(p, idem_params4(r), 4 * sizeof *p);
    p[4] = req_printf(r, "%d", status);
    p[5] = r->idem->answer;
    if (!db_conn_query(r->conn, &store_stmt, p, idem_store_cb, r)) {
        struct db_result u = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &u);
    }
}

void idem_reply_json(struct req *r, int status, cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (text == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    char *copy = req_strdup(r, text);
    cJSON_free(text);
    idem_reply_text(r, status, copy);
}
