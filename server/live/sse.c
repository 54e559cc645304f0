/*
 * sse.c - live campaign progress: the streams of
 * GET /v1/campaigns/{id}/events, whose handler hands its request over with
 * sse_open.
 *
 * Every committed change of a published campaign is NOTIFYed by the
 * database (schema/functions/live.sql) on gb_campaign_changed, whichever
 * process made it; this process LISTENs on one connection (listen.h).
 *
 * A topic per watched campaign holds its open streams and the latest state
 * read, as two ready event texts ("progress" and "status"). A notification
 * marks the topic dirty; the topic then reads its state once per
 * coalescing window (sse_coalesce_ms: at once when the last read is older,
 * else at the window's end), so a hot campaign costs one query per window
 * however many streams watch it and however many joins land, and each
 * stream is sent the new state when its change counter (campaigns.
 * change_seq, the event id) passed the one it last saw. After the LISTEN
 * connection is (re)established every topic reads again: notifications
 * may have been lost meanwhile.
 *
 * A new stream is answered at once from the topic's state when there is
 * one and the LISTEN is live (then it is current); else it waits for the
 * topic's read, which also decides 404 (unknown, draft, cancelled).
 *
 * Ownership: a stream lives in its request's arena and is unlinked from
 * its topic by the request's cleanup hook, whatever ends it (the stream's
 * end, the client leaving, a drop). A topic is freed when it has no stream,
 * no read in flight and nobody is walking its streams (busy).
 */
#include "live/sse.h"
#include "lib/clock.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/listen.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/stream.h"
#include "lib/log.h"
#include "live/livenotify.h"

#define SSE_BUCKETS    4096
#define SSE_STATUS_MAX 16
/* Streams sent a new state per loop turn: a fan-out to thousands of
 * streams goes in slices, so the replies and database results that arrive
 * meanwhile (the joins that make the changes) wait for one slice, not for
 * the whole fan-out. */
#define SSE_SLICE 64

struct sse_stream {
    struct sse_stream *prev, *next;
    struct sse_topic *topic;
    struct req *r;
    int64_t last_seq;            /* the last event id the client has */
    unsigned ka_slot;            /* its keep-alive second (see below) */
    char status[SSE_STATUS_MAX]; /* the status it was last sent ("") */
    bool started;                /* 200 and headers sent */
    bool ending;                 /* dropped: freed on the next turn */
};

struct sse_topic {
    struct sse_topic *chain; /* bucket */
    int64_t id;
    struct sse_stream *streams;
    int nstreams;
    /* the latest state read */
    bool known;
    int64_t seq;
    char status[SSE_STATUS_MAX];
    char *ev_progress, *ev_status; /* whole event texts */
    size_t len_progress, len_status;
    /* reading it */
    bool dirty;          /* a change since the last read was sent */
    bool fetching;       /* a read in flight */
    uint64_t sent_ms;    /* when the last read was sent */
    struct event *timer; /* the coalescing window's end */
    struct db_job *job;
    /* the fan-out of the state read: streams from cursor on are yet to
     * be sent it, a slice per loop turn (the fanout event) */
    struct sse_stream *cursor;
    struct event *fanout;
    int busy; /* walks over its streams in progress */
};

static struct {
    struct server *srv;
    struct listener *listen;
    struct event *keepalive;
    unsigned ka_tick, opened;
    struct sse_topic *buckets[SSE_BUCKETS];
    int nstreams;
    int ntopics;
    uint64_t events, dropped, notifications;
    bool stopping;
} sse;

/* The campaign's public status, the events' data (JSON built by
 * gb_campaign_live_json, functions/live.sql) and its change counter. */
static struct db_stmt sse_state =
    DB_STMT_URGENT("sse_state",
                   "SELECT gb_campaign_public_status(c.status),"
                   "       gb_campaign_live_json(c)::text, c.change_seq"
                   "  FROM campaigns c WHERE c.id = $1",
                   1);

static bool sse_terminal(const char *status)
{
    return strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
           strcmp(status, "cancelled") == 0;
}

/* Strict non-negative decimal; false for anything else. */
static bool sse_parse_id(const char *s, int64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
        return false;
    *out = v;
    return true;
}

/* ---- topics -------------------------------------------------------- */

static struct sse_topic **sse_bucket(int64_t id)
{
    return &sse.buckets[(uint64_t)id % SSE_BUCKETS];
}

