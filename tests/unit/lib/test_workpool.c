/*
 * test_workpool.c - the worker pool's promise, checked on a real event_base.
 *
 * Every accepted job gets exactly one done(), on the loop thread; work() runs
 * on a worker; a full queue refuses; workpool_free() delivers finished jobs
 * and cancels queued ones; an idle pool lets the loop return. Every job's arg
 * is heap-allocated and freed in done(), so a lost or doubled done() shows up
 * as a leak or a double free under ASan, and a race under TSan.
 */
#include "lib/workpool.h"
#include "unit.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_t loop_thread;

/* A door that one job waits behind, and that tells when it is reached. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool reached;
    bool open;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                           false, false};

static void gate_reset(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.reached = false;
    gate.open = false;
    pthread_mutex_unlock(&gate.mu);
}

static void gate_wait_reached(void)
{
    pthread_mutex_lock(&gate.mu);
    while (!gate.reached)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.open = true;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

/* Loop-thread tallies, written only by done(). */
static int done_calls;
static int done_cancelled;
static int done_off_loop;
static int done_work_missing;
static int done_order_errors;
static int last_done_id;

struct job {
    int id;
    bool block; /* wait at the gate */
    bool ran;   /* set by work() */
    bool ran_off_loop;
    unsigned long long result;
    struct workpool *resubmit_to; /* done() submits a next job */
    int resubmit_left;
};

static void tallies_reset(void)
{
    done_calls = done_cancelled = done_off_loop = 0;
    done_work_missing = done_order_errors = 0;
    last_done_id = -1;
}

