/*
 * sse.c - live campaign progress: the streams of
 * GET /v1/campaigns/{id}/events (one campaign) and of
 * GET /v1/campaigns/events?ids=... (up to PROGRESS_MAX_IDS campaigns on one
 * connection, for a page that shows many), whose handlers hand their
 * request over with sse_open and sse_open_many.
 *
 * Every committed change of a published campaign is NOTIFYed by the
 * database (schema/functions/live.sql) on gb_campaign_changed, whichever
 * process made it; this process LISTENs on one connection (listen.h).
 *
 * A topic per watched campaign holds its followers and the latest state
 * read: the event data and, for the one-campaign streams, the two ready
 * event texts ("progress" and "status"). A notification marks the topic
 * dirty; the topic then reads its state once per coalescing window
 * (sse_coalesce_ms: at once when the last read is older, else at the
 * window's end), so a hot campaign costs one query per window however
 * many streams follow it, one-campaign or many, and however many joins
 * land; each follower is sent the new state when the campaign's change
 * counter (campaigns.change_seq) passed the one it last saw. After the
 * LISTEN connection is (re)established every topic reads again:
 * notifications may have been lost meanwhile.
 *
 * A stream follows its campaigns through one follower (struct sse_sub)
 * each, linked into the campaign's topic. A one-campaign stream's event id
 * is the campaign's counter; a many-campaign stream's is the cursor of
 * progress.h, the counters of all its campaigns, so that each of its
 * events says where the whole stream stands. A follower whose campaign
 * reaches a terminal status is sent that status and leaves its topic; the
 * stream ends when none is left.
 *
 * A new stream is answered at once from its topics' states when each has
 * one and the LISTEN is live (then they are current); else it waits for
 * the reads, which also decide 404 (unknown, draft, cancelled).
 *
 * Fair shares: one client address (clientaddr.h: an IPv6 one by its /64,
 * behind a trusted proxy the address it forwarded, as for logins) holds at
 * most sse_max_streams_per_client streams, one-campaign or many (429
 * beyond), so that one client cannot take the process's sse_max_streams
 * from everyone else. A client that stops reading is cut two ways: when
 * sse_max_buffer_bytes wait unsent, and, since keep-alives alone would
 * take hours to get there through the socket buffers, when its TCP has
 * acknowledged nothing for sse_stall_s while bytes wait for it (its
 * receive window is full), checked at its keep-alives.
 *
 * Ownership: a stream and its followers live in its request's arena; the
 * request's cleanup hook unlinks them, whatever ends the stream (its end,
 * the client leaving, a drop). A topic is freed when it has no follower,
 * no read in flight and nobody is walking its followers (busy).
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
#include "lib/clientaddr.h"
#include "lib/keycount.h"
#include "lib/log.h"
#include "live/livenotify.h"
#include "live/progress.h"

#define SSE_BUCKETS    4096
#define SSE_STATUS_MAX 16
/* Followers sent a new state per loop turn: a fan-out to thousands of
 * streams goes in slices, so the replies and database results that arrive
 * meanwhile (the joins that make the changes) wait for one slice, not for
 * the whole fan-out. */
#define SSE_SLICE 64

struct sse_stream;

/* One campaign followed by one stream. */
struct sse_sub {
    struct sse_sub *prev, *next; /* the topic's followers */
    struct sse_topic *topic;
    struct sse_stream *stream;
    int64_t id;                  /* the campaign's */
    int64_t last_seq;            /* the last change of it the client has */
    char status[SSE_STATUS_MAX]; /* the status it was last sent ("") */
    bool ready;  /* its topic had a state for the stream's start */
    bool linked; /* in the topic's list: not left, not gone */
};

struct sse_stream {
    struct sse_stream *prev, *next; /* every stream of the process */
    struct req *r;
    struct sse_sub *subs; /* nsubs, by ascending campaign id */
    int nsubs;
    int linked;         /* followers still in their topics */
    int waiting;        /* followers not ready, before the start */
    bool many;          /* events carry the cursor as their id */
    uint32_t tag;       /* many: the cursor's tag */
    unsigned ka_slot;   /* its keep-alive second (see below) */
    bool started;       /* 200 and headers sent */
    bool ending;        /* dropped: freed on the next turn */
    struct sse_sub one; /* the follower of a one-campaign stream */

