/*
 * db.c - the asynchronous pool (see db.h for the contract).
 *
 * Connection states, and who holds the connection in each:
 *   DBC_DOWN        nobody; the reconnect timer will start a connection
 *   DBC_CONNECTING  the pool; PQconnectPoll driven by socket events
 *   DBC_IDLE        the pool; free for the next job
 *   DBC_BUSY        a job (db_query) or a borrower (db_acquire) holds it
 *
 * A busy connection runs at most one statement: `q` describes it. A
 * statement with a name not yet prepared on this connection runs in two
 * stages, PQsendPrepare then PQsendQueryPrepared. Results are read until
 * PQgetResult returns NULL; the last one is kept (an error wins).
 *
 * Jobs wait in a FIFO (`waitq`) bounded by db_queue_max, those of urgent
 * statements (DB_STMT_URGENT) ahead of the others, in order among
 * themselves; a periodic timer fails those older than db_queue_timeout_ms. When
 * no connection is live and none is connecting, new jobs are refused at once
 * and queued ones are failed, so requests get their 503 without waiting for a
 * timeout.
 *
 * Failover: a connection that breaks goes DOWN and its own timer starts
 * the next attempt after its backoff (db_reconnect_ms doubling to
 * db_reconnect_max_ms). The first connection that comes up after the pool
 * had none logs where it landed and how long the pool was without, and
 * starts every other DOWN connection at once, so the pool refills in one
 * round trip rather than one backoff per connection. A result that says
 * the server is going away or is read-only marks the connection `doomed`:
 * it is dropped as soon as the statement's callback returned.
 */
#include "db/db.h"
#include "lib/clock.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "config/config.h"
#include "lib/log.h"

#define DB_MAX_PARAMS 64
#define DB_MAX_STMTS  512

/* Statement ids are shared by every pool: a statement first used on one
 * pool keeps its id on the other, so ids must not be allocated per pool. */
static int db_next_stmt_id;
static const struct db_stmt *db_stmts[DB_MAX_STMTS]; /* by id */

enum dbc_state { DBC_DOWN, DBC_CONNECTING, DBC_IDLE, DBC_BUSY };
enum dbq_stage { DBQ_NONE, DBQ_PREPARE, DBQ_EXEC, DBQ_ROLLBACK };
enum job_kind { JOB_QUERY, JOB_ACQUIRE };

struct db_job {
    struct db_pool *pool;
    TAILQ_ENTRY(db_job) link;
    enum job_kind kind;
    struct db_stmt *stmt;
    int nparams;
    char **params; /* copies, in the same allocation as the job */
    db_result_cb *cb;
    db_acquire_cb *acb;
    void *arg;
    struct db_conn *conn; /* while running */
    uint64_t enqueued_ms;
    bool queued;
    bool urgent; /* its statement's: queued ahead of the others */
    bool cancelled;
    struct event *defer; /* JOB_ACQUIRE: hands the connection over */
};

TAILQ_HEAD(db_jobq, db_job);

struct db_conn {
    struct db_pool *pool;
    int index;
    enum dbc_state state;
    PGconn *pg;
    struct event *rev;   /* read, persistent while connected */
    struct event *wev;   /* write, one-shot while flushing/connecting */
    struct event *timer; /* reconnect and connect timeout */
    uint64_t connect_started_ms;
    int failures;   /* consecutive failed attempts, for quiet logs */
    int backoff_ms; /* pause before the next attempt after a failure */
    bool doomed;    /* drop after the statement's callback (see above) */
    /* Broken while borrowed: the slot stays DOWN until the borrower's
     * db_release, so that a stale borrower can never reach the connection
     * made in its place for somebody else. */
    bool held;
    unsigned char prepared[DB_MAX_STMTS / 8];

    /* the statement in flight */
    enum dbq_stage stage;
    struct db_stmt *qstmt;
    const char *const *qparams;
    db_result_cb *qcb;
    void *qarg;
    PGresult *qres;
    void *qcopy;          /* borrowed statements: our copy of the params */
    struct db_job *job;   /* JOB_QUERY that owns this connection */
    bool borrowed;        /* held by a db_acquire caller */
    bool release_pending; /* borrower released while a statement ran */
};

