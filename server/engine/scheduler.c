/*
 * scheduler.c - due transitions on the event loop (see scheduler.h).
 *
 * One pass is a chain of statements, one in flight at a time, each issued
 * from the previous one's callback:
 *
 *   open_due -> close_due -> expire_due -> default_due -> settle_due
 *   -> forecast snapshots -> purge_due -> next_due
 *
 * A due function that returns its batch limit runs again before the chain
 * moves on. next_due answers the earliest due time and the database's own
 * clock, both as epoch seconds, so the delay is computed on the database's
 * clock (the one clock for deadlines) and only the interval crosses to
 * ours. The timer is armed a few milliseconds after the due time (the due
 * predicates are `<= now()`), and never more than POLL_CEILING_MS away.
 *
 * Due work that is already late when the pass ends was held by another
 * transaction (a join holding the campaign, another process claiming the
 * same row): it is retried after RETRY_MIN_MS, doubling while passes make
 * no progress, up to the ceiling, so a stuck row cannot make us spin.
 *
 * When the database is unavailable the pass stops and the next starts
 * after FAIL_RETRY_MS; a function that fails (an SQL error) is skipped for
 * this pass, so it cannot hold up the others. The first failure of an
 * outage is logged at warn, the recovery at info, nothing in between.
 *
 * A row whose transition fails is contained in the database
 * (functions/scheduler.sql): rolled back alone, put in backoff, left out
 * of the claims until its next attempt, while the other rows of the round
 * still move. Each due function answers one row per row it claimed (moved,
 * nothing to do, or failed with the error and the next attempt), so the
 * step runs again while it claims a full batch, whatever failed in it, and
 * every failure is one warn line (step, row, attempt, error) and counts in
 * groupbuyd_scheduler_failures_total{step}.
 *
 * Each due function runs in a transaction of its own on a borrowed
 * connection (BEGIN, a statement timeout of STEP_TIMEOUT for this
 * transaction only, the function, COMMIT): the pool's statement timeout is
 * sized for requests, and a close that always timed out would never
 * happen.
 *
 * The forecast step is not one due function: snapshots.c reads what is
 * due, computes the forecasts (on the worker pool when large) and saves
 * them in one statement answering the due functions' rows, which are
 * counted and logged the same way.
 *
 * State: `job` is the db_acquire or statement in flight (owned by the pool
 * until its callback, cancelled by scheduler_free), `conn` the borrowed
 * connection of a due step (released by scheduler_free, which abandons its
 * statement), `snap_busy` a forecast round in flight (cancelled by
 * snapshots_free); the timer is pending exactly when none is.
 */
#include "engine/scheduler.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "engine/snapshots.h"
#include "lib/log.h"

#define POLL_CEILING_MS 1000 /* longest sleep: work from other processes */
#define DUE_MARGIN_MS   3    /* fire just after the due instant */
#define RETRY_MIN_MS    20   /* late work held by another transaction */
#define FAIL_RETRY_MS   500  /* database unavailable or a statement failed */
#define BATCH_LIMIT     "200"
#define BATCH_LIMIT_N   200
/* Closes touch every participation: few per transaction, so that several
 * processes share a burst of large closes (SKIP LOCKED) in parallel. */
#define CLOSE_LIMIT   "4"
#define CLOSE_LIMIT_N 4
/* A due step's own statement timeout: closing a campaign writes a few rows
 * per participation (about 0.1 s per thousand), far beyond the pool's
 * request timeout for the largest campaigns, and a close that always timed
 * out would never happen. */
#define STEP_TIMEOUT "600s"
/* Settling writes a line per paid or defaulted participation: few
 * campaigns per transaction, like closes. Settlement is due as soon as a
 * succeeded campaign has no balance outstanding; gb_next_due does not
 * know it, so it happens on the pass that follows (within a second): the
 * default step that ends the last awaiting_payment runs just before. */
#define SETTLE_LIMIT   "4"
#define SETTLE_LIMIT_N 4
/* Forecast snapshots: each may be a forecast over a large campaign (on the
 * worker pool), so a few per round. */
#define FORECAST_LIMIT_N 20
/* Housekeeping deletes (functions/housekeeping.sql): small batches, a
 * full one runs again at once. */
#define PURGE_LIMIT   "500"
#define PURGE_LIMIT_N 500

