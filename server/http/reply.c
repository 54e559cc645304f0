/*
 * reply.c - see reply.h.
 */
#include "http/reply.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "lib/log.h"

/* The database gave up on a statement that was fine: it ran past the
 * statement timeout (57014, query_canceled) or waited past a lock timeout
 * (55P03). The database is busy, not the request wrong nor the server
 * broken. */
static bool reply_db_busy(const struct db_result *res)
{
    return res->status == DB_SQL_ERROR &&
           (strcmp(res->sqlstate, "57014") == 0 ||
            strcmp(res->sqlstate, "55P03") == 0);
}

void req_reply_db_error(struct req *r, const struct db_result *res)
{
    if (res->status == DB_UNAVAILABLE) {
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "The database is unavailable; retry later.");
        return;
    }
    if (reply_db_busy(res)) {
        log_warn("request %s: database busy %s: %s", r->id, res->sqlstate,
                 res->message);
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "The database is busy; retry later.");
        return;
    }
    log_error("request %s: database error %s: %s", r->id, res->sqlstate,
              res->message);
    req_reply_error(r, 500, "internal", NULL, "Internal error.");
}

void req_db_trampoline(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    r->job = NULL;
    r->db_cb(res, r);
}

bool req_query_db(struct req *r, struct db_stmt *stmt,
                  const char *const *params, db_result_cb *cb)
{
    r->db_cb = cb;
    r->job = db_query(r->srv->db, stmt, params, req_db_trampoline, r);
    if (r->job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &res);
        return false;
    }
    return true;
}

bool req_query_db_read(struct req *r, struct db_stmt *stmt,
                       const char *const *params, db_result_cb *cb)
{
    r->db_cb = cb;
    r->job = db_query(db_pool_for_read(r->srv->db, r->srv->db_read), stmt,
                      params, req_db_trampoline, r);
    if (r->job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        req_reply_db_error(r, &res);
        return false;
    }
    return true;
}

/* Parses a decimal in [min, max]. */
static bool reply_parse_int(const char *s, int64_t min, int64_t max,
                            int64_t *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool req_page(struct req *r, const char **limit_plus_one, const char **after,
              int64_t *limit)
{
    int64_t lim = 50, aft = 0;
    const char *l = req_query(r, "limit");
    const char *a = req_query(r, "after");
    if (l && !reply_parse_int(l, 1, 200, &lim)) {
        req_reply_error(r, 400, "invalid_field", "limit",
                        "limit must be an integer from 1 to 200.");
        return false;
    }
    if (a && !reply_parse_int(a, 0, JSON_MAX_SAFE_INT, &aft)) {
        req_reply_error(r, 400, "invalid_field", "after",
                        "after must be a non-negative integer id.");
        return false;
    }
    *limit = lim;
    *limit_plus_one = req_printf(r, "%lld", (long long)lim + 1);
    *after = req_printf(r, "%lld", (long long)aft);
    return true;
}

void req_reply_list(struct req *r, PGresult *res, int64_t limit)
{
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = (int)limit;
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    evbuffer_add_printf(b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            evbuffer_add(b, ",", 1);
        evbuffer_add_printf(b, "%s", PQgetvalue(res, i, 1));
    }
    if (more)
        evbuffer_add_printf(b, "],\"next_after\":%s}",
                            PQgetvalue(res, n - 1, 0));
    else
        evbuffer_add_printf(b, "],\"next_after\":null}");
    size_t len = evbuffer_get_length(b);
    char *text = req_alloc(r, len + 1);
    evbuffer_remove(b, text, len);
    evbuffer_free(b);
    req_reply_raw(r, 200, "application/json", text, len);
}

static void reply_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* A page of stmt's rows ($1 owner, $2 after, $3 limit + 1) as a list. */
static void reply_page(struct req *r, struct db_stmt *stmt, const char *owner)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {owner, after, limit1};
    if (!req_query_db(r, stmt, params, reply_list_cb))
        return;
}

void req_tenant_list(struct req *r, struct db_stmt *stmt)
{
    reply_page(r, stmt, req_tenant_param(r));
}

void req_own_list(struct req *r, struct db_stmt *stmt)
{
    reply_page(r, stmt, req_printf(r, "%lld", (long long)r->who.id));
}

static void reply_one_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such resource.");
        return;
    }
    req_reply_row_json(r, 200, res->res, 0);
}

void req_one_row(struct req *r, struct db_stmt *stmt, const char *const *params)
{
    if (!req_query_db(r, stmt, params, reply_one_cb))
        return;
}

void req_reply_row_json(struct req *r, int status, PGresult *res, int col)
{
    const char *text = PQgetvalue(res, 0, col);
    req_reply_raw(r, status, "application/json", text, strlen(text));
}

const char *req_tenant_param(struct req *r)
{
    return req_printf(r, "%lld", (long long)r->who.distributor_id);
}
