/*
 * workpool.h - a few worker threads for CPU-heavy jobs, answered on the loop.
 *
 * Password hashing costs a few hundred milliseconds of CPU; run on the event
 * loop it would stall every other client. A handler hands it to the pool:
 * work(arg) runs on a worker thread, then done(arg, cancelled) runs on the
 * event loop thread, where the handler may touch libevent, the request and
 * the database again.
 *
 * The promise: every job that workpool_submit() accepted gets exactly one
 * done() call, always on the thread that owns the event_base, never on a
 * worker. So done() is the one place that frees arg. A job whose work ran
 * gets cancelled == false; a job still queued when workpool_free() stops the
 * pool never runs its work and gets cancelled == true from workpool_free().
 *
 * Threading: work() must touch only arg and thread-safe code (OpenSSL 3 is).
 * It must not call libevent, libpq or cJSON on shared objects, and must not
 * log through anything that is not thread-safe. Between work() and done()
 * the pool's mutex orders memory, so done() sees everything work() wrote.
 * Completions reach the loop through an eventfd watched by an ordinary
 * libevent read event, so the caller owes no evthread_use_pthreads() call.
 * Workers block every signal, so SIGTERM/SIGINT go to the loop thread.
 *
 * Bounds: at most queue_max jobs wait for a worker; submit refuses the next
 * one and the handler answers 503. Jobs already running do not count.
 *
 * The loop: the pool's event is added only while some job is in flight
 * (queued, running, or finished and not yet delivered), so an idle pool does
 * not keep event_base_dispatch() from returning, and a busy one keeps the
 * loop alive until every done() has run.
 */
#ifndef GROUPBUYD_WORKPOOL_H
#define GROUPBUYD_WORKPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct workpool;

#define WORKPOOL_MAX_THREADS 64
/* The default wait queue: this many jobs per worker thread. Password jobs
 * cost a few hundred milliseconds; a longer queue only makes every login
 * slower under a flood, while refusing at once lets the client retry. */
#define WORKPOOL_QUEUE_PER_THREAD 4

/* Counters for /metrics; a snapshot taken under the pool's mutex. */
struct workpool_stats {
    size_t threads;     /* worker threads */
    size_t queued;      /* accepted, waiting for a worker */
    size_t running;     /* work() executing now */
    size_t finishing;   /* work() done, done() not yet run on the loop */
    uint64_t submitted; /* accepted since start */
    uint64_t rejected;  /* refused because the queue was full */
    uint64_t completed; /* handed to done() with cancelled == false */
};

/*
 * Creates a pool of `threads` workers (<= 0: the number of online cores;
 * capped at WORKPOOL_MAX_THREADS) that lets at most `queue_max` jobs wait
 * (<= 0: WORKPOOL_QUEUE_PER_THREAD per thread). done() callbacks are dispatched
 * by `base`, which must outlive the pool. Call on the thread that will run
 * `base`: the pool takes its caller for the loop thread, and submit and free
 * assert that they run there. NULL when a thread, the eventfd or memory
 * could not be had.
 */
struct workpool *workpool_new(struct event_base *base, int threads,
                              int queue_max)
    __attribute__((warn_unused_result));

/*
 * Queues work(arg) for a worker; done(arg, cancelled) follows on the loop
 * thread (see the promise above). Call on the loop thread, including from
 * inside a done() callback. work and done must not be NULL. false when
 * queue_max jobs are already waiting, the pool is being freed, or memory ran
 * out: then neither callback will ever run and the caller still owns arg.
 */
bool workpool_submit(struct workpool *wp, void (*work)(void *arg),
                     void (*done)(void *arg, bool cancelled), void *arg)
    __attribute__((warn_unused_result));

/* Fills *out with the current counters. Any thread. */
void workpool_get_stats(struct workpool *wp, struct workpool_stats *out);

/*
 * Stops the pool: refuses new jobs, lets the jobs already running finish
 * (waits for them: at worst one job's worth of CPU), joins the workers, then
 * on the calling thread runs done(arg, false) for every finished job not yet
 * delivered and done(arg, true) for every job that never started, in
 * submission order within each group. So the caller must call it on the loop
 * thread, before freeing `base` and whatever done() touches (requests, the
 * HTTP server), and never from inside a done() callback. NULL is a no-op.
 */
void workpool_free(struct workpool *wp);

#endif