static struct sse_topic *sse_topic_find(int64_t id)
{
    for (struct sse_topic *t = *sse_bucket(id); t != NULL; t = t->chain)
        if (t->id == id)
            return t;
    return NULL;
}

static void sse_topic_timer_cb(evutil_socket_t fd, short what, void *arg);
static void sse_topic_fanout_cb(evutil_socket_t fd, short what, void *arg);

static struct sse_topic *sse_topic_get(int64_t id)
{
    struct sse_topic *t = sse_topic_find(id);
    if (t != NULL)
        return t;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->timer = evtimer_new(sse.srv->base, sse_topic_timer_cb, t);
    t->fanout = evtimer_new(sse.srv->base, sse_topic_fanout_cb, t);
    if (t->timer == NULL || t->fanout == NULL) {
        if (t->timer)
            event_free(t->timer);
        free(t);
        return NULL;
    }
    t->id = id;
    sse.ntopics++;
    struct sse_topic **b = sse_bucket(id);
    t->chain = *b;
    *b = t;
    return t;
}

static void sse_topic_destroy(struct sse_topic *t)
{
    struct sse_topic **p = sse_bucket(t->id);
    while (*p != t)
        p = &(*p)->chain;
    *p = t->chain;
    if (t->job)
        db_job_cancel(t->job);
    event_free(t->timer);
    event_free(t->fanout);
    free(t->ev_progress);
    free(t->ev_status);
    free(t);
    sse.ntopics--;
}

/* Frees t once nothing refers to it. */
static void sse_topic_release(struct sse_topic *t)
{
    if (t->nstreams == 0 && !t->fetching && t->busy == 0 && t->cursor == NULL)
        sse_topic_destroy(t);
}

/* ---- streams ------------------------------------------------------- */

/* The request's cleanup hook: whatever ended the stream. */
static void sse_stream_cleanup(struct req *r)
{
    struct sse_stream *s = r->state;
    struct sse_topic *t = s->topic;
    if (t->cursor == s)
        t->cursor = s->next;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    t->nstreams--;
    sse.nstreams--;
    sse_topic_release(t);
}

/* A client that has not taken sse_max_buffer_bytes of its stream is
 * dropped rather than buffered for without bound; true when it was. */
static bool sse_stream_drop_slow(struct sse_stream *s)
{
    size_t pending = stream_pending(s->r);
    if (pending <= (size_t)sse.srv->cfg->sse_max_buffer_bytes)
        return false;
    log_warn("sse: campaign %" PRId64 ": dropping a client that stopped "
             "reading (%zu bytes unsent)",
             s->topic->id, pending);
    s->ending = true;
    sse.dropped++;
    stream_end(s->r, false);
    return true;
}

/* Sends the topic's state to s if s has not seen it; ends s after a
 * terminal status. s may be freed on return. */
static void sse_stream_send(struct sse_stream *s)
{
    struct sse_topic *t = s->topic;
    if (s->ending || !t->known || t->seq <= s->last_seq)
        return;
    if (sse_stream_drop_slow(s))
        return;
    bool status = s->status[0] == '\0' ? sse_terminal(t->status)
                                       : strcmp(s->status, t->status) != 0;
    struct req *r = s->r;
    if (!stream_chunk(r, status ? t->ev_status : t->ev_progress,
                      status ? t->len_status : t->len_progress, NULL))
        return; /* the client has gone: freed */
    sse.events++;
    s->last_seq = t->seq;
    memcpy(s->status, t->status, sizeof s->status);
    if (sse_terminal(t->status)) {
        s->ending = true;
        stream_end(r, true);
    }
}

/* Answers a waiting stream from the topic's state: 404 when not public,
 * 204 when the client has seen the end already, else the stream. */
static void sse_stream_open(struct sse_stream *s)
{
    struct sse_topic *t = s->topic;
    struct req *r = s->r;
    if (sse.stopping || sse.srv->stopping) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down.");
        return;
    }
    if (strcmp(t->status, "draft") == 0 ||
        strcmp(t->status, "cancelled") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (sse_terminal(t->status) && t->seq <= s->last_seq) {
        /* EventSource reconnects after every end of a stream but stops
         * on 204: nothing will ever follow */
        req_reply_raw(r, 204, NULL, NULL, 0);
        return;
    }
    req_add_header(r, "X-Accel-Buffering", "no");
    if (!stream_start(r, 200, "text/event-stream"))
        return;
    s->started = true;
    /* keep-alives write every sse_keepalive_s: a stream is cut only when
     * its client takes nothing for longer than that and the usual bound */
    const struct config *cfg = sse.srv->cfg;
    stream_write_timeout(r, cfg->sse_keepalive_s + cfg->http_timeout_s);
    stream_send_buffer(r, cfg->sse_max_buffer_bytes);
    if (r->method == EVHTTP_REQ_HEAD) {
        stream_end(r, true);
        return;
    }
    sse_stream_send(s);
}