struct db_pool {
    struct event_base *base;
    const struct config *cfg;
    const char *url;
    const char *name; /* "db" or "db-read", the log lines' prefix */
    bool read_only;   /* a read pool: a hot standby will do */
    struct db_conn *conns;
    int size;
    struct db_jobq waitq;       /* the urgent first, then the others */
    struct db_job *last_urgent; /* in waitq, or NULL */
    int waiting;
    struct event *sweep;
    struct db_pool_stats stats;
    uint64_t executions[DB_MAX_STMTS]; /* by statement id */
    /* An outage is told once for the pool, not once per connection: eight
     * connections failing together are one fact for the operator. Cleared
     * by the next connection that comes up. */
    bool outage_told;
    bool ever_up;        /* a connection was live once */
    uint64_t lost_at_ms; /* when outage_told was set */
    uint64_t down_at_ms; /* when the last live connection went; 0 if up */
    bool fallback_told;  /* read pool: reads went to the primary */
    db_up_cb *up_cb;
    void *up_arg;
    uint64_t rng; /* xorshift state for the backoff's jitter */
};

static struct db_stmt db_rollback_stmt = DB_STMT(NULL, "ROLLBACK", 0);

static void db_conn_connect(struct db_conn *c);

void db_one_line(char *out, size_t len, const char *msg)
{
    size_t n = 0;
    bool space = false;
    for (const char *q = msg; *q; q++) {
        if (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r') {
            space = n > 0;
            continue;
        }
        if (space) { /* a blank only with the character after it */
            if (n + 2 >= len)
                break;
            out[n++] = ' ';
            space = false;
        }
        if (n + 1 >= len)
            break;
        out[n++] = *q;
    }
    if (len > 0)
        out[n] = '\0';
}
static void db_conn_broken(struct db_conn *c, const char *why);
static void db_pool_dispatch(struct db_pool *p);
static void db_conn_flush(struct db_conn *c);

static int db_pool_live(const struct db_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == DBC_IDLE || p->conns[i].state == DBC_BUSY)
            n++;
    return n;
}

static bool db_pool_has_idle(const struct db_pool *p)
{
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == DBC_IDLE)
            return true;
    return false;
}

static bool db_pool_hopeful(const struct db_pool *p)
{
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state != DBC_DOWN)
            return true;
    return false;
}

/* ---- jobs ---------------------------------------------------------- */

/* Copies np parameters into one allocation of `head` bytes followed by
 * the pointer array and the strings; *array receives the pointer array. */
static void *db_params_copy(size_t head, int np, const char *const *params,
                            char ***array)
{
    size_t size = head + (size_t)np * sizeof(char *);
    for (int i = 0; i < np; i++)
        if (params[i])
            size += strlen(params[i]) + 1;
    char *block = calloc(1, size);
    if (block == NULL)
        return NULL;
    char **arr = (char **)(block + head);
    char *s = (char *)(arr + np);
    for (int i = 0; i < np; i++) {
        if (params[i] == NULL) {
            arr[i] = NULL;
            continue;
        }
        size_t len = strlen(params[i]) + 1;
        memcpy(s, params[i], len);
        arr[i] = s;
        s += len;
    }
    *array = arr;
    return block;
}

static struct db_job *db_job_new(struct db_pool *p, enum job_kind kind,
                                 struct db_stmt *stmt,
                                 const char *const *params)
{
    int np = stmt ? stmt->nparams : 0;
    char **arr;
    struct db_job *j = db_params_copy(sizeof *j, np, params, &arr);
    if (j == NULL)
        return NULL;
    j->pool = p;
    j->kind = kind;
    j->stmt = stmt;
    j->urgent = stmt != NULL && stmt->urgent;
    j->nparams = np;
    j->params = arr;
    return j;
}

static void db_job_free(struct db_job *j)
{
    if (j->defer)
        event_free(j->defer);
    free(j);
}

static void db_job_fail(struct db_job *j, const char *why)
{
    struct db_result r = {
        .status = DB_UNAVAILABLE, .res = NULL, .sqlstate = "", .message = why};
    if (!j->cancelled) {
        if (j->kind == JOB_QUERY)
            j->cb(&r, j->arg);
        else
            j->acb(NULL, j->arg);
    }
    db_job_free(j);
}

static void db_queue_remove(struct db_pool *p, struct db_job *j)
{
    if (j == p->last_urgent) {
        struct db_job *prev = TAILQ_PREV(j, db_jobq, link);
        p->last_urgent = prev != NULL && prev->urgent ? prev : NULL;
    }
    TAILQ_REMOVE(&p->waitq, j, link);
    j->queued = false;
    p->waiting--;
}

static void db_fail_queue(struct db_pool *p, const char *why)
{
    struct db_job *j;
    while ((j = TAILQ_FIRST(&p->waitq)) != NULL) {
        db_queue_remove(p, j);
        db_job_fail(j, why);
    }
}

/* ---- statements on a connection ------------------------------------ */

static bool db_stmt_prepared(struct db_conn *c, const struct db_stmt *s)
{
    return (c->prepared[s->id / 8] >> (s->id % 8)) & 1u;
}

