/*
 * http.c - the server: evhttp on one event base, each request read into
 * its context and handed to the dispatcher, and graceful shutdown.
 *
 * Limits: evhttp answers the limits it enforces itself with an HTML page, so
 * it gets limits 16 times wider than ours and we enforce ours here, in the
 * API's envelope: 431 for headers, 413 payload_too_large for bodies.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"

#include "config/config.h"
#include "http/conn.h"
#include "http/dispatch.h"
#include "http/metrics.h"
#include "http/request.h"
#include "lib/clock.h"
#include "lib/log.h"

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
    r->start_ns = clock_now_ns();
    r->method = evhttp_request_get_command(ev);
    r->route_index = SIZE_MAX;
    http_make_request_id(r->id);
    const char *rid = req_header(r, "X-Request-Id");
    if (rid && http_request_id_valid(rid))
        snprintf(r->client_id, sizeof r->client_id, "%s", rid);

    struct conn_track *t = conn_of(srv, evhttp_request_get_connection(ev));
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
    evhttp_set_bevcb(srv->http, conn_bev_cb, srv);
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
    uint64_t waited_ms = (clock_now_ns() / 1000000u) - srv->stop_started_ms;
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
    srv->stop_started_ms = clock_now_ns() / 1000000u;
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
