/*
 * reply.h - request helpers above the transport and the database pool:
 * statements run for a request, replies built from their rows, pages of
 * lists, and the tenant of a staff request.
 *
 * http.c is the transport only; these join a request (http.h) to the pool
 * (db.h). Every function here answers through the req_reply_* functions
 * of http.h, so the rules there hold: one reply, then hands off.
 * Tenancy: admin statements are scoped by the caller's distributor
 * (req_tenant_param), so another distributor's ids are simply not found.
 */
#ifndef GROUPBUYD_REPLY_H
#define GROUPBUYD_REPLY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "http/request.h"

/* 503 unavailable for DB_UNAVAILABLE, 500 internal otherwise. */
void req_reply_db_error(struct req *r, const struct db_result *res);

/* The distributor id of a staff principal, as a statement parameter. */
const char *req_tenant_param(struct req *r);

/* ?limit= (1..200, default 50) and ?after= (default 0) as statement
 * parameters; replies 400 and returns false when malformed. */
bool req_page(struct req *r, const char **limit_plus_one, const char **after,
              int64_t *limit) __attribute__((warn_unused_result));

/* Replies 200 {"items": [...], "next_after": id|null} from rows whose
 * column 0 is the id and column 1 the item's JSON text; the statement
 * fetched limit + 1 rows so that a next page can be told. */
void req_reply_list(struct req *r, PGresult *res, int64_t limit);

/* Runs a tenant-scoped list statement ($1 distributor, $2 after, $3
 * limit + 1, rows of id and item JSON) and replies with the page. */
void req_tenant_list(struct req *r, struct db_stmt *stmt);

/* The same for a list of the principal's own rows: $1 is its id (the
 * customer's, for a customer's "mine" lists). */
void req_own_list(struct req *r, struct db_stmt *stmt);

/* Runs a statement returning at most one row whose column 0 is the
 * resource's JSON and replies 200 with it, or 404 not_found. */
void req_one_row(struct req *r, struct db_stmt *stmt,
                 const char *const *params);

/* Replies with the JSON text of row 0, column col (built by SQL). */
void req_reply_row_json(struct req *r, int status, PGresult *res, int col);

/* The pool callback that clears r->job and calls r->db_cb (for callers
 * that must handle a refused submission themselves). */
void req_db_trampoline(const struct db_result *res, void *arg);

/* Runs stmt for the request; cb is called with the request as arg. On
 * submission failure it has already replied 503 and returns false. */
bool req_query_db(struct req *r, struct db_stmt *stmt,
                  const char *const *params, db_result_cb *cb)
    __attribute__((warn_unused_result));

/* As req_query_db, for a read that may lag the primary (a public view):
 * on the read pool when one is configured and up, else on the primary. */
bool req_query_db_read(struct req *r, struct db_stmt *stmt,
                       const char *const *params, db_result_cb *cb)
    __attribute__((warn_unused_result));

#endif