static bool db_conn_send(struct db_conn *c)
{
    struct db_stmt *s = c->qstmt;
    int ok;
    if (s->name != NULL && s->id == 0 && db_next_stmt_id < DB_MAX_STMTS - 1) {
        s->id = ++db_next_stmt_id;
        db_stmts[s->id] = s;
    }
    if (s->name != NULL && s->id > 0 && s->id < DB_MAX_STMTS) {
        if (!db_stmt_prepared(c, s)) {
            c->stage = DBQ_PREPARE;
            ok = PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL);
        } else {
            c->stage = DBQ_EXEC;
            c->pool->executions[s->id]++;
            ok = PQsendQueryPrepared(c->pg, s->name, s->nparams, c->qparams,
                                     NULL, NULL, 0);
        }
    } else {
        c->stage = c->qstmt == &db_rollback_stmt ? DBQ_ROLLBACK : DBQ_EXEC;
        ok = PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, c->qparams,
                               NULL, NULL, 0);
    }
    if (!ok)
        return false;
    db_conn_flush(c);
    return true;
}

static bool db_conn_start(struct db_conn *c, struct db_stmt *s,
                          const char *const *params, db_result_cb *cb,
                          void *arg)
{
    c->qstmt = s;
    c->qparams = params;
    c->qcb = cb;
    c->qarg = arg;
    c->qres = NULL;
    if (!db_conn_send(c)) {
        c->stage = DBQ_NONE;
        return false;
    }
    return true;
}

static void db_conn_make_idle(struct db_conn *c)
{
    c->state = DBC_IDLE;
    c->borrowed = false;
    c->release_pending = false;
    c->job = NULL;
    db_pool_dispatch(c->pool);
}

/* The statement in flight finished with result r (res may be NULL). */
static void db_conn_finish(struct db_conn *c, struct db_result *r)
{
    db_result_cb *cb = c->qcb;
    void *arg = c->qarg;
    enum dbq_stage stage = c->stage;
    c->stage = DBQ_NONE;
    c->qcb = NULL;
    c->qparams = NULL;
    free(c->qcopy);
    c->qcopy = NULL;
    /* the message lives in r->res, cleared before the connection drops */
    char why[256] = "";
    if (c->doomed)
        snprintf(why, sizeof why, "%s", r->message ? r->message : "");

    if (stage == DBQ_ROLLBACK) {
        if (r->res)
            PQclear(r->res);
        if (c->doomed)
            db_conn_broken(c, why);
        else
            db_conn_make_idle(c);
        return;
    }
    if (c->job != NULL) {
        struct db_job *j = c->job;
        c->job = NULL;
        if (!j->cancelled)
            cb(r, arg);
        db_job_free(j);
        if (r->res)
            PQclear(r->res);
        if (c->state == DBC_BUSY && c->doomed)
            db_conn_broken(c, why);
        else if (c->state == DBC_BUSY)
            db_conn_make_idle(c);
        return;
    }
    /* borrowed: the borrower's later db_release finds it DOWN (a no-op) */
    if (!c->release_pending && cb)
        cb(r, arg);
    if (r->res)
        PQclear(r->res);
    if (c->state == DBC_BUSY && c->doomed && c->stage == DBQ_NONE)
        db_conn_broken(c, why);
    else if (c->release_pending && c->state == DBC_BUSY)
        db_release(c);
}

/* The server is going away, or is a standby: the statement did not run
 * (or its outcome is unknown) and the connection must go. 25006 on a read
 * pool is the caller's mistake (a write sent there), not a failover. */
static bool db_sqlstate_unavailable(const struct db_pool *p, const char *st)
{
    return strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
           strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
           (!p->read_only && strcmp(st, "25006") == 0);
}

static void db_conn_complete(struct db_conn *c)
{
    if (c->stage == DBQ_PREPARE) {
        PGresult *res = c->qres;
        c->qres = NULL;
        if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
            PQclear(res);
            c->prepared[c->qstmt->id / 8] |=
                (unsigned char)(1u << (c->qstmt->id % 8));
            if (!db_conn_send(c))
                db_conn_broken(c, PQerrorMessage(c->pg));
            return;
        }
        /* fall through with the prepare error as the statement's result */
        c->qres = res;
    }
    struct db_result r = {
        .status = DB_OK, .res = c->qres, .sqlstate = "", .message = ""};
    c->qres = NULL;
    if (r.res == NULL) {
        r.status = DB_UNAVAILABLE;
        r.message = "no result";
    } else {
        ExecStatusType st = PQresultStatus(r.res);
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
            st == PGRES_NONFATAL_ERROR) {
            const char *ss = PQresultErrorField(r.res, PG_DIAG_SQLSTATE);
            r.sqlstate = ss ? ss : "";
            r.message = PQresultErrorMessage(r.res);
            /* No SQLSTATE: libpq made the error itself, the connection
             * broke ("server closed the connection unexpectedly"). */
            if (ss == NULL || db_sqlstate_unavailable(c->pool, ss) ||
                PQstatus(c->pg) == CONNECTION_BAD) {
                r.status = DB_UNAVAILABLE;
                c->doomed = true;
            } else {
                r.status = DB_SQL_ERROR;
                log_debug("%s: %s: %s", c->pool->name, r.sqlstate, r.message);
            }
        }
    }
    db_conn_finish(c, &r);
}