/* ---- reading a topic's state --------------------------------------- */

static void sse_topic_fetch(struct sse_topic *t);

/* A change (or a new stream, or a resync) wants t read: now if the last
 * read was sent a window ago, else at the window's end. */
static void sse_topic_schedule(struct sse_topic *t)
{
    t->dirty = true;
    if (t->fetching || evtimer_pending(t->timer, NULL))
        return;
    uint64_t now = clock_now_ms();
    uint64_t window = (uint64_t)sse.srv->cfg->sse_coalesce_ms;
    if (t->sent_ms == 0 || now - t->sent_ms >= window) {
        sse_topic_fetch(t);
        return;
    }
    uint64_t wait = t->sent_ms + window - now;
    struct timeval tv = {(time_t)(wait / 1000),
                         (suseconds_t)(wait % 1000) * 1000};
    event_add(t->timer, &tv);
}

static void sse_topic_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sse_topic *t = arg;
    (void)fd;
    (void)what;
    if (t->dirty && !t->fetching)
        sse_topic_fetch(t);
    sse_topic_release(t);
}

/* Answers every stream still waiting for its first state with an error. */
static void sse_topic_fail_waiting(struct sse_topic *t, int status,
                                   const struct db_result *res)
{
    t->busy++;
    struct sse_stream *s = t->streams;
    while (s != NULL) {
        struct sse_stream *next = s->next;
        if (!s->started) {
            if (res != NULL)
                req_reply_db_error(s->r, res);
            else if (status == 404)
                req_reply_error(s->r, 404, "not_found", NULL,
                                "No such campaign.");
            else if (status == 503)
                req_reply_error(s->r, 503, "unavailable", NULL,
                                "The database is unavailable.");
            else
                req_reply_error(s->r, 500, "internal", NULL,
                                "The campaign's stored data is inconsistent.");
        }
        s = next;
    }
    t->busy--;
}

/* Ends every started stream (the campaign is gone). */
static void sse_topic_end_all(struct sse_topic *t)
{
    t->busy++;
    struct sse_stream *s = t->streams;
    while (s != NULL) {
        struct sse_stream *next = s->next;
        if (s->started && !s->ending) {
            s->ending = true;
            stream_end(s->r, true);
        }
        s = next;
    }
    t->busy--;
}

/* Keeps row 0 as t's state, with both event texts; false when the stored
 * data is inconsistent. */
static bool sse_topic_store(struct sse_topic *t, PGresult *res)
{
    int64_t seq;
    const char *status = PQgetvalue(res, 0, 0);
    /* one line: the JSON that json_build_object prints holds no newline */
    const char *data = PQgetvalue(res, 0, 1);
    if (!sse_parse_id(PQgetvalue(res, 0, 2), &seq) ||
        strlen(status) >= SSE_STATUS_MAX || PQgetisnull(res, 0, 1))
        return false;
    if (t->known && seq <= t->seq)
        return true; /* nothing new */
    size_t n = strlen(data);
    char *ev[2] = {NULL, NULL};
    size_t len[2];
    static const char *const kinds[2] = {"progress", "status"};
    for (int i = 0; i < 2; i++) {
        size_t cap = n + 64;
        ev[i] = malloc(cap);
        if (ev[i] == NULL) {
            free(ev[0]);
            return false;
        }
        len[i] = (size_t)snprintf(ev[i], cap,
                                  "id: %" PRId64 "\nevent: %s\ndata: %s\n\n",
                                  seq, kinds[i], data);
    }
    free(t->ev_progress);
    free(t->ev_status);
    t->ev_progress = ev[0];
    t->len_progress = len[0];
    t->ev_status = ev[1];
    t->len_status = len[1];
    t->seq = seq;
    snprintf(t->status, sizeof t->status, "%s", status);
    t->known = true;
    return true;
}

