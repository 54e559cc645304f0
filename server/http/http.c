/*
 * http.c - evhttp wiring, request contexts, replies, deadlines, shutdown.
 *
 * Limits: evhttp answers the limits it enforces itself with an HTML page, so
 * it gets limits 16 times wider than ours and we enforce ours here, in the
 * API's envelope: 431 for headers, 413 payload_too_large for bodies.
 *
 * Framing: every connection's bytes pass through a bufferevent filter that
 * checks each request's framing strictly (httpframe.h) before evhttp, which
 * is lenient, parses it; a request that breaks it is answered 400 (or 413,
 * 431, 501) in the envelope and the connection closed (http_frame_cb).
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
 */
#include "http/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "http/dispatch.h"
#include "http/httpframe.h"
#include "http/metrics.h"
#include "lib/json.h"
#include "lib/log.h"

#define HTTP_HARD_LIMIT_FACTOR 16

struct req_chunk {
    struct req_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct conn_track {
    struct server *srv;
    struct bufferevent *bev; /* the filter that evhttp reads from */
    struct evhttp_connection *evcon;
    struct event *deadline;
    struct event *attach;
    struct event *writable; /* the socket can take more of our output */
    bool writing;           /* http_writable_cb is flushing */
    int fd;
    bool closed;        /* evhttp has freed the connection */
    int unflushed;      /* its replies sent, not yet written out */
    struct req *stream; /* a streaming reply to free if the client goes */
    /* request framing (httpframe.h) on the raw bytes */
    struct httpframe frame;
    size_t held;       /* bytes at the start of the input, checked, held */
    uint32_t messages; /* messages passed on to evhttp */
    uint32_t requests; /* requests evhttp has handed to us */
    uint32_t bad_seq;  /* the stand-in for a bad request; 0 = none */
};

static uint64_t http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- arena --------------------------------------------------------- */

void *req_alloc(struct req *r, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (sizeof r->arena0 - r->arena0_used >= n) {
        void *p = (char *)r->arena0 + r->arena0_used;
        r->arena0_used += n;
        return p;
    }
    struct req_chunk *c = r->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 4000 ? n : 4000;
        c = malloc(sizeof *c + cap);
        if (c == NULL) {
            log_error("out of memory");
            abort();
        }
        c->cap = cap;
        c->used = 0;
        c->next = r->chunks;
        r->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

char *req_strdup(struct req *r, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = req_alloc(r, n);
    memcpy(d, s, n);
    return d;
}

char *req_printf(struct req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = req_alloc(r, (size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- connections: deadlines and framing --------------------------- */

static struct conn_track *http_track_of(struct server *srv,
                                        struct evhttp_connection *evcon)
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

static void http_track_arm(struct conn_track *t)
{
    struct timeval tv = {t->srv->cfg->http_timeout_s, 0};
    event_add(t->deadline, &tv);
}

static void http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_track *t = arg;
    (void)fd;
    (void)what;
    log_debug("http: closing connection %d: request not read in %d s", t->fd,
              t->srv->cfg->http_timeout_s);
    /* Calls http_close_cb. */
    evhttp_connection_free(t->evcon);
}

/* Unregisters t and stops its timers; the memory stays with the filter,
 * which may still be called until libevent finalizes it. */
static void http_track_detach(struct conn_track *t)
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
static void http_track_free(void *arg)
{
    struct conn_track *t = arg;
    http_track_detach(t);
    free(t);
}

static void http_stream_gone(struct req *r);

static void http_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct conn_track *t = arg;
    (void)evcon;
    struct req *stream = t->stream;
    t->stream = NULL;
    http_track_detach(t);
    if (stream)
        http_stream_gone(stream);
}

/* Finds the evhttp connection behind t's bufferevent (the callback
 * argument evhttp gave it) and starts the deadline: one loop turn after
 * the accept, or at the first bytes read, whichever comes first. */
static void http_track_attach(struct conn_track *t)
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
    evhttp_connection_set_closecb(t->evcon, http_close_cb, t);
    http_track_arm(t);
}

static void http_attach_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_track_attach(arg);
}

/* Passes the held bytes of a checked message on to evhttp, without the
 * empty lines before its request line. Whole chains move, not bytes. */
static void http_frame_pass(struct conn_track *t, struct evbuffer *src,
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
static void http_frame_fail(struct conn_track *t, struct evbuffer *src,
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
http_frame_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
              enum bufferevent_flush_mode mode, void *ctx)
{
    struct conn_track *t = ctx;
    (void)limit;
    (void)mode;
    http_track_attach(t);
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
                http_frame_pass(t, src, dst);
            break;
        case HTTPFRAME_HEAD:
            if (t->frame.body == HTTPFRAME_BODY_LENGTH)
                http_frame_pass(t, src, dst);
            break;
        case HTTPFRAME_DONE:
            http_frame_pass(t, src, dst);
            t->messages++;
            break;
        case HTTPFRAME_ERROR:
            http_frame_fail(t, src, dst);
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

static void http_writable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_track *t = arg;
    (void)fd;
    (void)what;
    t->writing = true;
    bufferevent_flush(t->bev, EV_WRITE, BEV_NORMAL);
    t->writing = false;
}

/* Schedules http_writable_cb for when the socket can take bytes. */
static void http_want_write(struct conn_track *t)
{
    if (t->closed)
        return;
    if (t->writable == NULL) {
        evutil_socket_t fd = bufferevent_getfd(t->bev);
        if (fd < 0)
            return;
        t->writable =
            event_new(t->srv->base, fd, EV_WRITE, http_writable_cb, t);
        if (t->writable == NULL) {
            log_error("out of memory");
            abort();
        }
    }
    event_add(t->writable, NULL);
}

static enum bufferevent_filter_result
http_send_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
             enum bufferevent_flush_mode mode, void *ctx)
{
    struct conn_track *t = ctx;
    (void)dst;
    (void)limit;
    (void)mode;
    if (!t->writing) {
        http_want_write(t);
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
            http_want_write(t);
            return wrote ? BEV_OK : BEV_NEED_MORE;
        }
        /* The peer is gone: drop the bytes; the read side reports it. */
        evbuffer_drain(src, evbuffer_get_length(src));
    }
    return BEV_OK;
}