/* Reads what has arrived; completes the statement when PQgetResult is
 * done. Returns false when the connection broke. */
static bool db_conn_consume(struct db_conn *c)
{
    if (!PQconsumeInput(c->pg))
        return false;
    PGnotify *n;
    while ((n = PQnotifies(c->pg)) != NULL)
        PQfreemem(n);
    while (c->stage != DBQ_NONE && !PQisBusy(c->pg)) {
        PGresult *res = PQgetResult(c->pg);
        if (res == NULL) {
            db_conn_complete(c);
            return true; /* c may be idle or sending again now */
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
            st == PGRES_COPY_BOTH) {
            PQclear(res);
            return false; /* not supported by this path */
        }
        if (c->qres == NULL) {
            c->qres = res;
        } else if (PQresultStatus(c->qres) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            PQclear(c->qres);
            c->qres = res;
        }
    }
    if (PQstatus(c->pg) == CONNECTION_BAD)
        return false;
    return true;
}

static void db_conn_flush(struct db_conn *c)
{
    int r = PQflush(c->pg);
    if (r < 0) {
        db_conn_broken(c, PQerrorMessage(c->pg));
        return;
    }
    if (r == 1)
        event_add(c->wev, NULL);
}

static void db_conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    (void)fd;
    if (c->state == DBC_CONNECTING) {
        db_conn_connect(c);
        return;
    }
    if (what & EV_WRITE) {
        int r = PQflush(c->pg);
        if (r < 0) {
            db_conn_broken(c, PQerrorMessage(c->pg));
            return;
        }
        if (r == 1)
            event_add(c->wev, NULL);
    }
    if (what & EV_READ) {
        if (!db_conn_consume(c)) {
            db_conn_broken(c, PQerrorMessage(c->pg));
            return;
        }
    }
}

/* ---- connecting ---------------------------------------------------- */

static void db_conn_events_clear(struct db_conn *c)
{
    if (c->rev) {
        event_free(c->rev);
        c->rev = NULL;
    }
    if (c->wev) {
        event_free(c->wev);
        c->wev = NULL;
    }
}

/* in_hot_standby is reported by servers from PostgreSQL 14 on, at
 * connect and whenever it changes (a promotion). */
static bool db_conn_is_standby(const PGconn *pg)
{
    const char *v = PQparameterStatus(pg, "in_hot_standby");
    return v != NULL && strcmp(v, "on") == 0;
}

static void db_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == DBC_DOWN) {
        c->pool->stats.reconnects++;
        db_conn_connect(c);
    } else if (c->state == DBC_CONNECTING) {
        db_conn_broken(c, "connect timed out");
    }
}

static void db_conn_schedule(struct db_conn *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(c->timer, &tv);
}

/* A connection came up: the first one at start or after an outage says
 * where it landed and after how long; the first live one after none
 * starts every connection still waiting for its backoff. */
static void db_pool_came_up(struct db_pool *p, struct db_conn *c, bool first)
{
    const char *role = db_conn_is_standby(c->pg) ? "hot standby" : "read-write";
    uint64_t now = clock_now_ms();
    if (p->down_at_ms != 0) {
        p->stats.outage_ms += now - p->down_at_ms;
        p->down_at_ms = 0;
    }
    if (!p->ever_up && !p->outage_told)
        log_info("%s: connected to %s:%s (%s)", p->name, PQhost(c->pg),
                 PQport(c->pg), role);
    else if (p->outage_told)
        log_info("%s: connected to %s:%s (%s) after %.1f s", p->name,
                 PQhost(c->pg), PQport(c->pg), role,
                 (double)(now - p->lost_at_ms) / 1000.0);
    p->ever_up = true;
    p->outage_told = false;
    if (!first)
        return;
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == DBC_DOWN && !p->conns[i].held) {
            p->conns[i].backoff_ms = p->cfg->db_reconnect_ms;
            db_conn_schedule(&p->conns[i], 0);
        }
}

