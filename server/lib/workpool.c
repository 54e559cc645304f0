/*
 * workpool.c - worker threads for CPU-heavy jobs, completions on the loop.
 *
 * A job moves through three places, each a FIFO list guarded by wp->mu:
 *
 *   queue    accepted by workpool_submit(), waiting for a worker
 *            (held by the pool; counted in wp->queued)
 *   running  taken by one worker, work() executing
 *            (held by that worker alone; counted in wp->running)
 *   done     work() returned, waiting for the loop
 *            (held by the pool; counted in wp->finishing)
 *
 * and leaves the pool when done() is called on the loop thread, which frees
 * the node. A worker that appends to the done list then writes to an eventfd;
 * the loop's read callback first drains the eventfd and then takes the whole
 * done list, so a completion appended after the take has its write after the
 * drain and wakes the loop again: none is lost, at worst a wake-up finds an
 * empty list.
 *
 * Only the loop thread touches libevent objects and the `dispatching` flag;
 * workers touch the lists, the counters and the eventfd, always the lists and
 * counters under wp->mu. `stopping` is written under wp->mu by
 * workpool_free() and read under it by workers and workpool_submit().
 */
#include "lib/workpool.h"

#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct workpool_job {
    struct workpool_job *next;
    void (*work)(void *arg);
    void (*done)(void *arg, bool cancelled);
    void *arg;
};

struct job_list {
    struct workpool_job *head;
    struct workpool_job *tail;
};

struct workpool {
    struct event_base *base;
    struct event *ev; /* EV_READ on efd; added while jobs are in flight */
    int efd;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on enqueue and on stop */
    struct job_list queue;
    struct job_list done;
    size_t queue_max;
    size_t queued;
    size_t running;
    size_t finishing;
    uint64_t submitted;
    uint64_t rejected;
    uint64_t completed;
    bool stopping;

    pthread_t loop_thread; /* the creator: the only caller of the API */
    bool dispatching;      /* loop thread only: inside a done() callback */
    size_t nthreads;
    pthread_t *threads;
};

static void job_list_push(struct job_list *l, struct workpool_job *job)
{
    job->next = NULL;
    if (l->tail)
        l->tail->next = job;
    else
        l->head = job;
    l->tail = job;
}

static struct workpool_job *job_list_pop(struct job_list *l)
{
    struct workpool_job *job = l->head;

    if (job) {
        l->head = job->next;
        if (!l->head)
            l->tail = NULL;
    }
    return job;
}

/* Moves every node of *from to the returned list, leaving *from empty. */
static struct job_list job_list_take(struct job_list *from)
{
    struct job_list taken = *from;

    from->head = from->tail = NULL;
    return taken;
}

