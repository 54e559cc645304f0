/*
 * stream.c - streaming replies (http.h): the headers first, then chunks as
 * the handler makes them, then the end; a client that goes away frees the
 * stream.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http/stream.h"

#include "config/config.h"
#include "http/conn.h"
#include "http/metrics.h"
#include "lib/clock.h"
#include "lib/log.h"

/*
 * A stream's context lives until stream_end or until the client goes.
 * libevent 2.1 detaches a request whose client failed (EOF, timeout) while
 * the reply is unfinished (evcon = NULL), frees the connection, and never
 * calls the chunk's write callback; the only notice is the connection's
 * close callback. The context therefore registers itself on the
 * connection's tracker (or, without one, as the close callback) while it
 * streams, and stream_gone frees it from there.
 */

static void stream_gone(struct req *r);

static void stream_close_cb(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    stream_gone(arg);
}

/* Starts (on) or stops watching r's connection for its close. */
static void stream_watch(struct req *r, bool on)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    if (evcon == NULL)
        return;
    struct conn_track *t = conn_of(r->srv, evcon);
    if (t) {
        t->stream = on ? r : NULL;
        t->stream_gone = stream_gone;
    } else
        evhttp_connection_set_closecb(evcon, on ? stream_close_cb : NULL,
                                      on ? r : NULL);
}

/* Access log and metrics of a stream, at its end. */
static void stream_account(struct req *r, const char *outcome)
{
    double secs = (double)(clock_now_ns() - r->start_ns) / 1e9;
    metrics_observe_request(r->srv->metrics, r->route_index, r->stream_status,
                            secs);
    if (strcmp(outcome, "complete") == 0)
        log_info("%s %s %d %.3fms %s stream %" PRIu64 " bytes",
                 req_method_name(r->method), r->path ? r->path : "-",
                 r->stream_status, secs * 1000.0, r->id, r->stream_bytes);
    else
        log_warn("%s %s %d %.3fms %s stream %s after %" PRIu64 " bytes",
                 req_method_name(r->method), r->path ? r->path : "-",
                 r->stream_status, secs * 1000.0, r->id, outcome,
                 r->stream_bytes);
}

/* The client went away mid-stream: from the connection's close callback
 * (the request is detached then, or about to be freed with its connection
 * by evhttp_free at shutdown) or found detached before a send. */
static void stream_gone(struct req *r)
{
    struct evhttp_request *ev = r->ev;
    stream_account(r, "client gone");
    bool detached = evhttp_request_get_connection(ev) == NULL;
    req_free(r);
    if (detached)
        evhttp_send_reply_end(ev); /* frees a detached request */
}

static void stream_abort_cb(evutil_socket_t fd, short what, void *arg)
{
    struct req *r = arg;
    (void)fd;
    (void)what;
    stream_watch(r, false);
    stream_account(r, "cut short");
    struct evhttp_request *ev = r->ev;
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    req_free(r);
    if (evcon)
        evhttp_connection_free(evcon); /* frees the request with it */
    else
        evhttp_send_reply_end(ev);
}

bool stream_start(struct req *r, int status, const char *content_type)
{
    struct server *srv = r->srv;
    r->streaming = true;
    r->stream_status = status;
    r->stream_abort = event_new(srv->base, -1, 0, stream_abort_cb, r);
    if (r->stream_abort == NULL) {
        log_error("out of memory");
        abort();
    }
    if (evhttp_request_get_connection(r->ev) == NULL) {
        stream_gone(r);
        return false;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id",
                      r->client_id[0] ? r->client_id : r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (srv->stopping)
        evhttp_add_header(h, "Connection", "close");
    stream_watch(r, true);
    evhttp_send_reply_start(r->ev, status, req_status_reason(status));
    /* evhttp chose chunking for an HTTP/1.1 client (and said so) */
    r->stream_chunked = evhttp_find_header(h, "Transfer-Encoding") != NULL;
    stream_write_timeout(r, srv->cfg->http_timeout_s);
    return true;
}

/* The client sends nothing while a stream goes out (reading only notices
 * its close): evhttp's read timeout, http_timeout_s, would cut a stream
 * that waits for events, so it is off. The write timeout is re-armed by
 * the filter at every write, whether or not bytes are left: it fires when
 * nothing was written for secs, so a stream must write more often than
 * that (SSE keep-alives) and a client that takes none of its bytes is
 * cut. The deadline of the next request starts when the stream ends. */
void stream_write_timeout(struct req *r, int secs)
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

void stream_send_buffer(struct req *r, int bytes)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev =
        evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd >= 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0)
        log_debug("http: SO_SNDBUF: %s", strerror(errno));
}

size_t stream_pending(struct req *r)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev =
        evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

bool stream_taken(struct req *r, uint64_t *acked, size_t *untaken)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    struct bufferevent *bev =
        evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return false;
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int queued = 0;
    memset(&ti, 0, sizeof ti);
    /* a kernel too old for tcpi_bytes_acked answers a shorter struct */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) +
                  sizeof ti.tcpi_bytes_acked ||
        ioctl(fd, TIOCOUTQ, &queued) != 0)
        return false;
    *acked = ti.tcpi_bytes_acked;
    *untaken = evbuffer_get_length(bufferevent_get_output(bev)) +
               (size_t)(queued > 0 ? queued : 0);
    return true;
}

static void stream_flushed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct req *r = arg;
    (void)evcon;
    void (*flushed)(struct req *) = r->stream_flushed;
    if (flushed == NULL)
        return; /* a second drain notice for the same chunk */
    r->stream_flushed = NULL;
    flushed(r);
}

/* The straight path of stream_chunk, for a stream with nothing
 * waiting to go out: true when the chunk was written (what the socket did
 * not take is queued behind, and goes out as usual), false when nothing
 * was (the caller then queues it all). Bypassing evhttp here is safe: it
 * looks at the output only to learn when it has drained, which the bytes
 * queued behind report as its own would. */
static bool stream_write_now(struct req *r, struct evhttp_connection *evcon,
                             const char *data, size_t len)
{
    struct conn_track *t = conn_of(r->srv, evcon);
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

bool stream_chunk(struct req *r, const char *data, size_t len,
                  void (*flushed)(struct req *r))
{
    if (evhttp_request_get_connection(r->ev) == NULL) {
        stream_gone(r);
        return false;
    }
    if (r->method == EVHTTP_REQ_HEAD) {
        /* evhttp drops body data for HEAD and would never call back */
        stream_end(r, true);
        return false;
    }
    if (flushed == NULL &&
        stream_write_now(r, evhttp_request_get_connection(r->ev), data, len)) {
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
    evhttp_send_reply_chunk_with_cb(r->ev, b, stream_flushed_cb, r);
    evbuffer_free(b);
    return true;
}

void stream_end(struct req *r, bool complete)
{
    if (!complete) {
        /* Not from inside a libevent callback of this connection: the
         * connection is freed on the next loop turn. */
        r->stream_flushed = NULL;
        event_active(r->stream_abort, 0, 0);
        return;
    }
    struct server *srv = r->srv;
    stream_watch(r, false);
    stream_account(r, "complete");
    struct evhttp_request *ev = r->ev;
    conn_reply_pending(srv, ev);
    req_free(r);
    evhttp_send_reply_end(ev);
}