/* Starts or continues a non-blocking connection attempt. */
static void db_conn_connect(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    if (c->state == DBC_DOWN) {
        /* Not plan_cache_mode=force_generic_plan, though PostgreSQL plans
         * the statements with array parameters on every execution (13 %
         * of its time under the join load): a plan made while a table was
         * small (a fresh participations table) would stay for the life of
         * the connection, and joins fell from 3,800/s to 1,200/s. */
        char opts[64];
        snprintf(opts, sizeof opts, "-c statement_timeout=%d",
                 p->cfg->db_statement_timeout_ms);
        /* Before dbname, the URL may override them: TCP keepalives so that
         * a primary that vanished without closing its sockets (power, a
         * network split) is noticed in seconds, not after the kernel's
         * two hours. After it, what the pool relies on. */
        const char *keys[] = {
            "keepalives",       "keepalives_idle", "keepalives_interval",
            "keepalives_count", "dbname",          "options",
            "application_name", "client_encoding", NULL};
        const char *vals[] = {"1",
                              "10",
                              "3",
                              "3",
                              p->url,
                              opts,
                              p->read_only ? "groupbuyd-read" : "groupbuyd",
                              "UTF8",
                              NULL};
        c->doomed = false;
        c->pg = PQconnectStartParams(keys, vals, 1);
        if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
            db_conn_broken(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
            return;
        }
        c->state = DBC_CONNECTING;
        c->connect_started_ms = clock_now_ms();
        db_conn_schedule(c, 5000);
        memset(c->prepared, 0, sizeof c->prepared);
    }
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    db_conn_events_clear(c);
    int fd = PQsocket(c->pg);
    switch (st) {
    case PGRES_POLLING_READING:
        c->rev = event_new(p->base, fd, EV_READ, db_conn_io_cb, c);
        if (c->rev == NULL || event_add(c->rev, NULL) != 0)
            db_conn_broken(c, "event_add failed");
        return;
    case PGRES_POLLING_WRITING:
        c->wev = event_new(p->base, fd, EV_WRITE, db_conn_io_cb, c);
        if (c->wev == NULL || event_add(c->wev, NULL) != 0)
            db_conn_broken(c, "event_add failed");
        return;
    case PGRES_POLLING_OK:
        break;
    default:
        db_conn_broken(c, PQerrorMessage(c->pg));
        return;
    }
    if (PQsetnonblocking(c->pg, 1) != 0) {
        db_conn_broken(c, PQerrorMessage(c->pg));
        return;
    }
    c->rev = event_new(p->base, fd, EV_READ | EV_PERSIST, db_conn_io_cb, c);
    c->wev = event_new(p->base, fd, EV_WRITE, db_conn_io_cb, c);
    if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) != 0) {
        db_conn_broken(c, "event_add failed");
        return;
    }
    /* The primary pool needs a read-write server: without
     * target_session_attrs=read-write in the URL libpq may land on a
     * standby (or on a demoted old primary); refuse it here and retry. */
    if (!p->read_only && db_conn_is_standby(c->pg)) {
        db_conn_broken(c, "the server is a hot standby, not the primary");
        return;
    }
    event_del(c->timer);
    c->failures = 0;
    c->backoff_ms = p->cfg->db_reconnect_ms;
    bool first = db_pool_live(p) == 0;
    c->state = DBC_IDLE; /* counted live by db_pool_came_up's callback */
    if (first || p->outage_told)
        db_pool_came_up(p, c, first);
    log_debug("%s: connection %d ready", p->name, c->index);
    db_conn_make_idle(c);
    /* after: the callback may submit work, which now finds c idle */
    if (first && p->up_cb)
        p->up_cb(p->up_arg);
}