/* Wakes the loop. A full eventfd counter (EAGAIN) is already readable. */
static void workpool_notify(struct workpool *wp)
{
    uint64_t one = 1;
    ssize_t n;

    do {
        n = write(wp->efd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
}

static void *workpool_worker_main(void *ctx)
{
    struct workpool *wp = ctx;

    pthread_mutex_lock(&wp->mu);
    for (;;) {
        while (!wp->stopping && !wp->queue.head)
            pthread_cond_wait(&wp->cv, &wp->mu);
        if (wp->stopping)
            break;

        struct workpool_job *job = job_list_pop(&wp->queue);
        wp->queued--;
        wp->running++;
        pthread_mutex_unlock(&wp->mu);

        job->work(job->arg);

        pthread_mutex_lock(&wp->mu);
        wp->running--;
        wp->finishing++;
        job_list_push(&wp->done, job);
        pthread_mutex_unlock(&wp->mu);

        workpool_notify(wp);

        pthread_mutex_lock(&wp->mu);
    }
    pthread_mutex_unlock(&wp->mu);
    return NULL;
}

/* Runs done() for every node of *l, in order, freeing each node. */
static void workpool_deliver(struct workpool *wp, struct job_list *l,
                             bool cancelled)
{
    struct workpool_job *job;

    wp->dispatching = true;
    while ((job = job_list_pop(l)) != NULL) {
        job->done(job->arg, cancelled);
        free(job);
    }
    wp->dispatching = false;
}

static void workpool_done_cb(evutil_socket_t fd, short what, void *ctx)
{
    struct workpool *wp = ctx;
    uint64_t count;
    ssize_t n;
    struct job_list finished;
    size_t nfinished = 0;
    bool idle;

    (void)what;
    do {
        n = read(fd, &count, sizeof count);
    } while (n < 0 && errno == EINTR);

    pthread_mutex_lock(&wp->mu);
    finished = job_list_take(&wp->done);
    for (struct workpool_job *j = finished.head; j; j = j->next)
        nfinished++;
    wp->finishing -= nfinished;
    wp->completed += nfinished;
    pthread_mutex_unlock(&wp->mu);

    workpool_deliver(wp, &finished, false);

    /* done() callbacks may have submitted more; count after them. */
    pthread_mutex_lock(&wp->mu);
    idle = wp->queued == 0 && wp->running == 0 && wp->finishing == 0;
    pthread_mutex_unlock(&wp->mu);
    if (idle)
        event_del(wp->ev);
}

/* Tells the first `started` workers to stop and waits for them. */
static void workpool_stop_threads(struct workpool *wp, size_t started)
{
    pthread_mutex_lock(&wp->mu);
    wp->stopping = true;
    pthread_cond_broadcast(&wp->cv);
    pthread_mutex_unlock(&wp->mu);
    for (size_t i = 0; i < started; i++)
        pthread_join(wp->threads[i], NULL);
}

struct workpool *workpool_new(struct event_base *base, int threads,
                              int queue_max)
{
    struct workpool *wp;
    sigset_t all, old;
    size_t started = 0;
    int err = 0;

    assert(base);
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0
                      ? (cores > WORKPOOL_MAX_THREADS ? WORKPOOL_MAX_THREADS
                                                      : (int)cores)
                      : 1;
    }
    if (threads > WORKPOOL_MAX_THREADS)
        threads = WORKPOOL_MAX_THREADS;
    if (queue_max <= 0)
        queue_max = WORKPOOL_QUEUE_PER_THREAD * threads;

    wp = calloc(1, sizeof *wp);
    if (!wp)
        return NULL;
    wp->base = base;
    wp->loop_thread = pthread_self();
    wp->queue_max = (size_t)queue_max;
    wp->nthreads = (size_t)threads;
    wp->efd = -1;
    if (pthread_mutex_init(&wp->mu, NULL) != 0)
        goto fail_free;
    if (pthread_cond_init(&wp->cv, NULL) != 0)
        goto fail_mutex;
    wp->threads = calloc(wp->nthreads, sizeof *wp->threads);
    if (!wp->threads)
        goto fail_cond;
    wp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wp->efd < 0)
        goto fail_threads;
    wp->ev =
        event_new(base, wp->efd, EV_READ | EV_PERSIST, workpool_done_cb, wp);
    if (!wp->ev)
        goto fail_efd;

    /* Workers inherit a mask blocking every signal. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; started < wp->nthreads; started++) {
        err = pthread_create(&wp->threads[started], NULL, workpool_worker_main,
                             wp);
        if (err != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        goto fail_stop;
    return wp;

fail_stop:
    workpool_stop_threads(wp, started);
    event_free(wp->ev);
fail_efd:
    close(wp->efd);
fail_threads:
    free(wp->threads);
fail_cond:
    pthread_cond_destroy(&wp->cv);
fail_mutex:
    pthread_mutex_destroy(&wp->mu);
fail_free:
    free(wp);
    return NULL;
}

bool workpool_submit(struct workpool *wp, void (*work)(void *arg),
                     void (*done)(void *arg, bool cancelled), void *arg)
{
    struct workpool_job *job;
    bool refused;

    assert(wp && work && done);
    assert(pthread_equal(pthread_self(), wp->loop_thread));

    /*
     * Only the loop thread enqueues or sets `stopping`, so room seen here
     * cannot vanish before the enqueue below: workers only take jobs away.
     */
    pthread_mutex_lock(&wp->mu);
    refused = wp->stopping || wp->queued >= wp->queue_max;
    if (refused && !wp->stopping)
        wp->rejected++;
    pthread_mutex_unlock(&wp->mu);
    if (refused)
        return false;

    job = malloc(sizeof *job);
    if (!job)
        return false;
    job->work = work;
    job->done = done;
    job->arg = arg;

    if (!event_pending(wp->ev, EV_READ, NULL) && event_add(wp->ev, NULL) != 0) {
        free(job);
        return false;
    }

    pthread_mutex_lock(&wp->mu);
    job_list_push(&wp->queue, job);
    wp->queued++;
    wp->submitted++;
    pthread_cond_signal(&wp->cv);
    pthread_mutex_unlock(&wp->mu);
    return true;
}

void workpool_get_stats(struct workpool *wp, struct workpool_stats *out)
{
    pthread_mutex_lock(&wp->mu);
    out->threads = wp->nthreads;
    out->queued = wp->queued;
    out->running = wp->running;
    out->finishing = wp->finishing;
    out->submitted = wp->submitted;
    out->rejected = wp->rejected;
    out->completed = wp->completed;
    pthread_mutex_unlock(&wp->mu);
}

void workpool_free(struct workpool *wp)
{
    struct job_list finished, cancelled;

    if (!wp)
        return;
    assert(pthread_equal(pthread_self(), wp->loop_thread));
    assert(!wp->dispatching && "workpool_free() inside a done() callback");

    workpool_stop_threads(wp, wp->nthreads);

    /* Workers are gone: the lists are ours alone, the lock is for form. */
    pthread_mutex_lock(&wp->mu);
    finished = job_list_take(&wp->done);
    cancelled = job_list_take(&wp->queue);
    wp->completed += wp->finishing;
    wp->finishing = 0;
    wp->queued = 0;
    pthread_mutex_unlock(&wp->mu);

    workpool_deliver(wp, &finished, false);
    workpool_deliver(wp, &cancelled, true);

    event_free(wp->ev);
    close(wp->efd);
    free(wp->threads);
    pthread_cond_destroy(&wp->cv);
    pthread_mutex_destroy(&wp->mu);
    free(wp);
}