struct scheduler {
    struct event_base *base;
    struct db_pool *db;
    struct event *timer;
    struct db_job *job;     /* the statement or db_acquire in flight */
    struct db_conn *conn;   /* borrowed for a due step's transaction */
    struct snapshots *snap; /* the forecast step */
    bool snap_busy;         /* its round in flight */
    int tx;       /* statement sent: 0 BEGIN, 1 timeout, 2 function, 3 COMMIT */
    long n;       /* rows the due function moved */
    long claimed; /* rows it claimed (moved, nothing to do, or failed) */
    int step;     /* SCHED_* being run, or SCHED_NKINDS: next_due */
    bool progress;    /* this pass made a transition */
    bool pass_failed; /* a statement of this pass failed */
    bool outage;      /* since the last clean pass (warned once) */
    int retry_ms;     /* current delay for late work */
    struct scheduler_stats stats;
};

/* The columns every due function answers, one row per row claimed. */
#define SCHED_COLS "SELECT o_id, o_done, o_error, o_attempts, o_retry_s FROM "
static struct db_stmt sched_open_stmt =
    DB_STMT("sched_open_due", SCHED_COLS "gb_campaign_open_due($1::int)", 1);
static struct db_stmt sched_close_stmt =
    DB_STMT("sched_close_due", SCHED_COLS "gb_campaign_close_due($1::int)", 1);
static struct db_stmt sched_expire_stmt =
    DB_STMT("sched_expire_due", SCHED_COLS "gb_deposit_expire_due($1::int)", 1);
static struct db_stmt sched_default_stmt = DB_STMT(
    "sched_default_due", SCHED_COLS "gb_payment_default_due($1::int)", 1);
static struct db_stmt sched_settle_stmt =
    DB_STMT("sched_settle_due", SCHED_COLS "gb_settle_due($1::int)", 1);
static struct db_stmt sched_purge_stmt =
    DB_STMT("sched_purge_due", SCHED_COLS "gb_purge_due($1::int)", 1);
static struct db_stmt sched_begin_stmt = DB_STMT(NULL, "BEGIN", 0);
static struct db_stmt sched_timeout_stmt = DB_STMT(
    "sched_timeout",
    "SELECT set_config('statement_timeout', '" STEP_TIMEOUT "', true)", 0);
static struct db_stmt sched_commit_stmt = DB_STMT(NULL, "COMMIT", 0);
static struct db_stmt sched_next_stmt =
    DB_STMT("sched_next_due",
            "SELECT extract(epoch FROM gb_next_due())::text,"
            " extract(epoch FROM clock_timestamp())::text",
            0);

static struct {
    struct db_stmt *stmt;
    const char *limit;
    long limit_n;
    const char *name;
    const char *row; /* what o_id names, for the log */
} const sched_steps[SCHED_NKINDS] = {
    [SCHED_OPEN] = {&sched_open_stmt, BATCH_LIMIT, BATCH_LIMIT_N, "open",
                    "campaign"},
    [SCHED_CLOSE] = {&sched_close_stmt, CLOSE_LIMIT, CLOSE_LIMIT_N, "close",
                     "campaign"},
    [SCHED_EXPIRE] = {&sched_expire_stmt, BATCH_LIMIT, BATCH_LIMIT_N, "expire",
                      "participation"},
    [SCHED_DEFAULT] = {&sched_default_stmt, BATCH_LIMIT, BATCH_LIMIT_N,
                       "default", "participation"},
    [SCHED_SETTLE] = {&sched_settle_stmt, SETTLE_LIMIT, SETTLE_LIMIT_N,
                      "settle", "campaign"},
    /* not a due function: snapshots.c (no statement, no limit text) */
    [SCHED_FORECAST] = {NULL, NULL, FORECAST_LIMIT_N, "forecast", "campaign"},
    /* last: housekeeping, small batches, after the pass's real work */
    [SCHED_PURGE] = {&sched_purge_stmt, PURGE_LIMIT, PURGE_LIMIT_N, "purge",
                     "row"},
};

static void sched_tx_cb(const struct db_result *res, void *arg);
static void sched_acquired_cb(struct db_conn *conn, void *arg);
static void sched_next_cb(const struct db_result *res, void *arg);
static void sched_snap_cb(bool ok, const PGresult *rows, const char *why,
                          void *arg);

const char *scheduler_kind_name(enum scheduler_kind kind)
{
    return kind < SCHED_NKINDS ? sched_steps[kind].name : "?";
}