/* Output was added: if the filter did not pass it on at once (writing
 * disabled), it goes out from the writability event. */
static void http_output_added_cb(struct evbuffer *buf,
                                 const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_added > 0 && evbuffer_get_length(buf) > 0)
        http_want_write(arg);
}

/* evhttp's bufferevent for a new connection: a socket under the framing
 * filter, which owns the connection's tracker. */
static struct bufferevent *http_bev_cb(struct event_base *base, void *arg)
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
    t->deadline = evtimer_new(base, http_deadline_cb, t);
    t->attach = event_new(base, -1, 0, http_attach_cb, t);
    t->bev = bufferevent_filter_new(sock, http_frame_cb, http_send_cb,
                                    BEV_OPT_CLOSE_ON_FREE, http_track_free, t);
    if (t->deadline == NULL || t->attach == NULL || t->bev == NULL ||
        evbuffer_add_cb(bufferevent_get_output(t->bev), http_output_added_cb,
                        t) == NULL) {
        log_error("out of memory");
        abort();
    }
    event_active(t->attach, 0, 0);
    return t->bev;
}

/* ---- replies ------------------------------------------------------- */

static void req_free(struct req *r)
{
    if (r->srv->after_reply)
        r->srv->after_reply(r);
    if (r->cleanup)
        r->cleanup(r);
    if (r->stream_abort)
        event_free(r->stream_abort);
    if (r->job)
        db_job_cancel(r->job);
    if (r->conn)
        db_release(r->conn);
    if (r->json)
        cJSON_Delete(r->json);
    if (r->query) {
        evhttp_clear_headers(r->query);
        free(r->query);
    }
    struct req_chunk *c = r->chunks;
    while (c) {
        struct req_chunk *n = c->next;
        free(c);
        c = n;
    }
    r->srv->inflight--;
    free(r);
}