static void db_conn_broken(struct db_conn *c, const char *why)
{
    struct db_pool *p = c->pool;
    bool was_live = c->state == DBC_IDLE || c->state == DBC_BUSY;
    char msg[256];
    db_one_line(msg, sizeof msg, why && *why ? why : "connection lost");
    if (was_live) {
        p->stats.lost++;
        c->backoff_ms = p->cfg->db_reconnect_ms;
    }
    if (!p->outage_told && (was_live || !p->ever_up)) {
        p->outage_told = true;
        p->lost_at_ms = clock_now_ms();
        if (was_live)
            log_warn("%s: %s lost (%s); reconnecting (backoff %d ms to %d "
                     "ms)%s",
                     p->name, p->read_only ? "replica" : "primary", msg,
                     p->cfg->db_reconnect_ms, p->cfg->db_reconnect_max_ms,
                     p->read_only ? "" : ", 503 until a primary answers");
        else
            log_warn("%s: the database does not answer (%s); retrying "
                     "(backoff %d ms to %d ms)%s",
                     p->name, msg, p->cfg->db_reconnect_ms,
                     p->cfg->db_reconnect_max_ms,
                     p->read_only ? "" : ", /readyz answers 503 until it does");
    } else {
        log_debug("%s: connection %d: %s", p->name, c->index, msg);
    }
    c->failures = was_live ? 0 : c->failures + 1;
    c->doomed = false;

    db_conn_events_clear(c);
    if (c->qres) {
        PQclear(c->qres);
        c->qres = NULL;
    }
    free(c->qcopy);
    c->qcopy = NULL;
    c->qparams = NULL;
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    enum dbq_stage stage = c->stage;
    struct db_job *job = c->job;
    db_result_cb *cb = c->qcb;
    void *arg = c->qarg;
    bool borrowed = c->borrowed && !c->release_pending;
    c->stage = DBQ_NONE;
    c->qcb = NULL;
    c->job = NULL;
    c->state = DBC_DOWN;
    c->borrowed = false;
    c->release_pending = false;
    c->held = borrowed;
    /* A live connection that broke retries at once (the server may have
     * closed just this one); failed attempts back off, doubling. */
    if (c->held) {
        event_del(c->timer); /* db_release schedules it */
    } else if (was_live) {
        db_conn_schedule(c, 0);
    } else {
        /* half the backoff, plus up to as much again at random: the
         * connections of every process do not knock all at once */
        p->rng ^= p->rng << 13;
        p->rng ^= p->rng >> 7;
        p->rng ^= p->rng << 17;
        int half = c->backoff_ms / 2;
        db_conn_schedule(c, half + (int)(p->rng % (uint64_t)(half + 1)));
        c->backoff_ms *= 2;
        if (c->backoff_ms > p->cfg->db_reconnect_max_ms)
            c->backoff_ms = p->cfg->db_reconnect_max_ms;
    }
    if (was_live && p->ever_up && p->down_at_ms == 0 && db_pool_live(p) == 0) {
        p->down_at_ms = clock_now_ms();
        p->stats.outages++;
    }

    struct db_result r = {
        .status = DB_UNAVAILABLE, .res = NULL, .sqlstate = "", .message = msg};
    if (job) {
        if (!job->cancelled && stage != DBQ_NONE)
            job->cb(&r, job->arg);
        db_job_free(job);
    } else if (borrowed && stage != DBQ_NONE && stage != DBQ_ROLLBACK && cb) {
        /* The borrower learns of the break from its statement; it must
         * still call db_release, which then frees the slot. */
        cb(&r, arg);
    }
    if (!db_pool_hopeful(p) || db_pool_live(p) == 0) {
        bool connecting = false;
        for (int i = 0; i < p->size; i++)
            if (p->conns[i].state == DBC_CONNECTING)
                connecting = true;
        if (!connecting)
            db_fail_queue(p, "database unavailable");
    }
}

/* ---- dispatch ------------------------------------------------------ */

static void db_acquire_defer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct db_job *j = arg;
    struct db_conn *c = j->conn;
    (void)fd;
    (void)what;
    if (j->cancelled) {
        db_job_free(j);
        db_release(c);
        return;
    }
    db_acquire_cb *cb = j->acb;
    void *cbarg = j->arg;
    db_job_free(j);
    cb(c, cbarg);
}

static void db_job_run(struct db_conn *c, struct db_job *j)
{
    c->state = DBC_BUSY;
    j->conn = c;
    if (j->kind == JOB_ACQUIRE) {
        c->borrowed = true;
        c->job = NULL;
        j->defer = event_new(c->pool->base, -1, 0, db_acquire_defer_cb, j);
        if (j->defer == NULL) {
            db_job_fail(j, "out of memory");
            db_conn_make_idle(c);
            return;
        }
        event_active(j->defer, 0, 0);
        return;
    }
    c->job = j;
    if (!db_conn_start(c, j->stmt, (const char *const *)j->params, j->cb,
                       j->arg))
        db_conn_broken(c, PQerrorMessage(c->pg));
}

static void db_pool_dispatch(struct db_pool *p)
{
    for (int i = 0; i < p->size && !TAILQ_EMPTY(&p->waitq); i++) {
        struct db_conn *c = &p->conns[i];
        if (c->state != DBC_IDLE)
            continue;
        struct db_job *j = TAILQ_FIRST(&p->waitq);
        db_queue_remove(p, j);
        db_job_run(c, j);
    }
}