static void sched_arm(struct scheduler *s, long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(s->timer, &tv);
}

/* Notes a failure: warned once per outage, cleared by a clean pass. */
static void sched_note_failure(struct scheduler *s, const char *why)
{
    s->stats.failures++;
    s->pass_failed = true;
    if (!s->outage)
        log_warn("scheduler: %s (retrying; quiet until it recovers)", why);
    s->outage = true;
}

/* Ends a pass that could not complete; the next one starts later. */
static void sched_fail(struct scheduler *s, const char *why)
{
    sched_note_failure(s, why);
    sched_arm(s, FAIL_RETRY_MS);
}

/* Issues the statement of s->step. */
static void sched_run_step(struct scheduler *s)
{
    if (s->step == SCHED_FORECAST) {
        s->snap_busy =
            snapshots_run(s->snap, FORECAST_LIMIT_N, sched_snap_cb, s);
        if (!s->snap_busy)
            sched_fail(s, "database unavailable");
        return;
    }
    if (s->step < SCHED_NKINDS) {
        s->job = db_acquire(s->db, sched_acquired_cb, s);
    } else {
        s->job = db_query(s->db, &sched_next_stmt, NULL, sched_next_cb, s);
    }
    if (s->job == NULL)
        sched_fail(s, "database unavailable");
}

static void sched_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct scheduler *s = arg;
    (void)fd;
    (void)what;
    s->stats.passes++;
    s->step = SCHED_OPEN;
    s->progress = false;
    s->pass_failed = false;
    sched_run_step(s);
}

/* Describes a failed statement into why. */
static void sched_describe(const struct db_result *res, char *why, size_t len)
{
    if (res->status == DB_SQL_ERROR)
        snprintf(why, len, "%s: %s", res->sqlstate,
                 res->message ? res->message : "");
    else if (res->status == DB_UNAVAILABLE)
        snprintf(why, len, "database unavailable: %s",
                 res->message ? res->message : "");
    else
        snprintf(why, len, "unexpected result shape");
}

/* Counts what the due function did with each row it claimed, and alerts
 * on each row that failed: it is in backoff now and its transition was
 * rolled back, the other rows' were not. The transaction has not committed
 * yet; if COMMIT fails, the step counts as failed too. */
static void sched_read_rows(struct scheduler *s, const PGresult *res)
{
    const char *kind = sched_steps[s->step].name;
    int rows = PQntuples(res);
    s->claimed = rows;
    s->n = 0;
    for (int i = 0; i < rows; i++) {
        if (strcmp(PQgetvalue(res, i, 1), "t") == 0)
            s->n++;
        if (PQgetisnull(res, i, 2))
            continue;
        s->stats.failed[s->step]++;
        log_warn("scheduler: %s: %s %s failed (attempt %s, next in %.0f s): "
                 "%s",
                 kind, sched_steps[s->step].row, PQgetvalue(res, i, 0),
                 PQgetvalue(res, i, 3), strtod(PQgetvalue(res, i, 4), NULL),
                 PQgetvalue(res, i, 2));
    }
}

/* The due step's statement moved s->n rows and committed. */
static void sched_step_done(struct scheduler *s)
{
    long n = s->n;
    if (n > 0) {
        s->stats.done[s->step] += (uint64_t)n;
        s->progress = true;
        log_info("scheduler: %s: %ld", sched_steps[s->step].name, n);
    }
    /* A full claim may leave more due rows, even if some of it failed. */
    if (s->claimed < sched_steps[s->step].limit_n)
        s->step++;
    sched_run_step(s);
}

/* Gives the borrowed connection back (an open transaction rolls back). */
static void sched_release(struct scheduler *s)
{
    struct db_conn *c = s->conn;
    s->conn = NULL;
    db_release(c);
}

/* Sends statement s->tx of the due step's transaction. */
static void sched_tx_send(struct scheduler *s)
{
    const char *params[] = {sched_steps[s->step].limit};
    struct db_stmt *stmt = s->tx == 0   ? &sched_begin_stmt
                           : s->tx == 1 ? &sched_timeout_stmt
                           : s->tx == 2 ? sched_steps[s->step].stmt
                                        : &sched_commit_stmt;
    if (!db_conn_query(s->conn, stmt, s->tx == 2 ? params : NULL, sched_tx_cb,
                       s)) {
        sched_release(s);
        sched_fail(s, "database connection lost");
    }
}

