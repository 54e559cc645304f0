/*
 * scheduler.h - the due transitions of campaigns and participations, on
 * time, driven by libevent timers and by the database.
 *
 * A pass runs the due functions of schema/functions/transitions.sql
 * (open campaigns at starts_at, close them at ends_at, expire deposits,
 * default unpaid balances, settle succeeded campaigns that no longer wait
 * for a balance: schema/functions/settle.sql), each one statement through the
 * pool, and takes the forecast snapshots due (snapshots.h: a read, the
 * forecasts, a save), repeating
 * a function while it reports a full batch; then it asks the database for
 * the earliest due time and arms a timer for it, never more than one
 * second away, so work created by another process is also seen within a
 * second. The database claims the work (FOR UPDATE SKIP LOCKED) and the
 * functions are idempotent, so several processes do each transition once,
 * and a process that was down catches up on its first pass. Work is
 * claimed by due time; a row whose transition fails is rolled back alone
 * and retried with exponential backoff (schema/functions/scheduler.sql),
 * so it can neither stop nor starve the others.
 */
#ifndef GROUPBUYD_SCHEDULER_H
#define GROUPBUYD_SCHEDULER_H

#include <stdint.h>

#include "domain/reliability.h"

struct event_base;
struct db_pool;
struct workpool;
struct scheduler;

enum scheduler_kind {
    SCHED_OPEN,     /* scheduled -> open */
    SCHED_CLOSE,    /* open -> succeeded | failed */
    SCHED_EXPIRE,   /* pending_deposit -> expired */
    SCHED_DEFAULT,  /* awaiting_payment -> defaulted */
    SCHED_SETTLE,   /* succeeded -> settled */
    SCHED_FORECAST, /* forecast snapshots at 25/50/75 % (snapshots.h) */
    SCHED_PURGE,    /* old rows deleted (functions/housekeeping.sql) */
    SCHED_NKINDS
};

struct scheduler_stats {
    uint64_t done[SCHED_NKINDS];   /* transitions made by this process */
    uint64_t failed[SCHED_NKINDS]; /* rows, or whole steps, that failed */
    uint64_t passes, failures;
};

/* Creates the scheduler and starts its first pass as soon as the loop
 * runs; the forecast step computes on wp, with defaults for distributors
 * without parameters of their own. NULL when out of memory. The pools
 * must outlive the scheduler. */
struct scheduler *scheduler_new(struct event_base *base, struct db_pool *db,
                                struct workpool *wp,
                                const struct reliability_params *defaults)
    __attribute__((warn_unused_result));
/* Stops the timer and cancels the statement in flight (its callback will
 * not run). Call before freeing the pool. NULL is accepted. */
void scheduler_free(struct scheduler *s);
/* Starts the next pass now if the scheduler is waiting for its timer (the
 * database came back); a pass in flight goes on. */
void scheduler_kick(struct scheduler *s);

void scheduler_get_stats(const struct scheduler *s,
                         struct scheduler_stats *out);
/* The name of a kind for logs and metric labels ("open", "close", ...). */
const char *scheduler_kind_name(enum scheduler_kind kind);

#endif
