/*
 * outhttp.h - outbound HTTP requests on the event loop: libcurl's multi
 * interface driven by libevent (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION), so that a slow receiver never blocks the loop.
 *
 * Every request is made the careful way: TLS verified (peer and host
 * name), no redirects followed, http and https only, no proxy from the
 * environment, a connect and a total timeout, a cap on the response body
 * read (beyond it the transfer is cut), and the connection made to the
 * address the caller gives: CURLOPT_RESOLVE pins the URL's host name to
 * it (a literal address needs no pin: curl looks nothing up), and every
 * socket curl opens is checked against it (CURLOPT_OPENSOCKETFUNCTION), so
 * that whatever name curl ends up connecting to, it connects to that
 * address or not at all. Connections are kept alive and reused between
 * requests to the same host.
 *
 * A failure is reported as a class (timeout, refused, TLS...), never in
 * curl's words: those would show a receiver's owner more of a host than
 * whether it took the request.
 */
#ifndef GROUPBUYD_OUTHTTP_H
#define GROUPBUYD_OUTHTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct outhttp;
struct outhttp_job;

struct outhttp_request {
    const char *url;
    const char *host;           /* the URL's host, brackets removed */
    int port;                   /* the URL's port (default filled in) */
    bool literal;               /* host is an address (no pin needed) */
    const char *addr;           /* numeric address to connect to */
    const char *const *headers; /* "Name: value", NULL-terminated */
    const char *body;
    size_t body_len;
    long timeout_ms;     /* whole transfer; the connect part is capped too */
    size_t max_response; /* bytes of body read at most */
};

/* Why a transfer did not complete. */
enum outhttp_error {
    OUTHTTP_OK = 0,    /* a complete exchange, whatever its status */
    OUTHTTP_TIMEOUT,   /* no whole answer in time */
    OUTHTTP_REFUSED,   /* no connection: refused, unreachable */
    OUTHTTP_TLS,       /* the TLS handshake or the certificate */
    OUTHTTP_TOO_LARGE, /* the answer passed max_response */
    OUTHTTP_ADDRESS,   /* curl meant to connect elsewhere than addr */
    OUTHTTP_FAILED,    /* anything else: reset, not HTTP, ... */
};

/* The class of a CURLcode (an int here: no curl header for callers). */
enum outhttp_error outhttp_error_class(int curl_code);

/* A few words for the class ("timeout"), as a delivery log shows it. */
const char *outhttp_error_text(enum outhttp_error e);

/* status: the HTTP status, 0 when none came back; error: OUTHTTP_OK on a
 * complete exchange, else its class. A response cut at max_response keeps
 * its status; error says so unless the status is a 2xx (the receiver
 * answered). */
typedef void outhttp_done_cb(void *arg, long status, enum outhttp_error error,
                             long duration_ms);

struct outhttp *outhttp_new(struct event_base *base)
    __attribute__((warn_unused_result));
/* Aborts every transfer in flight; their callbacks are not called. */
void outhttp_free(struct outhttp *oh);

/* Starts a POST; cb runs later on the loop, never from inside this call.
 * NULL when it cannot start (cb will not run). */
struct outhttp_job *outhttp_post(struct outhttp *oh,
                                 const struct outhttp_request *rq,
                                 outhttp_done_cb *cb, void *arg)
    __attribute__((warn_unused_result));

/* Transfers in flight. */
int outhttp_inflight(const struct outhttp *oh);

#endif