/* Sends t's state to the next slice of its streams (opening those that
 * wait for their first), and the rest on the next loop turns. */
static void sse_topic_fanout(struct sse_topic *t)
{
    t->busy++;
    for (int i = 0; i < SSE_SLICE && t->cursor != NULL; i++) {
        struct sse_stream *s = t->cursor;
        /* s may be freed by the send; the cleanup hook moves the cursor
         * on should the next stream go too */
        t->cursor = s->next;
        if (s->started)
            sse_stream_send(s);
        else
            sse_stream_open(s);
    }
    t->busy--;
    if (t->cursor != NULL) {
        /* a zero timer runs after the loop has polled the sockets once */
        struct timeval now = {0, 0};
        event_add(t->fanout, &now);
    }
}

static void sse_topic_fanout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sse_topic *t = arg;
    (void)fd;
    (void)what;
    if (t->cursor != NULL)
        sse_topic_fanout(t);
    sse_topic_release(t);
}

static void sse_topic_fetch_cb(const struct db_result *res, void *arg)
{
    struct sse_topic *t = arg;
    t->fetching = false;
    t->job = NULL;
    t->busy++;
    if (res->status != DB_OK) {
        log_warn("sse: reading campaign %" PRId64 ": %s", t->id,
                 res->message ? res->message : "failed");
        sse_topic_fail_waiting(t, 0, res);
        t->dirty = true; /* the streams still want it: next window */
    } else if (PQntuples(res->res) != 1) {
        sse_topic_fail_waiting(t, 404, NULL);
        sse_topic_end_all(t);
    } else if (!sse_topic_store(t, res->res)) {
        log_error("sse: campaign %" PRId64 ": inconsistent stored data", t->id);
        sse_topic_fail_waiting(t, 500, NULL);
    } else {
        /* from the first stream again, should a fan-out still be going:
         * those it had reached are sent the newer state too */
        t->cursor = t->streams;
        sse_topic_fanout(t);
    }
    t->busy--;
    if (t->dirty && t->nstreams > 0)
        sse_topic_schedule(t);
    sse_topic_release(t);
}

/* Sends t's read. The caller releases t afterwards: a refused read
 * answers the waiting streams, which may leave t without any. */
static void sse_topic_fetch(struct sse_topic *t)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, t->id);
    const char *params[] = {id};
    t->dirty = false;
    t->sent_ms = clock_now_ms();
    /* A topic's first state may come from the replica (a stale one is
     * replaced by the next change's read, and an older seq never wins);
     * a change's read goes to the primary, which notified it. */
    struct db_pool *pool =
        t->known ? sse.srv->db
                 : db_pool_for_read(sse.srv->db, sse.srv->db_read);
    t->job = db_query(pool, &sse_state, params, sse_topic_fetch_cb, t);
    if (t->job != NULL) {
        t->fetching = true;
        return;
    }
    /* the pool cannot take it now: the waiting get 503, the open streams
     * keep their state and try again a window later */
    sse_topic_fail_waiting(t, 503, NULL);
    if (t->nstreams > 0) {
        t->dirty = true;
        struct timeval tv = {0, 100 * 1000};
        event_add(t->timer, &tv);
    }
}

/* ---- notifications ------------------------------------------------- */

static void sse_notify_cb(const char *payload, void *arg)
{
    (void)arg;
    int64_t id;
    sse.notifications++;
    if (!sse_parse_id(payload, &id))
        return;
    struct sse_topic *t = sse_topic_find(id);
    if (t != NULL && t->nstreams > 0) {
        sse_topic_schedule(t);
        sse_topic_release(t);
    }
}

/* The LISTEN is (again) in place: changes made while it was not were not
 * notified, so every watched campaign is read again. */
static void sse_resync_cb(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < SSE_BUCKETS; i++) {
        struct sse_topic *t = sse.buckets[i];
        while (t != NULL) {
            struct sse_topic *chain = t->chain;
            if (t->nstreams > 0)
                sse_topic_schedule(t);
            sse_topic_release(t);
            t = chain;
        }
    }
}

/* A comment on every open stream every sse_keepalive_s: proxies and
 * clients see a live connection, and a client that has gone is noticed.
 * The timer ticks every second and serves the streams of that second's
 * slot (the streams are dealt round the sse_keepalive_s slots as they
 * open): 10,000 streams cost a few milliseconds of writes a second, not
 * a pause of a tenth of a second every sse_keepalive_s. */
