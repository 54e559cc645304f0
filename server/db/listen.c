/*
 * listen.c - the LISTEN connection (listen.h).
 *
 * States, and who holds the connection in each:
 *   LS_WAIT        no connection; the timer starts the next attempt
 *   LS_CONNECTING  PQconnectPoll, driven by socket events (timer: give up)
 *   LS_LISTENING   LISTEN sent, waiting for its result
 *   LS_LIVE        LISTEN in place; socket readable -> notifications
 * Any failure closes the connection and goes to LS_WAIT with the backoff.
 */
#include "db/listen.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "db/db.h"
#include "lib/log.h"

#define LISTEN_CONNECT_TIMEOUT_MS 5000

enum listen_state { LS_WAIT, LS_CONNECTING, LS_LISTENING, LS_LIVE };

struct listener {
    struct event_base *base;
    const struct config *cfg;
    char sql[128]; /* LISTEN <channel> */
    listen_notify_fn *notify;
    listen_resync_fn *resync;
    void *arg;
    enum listen_state state;
    PGconn *pg;
    struct event *io;    /* socket events of the current state */
    struct event *timer; /* reconnect, or connect timeout */
    int backoff_ms;
    bool was_live; /* log the first failure after a live period loudly */
};

static void listener_connect(struct listener *l);

static void listener_io_clear(struct listener *l)
{
    if (l->io) {
        event_free(l->io);
        l->io = NULL;
    }
}

static void listener_schedule(struct listener *l, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(l->timer, &tv);
}

/* Closes the connection and schedules the next attempt. */
static void listener_broken(struct listener *l, const char *why)
{
    char msg[256];
    db_one_line(msg, sizeof msg, why && *why ? why : "connection lost");
    if (l->was_live)
        log_warn("listen: %s; reconnecting", msg);
    else
        log_debug("listen: %s", msg);
    l->was_live = false;
    listener_io_clear(l);
    if (l->pg) {
        PQfinish(l->pg);
        l->pg = NULL;
    }
    l->state = LS_WAIT;
    listener_schedule(l, l->backoff_ms);
    l->backoff_ms *= 2;
    if (l->backoff_ms > l->cfg->db_reconnect_max_ms)
        l->backoff_ms = l->cfg->db_reconnect_max_ms;
}

static bool listener_watch(struct listener *l, short what, event_callback_fn cb)
{
    listener_io_clear(l);
    l->io = event_new(l->base, PQsocket(l->pg), what, cb, l);
    return l->io != NULL && event_add(l->io, NULL) == 0;
}

/* Reads what arrived: the LISTEN's result, then notifications. */
static void listener_read(struct listener *l)
{
    if (PQconsumeInput(l->pg) == 0) {
        listener_broken(l, PQerrorMessage(l->pg));
        return;
    }
    while (!PQisBusy(l->pg)) {
        PGresult *res = PQgetResult(l->pg);
        if (res == NULL)
            break;
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st != PGRES_COMMAND_OK) {
            listener_broken(l, PQerrorMessage(l->pg));
            return;
        }
        if (l->state == LS_LISTENING) {
            l->state = LS_LIVE;
            l->was_live = true;
            l->backoff_ms = l->cfg->db_reconnect_ms;
            log_info("listen: %s on %s:%s", l->sql, PQhost(l->pg),
                     PQport(l->pg));
            /* after the LISTEN: a change committed from now on is
             * notified, and one before it is in what resync reads */
            l->resync(l->arg);
        }
    }
    PGnotify *nf;
    while ((nf = PQnotifies(l->pg)) != NULL) {
        l->notify(nf->extra, l->arg);
        PQfreemem(nf);
    }
}

static void listener_live_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd;
    (void)what;
    listener_read(l);
}

/* The LISTEN statement is (being) sent: flush it, then read. */
static void listener_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd;
    (void)what;
    int f = PQflush(l->pg);
    if (f < 0) {
        listener_broken(l, PQerrorMessage(l->pg));
        return;
    }
    bool ok = f == 1
                  ? listener_watch(l, EV_WRITE, listener_flush_cb)
                  : listener_watch(l, EV_READ | EV_PERSIST, listener_live_cb);
    if (!ok)
        listener_broken(l, "event_add failed");
}

static void listener_connect_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd;
    (void)what;
    listener_connect(l);
}

/* Starts or continues a non-blocking connection attempt. */
static void listener_connect(struct listener *l)
{
    if (l->state == LS_WAIT) {
        /* Keepalives before dbname (the URL may override them): this
         * connection only ever waits, and without them a primary that
         * vanished without closing the socket would never be noticed. A
         * standby refuses LISTEN, so this lands on the primary or retries,
         * whatever the URL's target_session_attrs. */
        const char *keys[] = {"keepalives",
                              "keepalives_idle",
                              "keepalives_interval",
                              "keepalives_count",
                              "dbname",
                              "application_name",
                              "client_encoding",
                              NULL};
        const char *vals[] = {
            "1",    "10", "3", "3", l->cfg->database_url, "groupbuyd-listen",
            "UTF8", NULL};
        l->pg = PQconnectStartParams(keys, vals, 1);
        if (l->pg == NULL || PQstatus(l->pg) == CONNECTION_BAD) {
            listener_broken(l, l->pg ? PQerrorMessage(l->pg) : "out of memory");
            return;
        }
        l->state = LS_CONNECTING;
        listener_schedule(l, LISTEN_CONNECT_TIMEOUT_MS);
    }
    bool ok = true;
    switch (PQconnectPoll(l->pg)) {
    case PGRES_POLLING_READING:
        ok = listener_watch(l, EV_READ, listener_connect_cb);
        break;
    case PGRES_POLLING_WRITING:
        ok = listener_watch(l, EV_WRITE, listener_connect_cb);
        break;
    case PGRES_POLLING_OK:
        event_del(l->timer);
        if (PQsetnonblocking(l->pg, 1) != 0 ||
            PQsendQuery(l->pg, l->sql) == 0) {
            listener_broken(l, PQerrorMessage(l->pg));
            return;
        }
        l->state = LS_LISTENING;
        listener_flush_cb(-1, 0, l);
        return;
    default:
        listener_broken(l, PQerrorMessage(l->pg));
        return;
    }
    if (!ok)
        listener_broken(l, "event_add failed");
}

/* The reconnect pause ended, or a connection attempt took too long. */
static void listener_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd;
    (void)what;
    if (l->state == LS_CONNECTING) {
        listener_broken(l, "connection attempt timed out");
        return;
    }
    listener_connect(l);
}

struct listener *listener_new(struct event_base *base, const struct config *cfg,
                              const char *channel, listen_notify_fn *notify,
                              listen_resync_fn *resync, void *arg)
{
    struct listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->base = base;
    l->cfg = cfg;
    snprintf(l->sql, sizeof l->sql, "LISTEN %s", channel);
    l->notify = notify;
    l->resync = resync;
    l->arg = arg;
    l->state = LS_WAIT;
    l->backoff_ms = cfg->db_reconnect_ms;
    l->timer = evtimer_new(base, listener_timer_cb, l);
    if (l->timer == NULL) {
        free(l);
        return NULL;
    }
    listener_connect(l);
    return l;
}

void listener_free(struct listener *l)
{
    if (l == NULL)
        return;
    listener_io_clear(l);
    event_free(l->timer);
    if (l->pg)
        PQfinish(l->pg);
    free(l);
}

bool listener_live(const struct listener *l)
{
    return l != NULL && l->state == LS_LIVE;
}