const char *http_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

static const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

void req_add_header(struct req *r, const char *key, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), key, value);
}

static void http_reply_complete_cb(struct evhttp_request *ev, void *arg)
{
    struct server *srv = arg;
    struct conn_track *t =
        http_track_of(srv, evhttp_request_get_connection(ev));
    if (t && t->unflushed > 0) {
        t->unflushed--;
        srv->unflushed--;
    }
    if (t)
        http_track_arm(t);
}

/* A reply is handed to evhttp on ev's connection: the shutdown waits for
 * it until it is written out or the connection ends. */
static void http_reply_pending(struct server *srv, struct evhttp_request *ev)
{
    struct conn_track *t =
        http_track_of(srv, evhttp_request_get_connection(ev));
    if (t == NULL)
        return;
    t->unflushed++;
    srv->unflushed++;
    evhttp_request_set_on_complete_cb(ev, http_reply_complete_cb, srv);
}

void req_reply_raw(struct req *r, int status, const char *content_type,
                   const char *data, size_t len)
{
    struct server *srv = r->srv;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id",
                      r->client_id[0] ? r->client_id : r->id);
    if (evhttp_find_header(h, "Cache-Control") == NULL)
        evhttp_add_header(h, "Cache-Control", "no-store");
    if (srv->stopping)
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *buf = evbuffer_new();
    if (r->method == EVHTTP_REQ_HEAD) {
        /* The headers of the GET, without its body: evhttp would send the
         * body of a HEAD reply and no Content-Length, and the next reply
         * on the connection would be misread. */
        char n[24];
        snprintf(n, sizeof n, "%zu", len);
        evhttp_add_header(h, "Content-Length", n);
    } else if (buf && len > 0) {
        evbuffer_add(buf, data, len);
    }

    double secs = (double)(http_now_ns() - r->start_ns) / 1e9;
    metrics_observe_request(srv->metrics, r->route_index, status, secs);
    log_info("%s %s %d %.3fms %s%s%s", http_method_name(r->method),
             r->path ? r->path : "-", status, secs * 1000.0, r->id,
             r->client_id[0] ? " client-id " : "", r->client_id);

    struct evhttp_request *ev = r->ev;
    http_reply_pending(srv, ev);
    req_free(r);
    evhttp_send_reply(ev, status, http_reason(status), buf);
    if (buf)
        evbuffer_free(buf);
}

void req_reply_json(struct req *r, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body)
        cJSON_Delete(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"Out of "
            "memory.\"}}";
        req_reply_raw(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    req_reply_raw(r, status, "application/json", text, strlen(text));
    cJSON_free(text);
}

void req_reply_error(struct req *r, int status, const char *code,
                     const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", msg);
    if (field)
        cJSON_AddStringToObject(err, "field", field);
    req_reply_json(r, status, root);
}

/* ---- streaming replies -------------------------------------------- */

/*
 * A stream's context lives until req_reply_end or until the client goes.
 * libevent 2.1 detaches a request whose client failed (EOF, timeout) while
 * the reply is unfinished (evcon = NULL), frees the connection, and never
 * calls the chunk's write callback; the only notice is the connection's
 * close callback. The context therefore registers itself on the
 * connection's tracker (or, without one, as the close callback) while it
 * streams, and http_stream_gone frees it from there.
 */

static void http_stream_close_cb(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    http_stream_gone(arg);
}

/* Starts (on) or stops watching r's connection for its close. */
static void http_stream_watch(struct req *r, bool on)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    if (evcon == NULL)
        return;
    struct conn_track *t = http_track_of(r->srv, evcon);
    if (t)
        t->stream = on ? r : NULL;
    else
        evhttp_connection_set_closecb(evcon, on ? http_stream_close_cb : NULL,
                                      on ? r : NULL);
}