static void sse_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    static const char ka[] = ": keep-alive\n\n";
    (void)fd;
    (void)what;
    (void)arg;
    unsigned slot = sse.ka_tick++ % (unsigned)sse.srv->cfg->sse_keepalive_s;
    for (size_t i = 0; i < SSE_BUCKETS; i++) {
        struct sse_topic *t = sse.buckets[i];
        while (t != NULL) {
            struct sse_topic *chain = t->chain;
            t->busy++;
            struct sse_stream *s = t->streams;
            while (s != NULL) {
                struct sse_stream *next = s->next;
                /* false: the client had gone, and s is freed */
                if (s->ka_slot == slot && s->started && !s->ending &&
                    !sse_stream_drop_slow(s) &&
                    !stream_chunk(s->r, ka, sizeof ka - 1, NULL))
                    log_debug("sse: campaign %" PRId64 ": a client left",
                              t->id);
                s = next;
            }
            t->busy--;
            sse_topic_release(t);
            t = chain;
        }
    }
}

/* ---- opening a stream ---------------------------------------------- */

void sse_open(struct req *r, int64_t campaign_id)
{
    const struct config *cfg = r->srv->cfg;
    if (sse.stopping || r->srv->stopping) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down.");
        return;
    }
    if (sse.nstreams >= cfg->sse_max_streams) {
        req_add_header(r, "Retry-After", "5");
        req_reply_error(r, 503, "unavailable", NULL,
                        "Too many open event streams; try again later.");
        return;
    }
    struct sse_topic *t = sse_topic_get(campaign_id);
    if (t == NULL) {
        req_reply_error(r, 503, "unavailable", NULL, "Out of memory.");
        return;
    }
    struct sse_stream *s = req_alloc(r, sizeof *s);
    memset(s, 0, sizeof *s);
    s->topic = t;
    s->r = r;
    s->ka_slot = sse.opened++ % (unsigned)cfg->sse_keepalive_s;
    /* A malformed Last-Event-ID is ignored, as EventSource ignores a
     * malformed id: the client gets the current state. */
    s->last_seq = -1;
    (void)sse_parse_id(req_header(r, "Last-Event-ID"), &s->last_seq);
    s->next = t->streams;
    if (t->streams)
        t->streams->prev = s;
    t->streams = s;
    t->nstreams++;
    sse.nstreams++;
    r->state = s;
    r->cleanup = sse_stream_cleanup;
    if (t->known && listener_live(sse.listen)) {
        t->busy++;
        sse_stream_open(s);
        t->busy--;
        sse_topic_release(t);
        return;
    }
    /* the first state, at once: a read in flight or due at the window's
     * end answers this stream too */
    if (!t->fetching && !evtimer_pending(t->timer, NULL))
        sse_topic_fetch(t);
    sse_topic_release(t);
}

/* ---- life ----------------------------------------------------------- */

bool sse_init(struct server *srv)
{
    sse.srv = srv;
    sse.listen = listener_new(srv->base, srv->cfg, LIVE_CHANNEL, sse_notify_cb,
                              sse_resync_cb, NULL);
    sse.keepalive =
        event_new(srv->base, -1, EV_PERSIST, sse_keepalive_cb, NULL);
    struct timeval tv = {1, 0};
    return sse.listen != NULL && sse.keepalive != NULL &&
           event_add(sse.keepalive, &tv) == 0;
}

void sse_get_stats(struct sse_stats *out)
{
    out->streams = sse.nstreams;
    out->topics = sse.ntopics;
    out->events = sse.events;
    out->dropped = sse.dropped;
    out->notifications = sse.notifications;
}

void sse_shutdown(void)
{
    sse.stopping = true;
    for (size_t i = 0; i < SSE_BUCKETS; i++) {
        struct sse_topic *t = sse.buckets[i];
        while (t != NULL) {
            struct sse_topic *chain = t->chain;
            sse_topic_end_all(t);
            sse_topic_release(t);
            t = chain;
        }
    }
}

void sse_free(void)
{
    for (size_t i = 0; i < SSE_BUCKETS; i++)
        while (sse.buckets[i] != NULL)
            sse_topic_destroy(sse.buckets[i]);
    listener_free(sse.listen);
    sse.listen = NULL;
    if (sse.keepalive)
        event_free(sse.keepalive);
    sse.keepalive = NULL;
}
