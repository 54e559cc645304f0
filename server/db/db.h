/*
 * db.h - an asynchronous PostgreSQL pool on the server's event loop.
 *
 * A fixed number of libpq connections, each non-blocking: connect with
 * PQconnectStartParams/PQconnectPoll, send with PQsendQueryParams or
 * PQsendQueryPrepared, flush and consume on socket events, read until
 * PQgetResult returns NULL. Nothing here ever blocks the loop.
 *
 * Requests that find every connection busy wait in a bounded FIFO queue;
 * a full queue, a wait longer than db_queue_timeout_ms, or a pool with no
 * live connection answers "unavailable" (the caller's 503). Broken
 * connections are re-established by a timer, with a backoff from
 * db_reconnect_ms doubling to db_reconnect_max_ms (each pause drawn
 * between half and all of it), so the pool heals by
 * itself after a database restart or a failover: the connection string
 * may name several hosts (libpq's multi-host form), and each new
 * connection goes to whichever of them is read-write now.
 *
 * A connection is dropped, and its statement answers DB_UNAVAILABLE, when
 * it broke (the socket, PQstatus, a fatal error without SQLSTATE), when the
 * server says it is going away (class 08, 57P01-57P03) or when it turns out
 * to be a standby (25006 read_only_sql_transaction; a standby's session is
 * refused at connect time already). A statement whose connection broke has
 * an unknown outcome: the caller answers 503, never a success.
 *
 * Two kinds of pool: the primary (db_pool_new) insists on a read-write
 * server; a read pool (db_pool_new_read) takes a hot standby.
 *
 * Ownership: a job belongs to the pool from submission until its callback
 * returns; the PGresult handed to a callback is freed by the pool right
 * after the callback, so callbacks copy what they keep. A callback is never
 * called before the submitting function has returned.
 */
#ifndef GROUPBUYD_DB_H
#define GROUPBUYD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct config;
struct db_pool;
struct db_conn;
struct db_job;

/* A statement: static storage, prepared lazily on each connection under
 * `name` (NULL name: sent unnamed with PQsendQueryParams each time). */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    int id;      /* assigned by the pool on first use; 0 until then */
    bool urgent; /* waits ahead of the others (DB_STMT_URGENT) */
};

#define DB_STMT(n, s, np)                                 \
    {                                                     \
        .name = (n), .sql = (s), .nparams = (np), .id = 0 \
    }
/* A short statement a client is waiting on (a session lookup, a public
 * view): when every connection is busy, it waits ahead of the others, in
 * order among its kind, so it is not held up behind a queue of heavier
 * work (join batches). */
#define DB_STMT_URGENT(n, s, np)                                          \
    {                                                                     \
        .name = (n), .sql = (s), .nparams = (np), .id = 0, .urgent = true \
    }

enum db_status {
    DB_OK,          /* res holds the last result of the statement */
    DB_SQL_ERROR,   /* the statement failed: sqlstate and message set */
    DB_UNAVAILABLE, /* no connection, queue full or timed out, or it broke */
};

struct db_result {
    enum db_status status;
    PGresult *res;        /* DB_OK and DB_SQL_ERROR; freed after the cb */
    const char *sqlstate; /* DB_SQL_ERROR: five characters, else "" */
    const char *message;  /* DB_SQL_ERROR and DB_UNAVAILABLE */
};

typedef void db_result_cb(const struct db_result *r, void *arg);
typedef void db_acquire_cb(struct db_conn *conn, void *arg);

/* Checks that url is a connection string or URI libpq can parse, with
 * keywords it knows; false with one line naming the problem in err. Called
 * before serving, so that a typo stops the start instead of reading as a
 * database that never answers. */
bool db_check_conninfo(const char *url, char *err, size_t errlen)
    __attribute__((warn_unused_result));

struct db_pool *db_pool_new(struct event_base *base, const struct config *cfg)
    __attribute__((warn_unused_result));
/* The read pool of cfg->read_database_url (db_read_pool_size connections),
 * for reads that may lag the primary by the replication delay. */
struct db_pool *db_pool_new_read(struct event_base *base,
                                 const struct config *cfg)
    __attribute__((warn_unused_result));
/* The pool a lag-tolerant read goes to: replica while it has a live
 * connection, else primary (logged once per change). replica may be NULL. */
struct db_pool *db_pool_for_read(struct db_pool *primary,
                                 struct db_pool *replica);
/* cb runs each time the pool gets its first live connection after having
 * none (the start included): background work resumes at once. */
typedef void db_up_cb(void *arg);
void db_pool_on_up(struct db_pool *pool, db_up_cb *cb, void *arg);
/* Closes every connection; pending callbacks are not called. */
void db_pool_free(struct db_pool *pool);

/* Runs one statement on any free connection. params (text format, NULL for
 * SQL NULL) are copied. Returns NULL when the pool cannot take it now (no
 * live connection or the wait queue is full): answer 503. */
struct db_job *db_query(struct db_pool *pool, struct db_stmt *stmt,
                        const char *const *params, db_result_cb *cb, void *arg)
    __attribute__((warn_unused_result));

/* As db_query, but only when a connection is free right now (never
 * waits in the queue); NULL otherwise. For monitoring that must not add
 * to a saturated pool. */
struct db_job *db_query_nowait(struct db_pool *pool, struct db_stmt *stmt,
                               const char *const *params, db_result_cb *cb,
                               void *arg) __attribute__((warn_unused_result));

/* The callback of a queued or running job will not be called. */
void db_job_cancel(struct db_job *job);

/* Borrows a connection for a transaction or a COPY: cb gets the connection,
 * or NULL when none could be had in time. NULL return: as db_query. */
struct db_job *db_acquire(struct db_pool *pool, db_acquire_cb *cb, void *arg)
    __attribute__((warn_unused_result));
/* One statement on a borrowed connection (one at a time). False when the
 * connection is broken or busy: the callback is not called. */
bool db_conn_query(struct db_conn *conn, struct db_stmt *stmt,
                   const char *const *params, db_result_cb *cb, void *arg)
    __attribute__((warn_unused_result));
/* Gives a borrowed connection back. An open transaction is rolled back, a
 * statement in flight is abandoned (its callback is not called). Required
 * even after the connection broke: until then its slot is not reused. */
void db_release(struct db_conn *conn);

struct db_pool_stats {
    int size, live, busy, waiting;
    uint64_t queue_full, queue_timeouts, reconnects;
    uint64_t lost;          /* live connections that broke */
    uint64_t outages;       /* times the pool lost its last live connection */
    uint64_t outage_ms;     /* time spent with no live connection, ended ones */
    uint64_t down_since_ms; /* current outage's length so far; 0 when up */
};
void db_pool_get_stats(const struct db_pool *pool, struct db_pool_stats *out);

/* Calls cb with the name of every prepared statement used so far and how
 * many times it was executed (for /metrics; coalescing shows there). */
typedef void db_statement_cb(const char *name, uint64_t executions, void *arg);
void db_pool_each_statement(const struct db_pool *pool, db_statement_cb *cb,
                            void *arg);

/* Copies libpq's message msg into out as one line: its newlines and runs
 * of blanks become single spaces, none at either end. */
void db_one_line(char *out, size_t len, const char *msg);

/* True when sqlstate is a unique violation, a serialization failure, ... */
bool db_is_unique_violation(const struct db_result *r);

#endif
