/*
 * idem.h - Idempotency-Key for every creating POST (API.md Conventions).
 *
 * A handler validates its input (and hashes passwords: CPU work never holds
 * a database connection), then calls idem_begin with the function that does
 * the work. Without the header, the work runs at once and its statements go
 * through the pool. With it, the request borrows a connection and opens a
 * transaction; takes a transaction-scoped advisory lock on (principal,
 * method and path, key) — held by a request still running, that is 409
 * idempotency_conflict; finds a stored answer — same body: replayed byte
 * for byte, other body: 409; else runs the work inside the transaction.
 * idem_reply_json stores the answer in the same transaction as the work's
 * writes and commits before replying, so an effect and its stored answer
 * exist together or not at all, also across a crash. Only 2xx answers are
 * stored: a refused request changed nothing and may simply be retried.
 * Stored answers are replayed for 24 hours.
 */
#ifndef GROUPBUYD_IDEM_H
#define GROUPBUYD_IDEM_H

#include <cJSON.h>
#include <stdbool.h>

#include "db/db.h"

struct req;

typedef void idem_run(struct req *r);

/* Runs run(r) in the request's idempotent section, or replies (400 bad
 * key, 409, replay, 503). */
void idem_begin(struct req *r, idem_run *run);

/* Runs a statement of the work: on the transaction's connection when there
 * is one, else through the pool. Replies 503 and returns false when it
 * cannot be sent. */
bool req_exec(struct req *r, struct db_stmt *stmt, const char *const *params,
              db_result_cb *cb) __attribute__((warn_unused_result));

/* The work's answer: stored with the key and committed first when there is
 * a key. Takes ownership of body. */
void idem_reply_json(struct req *r, int status, cJSON *body);
/* The same with a body already serialised (e.g. built by SQL). */
void idem_reply_text(struct req *r, int status, const char *json);

#endif
