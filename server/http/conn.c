/*
 * conn.c - connections: the deadline for reading each request, the framing
 * filter on the raw bytes, and output written straight to the socket.
 *
 * Deadlines: evhttp's own timeout restarts on every byte read, so a client
 * that drips its request one header at a time would never be cut off. Each
 * connection therefore gets a conn_track with a deadline timer: from the
 * accept (or the end of the previous reply) the next request must be read
 * whole within http_timeout_s, else the connection is closed. The tracker is
 * found by the connection's fd, is unregistered by the connection's close
 * callback and freed with the filter, whose context it is. evhttp hands us
 * the connection only through its bufferevent, whose callback argument is
 * the evhttp_connection once evhttp has set it up; we create the
 * bufferevent (evhttp_set_bevcb) and attach the tracker one loop turn
 * later, or at the first bytes read if they come first.
 *
 * Framing: every connection's bytes pass through a bufferevent filter that
 * checks each request's framing strictly (httpframe.h) before evhttp, which
 * is lenient, parses it; a request that breaks it is answered 400 (or 413,
 * 431, 501) in the envelope and the connection closed (conn_frame_cb).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>

#include "http/conn.h"

#include "config/config.h"
#include "lib/log.h"

/* ---- connections: deadlines and framing --------------------------- */

struct conn_track *conn_of(struct server *srv, struct evhttp_connection *evcon)
{
    if (evcon == NULL)
        return NULL;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev == NULL)
        return NULL;
    int fd = (int)bufferevent_getfd(bev);
    if (fd < 0 || fd >= srv->ntracks)
        return NULL;
    struct conn_track *t = srv->tracks[fd];
    return t && t->evcon == evcon ? t : NULL;
}

void conn_arm(struct conn_track *t)
{
    struct timeval tv = {t->srv->cfg->http_timeout_s, 0};
    event_add(t->deadline, &tv);
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_track *t = arg;
    (void)fd;
    (void)what;
    log_debug("http: closing connection %d: request not read in %d s", t->fd,
              t->srv->cfg->http_timeout_s);
    /* Calls conn_close_cb. */
    evhttp_connection_free(t->evcon);
}

/* Unregisters t and stops its timers; the memory stays with the filter,
 * which may still be called until libevent finalizes it. */
static void conn_detach(struct conn_track *t)
{
    if (!t->closed && t->fd >= 0 && t->fd < t->srv->ntracks &&
        t->srv->tracks[t->fd] == t)
        t->srv->tracks[t->fd] = NULL;
    t->closed = true;
    /* A reply cut off by the connection's end is never completed: it is
     * no longer waiting to be written out (the shutdown waits for those). */
    t->srv->unflushed -= t->unflushed;
    t->unflushed = 0;
    if (t->deadline) {
        event_free(t->deadline);
        t->deadline = NULL;
    }
    if (t->attach) {
        event_free(t->attach);
        t->attach = NULL;
    }
    if (t->writable) {
        event_free(t->writable);
        t->writable = NULL;
    }
}

/* The filter's free_context: the bufferevent is gone. */
static void conn_free(void *arg)
{
    struct conn_track *t = arg;
    conn_detach(t);
    free(t);
}

static void conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct conn_track *t = arg;
    (void)evcon;
    struct req *stream = t->stream;
    t->stream = NULL;
    conn_detach(t);
    if (stream)
        t->stream_gone(stream);
}

/* Finds the evhttp connection behind t's bufferevent (the callback
 * argument evhttp gave it) and starts the deadline: one loop turn after
 * the accept, or at the first bytes read, whichever comes first. */
static void conn_attach(struct conn_track *t)
{
    if (t->evcon != NULL || t->closed)
        return;
    void *cbarg = NULL;
    bufferevent_data_cb rcb = NULL;
    bufferevent_getcb(t->bev, &rcb, NULL, NULL, &cbarg);
    int bfd = (int)bufferevent_getfd(t->bev);
    if (rcb == NULL || cbarg == NULL || bfd < 0 || bfd >= t->srv->ntracks)
        return; /* evhttp has not set it up (yet) */
    t->fd = bfd;
    t->evcon = cbarg;
    t->srv->tracks[bfd] = t;
    evhttp_connection_set_closecb(t->evcon, conn_close_cb, t);
    conn_arm(t);
}

