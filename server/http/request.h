/*
 * request.h - the request context and its replies.
 *
 * A request context (struct req) is created for every request that reaches
 * the router and owns everything the request allocates: arena memory, the
 * parsed JSON body, a database job or borrowed connection. The handler (or
 * one of its callbacks) answers exactly once with a req_reply_* function
 * (or a stream, stream.h), which sends the reply, writes the access-log
 * line, counts the metrics and frees the context. Nothing may touch the
 * context after replying. If the client has gone, libevent frees the
 * detached request when we reply. Replies are in the error envelope of the
 * API for errors.
 */
#ifndef GROUPBUYD_REQUEST_H
#define GROUPBUYD_REQUEST_H

#include <cJSON.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "db/db.h"
#include "http/principal.h"
#include "http/server.h"

struct event;
struct route;
struct req_chunk;
struct idem;

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
    /* streaming replies (stream_start), see below */
    bool streaming;
    int stream_status;
    uint64_t stream_bytes;
    void (*stream_flushed)(struct req *r);
    struct event *stream_abort; /* defers stream_end(r, false) */
    bool stream_chunked;        /* chunked transfer encoding (HTTP/1.1) */
    int stream_timeout_s;       /* the write timeout (req_stream_...) */
    /* The arena's first bytes, in the request itself: most requests need
     * little beside their body, and a stream, which lives for hours, then
     * holds no 4 KB chunk for its path and its state. */
    size_t arena0_used;
    max_align_t arena0[REQ_ARENA0 / sizeof(max_align_t)];
};

/* Arena memory that lives until the reply. Never NULL: on allocation
 * failure the process cannot answer anyway and aborts. */
void *req_alloc(struct req *r, size_t n);
char *req_strdup(struct req *r, const char *s);
char *req_printf(struct req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "GET", "POST", ... */
const char *req_method_name(enum evhttp_cmd_type m);
/* The reason phrase of a status ("Not Found"). */
const char *req_status_reason(int status);

/* Query parameter or NULL. */
const char *req_query(struct req *r, const char *key);
/* Header or NULL. */
const char *req_header(struct req *r, const char *key);
/* Who is asking, for per-client limits (clientaddr.h): the socket peer,
 * or behind a proxy of http_trusted_proxies the address it forwarded; 16
 * bytes, IPv4 mapped. false when the peer is unknown (a closed
 * connection). */
bool req_client_addr(struct req *r, unsigned char out[16])
    __attribute__((warn_unused_result));

/* Parses the body as a JSON object with the strict parser. On failure it
 * has already replied 400 invalid_json and returns NULL: just return. */
cJSON *req_json_object(struct req *r) __attribute__((warn_unused_result));

/* For routes whose body is a text and nothing else ({"body": "..."}: a
 * question, an answer, a reply): the text, 1 to max_chars characters,
 * copied into the request's arena. NULL when it has already replied 400
 * (invalid_json, or invalid_field "body" or naming another member). */
char *req_json_text(struct req *r, int max_chars)
    __attribute__((warn_unused_result));

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

struct jfields;
/* Replies 400 invalid_field from a failed jfields; false if it replied. */
bool req_fields_ok(struct req *r, const struct jfields *jf)
    __attribute__((warn_unused_result));

/* The transport's own (stream.c): frees the context, running its hooks
 * (after-reply, cleanup) and giving back its database job or borrow.
 * Handlers never call it: every reply frees. */
void req_free(struct req *r);

#endif