/* Access log and metrics of a stream, at its end. */
static void http_stream_account(struct req *r, const char *outcome)
{
    double secs = (double)(http_now_ns() - r->start_ns) / 1e9;
    metrics_observe_request(r->srv->metrics, r->route_index, r->stream_status,
                            secs);
    if (strcmp(outcome, "complete") == 0)
        log_info("%s %s %d %.3fms %s stream %" PRIu64 " bytes",
                 http_method_name(r->method), r->path ? r->path : "-",
                 r->stream_status, secs * 1000.0, r->id, r->stream_bytes);
    else
        log_warn("%s %s %d %.3fms %s stream %s after %" PRIu64 " bytes",
                 http_method_name(r->method), r->path ? r->path : "-",
                 r->stream_status, secs * 1000.0, r->id, outcome,
                 r->stream_bytes);
}

/* The client went away mid-stream: from the connection's close callback
 * (the request is detached then, or about to be freed with its connection
 * by evhttp_free at shutdown) or found detached before a send. */
static void http_stream_gone(struct req *r)
{
    struct evhttp_request *ev = r->ev;
    http_stream_account(r, "client gone");
    bool detached = evhttp_request_get_connection(ev) == NULL;
    req_free(r);
    if (detached)
        evhttp_send_reply_end(ev); /* frees a detached request */
}

static void http_stream_abort_cb(evutil_socket_t fd, short what, void *arg)
{
    struct req *r = arg;
    (void)fd;
    (void)what;
    http_stream_watch(r, false);
    http_stream_account(r, "cut short");
    struct evhttp_request *ev = r->ev;
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    req_free(r);
    if (evcon)
        evhttp_connection_free(evcon); /* frees the request with it */
    else
        evhttp_send_reply_end(ev);
}

bool req_reply_start(struct req *r, int status, const char *content_type)
{
    struct server *srv = r->srv;
    r->streaming = true;
    r->stream_status = status;
    r->stream_abort = event_new(srv->base, -1, 0, http_stream_abort_cb, r);
    if (r->stream_abort == NULL) {
        log_error("out of memory");
        abort();
    }
    if (evhttp_request_get_connection(r->ev) == NULL) {
        http_stream_gone(r);
        return false;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id",
                      r->client_id[0] ? r->client_id : r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (srv->stopping)
        evhttp_add_header(h, "Connection", "close");
    http_stream_watch(r, true);
    evhttp_send_reply_start(r->ev, status, http_reason(status));
    /* evhttp chose chunking for an HTTP/1.1 client (and said so) */
    r->stream_chunked = evhttp_find_header(h, "Transfer-Encoding") != NULL;
    req_stream_write_timeout(r, srv->cfg->http_timeout_s);
    return true;
}

/* The client sends nothing while a stream goes out (reading only notices
 * its close): evhttp's read timeout, http_timeout_s, would cut a stream
 * that waits for events, so it is off. The write timeout is re-armed by
 * the filter at every write, whether or not bytes are left: it fires when
 * nothing was written for secs, so a stream must write more often than
 * that (SSE keep-alives) and a client that takes none of its bytes is
 * cut. The deadline of the next request starts when the stream ends. */
void req_stream_write_timeout(struct req *r, int secs)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev =
        evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    r->stream_timeout_s = secs;
    if (bev) {
        struct timeval wt = {secs, 0};
        bufferevent_set_timeouts(bev, NULL, &wt);
    }
}

void req_stream_send_buffer(struct req *r, int bytes)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev =
        evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd >= 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0)
        log_debug("http: SO_SNDBUF: %s", strerror(errno));
}

size_t req_stream_pending(struct req *r)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev =
        evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void http_stream_flushed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct req *r = arg;
    (void)evcon;
    void (*flushed)(struct req *) = r->stream_flushed;
    if (flushed == NULL)
        return; /* a second drain notice for the same chunk */
    r->stream_flushed = NULL;
    flushed(r);
}

