/*
 * http.h - the server: evhttp on one event base, the request context,
 * replies in the error envelope of API.md, and graceful shutdown.
 *
 * A request context (struct req) is created for every request that reaches
 * the router and owns everything the request allocates: arena memory, the
 * parsed JSON body, a database job or borrowed connection. The handler (or
 * one of its callbacks) answers exactly once with a req_reply_* function,
 * which sends the reply, writes the access-log line, counts the metrics and
 * frees the context. Nothing may touch the context after replying. If the
 * client has gone, libevent frees the detached request when we reply.
 */
#ifndef GROUPBUYD_HTTP_H
#define GROUPBUYD_HTTP_H

#include <cJSON.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "db/db.h"
#include "http/principal.h"

struct event;
struct req;
struct route;
struct req_chunk;
struct metrics;
struct workpool;

/* The transport and what every request may reach: the settings, the
 * database pools and the worker pool. The application's hub (app.h)
 * embeds it and adds what the layers above the transport own. */
struct server {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    const struct config *cfg;
    struct db_pool *db;
    /* The read pool (read_database_url), or NULL: reach it through
     * db_pool_for_read(srv->db, srv->db_read), which falls back. */
    struct db_pool *db_read;
    struct workpool *work;
    struct metrics *metrics;
    struct event *stop_timer;
    /* Hooks, set by main.c before http_start, so that the transport
     * depends on nothing above it: authorize(r) names the principal of a
     * request for a route that is not public and runs its handler, or
     * answers (http/dispatch.h); after_reply(r), if set, runs once r has
     * answered, before the context is freed and before any later request. */
    void (*authorize)(struct req *r);
    void (*after_reply)(struct req *r);
    struct conn_track **tracks; /* by fd: request-read deadlines */
    int ntracks;
    int inflight;  /* live request contexts */
    int unflushed; /* replies not yet written out */
    bool stopping;
    uint64_t stop_started_ms;
};

#define REQ_MAX_PARAMS 4
#define REQ_ARENA0     256

struct req {
    struct server *srv;
    struct evhttp_request *ev;
    enum evhttp_cmd_type method;
    const char *path;          /* raw path, without the query */
    struct evkeyvalq *query;   /* parsed query string */
    const struct route *route; /* set by the dispatch hook */
    size_t route_index;        /* its index for the metrics; SIZE_MAX: none */
    int64_t params[REQ_MAX_PARAMS]; /* {id} segments, in order */
    /* The server's own id of the request: logs, and the request_id of
     * audit rows. Never the client's: a client could make it collide
     * with another request's or plant text in the audit trail. */
    char id[33];
    /* The client's X-Request-Id when well formed (1-32 of [A-Za-z0-9._-]),
     * else "": echoed in the reply's X-Request-Id and logged beside id. */
    char client_id[33];
    uint64_t start_ns;
    const char *body; /* NUL-terminated copy; NULL when empty */
    size_t body_len;
    cJSON *json;              /* parsed body, owned */
    struct db_job *job;       /* the statement in flight, if any */
    db_result_cb *db_cb;      /* its callback (req_query_db) */
    struct db_conn *conn;     /* borrowed connection, if any */
    struct req_chunk *chunks; /* arena */
    void *state;              /* the handler's own, from the arena */
    struct principal who;     /* set by the authoriser (dispatch.h) */
    struct idem *idem;        /* set by idem_begin */
    /* Called once when the context is freed (any reply, or the client
     * leaving a stream): frees what the handler allocated outside the
     * arena. */
    void (*cleanup)(struct req *r);
    /* streaming replies (req_reply_start), see below */
    bool streaming;
    int stream_status;
    uint64_t stream_bytes;
    void (*stream_flushed)(struct req *r);
    struct event *stream_abort; /* defers req_reply_end(r, false) */
    bool stream_chunked;        /* chunked transfer encoding (HTTP/1.1) */
    int stream_timeout_s;       /* the write timeout (req_stream_...) */
    /* The arena's first bytes, in the request itself: most requests need
     * little beside their body, and a stream, which lives for hours, then
     * holds no 4 KB chunk for its path and its state. */
    size_t arena0_used;
    max_align_t arena0[REQ_ARENA0 / sizeof(max_align_t)];
};

/* Starts listening; false (with a logged reason) on failure. */
bool http_start(struct server *srv) __attribute__((warn_unused_result));
/* Stops accepting, lets in-flight requests finish (grace period), then
 * breaks the loop. Safe to call more than once. */