static struct db_job *db_submit(struct db_pool *p, struct db_job *j)
{
    if (!db_pool_hopeful(p)) {
        db_job_free(j);
        return NULL;
    }
    /* The bound is on waiting: a job that finds an idle connection runs
     * (dispatch keeps the queue empty while any connection is idle). */
    if (p->waiting >= p->cfg->db_queue_max && !db_pool_has_idle(p)) {
        p->stats.queue_full++;
        db_job_free(j);
        return NULL;
    }
    j->enqueued_ms = clock_now_ms();
    j->queued = true;
    if (j->urgent) {
        if (p->last_urgent != NULL)
            TAILQ_INSERT_AFTER(&p->waitq, p->last_urgent, j, link);
        else
            TAILQ_INSERT_HEAD(&p->waitq, j, link);
        p->last_urgent = j;
    } else {
        TAILQ_INSERT_TAIL(&p->waitq, j, link);
    }
    p->waiting++;
    db_pool_dispatch(p);
    return j;
}

struct db_job *db_query(struct db_pool *p, struct db_stmt *stmt,
                        const char *const *params, db_result_cb *cb, void *arg)
{
    if (stmt->nparams > DB_MAX_PARAMS)
        return NULL;
    struct db_job *j = db_job_new(p, JOB_QUERY, stmt, params);
    if (j == NULL)
        return NULL;
    j->cb = cb;
    j->arg = arg;
    return db_submit(p, j);
}

struct db_job *db_query_nowait(struct db_pool *p, struct db_stmt *stmt,
                               const char *const *params, db_result_cb *cb,
                               void *arg)
{
    if (!db_pool_has_idle(p) || !TAILQ_EMPTY(&p->waitq))
        return NULL;
    return db_query(p, stmt, params, cb, arg);
}

struct db_job *db_acquire(struct db_pool *p, db_acquire_cb *cb, void *arg)
{
    struct db_job *j = db_job_new(p, JOB_ACQUIRE, NULL, NULL);
    if (j == NULL)
        return NULL;
    j->acb = cb;
    j->arg = arg;
    return db_submit(p, j);
}

void db_job_cancel(struct db_job *j)
{
    if (j->queued) {
        db_queue_remove(j->pool, j);
        db_job_free(j);
        return;
    }
    j->cancelled = true;
}

bool db_conn_query(struct db_conn *c, struct db_stmt *stmt,
                   const char *const *params, db_result_cb *cb, void *arg)
{
    if (c->state != DBC_BUSY || !c->borrowed || c->stage != DBQ_NONE)
        return false;
    if (c->doomed) {
        db_conn_broken(c, "connection dropped");
        return false;
    }
    char **copy = NULL;
    free(c->qcopy);
    c->qcopy = db_params_copy(0, stmt->nparams, params, &copy);
    if (c->qcopy == NULL && stmt->nparams > 0)
        return false;
    if (!db_conn_start(c, stmt, (const char *const *)copy, cb, arg)) {
        db_conn_broken(c, PQerrorMessage(c->pg));
        return false;
    }
    return true;
}

void db_release(struct db_conn *c)
{
    if (c->held) { /* broken while borrowed: reconnect the slot now */
        c->held = false;
        db_conn_schedule(c, 0);
        return;
    }
    if (c->state != DBC_BUSY || !c->borrowed)
        return; /* broken meanwhile: the reconnect timer owns it */
    if (c->stage != DBQ_NONE) {
        c->release_pending = true;
        return;
    }
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        c->borrowed = false;
        if (!db_conn_start(c, &db_rollback_stmt, NULL, NULL, NULL))
            db_conn_broken(c, PQerrorMessage(c->pg));
        return;
    }
    db_conn_make_idle(c);
}

/* ---- the pool ------------------------------------------------------ */

static void db_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct db_pool *p = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_now_ms();
    /* Each kind waits in order, the two not with each other: look at all
     * (the queue is bounded by db_queue_max), take the late ones out, then
     * fail them (their callbacks may queue new jobs). */
    struct db_jobq late = TAILQ_HEAD_INITIALIZER(late);
    struct db_job *j = TAILQ_FIRST(&p->waitq);
    while (j != NULL) {
        struct db_job *next = TAILQ_NEXT(j, link);
        if (now - j->enqueued_ms >= (uint64_t)p->cfg->db_queue_timeout_ms) {
            db_queue_remove(p, j);
            TAILQ_INSERT_TAIL(&late, j, link);
        }
        j = next;
    }
    while ((j = TAILQ_FIRST(&late)) != NULL) {
        TAILQ_REMOVE(&late, j, link);
        p->stats.queue_timeouts++;
        db_job_fail(j, "timed out waiting for a database connection");
    }
}