static void job_work(void *arg)
{
    struct job *j = arg;

    j->ran = true;
    j->ran_off_loop = !pthread_equal(pthread_self(), loop_thread);
    if (j->block) {
        pthread_mutex_lock(&gate.mu);
        gate.reached = true;
        pthread_cond_broadcast(&gate.cv);
        while (!gate.open)
            pthread_cond_wait(&gate.cv, &gate.mu);
        pthread_mutex_unlock(&gate.mu);
    }
    /* Some CPU, so jobs overlap on the two workers. */
    unsigned long long x = (unsigned long long)j->id;
    for (int i = 0; i < 20000; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    j->result = x;
}

static void job_done(void *arg, bool cancelled);

static struct job *job_new(int id, bool block)
{
    struct job *j = calloc(1, sizeof *j);

    if (!j) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    j->id = id;
    j->block = block;
    return j;
}

static void job_done(void *arg, bool cancelled)
{
    struct job *j = arg;

    done_calls++;
    if (!pthread_equal(pthread_self(), loop_thread))
        done_off_loop++;
    if (cancelled) {
        done_cancelled++;
        if (j->ran)
            done_order_errors++; /* a cancelled job must not have run */
    } else if (!j->ran || !j->ran_off_loop || j->result == 0) {
        done_work_missing++;
    }
    if (j->resubmit_to && j->resubmit_left > 0) {
        struct job *next = job_new(j->id + 1, false);
        next->resubmit_to = j->resubmit_to;
        next->resubmit_left = j->resubmit_left - 1;
        if (!workpool_submit(j->resubmit_to, job_work, job_done, next)) {
            done_order_errors++;
            free(next);
        }
    }
    last_done_id = j->id;
    free(j);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* N jobs on two workers: all done, all on the loop, counters add up. */
static void test_many_jobs(void)
{
    enum { N = 200 };
    struct event_base *base = event_base_new();
    struct workpool *wp = workpool_new(base, 2, 1000);
    struct workpool_stats st;
    int accepted = 0;

    CHECK(wp != NULL);
    tallies_reset();
    for (int i = 0; i < N; i++) {
        struct job *j = job_new(i, false);
        if (workpool_submit(wp, job_work, job_done, j))
            accepted++;
        else
            free(j);
    }
    CHECK_INT_EQ(accepted, N);
    CHECK_INT_EQ(done_calls, 0); /* never synchronously from submit */

    /* The pool's event keeps the loop alive until the last done(). */
    CHECK_INT_EQ(event_base_dispatch(base), 1);
    CHECK_INT_EQ(done_calls, N);
    CHECK_INT_EQ(done_cancelled, 0);
    CHECK_INT_EQ(done_off_loop, 0);
    CHECK_INT_EQ(done_work_missing, 0);

    workpool_get_stats(wp, &st);
    CHECK_INT_EQ(st.threads, 2);
    CHECK_INT_EQ(st.queued, 0);
    CHECK_INT_EQ(st.running, 0);
    CHECK_INT_EQ(st.finishing, 0);
    CHECK_INT_EQ(st.submitted, N);
    CHECK_INT_EQ(st.completed, N);
    CHECK_INT_EQ(st.rejected, 0);

    workpool_free(wp);
    CHECK_INT_EQ(done_calls, N); /* nothing left to deliver */
    event_base_free(base);
}

/* One worker held at the gate, two waiting: the third waiting is refused. */
static void test_queue_full(void)
{
    struct event_base *base = event_base_new();
    struct workpool *wp = workpool_new(base, 1, 2);
    struct workpool_stats st;
    struct job *refused = job_new(99, false);

    CHECK(wp != NULL);
    tallies_reset();
    gate_reset();
    CHECK(workpool_submit(wp, job_work, job_done, job_new(0, true)));
    gate_wait_reached();
    CHECK(workpool_submit(wp, job_work, job_done, job_new(1, false)));
    CHECK(workpool_submit(wp, job_work, job_done, job_new(2, false)));
    CHECK(!workpool_submit(wp, job_work, job_done, refused));
    free(refused); /* refused: still ours */

    workpool_get_stats(wp, &st);
    CHECK_INT_EQ(st.queued, 2);
    CHECK_INT_EQ(st.running, 1);
    CHECK_INT_EQ(st.submitted, 3);
    CHECK_INT_EQ(st.rejected, 1);

    gate_open();
    CHECK_INT_EQ(event_base_dispatch(base), 1);
    CHECK_INT_EQ(done_calls, 3);
    CHECK_INT_EQ(done_cancelled, 0);
    CHECK_INT_EQ(done_off_loop, 0);
    CHECK_INT_EQ(last_done_id, 2); /* one worker: FIFO */

    /* Room again once the queue drained. */
    CHECK(workpool_submit(wp, job_work, job_done, job_new(3, false)));
    CHECK_INT_EQ(event_base_dispatch(base), 1);
    CHECK_INT_EQ(done_calls, 4);

    workpool_free(wp);
    event_base_free(base);
}

static void *open_gate_later(void *unused)
{
    (void)unused;
    sleep_ms(200);
    gate_open();
    return NULL;
}

/*
 * Free with one job running and four queued: free waits for the running one
 * and delivers it, cancels the queued ones, all from inside workpool_free()
 * on this thread, without the loop running.
 */
static void test_free_pending(void)
{
    struct event_base *base = event_base_new();
    struct workpool *wp = workpool_new(base, 1, 10);
    pthread_t opener;

    CHECK(wp != NULL);
    tallies_reset();
    gate_reset();
    CHECK(workpool_submit(wp, job_work, job_done, job_new(0, true)));
    gate_wait_reached();
    for (int i = 1; i <= 4; i++)
        CHECK(workpool_submit(wp, job_work, job_done, job_new(i, false)));

    CHECK(pthread_create(&opener, NULL, open_gate_later, NULL) == 0);
    workpool_free(wp);
    pthread_join(opener, NULL);

    CHECK_INT_EQ(done_calls, 5);
    CHECK_INT_EQ(done_cancelled, 4);
    CHECK_INT_EQ(done_work_missing, 0); /* job 0 ran and was not cancelled */
    CHECK_INT_EQ(done_order_errors, 0); /* no cancelled job ran */
    CHECK_INT_EQ(done_off_loop, 0);
    CHECK_INT_EQ(last_done_id, 4);
    event_base_free(base);
}

/* A job finished but never delivered (loop not run) is delivered by free. */
static void test_free_finished(void)
{
    struct event_base *base = event_base_new();
    struct workpool *wp = workpool_new(base, 1, 10);
    struct workpool_stats st;

    CHECK(wp != NULL);
    tallies_reset();
    CHECK(workpool_submit(wp, job_work, job_done, job_new(7, false)));
    for (int i = 0; i < 5000; i++) {
        workpool_get_stats(wp, &st);
        if (st.finishing == 1)
            break;
        sleep_ms(1);
    }
    CHECK_INT_EQ(st.finishing, 1);
    CHECK_INT_EQ(done_calls, 0);
    workpool_free(wp);
    CHECK_INT_EQ(done_calls, 1);
    CHECK_INT_EQ(done_cancelled, 0);
    CHECK_INT_EQ(done_work_missing, 0);
    CHECK_INT_EQ(done_off_loop, 0);
    event_base_free(base);
}

/* done() may submit again; the loop stays alive through the whole chain. */
static void test_resubmit_from_done(void)
{
    enum { CHAIN = 50 };
    struct event_base *base = event_base_new();
    struct workpool *wp = workpool_new(base, 2, 4);
    struct job *first = job_new(0, false);

    CHECK(wp != NULL);
    tallies_reset();
    first->resubmit_to = wp;
    first->resubmit_left = CHAIN - 1;
    CHECK(workpool_submit(wp, job_work, job_done, first));
    CHECK_INT_EQ(event_base_dispatch(base), 1);
    CHECK_INT_EQ(done_calls, CHAIN);
    CHECK_INT_EQ(last_done_id, CHAIN - 1);
    CHECK_INT_EQ(done_order_errors, 0);
    CHECK_INT_EQ(done_off_loop, 0);
    workpool_free(wp);
    event_base_free(base);
}

/* An idle pool does not hold the loop; defaults are applied. */
static void test_idle_and_defaults(void)
{
    struct event_base *base = event_base_new();
    struct workpool *wp = workpool_new(base, 0, 0);
    struct workpool_stats st;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    CHECK(wp != NULL);
    workpool_get_stats(wp, &st);
    CHECK(st.threads >= 1 && st.threads <= WORKPOOL_MAX_THREADS);
    if (cores > 0 && cores <= WORKPOOL_MAX_THREADS)
        CHECK_INT_EQ(st.threads, cores);
    CHECK_INT_EQ(event_base_loop(base, EVLOOP_NONBLOCK), 1);
    CHECK_INT_EQ(event_base_dispatch(base), 1); /* returns: nothing pending */
    workpool_free(wp);
    workpool_free(NULL);
    event_base_free(base);
}

int main(void)
{
    loop_thread = pthread_self();
    test_many_jobs();
    test_queue_full();
    test_free_pending();
    test_free_finished();
    test_resubmit_from_done();
    test_idle_and_defaults();
    return unit_summary("workpool");
}
