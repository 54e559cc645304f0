/*
 * outhttp.c - libcurl multi driven by libevent (outhttp.h).
 *
 * The usual wiring: curl tells us, per socket, what to wait for
 * (sock_cb) and when to call it back for its own timeouts (timer_cb);
 * libevent events call curl_multi_socket_action, and finished transfers
 * are collected with curl_multi_info_read after each action. curl is
 * never called back into from inside its own callbacks: timer_cb only
 * arms a libevent timer, even for a timeout of 0.
 */
#include "out/outhttp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/log.h"

struct outhttp {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int running;
    int inflight;
    struct outhttp_job *jobs; /* in flight, for outhttp_free */
};

struct outhttp_job {
    struct outhttp *oh;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *resolve;
    outhttp_done_cb *cb;
    void *arg;
    size_t got, max;
    bool capped;
    bool elsewhere; /* a socket to another address than addr was refused */
    int family;     /* addr: AF_INET (4 bytes) or AF_INET6 (16) */
    unsigned char addr[16];
    struct timespec started;
    char errbuf[CURL_ERROR_SIZE]; /* the log's, never a caller's */
    struct outhttp_job *prev, *next;
};

struct outhttp_sock {
    struct event *ev;
};

static int outhttp_curl_ready = -1;

static void job_unlink(struct outhttp_job *j)
{
    struct outhttp *oh = j->oh;
    if (j->prev)
        j->prev->next = j->next;
    else
        oh->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void job_free(struct outhttp_job *j)
{
    curl_multi_remove_handle(j->oh->multi, j->easy);
    curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    curl_slist_free_all(j->resolve);
    free(j);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 +
                  (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

enum outhttp_error outhttp_error_class(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return OUTHTTP_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return OUTHTTP_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return OUTHTTP_REFUSED;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return OUTHTTP_TLS;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return OUTHTTP_TOO_LARGE;
    default:
        return OUTHTTP_FAILED;
    }
}

const char *outhttp_error_text(enum outhttp_error e)
{
    switch (e) {
    case OUTHTTP_OK:
        return "ok";
    case OUTHTTP_TIMEOUT:
        return "timeout";
    case OUTHTTP_REFUSED:
        return "connection refused";
    case OUTHTTP_TLS:
        return "TLS failure";
    case OUTHTTP_TOO_LARGE:
        return "response too large";
    case OUTHTTP_ADDRESS:
        return "address not allowed";
    case OUTHTTP_FAILED:
        return "connection failed";
    }
    return "connection failed";
}

/* Hands every finished transfer to its callback. */
static void check_done(struct outhttp *oh)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(oh->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct outhttp_job *j = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        if (j == NULL)
            continue;
        CURLcode rc = msg->data.result;
        long status = 0;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
        enum outhttp_error error = OUTHTTP_OK;
        if (j->capped) {
            /* the status came back whole: a 2xx is an answer */
            if (status < 200 || status > 299)
                error = OUTHTTP_TOO_LARGE;
        } else if (j->elsewhere) {
            error = OUTHTTP_ADDRESS;
            log_warn("outhttp: curl meant to connect to another address than "
                     "the checked one: refused");
        } else if (rc != CURLE_OK) {
            error = outhttp_error_class(rc);
            log_debug("outhttp: %s%s%s", curl_easy_strerror(rc),
                      j->errbuf[0] ? ": " : "", j->errbuf);
            if (rc == CURLE_OPERATION_TIMEDOUT)
                status = 0; /* a status line without a whole reply */
        }
        long ms = elapsed_ms(&j->started);
        outhttp_done_cb *cb = j->cb;
        void *arg = j->arg;
        job_unlink(j);
        oh->inflight--;
        job_free(j);
        cb(arg, status, error, ms);
    }
}

static void event_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct outhttp *oh = arg;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
                 ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(oh->multi, fd, action, &oh->running);
    check_done(oh);
}