static void conn_attach_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_attach(arg);
}

/* Passes the held bytes of a checked message on to evhttp, without the
 * empty lines before its request line. Whole chains move, not bytes. */
static void conn_frame_pass(struct conn_track *t, struct evbuffer *src,
                            struct evbuffer *dst)
{
    if (t->frame.lead > 0) {
        evbuffer_drain(src, t->frame.lead);
        t->held -= t->frame.lead;
        t->frame.lead = 0;
    }
    evbuffer_remove_buffer(src, dst, t->held);
    t->held = 0;
}

/* A request broke the framing: nothing of it reaches evhttp, nor does
 * anything after it. In its place evhttp gets a stand-in request, after
 * those already passed on, so that the 400 goes out in order (evhttp
 * answers one request at a time); http_request_cb recognises the stand-in
 * by its sequence number, answers it with the error and closes. */
static void conn_frame_fail(struct conn_track *t, struct evbuffer *src,
                            struct evbuffer *dst)
{
    static const char standin[] =
        "GET / HTTP/1.1\r\nHost: -\r\nConnection: close\r\n\r\n";
    log_debug("http: connection %d: %d %s", t->fd, t->frame.error_status,
              t->frame.error_message);
    evbuffer_drain(src, evbuffer_get_length(src));
    t->held = 0;
    t->bad_seq = ++t->messages;
    evbuffer_add(dst, standin, sizeof standin - 1);
}

/*
 * The input filter between the socket and evhttp: checks the framing of
 * every request (httpframe.h) as it arrives and passes on only whole
 * checked heads (and chunked bodies, whose framing is checked to their
 * end); a Content-Length body streams through as it comes. Each byte is
 * looked at once, where it lies in the socket's buffer; bytes move on as
 * whole buffer chains.
 */
static enum bufferevent_filter_result
conn_frame_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
              enum bufferevent_flush_mode mode, void *ctx)
{
    struct conn_track *t = ctx;
    (void)limit;
    (void)mode;
    conn_attach(t);
    if (t->bad_seq != 0) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return BEV_NEED_MORE;
    }
    size_t len, before = evbuffer_get_length(dst);
    while ((len = evbuffer_get_length(src)) > t->held) {
        struct evbuffer_ptr pos;
        struct evbuffer_iovec v[8];
        if (evbuffer_ptr_set(src, &pos, t->held, EVBUFFER_PTR_SET) != 0)
            return BEV_ERROR;
        int n = evbuffer_peek(src, (ev_ssize_t)(len - t->held), &pos, v, 8);
        if (n > 8)
            n = 8;
        enum httpframe_status st = HTTPFRAME_MORE;
        for (int i = 0; i < n && st == HTTPFRAME_MORE; i++) {
            size_t used = 0;
            st = httpframe_feed(&t->frame, v[i].iov_base, v[i].iov_len, &used);
            t->held += used;
        }
        switch (st) {
        case HTTPFRAME_MORE:
            if (httpframe_in_length_body(&t->frame))
                conn_frame_pass(t, src, dst);
            break;
        case HTTPFRAME_HEAD:
            if (t->frame.body == HTTPFRAME_BODY_LENGTH)
                conn_frame_pass(t, src, dst);
            break;
        case HTTPFRAME_DONE:
            conn_frame_pass(t, src, dst);
            t->messages++;
            break;
        case HTTPFRAME_ERROR:
            conn_frame_fail(t, src, dst);
            return BEV_OK;
        }
    }
    /* The filter is called again while it returns BEV_OK and bytes are
     * left: held bytes wait for more, and evhttp is told only when some
     * were passed on. */
    return evbuffer_get_length(dst) > before ? BEV_OK : BEV_NEED_MORE;
}

/* ---- output: straight to the socket ----------------------------------
 * A filter bufferevent in libevent 2.1 serves evhttp badly on the way
 * out: evhttp adds a reply while writing is disabled and then enables it,
 * which does not make the filter pass the bytes on, and the filter calls
 * evhttp's write callback ("all sent") as soon as the bytes are in the
 * socket bufferevent's buffer, so a reply followed by a close would be
 * lost. The output filter therefore writes to the socket itself, and only
 * from the socket's writability event, a loop turn after evhttp queued the
 * bytes (as the socket bufferevent would): "all sent" then means in the
 * kernel, and evhttp's callback for the bytes is in place when it runs. */