bool db_check_conninfo(const char *url, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (opts != NULL) {
        PQconninfoFree(opts);
        return true;
    }
    /* libpq's message ends in a newline; the caller prints one line */
    snprintf(err, errlen, "%s", msg ? msg : "out of memory");
    size_t n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
    PQfreemem(msg);
    return false;
}

static struct db_pool *db_pool_make(struct event_base *base,
                                    const struct config *cfg, const char *url,
                                    int size, const char *name, bool read_only)
{
    struct db_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->base = base;
    p->cfg = cfg;
    p->url = url;
    p->name = name;
    p->read_only = read_only;
    p->size = size;
    p->rng =
        clock_now_ms() ^ ((uint64_t)(uintptr_t)p << 16) ^ 0x9e3779b97f4a7c15u;
    TAILQ_INIT(&p->waitq);
    p->conns = calloc((size_t)p->size, sizeof *p->conns);
    p->sweep = event_new(base, -1, EV_PERSIST, db_sweep_cb, p);
    if (p->conns == NULL || p->sweep == NULL)
        goto fail;
    struct timeval tv = {0, 100 * 1000};
    event_add(p->sweep, &tv);
    for (int i = 0; i < p->size; i++) {
        struct db_conn *c = &p->conns[i];
        c->pool = p;
        c->index = i;
        c->state = DBC_DOWN;
        c->backoff_ms = cfg->db_reconnect_ms;
        c->timer = event_new(base, -1, 0, db_conn_timer_cb, c);
        if (c->timer == NULL)
            goto fail;
    }
    for (int i = 0; i < p->size; i++)
        db_conn_connect(&p->conns[i]);
    return p;
fail:
    db_pool_free(p);
    return NULL;
}

struct db_pool *db_pool_new(struct event_base *base, const struct config *cfg)
{
    return db_pool_make(base, cfg, cfg->database_url, cfg->db_pool_size, "db",
                        false);
}

struct db_pool *db_pool_new_read(struct event_base *base,
                                 const struct config *cfg)
{
    return db_pool_make(base, cfg, cfg->read_database_url,
                        cfg->db_read_pool_size, "db-read", true);
}

void db_pool_on_up(struct db_pool *p, db_up_cb *cb, void *arg)
{
    p->up_cb = cb;
    p->up_arg = arg;
}

struct db_pool *db_pool_for_read(struct db_pool *primary,
                                 struct db_pool *replica)
{
    if (replica == NULL)
        return primary;
    bool up = db_pool_live(replica) > 0;
    /* still connecting at start: not worth a warning */
    bool failed = replica->ever_up || replica->outage_told;
    if (!up && failed && !replica->fallback_told) {
        replica->fallback_told = true;
        log_warn("db-read: no replica connection; lag-tolerant reads go to "
                 "the primary until one is up");
    } else if (up && replica->fallback_told) {
        replica->fallback_told = false;
        log_info("db-read: replica connected; lag-tolerant reads go to it "
                 "again");
    }
    return up ? replica : primary;
}

void db_pool_free(struct db_pool *p)
{
    if (p == NULL)
        return;
    struct db_job *j;
    while ((j = TAILQ_FIRST(&p->waitq)) != NULL) {
        db_queue_remove(p, j);
        db_job_free(j);
    }
    for (int i = 0; p->conns && i < p->size; i++) {
        struct db_conn *c = &p->conns[i];
        db_conn_events_clear(c);
        if (c->timer)
            event_free(c->timer);
        if (c->qres)
            PQclear(c->qres);
        free(c->qcopy);
        if (c->job)
            db_job_free(c->job);
        if (c->pg)
            PQfinish(c->pg);
    }
    if (p->sweep)
        event_free(p->sweep);
    free(p->conns);
    free(p);
}

void db_pool_each_statement(const struct db_pool *p, db_statement_cb *cb,
                            void *arg)
{
    for (int id = 1; id <= db_next_stmt_id && id < DB_MAX_STMTS; id++)
        if (db_stmts[id] != NULL)
            cb(db_stmts[id]->name, p->executions[id], arg);
}

void db_pool_get_stats(const struct db_pool *p, struct db_pool_stats *out)
{
    *out = p->stats;
    out->down_since_ms = p->down_at_ms ? clock_now_ms() - p->down_at_ms : 0;
    out->size = p->size;
    out->live = db_pool_live(p);
    out->waiting = p->waiting;
    out->busy = 0;
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == DBC_BUSY)
            out->busy++;
}

bool db_is_unique_violation(const struct db_result *r)
{
    return r->status == DB_SQL_ERROR && strcmp(r->sqlstate, "23505") == 0;
}