/* The straight path of req_reply_chunk, for a stream with nothing
 * waiting to go out: true when the chunk was written (what the socket did
 * not take is queued behind, and goes out as usual), false when nothing
 * was (the caller then queues it all). Bypassing evhttp here is safe: it
 * looks at the output only to learn when it has drained, which the bytes
 * queued behind report as its own would. */
static bool http_stream_write_now(struct req *r,
                                  struct evhttp_connection *evcon,
                                  const char *data, size_t len)
{
    struct conn_track *t = http_track_of(r->srv, evcon);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (t == NULL || t->closed || bev == NULL ||
        evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return false;
    char head[24];
    int hlen =
        r->stream_chunked ? snprintf(head, sizeof head, "%zx\r\n", len) : 0;
    /* iovec wants void *; sendmsg does not write through it */
    struct iovec iov[3] = {
        {head, (size_t)hlen},
        {(void *)(uintptr_t)data, len},
        {(void *)(uintptr_t) "\r\n", r->stream_chunked ? 2 : 0},
    };
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 3};
    ssize_t n = sendmsg(t->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0)
        return false; /* full, or gone: the buffer and the events see to it */
    /* written, as the filter would have: the write timeout starts again */
    struct timeval wt = {r->stream_timeout_s, 0};
    bufferevent_set_timeouts(bev, NULL, &wt);
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t done = (size_t)n;
    for (int i = 0; i < 3; i++) {
        size_t skip = done < iov[i].iov_len ? done : iov[i].iov_len;
        done -= skip;
        if (iov[i].iov_len > skip &&
            evbuffer_add(out, (const char *)iov[i].iov_base + skip,
                         iov[i].iov_len - skip) != 0) {
            log_error("out of memory");
            abort();
        }
    }
    return true;
}

bool req_reply_chunk(struct req *r, const char *data, size_t len,
                     void (*flushed)(struct req *r))
{
    if (evhttp_request_get_connection(r->ev) == NULL) {
        http_stream_gone(r);
        return false;
    }
    if (r->method == EVHTTP_REQ_HEAD) {
        /* evhttp drops body data for HEAD and would never call back */
        req_reply_end(r, true);
        return false;
    }
    if (flushed == NULL &&
        http_stream_write_now(r, evhttp_request_get_connection(r->ev), data,
                              len)) {
        r->stream_bytes += len;
        return true;
    }
    struct evbuffer *b = evbuffer_new();
    if (b == NULL || evbuffer_add(b, data, len) != 0) {
        log_error("out of memory");
        abort();
    }
    r->stream_bytes += len;
    r->stream_flushed = flushed;
    evhttp_send_reply_chunk_with_cb(r->ev, b, http_stream_flushed_cb, r);
    evbuffer_free(b);
    return true;
}

void req_reply_end(struct req *r, bool complete)
{
    if (!complete) {
        /* Not from inside a libevent callback of this connection: the
         * connection is freed on the next loop turn. */
        r->stream_flushed = NULL;
        event_active(r->stream_abort, 0, 0);
        return;
    }
    struct server *srv = r->srv;
    http_stream_watch(r, false);
    http_stream_account(r, "complete");
    struct evhttp_request *ev = r->ev;
    http_reply_pending(srv, ev);
    req_free(r);
    evhttp_send_reply_end(ev);
}

/* ---- helpers for handlers ----------------------------------------- */

const char *req_query(struct req *r, const char *key)
{
    return r->query ? evhttp_find_header(r->query, key) : NULL;
}

const char *req_header(struct req *r, const char *key)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), key);
}