void http_begin_shutdown(struct server *srv);
void http_stop(struct server *srv);

/* Arena memory that lives until the reply. Never NULL: on allocation
 * failure the process cannot answer anyway and aborts. */
void *req_alloc(struct req *r, size_t n);
char *req_strdup(struct req *r, const char *s);
char *req_printf(struct req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "GET", "POST", ... */
const char *http_method_name(enum evhttp_cmd_type m);

/* Query parameter or NULL. */
const char *req_query(struct req *r, const char *key);
/* Header or NULL. */
const char *req_header(struct req *r, const char *key);

/* Parses the body as a JSON object with the strict parser. On failure it
 * has already replied 400 invalid_json and returns NULL: just return. */
cJSON *req_json_object(struct req *r) __attribute__((warn_unused_result));

/* For routes that take no body (publish, cancel, withdraw, logout...): no
 * body or an empty JSON object passes; anything else has been answered
 * (400 invalid_json, or invalid_field naming an unknown member) and false
 * is returned, so that a garbled request changes nothing. */
bool req_json_none(struct req *r) __attribute__((warn_unused_result));

/* Replies. Each sends, logs, counts and frees the context. */
void req_reply_json(struct req *r, int status, cJSON *body);
void req_reply_raw(struct req *r, int status, const char *content_type,
                   const char *data, size_t len);
void req_reply_error(struct req *r, int status, const char *code,
                     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Adds a response header before the reply. */
void req_add_header(struct req *r, const char *key, const char *value);

/*
 * Streaming replies, for bodies too large to hold (the CSV exports): the
 * headers go out first, then chunks (chunked transfer encoding; HTTP/1.0
 * clients get a body ended by closing the connection), then the end.
 *
 * Backpressure: req_reply_chunk's callback runs once the chunk has been
 * written to the socket; produce the next chunk only then, and memory
 * stays at one chunk however long the body.
 *
 * Each function returns false when the client has gone: the context has
 * then been freed (its cleanup hook run, its database borrow rolled back
 * and released); return without touching it. A client that leaves while
 * the handler waits (for the database or for a flush) is noticed through
 * the connection's close callback, which frees the context the same way:
 * the pending callback is then never called. The access log says "client
 * gone" and the metrics count the stream's status.
 *
 * The status is sent with the headers: an error after req_reply_start can
 * only end the stream early, req_reply_end(r, false), which closes the
 * connection without the terminating chunk so that the client sees a
 * truncated (incomplete) body rather than a short but well-formed one.
 */
/* Sends the status and headers (Content-Type, X-Request-Id, no-store, and
 * whatever req_add_header added). */
bool req_reply_start(struct req *r, int status, const char *content_type)
    __attribute__((warn_unused_result));
/* Sends data[0..len) (len > 0) as the next chunk; flushed(r) is called
 * once it has been written out. For HEAD, which has no body, it ends the
 * reply instead and returns false. Without flushed, while nothing of the
 * connection waits to go out, the chunk goes straight to the socket (one
 * writev, no buffer, no event), the cheap path for a small event sent to
 * many streams; what the socket does not take waits in the buffer. */
bool req_reply_chunk(struct req *r, const char *data, size_t len,
                     void (*flushed)(struct req *r))
    __attribute__((warn_unused_result));
/* Ends the stream: complete sends the terminating chunk; !complete cuts
 * the connection (on the next loop turn) so the body reads as truncated.
 * Logs, counts and frees the context like every reply. */
void req_reply_end(struct req *r, bool complete);
/* Bytes of the stream handed to the connection and not yet taken by the
 * kernel: a client that stops reading makes it grow (the caller bounds it). */
size_t req_stream_pending(struct req *r);
/* A started stream has no read timeout, and is cut when it has written
 * nothing for secs (http_timeout_s unless set here): a stream that idles
 * longer between writes sets more. */
void req_stream_write_timeout(struct req *r, int secs);
/* Caps the kernel's send buffer of the stream's socket (SO_SNDBUF), which
 * Linux otherwise grows to megabytes for a client that reads nothing: a
 * long-lived stream of small events needs little, and the bound on what
 * a stalled client holds (req_stream_pending) is then reached. */
void req_stream_send_buffer(struct req *r, int bytes);

struct jfields;
/* Replies 400 invalid_field from a failed jfields; false if it replied. */
bool req_fields_ok(struct req *r, const struct jfields *jf)
    __attribute__((warn_unused_result));

#endif