    /* its client's share (sse.clients), when counted; and whether it
     * takes its bytes: what its TCP had acknowledged, unchanged since
     * stuck_ms with bytes waiting (0: not stuck) */
    bool counted;
    unsigned char client[16];
    uint64_t acked;
    uint64_t stuck_ms;
};

struct sse_topic {
    struct sse_topic *chain; /* bucket */
    int64_t id;
    struct sse_sub *subs;
    int nsubs;
    /* the latest state read */
    bool known;
    int64_t seq;
    char status[SSE_STATUS_MAX];
    char *data; /* the events' data line (JSON, no newline) */
    size_t len_data;
    char *ev_progress, *ev_status; /* whole event texts, one campaign */
    size_t len_progress, len_status;
    /* reading it */
    bool dirty;          /* a change since the last read was sent */
    bool fetching;       /* a read in flight */
    uint64_t sent_ms;    /* when the last read was sent */
    struct event *timer; /* the coalescing window's end */
    struct db_job *job;
    /* the fan-out of the state read: followers from cursor on are yet to
     * be sent it, a slice per loop turn (the fanout event) */
    struct sse_sub *cursor;
    struct event *fanout;
    int busy; /* walks over its followers in progress */
};

static struct {
    struct server *srv;
    struct listener *listen;
    struct event *keepalive;
    unsigned ka_tick, opened;
    struct sse_topic *buckets[SSE_BUCKETS];
    struct sse_stream *streams;
    int nstreams, nmany, nsubs;
    struct keycount *clients; /* open streams per client address */
    int ntopics;
    uint64_t events, dropped, notifications;
    bool stopping;
    /* the events of a many-campaign stream are written here first */
    char *scratch;
    size_t scratch_cap;
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

static bool sse_public(const char *status)
{
    return strcmp(status, "draft") != 0 && strcmp(status, "cancelled") != 0;
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
    free(t->data);
    free(t->ev_progress);
    free(t->ev_status);
    free(t);
    sse.ntopics--;
}

/* Frees t once nothing refers to it. */
static void sse_topic_release(struct sse_topic *t)
{
    if (t->nsubs == 0 && !t->fetching && t->busy == 0 && t->cursor == NULL)
        sse_topic_destroy(t);
}

/* ---- streams ------------------------------------------------------- */

static void sse_sub_link(struct sse_sub *u, struct sse_topic *t)
{
    u->topic = t;
    u->prev = NULL;
    u->next = t->subs;
    if (t->subs)
        t->subs->prev = u;
    t->subs = u;
    u->linked = true;
    t->nsubs++;
    u->stream->linked++;
    sse.nsubs++;
}

/* Takes u out of its topic (the stream leaves that campaign, or ends).
 * The caller releases the topic once it no longer uses it. */
static void sse_sub_unlink(struct sse_sub *u)
{
    struct sse_topic *t = u->topic;
    if (!u->linked)
        return;
    if (t->cursor == u)
        t->cursor = u->next;
    if (u->prev)
        u->prev->next = u->next;
    else
        t->subs = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->linked = false;
    t->nsubs--;
    u->stream->linked--;
    sse.nsubs--;
}

/* The request's cleanup hook: whatever ended the stream. */
static void sse_stream_cleanup(struct req *r)
{
    struct sse_stream *s = r->state;
    for (int i = 0; i < s->nsubs; i++) {
        struct sse_sub *u = &s->subs[i];
        if (u->topic == NULL || !u->linked)
            continue;
        sse_sub_unlink(u);
        sse_topic_release(u->topic);
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        sse.streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    sse.nstreams--;
    if (s->many)
        sse.nmany--;
    if (s->counted)
        keycount_give(sse.clients, s->client);
}

/* A client that has not taken sse_max_buffer_bytes of its stream is
 * dropped rather than buffered for without bound; true when it was. */
static bool sse_stream_drop_slow(struct sse_stream *s)
{
    size_t pending = stream_pending(s->r);
    if (pending <= (size_t)sse.srv->cfg->sse_max_buffer_bytes)
        return false;
    log_warn("sse: campaign %" PRId64 "%s: dropping a client that stopped "
             "reading (%zu bytes unsent)",
             s->subs[0].id, s->many ? " and others" : "", pending);
    s->ending = true;
    sse.dropped++;
    stream_end(s->r, false);
    return true;
}

/* A client whose TCP has acknowledged nothing for sse_stall_s while bytes
 * of its stream wait (unsent or unacknowledged: its receive window is
 * full) is cut; true when it was. Checked at its keep-alives, so the cut
 * comes within sse_stall_s and two keep-alive intervals. */
static bool sse_stream_cut_stalled(struct sse_stream *s)
{
    uint64_t acked;
    size_t untaken;
    if (!stream_taken(s->r, &acked, &untaken))
        return false;
    uint64_t now = clock_now_ms();
    if (untaken == 0 || acked != s->acked) {
        s->acked = acked;
        s->stuck_ms = 0;
        return false;
    }
    if (s->stuck_ms == 0) {
        s->stuck_ms = now;
        return false;
    }
    uint64_t stuck = now - s->stuck_ms;
    if (stuck < (uint64_t)sse.srv->cfg->sse_stall_s * 1000)
        return false;
    log_warn("sse: campaign %" PRId64 "%s: cutting a client that has taken "
             "nothing for %" PRIu64 " s (%zu bytes waiting)",
             s->subs[0].id, s->many ? " and others" : "", stuck / 1000,
             untaken);
    s->ending = true;
    sse.dropped++;
    stream_end(s->r, false);
    return true;
}

/* Room for n more bytes at scratch[at]; false when out of memory. */
static bool sse_scratch_room(size_t at, size_t n)
{
    if (at + n <= sse.scratch_cap)
        return true;
    size_t cap = sse.scratch_cap ? sse.scratch_cap : 4096;
    while (cap < at + n)
        cap *= 2;
    char *p = realloc(sse.scratch, cap);
    if (p == NULL)
        return false;
    sse.scratch = p;
    sse.scratch_cap = cap;
    return true;
}

/* Whether u's next event is a "status" one: its first state when that is
 * terminal, or a change of status since the last it was sent. */
static bool sse_sub_status_event(const struct sse_sub *u)
{
    const struct sse_topic *t = u->topic;
    return u->status[0] == '\0' ? sse_terminal(t->status)
                                : strcmp(u->status, t->status) != 0;
}

/* Appends u's campaign's state, as one event of a many-campaign stream,
 * to scratch[*at...], and counts it as sent to u. False when out of
 * memory (nothing counted). */
static bool sse_sub_compose(struct sse_sub *u, size_t *at)
{
    struct sse_stream *s = u->stream;
    struct sse_topic *t = u->topic;
    bool status = sse_sub_status_event(u);
    int64_t seqs[PROGRESS_MAX_IDS];
    for (int i = 0; i < s->nsubs; i++)
        seqs[i] = &s->subs[i] == u ? t->seq : s->subs[i].last_seq;
    char cursor[PROGRESS_CURSOR_MAX];
    size_t clen =
        progress_cursor_format(cursor, sizeof cursor, s->tag, seqs, s->nsubs);
    const char *kind =
        status ? "\nevent: status\ndata: " : "\nevent: progress\ndata: ";
    size_t klen = strlen(kind);
    if (clen == 0 || !sse_scratch_room(*at, 4 + clen + klen + t->len_data + 2))
        return false;
    char *p = sse.scratch + *at;
    memcpy(p, "id: ", 4);
    memcpy(p + 4, cursor, clen);
    memcpy(p + 4 + clen, kind, klen);
    memcpy(p + 4 + clen + klen, t->data, t->len_data);
    memcpy(p + 4 + clen + klen + t->len_data, "\n\n", 2);
    *at += 4 + clen + klen + t->len_data + 2;
    u->last_seq = t->seq;
    memcpy(u->status, t->status, sizeof u->status);
    return true;
}

/* The followers of s whose campaign has reached its end and who were sent
 * it leave their topics; s ends when none is left. False when s ended
 * (it is freed). */
static bool sse_stream_prune(struct sse_stream *s)
{
    for (int i = 0; i < s->nsubs; i++) {
        struct sse_sub *u = &s->subs[i];
        if (u->linked && sse_terminal(u->topic->status) &&
            u->last_seq >= u->topic->seq) {
            struct sse_topic *t = u->topic;
            sse_sub_unlink(u);
            sse_topic_release(t);
        }
    }
    if (s->linked > 0)
        return true;
    s->ending = true;
    stream_end(s->r, true);
    return false;
}

/* Sends s the state of each of subs[0..n) (followers of s) that it has
 * not seen, in one write; ends what has ended. s may be freed on
 * return. */
static void sse_stream_send(struct sse_stream *s, struct sse_sub **subs, int n)
{
    if (s->ending)
        return;
    int fresh = 0;
    for (int i = 0; i < n; i++)
        if (subs[i]->linked && subs[i]->topic->known &&
            subs[i]->topic->seq > subs[i]->last_seq)
            fresh++;
    if (fresh == 0)
        return;
    if (sse_stream_drop_slow(s))
        return;
    struct req *r = s->r;
    if (!s->many) {
        struct sse_sub *u = subs[0];
        struct sse_topic *t = u->topic;
        bool status = sse_sub_status_event(u);
        if (!stream_chunk(r, status ? t->ev_status : t->ev_progress,
                          status ? t->len_status : t->len_progress, NULL))
            return; /* the client has gone: freed */
        sse.events++;
        u->last_seq = t->seq;
        memcpy(u->status, t->status, sizeof u->status);
        (void)sse_stream_prune(s);
        return;
    }
    size_t len = 0;
    int sent = 0;
    for (int i = 0; i < n; i++) {
        struct sse_sub *u = subs[i];
        if (!u->linked || !u->topic->known || u->topic->seq <= u->last_seq)
            continue;
        if (!sse_sub_compose(u, &len)) {
            log_error("sse: out of memory");
            break;
        }
        sent++;
    }
    if (len == 0)
        return;
    if (!stream_chunk(r, sse.scratch, len, NULL))
        return;
    sse.events += (uint64_t)sent;
    (void)sse_stream_prune(s);
}

/* Answers a waiting stream from its topics' states: 404 when one is not
 * public, 204 when the client has seen the end of all already, else the
 * stream with the first state of each campaign it has not seen. */
static void sse_stream_open(struct sse_stream *s)
{
    struct req *r = s->r;
    if (sse.stopping || sse.srv->stopping) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down.");
        return;
    }
    for (int i = 0; i < s->nsubs; i++) {
        const struct sse_topic *t = s->subs[i].topic;
        if (sse_public(t->status))
            continue;
        if (s->many)
            req_reply_error(r, 404, "not_found", "ids",
                            "No such campaign: %" PRId64 ".", t->id);
        else
            req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    bool seen_all = true;
    for (int i = 0; i < s->nsubs; i++) {
        const struct sse_sub *u = &s->subs[i];
        if (!sse_terminal(u->topic->status) || u->topic->seq > u->last_seq)
            seen_all = false;
    }
    if (seen_all) {
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
    /* the campaigns whose end the client saw leave before the first write */
    if (!sse_stream_prune(s))
        return;
    struct sse_sub *all[PROGRESS_MAX_IDS];
    for (int i = 0; i < s->nsubs; i++)
        all[i] = &s->subs[i];
    sse_stream_send(s, all, s->nsubs);
}

/* u's topic has a state for its stream's start: the stream opens when it
 * was the last one waited for. s may be freed on return. */
static void sse_sub_ready(struct sse_sub *u)
{
    if (u->ready)
        return;
    u->ready = true;
    if (--u->stream->waiting == 0)
        sse_stream_open(u->stream);
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

/* Answers every stream of t still waiting for its first state with an
 * error (a many-campaign stream too: it cannot start without t). */
static void sse_topic_fail_waiting(struct sse_topic *t, int status,
                                   const struct db_result *res)
{
    t->busy++;
    struct sse_sub *u = t->subs;
    while (u != NULL) {
        /* a stream has one follower per topic: answering it frees no
         * other follower of t */
        struct sse_sub *next = u->next;
        struct sse_stream *s = u->stream;
        if (!s->started && !s->ending) {
            if (res != NULL)
                req_reply_db_error(s->r, res);
            else if (status == 404 && s->many)
                req_reply_error(s->r, 404, "not_found", "ids",
                                "No such campaign: %" PRId64 ".", t->id);
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
        u = next;
    }
    t->busy--;
}

/* The campaign is gone: every started stream leaves it (a one-campaign
 * stream ends). */
static void sse_topic_end_all(struct sse_topic *t)
{
    t->busy++;
    struct sse_sub *u = t->subs;
    while (u != NULL) {
        struct sse_sub *next = u->next;
        struct sse_stream *s = u->stream;
        if (s->started && !s->ending) {
            sse_sub_unlink(u);
            if (s->linked == 0) {
                s->ending = true;
                stream_end(s->r, true);
            }
        }
        u = next;
    }
    t->busy--;
}

/* Keeps row 0 as t's state, with its event texts; false when the stored
 * data is inconsistent or memory ran out. */
static bool sse_topic_store(struct sse_topic *t, PGresult *res)
{
    int64_t seq;
    const char *status = PQgetvalue(res, 0, 0);
    /* one line: the JSON that json_build_object prints holds no newline */
    const char *data = PQgetvalue(res, 0, 1);
    if (!sse_parse_id(PQgetvalue(res, 0, 2), &seq) ||
        strlen(status) >= SSE_STATUS_MAX || PQgetisnull(res, 0, 1) ||
        strchr(data, '\n') != NULL)
        return false;
    if (t->known && seq <= t->seq)
        return true; /* nothing new */
    size_t n = strlen(data);
    char *d = malloc(n + 1);
    char *ev[2] = {NULL, NULL};
    size_t len[2];
    static const char *const kinds[2] = {"progress", "status"};
    for (int i = 0; i < 2 && d != NULL; i++) {
        size_t cap = n + 64;
        ev[i] = malloc(cap);
        if (ev[i] == NULL)
            break;
        len[i] = (size_t)snprintf(ev[i], cap,
                                  "id: %" PRId64 "\nevent: %s\ndata: %s\n\n",
                                  seq, kinds[i], data);
    }
    if (d == NULL || ev[0] == NULL || ev[1] == NULL) {
        free(d);
        free(ev[0]);
        free(ev[1]);
        return false;
    }
    memcpy(d, data, n + 1);
    free(t->data);
    free(t->ev_progress);
    free(t->ev_status);
    t->data = d;
    t->len_data = n;
    t->ev_progress = ev[0];
    t->len_progress = len[0];
    t->ev_status = ev[1];
    t->len_status = len[1];
    t->seq = seq;
    snprintf(t->status, sizeof t->status, "%s", status);
    t->known = true;
    return true;
}

/* Sends t's state to the next slice of its followers (readying those whose
 * stream waits for its first), and the rest on the next loop turns. */
static void sse_topic_fanout(struct sse_topic *t)
{
    t->busy++;
    for (int i = 0; i < SSE_SLICE && t->cursor != NULL; i++) {
        struct sse_sub *u = t->cursor;
        /* u's stream may be freed by the send; the unlinking moves the
         * cursor on should the next follower go too */
        t->cursor = u->next;
        if (u->stream->started)
            sse_stream_send(u->stream, &u, 1);
        else
            sse_sub_ready(u);
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
        /* from the first follower again, should a fan-out still be going:
         * those it had reached are sent the newer state too */
        t->cursor = t->subs;
        sse_topic_fanout(t);
    }
    t->busy--;
    if (t->dirty && t->nsubs > 0)
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
    if (t->nsubs > 0) {
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
    if (t != NULL && t->nsubs > 0) {
        sse_topic_schedule(t);
        sse_topic_release(t);
    }
}

/* The LISTEN is (again) in place: changes made while it was not were not
 * notified, so every watched campaign is read again. A read the pool
 * refuses answers the streams waiting for it, whose other topics may then
 * go: the next topic of the chain is held (busy) meanwhile. */
static void sse_resync_cb(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < SSE_BUCKETS; i++) {
        struct sse_topic *t = sse.buckets[i];
        if (t != NULL)
            t->busy++;
        while (t != NULL) {
            struct sse_topic *chain = t->chain;
            if (chain != NULL)
                chain->busy++;
            if (t->nsubs > 0)
                sse_topic_schedule(t);
            t->busy--;
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
    struct sse_stream *s = sse.streams;
    while (s != NULL) {
        /* a stream that goes frees only itself */
        struct sse_stream *next = s->next;
        /* false: the client had gone, and s is freed */
        if (s->ka_slot == slot && s->started && !s->ending &&
            !sse_stream_drop_slow(s) && !sse_stream_cut_stalled(s) &&
            !stream_chunk(s->r, ka, sizeof ka - 1, NULL))
            log_debug("sse: a client left");
        s = next;
    }
}

/* ---- opening a stream ---------------------------------------------- */

/* Refuses r when no stream may open now (true), else counts it against
 * its client's share: *counted, with the client's key in client[16]. */
static bool sse_refuse(struct req *r, bool *counted, unsigned char client[16])
{
    *counted = false;
    memset(client, 0, 16);
    if (sse.stopping || r->srv->stopping) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down.");
        return true;
    }
    if (sse.nstreams >= r->srv->cfg->sse_max_streams) {
        req_add_header(r, "Retry-After", "5");
        req_reply_error(r, 503, "unavailable", NULL,
                        "Too many open event streams; try again later.");
        return true;
    }
    unsigned char addr[16];
    if (!req_client_addr(r, addr))
        return false; /* no peer: the connection has gone already */
    clientaddr_limit_key(addr, client);
    int limit = r->srv->cfg->sse_max_streams_per_client;
    if (keycount_get(sse.clients, client) >= limit) {
        req_add_header(r, "Retry-After", "5");
        req_reply_error(r, 429, "rate_limited", NULL,
                        "This address has %d event streams open already: "
                        "close one, or follow several campaigns on one "
                        "stream.",
                        limit);
        return true;
    }
    if (!keycount_take(sse.clients, client, limit)) {
        req_reply_error(r, 503, "unavailable", NULL, "Out of memory.");
        return true;
    }
    *counted = true;
    return false;
}

/* Makes r a stream of the campaigns ids[0..n) (ascending, distinct), its
 * followers' last seen counters last[0..n), counted against the share of
 * client (when counted) until it ends. */
static void sse_stream_new(struct req *r, const int64_t *ids, int n,
                           const int64_t *last, bool many, bool counted,
                           const unsigned char client[16])
{
    struct sse_stream *s = req_alloc(r, sizeof *s);
    memset(s, 0, sizeof *s);
    s->r = r;
    s->many = many;
    s->counted = counted;
    memcpy(s->client, client, sizeof s->client);
    s->tag = many ? progress_tag(ids, n) : 0;
    s->subs = many ? req_alloc(r, (size_t)n * sizeof *s->subs) : &s->one;
    memset(s->subs, 0, (size_t)n * sizeof *s->subs);
    s->ka_slot = sse.opened++ % (unsigned)r->srv->cfg->sse_keepalive_s;
    s->next = sse.streams;
    if (sse.streams)
        sse.streams->prev = s;
    sse.streams = s;
    sse.nstreams++;
    if (many)
        sse.nmany++;
    r->state = s;
    r->cleanup = sse_stream_cleanup;
    s->nsubs = n;
    for (int i = 0; i < n; i++) {
        struct sse_sub *u = &s->subs[i];
        u->stream = s;
        u->id = ids[i];
        u->last_seq = last[i];
        struct sse_topic *t = sse_topic_get(ids[i]);
        if (t == NULL) {
            /* the cleanup unlinks the followers linked so far */
            req_reply_error(r, 503, "unavailable", NULL, "Out of memory.");
            return;
        }
        sse_sub_link(u, t);
    }
    /* A topic with a state and a live LISTEN is current: its follower is
     * ready. The others wait for their topic's read, in flight, due at
     * its window's end, or sent now; a read the pool refuses answers the
     * stream at once (503), so the topics are held (busy) while they are
     * sent, and s is not touched after the first. */
    struct sse_topic *need[PROGRESS_MAX_IDS];
    int nneed = 0;
    bool live = listener_live(sse.listen);
    for (int i = 0; i < n; i++) {
        struct sse_sub *u = &s->subs[i];
        if (u->topic->known && live) {
            u->ready = true;
            continue;
        }
        s->waiting++;
        need[nneed++] = u->topic;
        u->topic->busy++;
    }
    if (s->waiting == 0) {
        sse_stream_open(s);
        return;
    }
    for (int i = 0; i < nneed; i++) {
        struct sse_topic *t = need[i];
        if (t->nsubs > 0 && !t->fetching && !evtimer_pending(t->timer, NULL))
            sse_topic_fetch(t);
    }
    for (int i = 0; i < nneed; i++) {
        need[i]->busy--;
        sse_topic_release(need[i]);
    }
}

void sse_open(struct req *r, int64_t campaign_id)
{
    bool counted;
    unsigned char client[16];
    if (sse_refuse(r, &counted, client))
        return;
    /* A malformed Last-Event-ID is ignored, as EventSource ignores a
     * malformed id: the client gets the current state. */
    int64_t last = -1;
    (void)sse_parse_id(req_header(r, "Last-Event-ID"), &last);
    sse_stream_new(r, &campaign_id, 1, &last, false, counted, client);
}

void sse_open_many(struct req *r, const int64_t *ids, int n)
{
    if (n < 1 || n > PROGRESS_MAX_IDS) {
        req_reply_error(r, 400, "invalid_field", "ids",
                        "ids must list 1 to %d campaigns.", PROGRESS_MAX_IDS);
        return;
    }
    bool counted;
    unsigned char client[16];
    if (sse_refuse(r, &counted, client))
        return;
    /* a cursor of another list, or a malformed one, is ignored */
    int64_t last[PROGRESS_MAX_IDS];
    if (!progress_cursor_parse(req_header(r, "Last-Event-ID"),
                               progress_tag(ids, n), last, n))
        for (int i = 0; i < n; i++)
            last[i] = -1;
    sse_stream_new(r, ids, n, last, true, counted, client);
}

/* ---- life ----------------------------------------------------------- */

bool sse_init(struct server *srv)
{
    sse.srv = srv;
    sse.listen = listener_new(srv->base, srv->cfg, LIVE_CHANNEL, sse_notify_cb,
                              sse_resync_cb, NULL);
    sse.keepalive =
        event_new(srv->base, -1, EV_PERSIST, sse_keepalive_cb, NULL);
    sse.clients = keycount_new();
    struct timeval tv = {1, 0};
    return sse.listen != NULL && sse.keepalive != NULL && sse.clients != NULL &&
           event_add(sse.keepalive, &tv) == 0;
}

void sse_get_stats(struct sse_stats *out)
{
    out->streams = sse.nstreams;
    out->streams_many = sse.nmany;
    out->follows = sse.nsubs;
    out->topics = sse.ntopics;
    out->events = sse.events;
    out->dropped = sse.dropped;
    out->notifications = sse.notifications;
}

void sse_shutdown(void)
{
    sse.stopping = true;
    struct sse_stream *s = sse.streams;
    while (s != NULL) {
        struct sse_stream *next = s->next;
        if (s->started && !s->ending) {
            s->ending = true;
            stream_end(s->r, true);
        }
        s = next;
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
    free(sse.scratch);
    sse.scratch = NULL;
    sse.scratch_cap = 0;
    keycount_free(sse.clients);
    sse.clients = NULL;
}