cJSON *req_json_object(struct req *r)
{
    if (r->body == NULL) {
        req_reply_error(r, 400, "invalid_json", NULL,
                        "The request needs a JSON object body.");
        return NULL;
    }
    struct json_parse_error err;
    cJSON *root = json_parse_strict(r->body, r->body_len, &err);
    if (root == NULL) {
        req_reply_error(r, 400, "invalid_json", NULL,
                        "The body is not valid JSON: %s.", err.message);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        req_reply_error(r, 400, "invalid_json", NULL,
                        "The body must be a JSON object.");
        return NULL;
    }
    r->json = root;
    return root;
}

bool req_json_none(struct req *r)
{
    if (r->body == NULL)
        return true;
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return false;
    static const char *const none[] = {NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, none);
    return req_fields_ok(r, &jf);
}

bool req_fields_ok(struct req *r, const struct jfields *jf)
{
    if (jfields_ok(jf))
        return true;
    req_reply_error(r, 400, "invalid_field", jf->field, "%s", jf->message);
    return false;
}

/* ---- the request callback ------------------------------------------ */

static bool http_request_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static void http_make_request_id(char out[33])
{
    static uint64_t prefix, counter;
    if (prefix == 0 && RAND_bytes((unsigned char *)&prefix, sizeof prefix) != 1)
        prefix = (uint64_t)getpid() << 32 | (uint64_t)time(NULL);
    counter++;
    snprintf(out, 33, "%08" PRIx32 "%08" PRIx64, (uint32_t)(prefix >> 32),
             (prefix + counter) & 0xffffffffu);
}

/* Size of the request line and headers as received, near enough. */
static size_t http_header_bytes(struct evhttp_request *ev)
{
    const char *uri = evhttp_request_get_uri(ev);
    size_t n = (uri ? strlen(uri) : 0) + 16;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ev), next)
    n += strlen(kv->key) + strlen(kv->value) + 4;
    return n;
}

