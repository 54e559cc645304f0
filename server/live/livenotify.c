/*
 * livenotify.c - joins announced after their commit (see livenotify.h).
 *
 * The campaigns changed since the last announcement are a small set (one
 * entry per campaign, in the order they first changed); at most one
 * statement is in flight, and what changes meanwhile waits for the next.
 */
#include "live/livenotify.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "lib/log.h"

struct livenotify {
    struct event_base *base;
    struct db_pool *db;
    struct event *timer;
    struct db_job *job; /* the statement in flight, if any */
    int64_t *ids;       /* changed since the last statement was sent */
    size_t n, cap;
    uint64_t sent, failed;
};

static struct db_stmt livenotify_stmt = DB_STMT(
    "live_notify",
    "SELECT count(pg_notify($2, c::text)) FROM unnest($1::bigint[]) c", 2);

static void livenotify_arm(struct livenotify *n, int ms)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = ms * 1000};
    if (!evtimer_pending(n->timer, NULL))
        evtimer_add(n->timer, &tv);
}

static void livenotify_done(const struct db_result *res, void *arg)
{
    struct livenotify *n = arg;
    n->job = NULL;
    if (res->status == DB_OK) {
        n->sent++;
    } else {
        /* The streams catch up with the campaign's next change. */
        n->failed++;
        log_warn("live: announcing joins failed: %s",
                 res->status == DB_SQL_ERROR ? res->message : "no database");
    }
    if (n->n > 0)
        livenotify_arm(n, LIVENOTIFY_DELAY_MS);
}

static void livenotify_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct livenotify *n = arg;
    if (n->job != NULL || n->n == 0)
        return; /* livenotify_done re-arms */
    /* "{1,2,3}": at most 20 digits and a comma per id, the braces, NUL. */
    size_t len = n->n * 21 + 3;
    char *arr = malloc(len);
    if (arr == NULL)
        return;
    size_t off = 0;
    arr[off++] = '{';
    for (size_t i = 0; i < n->n; i++)
        off += (size_t)snprintf(arr + off, len - off, "%s%lld", i ? "," : "",
                                (long long)n->ids[i]);
    arr[off++] = '}';
    arr[off] = '\0';
    const char *params[] = {arr, LIVE_CHANNEL};
    n->job = db_query(n->db, &livenotify_stmt, params, livenotify_done, n);
    free(arr); /* db_query copies its parameters */
    if (n->job == NULL) {
        livenotify_arm(n, 5 * LIVENOTIFY_DELAY_MS); /* the pool is full */
        return;
    }
    n->n = 0;
}

struct livenotify *livenotify_new(struct event_base *base, struct db_pool *db)
{
    struct livenotify *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->base = base;
    n->db = db;
    n->timer = evtimer_new(base, livenotify_fire, n);
    if (n->timer == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

void livenotify_free(struct livenotify *n)
{
    if (n == NULL)
        return;
    if (n->job != NULL)
        db_job_cancel(n->job);
    event_free(n->timer);
    free(n->ids);
    free(n);
}

void livenotify_changed(struct livenotify *n, int64_t campaign_id)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        if (n->ids[i] == campaign_id)
            return;
    if (n->n == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : 16;
        int64_t *ids = realloc(n->ids, cap * sizeof *ids);
        if (ids == NULL)
            return; /* announced with the campaign's next change */
        n->ids = ids;
        n->cap = cap;
    }
    n->ids[n->n++] = campaign_id;
    if (n->job == NULL)
        livenotify_arm(n, LIVENOTIFY_DELAY_MS);
}

uint64_t livenotify_sent(const struct livenotify *n)
{
    return n ? n->sent : 0;
}

uint64_t livenotify_failed(const struct livenotify *n)
{
    return n ? n->failed : 0;
}