static void conn_writable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_track *t = arg;
    (void)fd;
    (void)what;
    t->writing = true;
    bufferevent_flush(t->bev, EV_WRITE, BEV_NORMAL);
    t->writing = false;
}

/* Schedules conn_writable_cb for when the socket can take bytes. */
static void conn_want_write(struct conn_track *t)
{
    if (t->closed)
        return;
    if (t->writable == NULL) {
        evutil_socket_t fd = bufferevent_getfd(t->bev);
        if (fd < 0)
            return;
        t->writable =
            event_new(t->srv->base, fd, EV_WRITE, conn_writable_cb, t);
        if (t->writable == NULL) {
            log_error("out of memory");
            abort();
        }
    }
    event_add(t->writable, NULL);
}

static enum bufferevent_filter_result
conn_send_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
             enum bufferevent_flush_mode mode, void *ctx)
{
    struct conn_track *t = ctx;
    (void)dst;
    (void)limit;
    (void)mode;
    if (!t->writing) {
        conn_want_write(t);
        return BEV_NEED_MORE;
    }
    evutil_socket_t fd = bufferevent_getfd(t->bev);
    bool wrote = false;
    while (evbuffer_get_length(src) > 0) {
        int n = evbuffer_write(src, fd);
        if (n > 0) {
            wrote = true;
            continue;
        }
        if (n < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            /* BEV_OK on progress restarts the write timeout; the bytes
             * left keep "all sent" from being reported */
            conn_want_write(t);
            return wrote ? BEV_OK : BEV_NEED_MORE;
        }
        /* The peer is gone: drop the bytes; the read side reports it. */
        evbuffer_drain(src, evbuffer_get_length(src));
    }
    return BEV_OK;
}

/* Output was added: if the filter did not pass it on at once (writing
 * disabled), it goes out from the writability event. */
static void conn_output_added_cb(struct evbuffer *buf,
                                 const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_added > 0 && evbuffer_get_length(buf) > 0)
        conn_want_write(arg);
}

/* evhttp's bufferevent for a new connection: a socket under the framing
 * filter, which owns the connection's tracker. */
struct bufferevent *conn_bev_cb(struct event_base *base, void *arg)
{
    struct server *srv = arg;
    const struct config *cfg = srv->cfg;
    struct conn_track *t = calloc(1, sizeof *t);
    struct bufferevent *sock =
        bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (t == NULL || sock == NULL) {
        log_error("out of memory");
        abort(); /* as req_alloc: no way to answer without memory */
    }
    t->srv = srv;
    t->fd = -1;
    httpframe_init(&t->frame,
                   (uint64_t)cfg->http_max_header_bytes *
                       HTTP_HARD_LIMIT_FACTOR,
                   (uint64_t)cfg->http_max_body_bytes * HTTP_HARD_LIMIT_FACTOR);
    t->deadline = evtimer_new(base, conn_deadline_cb, t);
    t->attach = event_new(base, -1, 0, conn_attach_cb, t);
    t->bev = bufferevent_filter_new(sock, conn_frame_cb, conn_send_cb,
                                    BEV_OPT_CLOSE_ON_FREE, conn_free, t);
    if (t->deadline == NULL || t->attach == NULL || t->bev == NULL ||
        evbuffer_add_cb(bufferevent_get_output(t->bev), conn_output_added_cb,
                        t) == NULL) {
        log_error("out of memory");
        abort();
    }
    event_active(t->attach, 0, 0);
    return t->bev;
}

static void conn_reply_complete_cb(struct evhttp_request *ev, void *arg)
{
    struct server *srv = arg;
    struct conn_track *t = conn_of(srv, evhttp_request_get_connection(ev));
    if (t && t->unflushed > 0) {
        t->unflushed--;
        srv->unflushed--;
    }
    if (t)
        conn_arm(t);
}

/* A reply is handed to evhttp on ev's connection: the shutdown waits for
 * it until it is written out or the connection ends. */
void conn_reply_pending(struct server *srv, struct evhttp_request *ev)
{
    struct conn_track *t = conn_of(srv, evhttp_request_get_connection(ev));
    if (t == NULL)
        return;
    t->unflushed++;
    srv->unflushed++;
    evhttp_request_set_on_complete_cb(ev, conn_reply_complete_cb, srv);
}