/* Our limits, in the API's envelope; true when it replied. */
static bool http_check_limits(struct req *r)
{
    const struct config *cfg = r->srv->cfg;
    if (http_header_bytes(r->ev) > (size_t)cfg->http_max_header_bytes) {
        req_add_header(r, "Connection", "close");
        req_reply_error(r, 431, "headers_too_large", NULL,
                        "The request headers exceed %d bytes.",
                        cfg->http_max_header_bytes);
        return true;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    if (evbuffer_get_length(in) > (size_t)cfg->http_max_body_bytes) {
        req_add_header(r, "Connection", "close");
        req_reply_error(r, 413, "payload_too_large", NULL,
                        "The body exceeds %d bytes.", cfg->http_max_body_bytes);
        return true;
    }
    return false;
}

static void http_request_cb(struct evhttp_request *ev, void *arg)
{
    struct server *srv = arg;
    struct req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        evhttp_send_error(ev, 503, "Service Unavailable");
        return;
    }
    srv->inflight++;
    r->srv = srv;
    r->ev = ev;
    r->start_ns = http_now_ns();
    r->method = evhttp_request_get_command(ev);
    r->route_index = SIZE_MAX;
    http_make_request_id(r->id);
    const char *rid = req_header(r, "X-Request-Id");
    if (rid && http_request_id_valid(rid))
        snprintf(r->client_id, sizeof r->client_id, "%s", rid);

    struct conn_track *t =
        http_track_of(srv, evhttp_request_get_connection(ev));
    if (t) {
        event_del(t->deadline); /* read whole: the deadline is met */
        if (++t->requests == t->bad_seq) {
            /* the stand-in of a request that broke the framing */
            req_add_header(r, "Connection", "close");
            req_reply_error(r, t->frame.error_status, t->frame.error_code, NULL,
                            "Malformed HTTP request: %s.",
                            t->frame.error_message);
            return;
        }
    }

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    if (uri == NULL) {
        req_reply_error(r, 400, "bad_request", NULL, "Malformed request URI.");
        return;
    }
    if (http_check_limits(r))
        return;
    const char *path = evhttp_uri_get_path(uri);
    r->path = req_strdup(r, path && *path ? path : "/");
    const char *qs = evhttp_uri_get_query(uri);
    if (qs) {
        r->query = calloc(1, sizeof *r->query);
        if (r->query == NULL || evhttp_parse_query_str(qs, r->query) != 0) {
            req_reply_error(r, 400, "invalid_field", NULL,
                            "The query string is malformed.");
            return;
        }
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    size_t len = evbuffer_get_length(in);
    if (len > 0) {
        char *body = req_alloc(r, len + 1);
        evbuffer_copyout(in, body, len);
        body[len] = '\0';
        r->body = body;
        r->body_len = len;
    }

    dispatch_request(r);
}

/* ---- start and stop ------------------------------------------------ */

bool http_start(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    struct rlimit rl;
    srv->ntracks = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)srv->ntracks)
        srv->ntracks = (int)rl.rlim_cur;
    srv->tracks = calloc((size_t)srv->ntracks, sizeof *srv->tracks);
    srv->http = evhttp_new(srv->base);
    if (srv->tracks == NULL || srv->http == NULL) {
        log_error("http: out of memory");
        return false;
    }
    /* evhttp answers its own limits with an HTML page, so it gets wider
     * ones: the framing filter answers beyond HTTP_HARD_LIMIT_FACTOR times
     * ours (431, 413) before evhttp sees the request, and http_request_cb
     * enforces ours; evhttp's own, twice the filter's, are never reached. */
    evhttp_set_max_headers_size(srv->http,
                                (ev_ssize_t)cfg->http_max_header_bytes *
                                    HTTP_HARD_LIMIT_FACTOR * 2);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->http_max_body_bytes *
                                            HTTP_HARD_LIMIT_FACTOR * 2);
    evhttp_set_timeout(srv->http, cfg->http_timeout_s);
    evhttp_set_allowed_methods(
        srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                       EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(srv->http, "application/json");
    evhttp_set_bevcb(srv->http, http_bev_cb, srv);
    evhttp_set_gencb(srv->http, http_request_cb, srv);
    srv->sock = evhttp_bind_socket_with_handle(srv->http, cfg->listen_host,
                                               (ev_uint16_t)cfg->listen_port);
    if (srv->sock == NULL) {
        log_error("http: cannot listen on %s:%d: %s", cfg->listen_host,
                  cfg->listen_port, strerror(errno));
        return false;
    }
    log_info("listening on %s:%d", cfg->listen_host, cfg->listen_port);
    return true;
}

static void http_stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    uint64_t waited_ms = (http_now_ns() / 1000000u) - srv->stop_started_ms;
    if (srv->inflight == 0 && srv->unflushed <= 0) {
        log_info("shutdown: no request in flight, exiting");
        event_base_loopexit(srv->base, NULL);
    } else if (waited_ms >= (uint64_t)srv->cfg->shutdown_grace_s * 1000u) {
        log_warn("shutdown: %d requests still in flight after %d s, exiting",
                 srv->inflight, srv->cfg->shutdown_grace_s);
        event_base_loopexit(srv->base, NULL);
    }
}

void http_begin_shutdown(struct server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    srv->stop_started_ms = http_now_ns() / 1000000u;
    log_info("shutdown: stop accepting, %d requests in flight", srv->inflight);
    if (srv->sock) {
        evhttp_del_accept_socket(srv->http, srv->sock);
        srv->sock = NULL;
    }
    srv->stop_timer =
        event_new(srv->base, -1, EV_PERSIST, http_stop_check_cb, srv);
    struct timeval tv = {0, 20 * 1000};
    if (srv->stop_timer)
        event_add(srv->stop_timer, &tv);
    else
        event_base_loopexit(srv->base, NULL);
}

void http_stop(struct server *srv)
{
    if (srv->http) {
        evhttp_free(srv->http);
        srv->http = NULL;
    }
    /* evhttp_free ran every close callback, which freed the trackers. */
    free(srv->tracks);
    srv->tracks = NULL;
    if (srv->stop_timer) {
        event_free(srv->stop_timer);
        srv->stop_timer = NULL;
    }
}