static void timer_fire_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct outhttp *oh = arg;
    (void)fd;
    (void)kind;
    curl_multi_socket_action(oh->multi, CURL_SOCKET_TIMEOUT, 0, &oh->running);
    check_done(oh);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp,
                   void *socketp)
{
    struct outhttp *oh = userp;
    struct outhttp_sock *hs = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (hs) {
            event_free(hs->ev);
            free(hs);
        }
        curl_multi_assign(oh->multi, s, NULL);
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (hs == NULL) {
        hs = calloc(1, sizeof *hs);
        if (hs == NULL)
            return -1;
        curl_multi_assign(oh->multi, s, hs);
    } else {
        event_free(hs->ev);
    }
    hs->ev = event_new(oh->base, s, kind, event_cb, oh);
    if (hs->ev == NULL || event_add(hs->ev, NULL) != 0)
        return -1;
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct outhttp *oh = userp;
    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(oh->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    return evtimer_add(oh->timer, &tv) == 0 ? 0 : -1;
}

/* Every socket curl opens: only to the address the caller checked. A
 * name that curl turned into another (an internationalised one in a
 * UTF-8 locale, say) would miss the pin and be looked up again; here that
 * connection is refused instead of made. */
static curl_socket_t opensocket_cb(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *a)
{
    struct outhttp_job *j = clientp;
    bool same = false;
    if (purpose == CURLSOCKTYPE_IPCXN && a->family == j->family) {
        if (a->family == AF_INET) {
            const struct sockaddr_in *in = (const void *)&a->addr;
            same = memcmp(&in->sin_addr, j->addr, 4) == 0;
        } else if (a->family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const void *)&a->addr;
            same = memcmp(&in6->sin6_addr, j->addr, 16) == 0;
        }
    }
    if (!same) {
        j->elsewhere = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* Reads the body up to the cap; beyond it the transfer is cut. */
static size_t write_cb(char *ptr, size_t size, size_t n, void *userdata)
{
    struct outhttp_job *j = userdata;
    (void)ptr;
    size_t len = size * n;
    if (j->got + len > j->max) {
        j->capped = true;
        return 0;
    }
    j->got += len;
    return len;
}

struct outhttp *outhttp_new(struct event_base *base)
{
    if (outhttp_curl_ready < 0)
        outhttp_curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == 0;
    if (!outhttp_curl_ready)
        return NULL;
    struct outhttp *oh = calloc(1, sizeof *oh);
    if (oh == NULL)
        return NULL;
    oh->base = base;
    oh->multi = curl_multi_init();
    oh->timer = evtimer_new(base, timer_fire_cb, oh);
    if (oh->multi == NULL || oh->timer == NULL) {
        outhttp_free(oh);
        return NULL;
    }
    curl_multi_setopt(oh->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(oh->multi, CURLMOPT_SOCKETDATA, oh);
    curl_multi_setopt(oh->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(oh->multi, CURLMOPT_TIMERDATA, oh);
    /* No per-host cap here: a transfer queued inside curl behind a slow
     * receiver's other requests would spend its timeout waiting and count
     * as a failed attempt without ever being sent. The caller bounds the
     * requests in flight (webhooks.concurrency). Idle connections are kept
     * for reuse. */
    curl_multi_setopt(oh->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(oh->multi, CURLMOPT_MAXCONNECTS, 64L);
    return oh;
}

void outhttp_free(struct outhttp *oh)
{
    if (oh == NULL)
        return;
    while (oh->jobs) {
        struct outhttp_job *j = oh->jobs;
        job_unlink(j);
        job_free(j);
    }
    if (oh->multi)
        curl_multi_cleanup(oh->multi); /* closes sockets: sock_cb REMOVE */
    if (oh->timer)
        event_free(oh->timer);
    free(oh);
}

int outhttp_inflight(const struct outhttp *oh)
{
    return oh->inflight;
}

struct outhttp_job *outhttp_post(struct outhttp *oh,
                                 const struct outhttp_request *rq,
                                 outhttp_done_cb *cb, void *arg)
{
    struct outhttp_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->oh = oh;
    j->cb = cb;
    j->arg = arg;
    j->max = rq->max_response;
    j->family = strchr(rq->addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(j->family, rq->addr, j->addr) != 1) {
        free(j);
        return NULL;
    }
    j->easy = curl_easy_init();
    if (j->easy == NULL) {
        free(j);
        return NULL;
    }
    /* "host:port:address", an IPv6 address in brackets; a literal host
     * is its own address (and an IPv6 one has no form there) */
    bool ok = true;
    if (!rq->literal) {
        char pin[512];
        snprintf(pin, sizeof pin,
                 j->family == AF_INET6 ? "%s:%d:[%s]" : "%s:%d:%s", rq->host,
                 rq->port, rq->addr);
        ok = (j->resolve = curl_slist_append(NULL, pin)) != NULL;
    }
    for (const char *const *h = rq->headers; ok && *h; h++) {
        struct curl_slist *n = curl_slist_append(j->headers, *h);
        ok = n != NULL;
        if (ok)
            j->headers = n;
    }
    if (ok) {
        /* no "Expect: 100-continue" round trip */
        struct curl_slist *n = curl_slist_append(j->headers, "Expect:");
        ok = n != NULL;
        if (ok)
            j->headers = n;
    }
    long connect_ms = rq->timeout_ms < 10000 ? rq->timeout_ms : 10000;
    CURL *e = j->easy;
    ok = ok && curl_easy_setopt(e, CURLOPT_URL, rq->url) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_RESOLVE, j->resolve) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)rq->body_len) ==
             CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_USERAGENT, "groupbuyd-webhooks/1") ==
             CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) ==
             CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_WRITEDATA, j) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb) ==
             CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j) == CURLE_OK &&
         curl_easy_setopt(e, CURLOPT_PRIVATE, j) == CURLE_OK;
    if (!ok) {
        curl_easy_cleanup(j->easy);
        curl_slist_free_all(j->headers);
        curl_slist_free_all(j->resolve);
        free(j);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &j->started);
    if (curl_multi_add_handle(oh->multi, e) != CURLM_OK) {
        curl_easy_cleanup(j->easy);
        curl_slist_free_all(j->headers);
        curl_slist_free_all(j->resolve);
        free(j);
        return NULL;
    }
    j->next = oh->jobs;
    if (oh->jobs)
        oh->jobs->prev = j;
    oh->jobs = j;
    oh->inflight++;
    return j;
}