static void sched_acquired_cb(struct db_conn *conn, void *arg)
{
    struct scheduler *s = arg;
    s->job = NULL;
    if (conn == NULL) {
        sched_fail(s, "database unavailable: no connection in time");
        return;
    }
    s->conn = conn;
    s->tx = 0;
    sched_tx_send(s);
}

/* BEGIN -> statement timeout -> the due function -> COMMIT. */
static void sched_tx_cb(const struct db_result *res, void *arg)
{
    struct scheduler *s = arg;
    char why[512];
    if (res->status != DB_OK) {
        sched_release(s);
        sched_describe(res, why, sizeof why);
        if (res->status == DB_UNAVAILABLE) {
            sched_fail(s, why);
            return;
        }
        /* One function failing must not hold up the others. */
        s->stats.failed[s->step]++;
        sched_note_failure(s, why);
        s->step++;
        sched_run_step(s);
        return;
    }
    if (s->tx == 2)
        sched_read_rows(s, res->res);
    if (s->tx < 3) {
        s->tx++;
        sched_tx_send(s);
        return;
    }
    sched_release(s);
    sched_step_done(s);
}

/* The forecast step's round came back: counted like a due function's. */
static void sched_snap_cb(bool ok, const PGresult *rows, const char *why,
                          void *arg)
{
    struct scheduler *s = arg;
    s->snap_busy = false;
    if (!ok) {
        s->stats.failed[s->step]++;
        sched_note_failure(s, why);
        s->step++;
        sched_run_step(s);
        return;
    }
    s->claimed = 0;
    s->n = 0;
    if (rows != NULL)
        sched_read_rows(s, rows);
    sched_step_done(s);
}

static void sched_next_cb(const struct db_result *res, void *arg)
{
    struct scheduler *s = arg;
    s->job = NULL;
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        char why[512];
        sched_describe(res, why, sizeof why);
        sched_fail(s, why);
        return;
    }
    if (s->outage && !s->pass_failed) {
        log_info("scheduler: database reachable again");
        s->outage = false;
    }
    long ms = s->pass_failed ? FAIL_RETRY_MS : POLL_CEILING_MS;
    if (!PQgetisnull(res->res, 0, 0)) {
        double due = strtod(PQgetvalue(res->res, 0, 0), NULL);
        double now = strtod(PQgetvalue(res->res, 0, 1), NULL);
        double delay_ms = (due - now) * 1000.0;
        if (delay_ms <= 0) {
            /* Late work someone else holds: retry soon, backing off while
             * passes make no progress. */
            s->retry_ms = s->progress || s->retry_ms == 0 ? RETRY_MIN_MS
                                                          : s->retry_ms * 2;
            if (s->retry_ms > POLL_CEILING_MS)
                s->retry_ms = POLL_CEILING_MS;
            ms = s->retry_ms;
        } else {
            s->retry_ms = 0;
            if (delay_ms < POLL_CEILING_MS - DUE_MARGIN_MS)
                ms = (long)delay_ms + DUE_MARGIN_MS;
        }
    }
    sched_arm(s, ms);
}

struct scheduler *scheduler_new(struct event_base *base, struct db_pool *db,
                                struct workpool *wp,
                                const struct reliability_params *defaults)
{
    struct scheduler *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->base = base;
    s->db = db;
    s->timer = evtimer_new(base, sched_timer_cb, s);
    s->snap = snapshots_new(db, wp, defaults);
    if (s->timer == NULL || s->snap == NULL) {
        if (s->timer)
            event_free(s->timer);
        snapshots_free(s->snap);
        free(s);
        return NULL;
    }
    sched_arm(s, 0);
    return s;
}

void scheduler_free(struct scheduler *s)
{
    if (s == NULL)
        return;
    if (s->job != NULL)
        db_job_cancel(s->job);
    if (s->conn != NULL)
        db_release(s->conn); /* abandons the statement: no callback */
    snapshots_free(s->snap); /* a round in flight: no callback either */
    event_free(s->timer);
    free(s);
}

void scheduler_kick(struct scheduler *s)
{
    if (s == NULL || s->job != NULL || s->conn != NULL || s->snap_busy)
        return;
    sched_arm(s, 0);
}

void scheduler_get_stats(const struct scheduler *s, struct scheduler_stats *out)
{
    *out = s->stats;
}
