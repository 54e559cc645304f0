/*
 * conn.h - the connections of the transport (http.c, request.c and
 * stream.c use it; nothing outside http/ does).
 *
 * A connection is tracked from its accept to its close (struct
 * conn_track, conn.c): the deadline for reading the next request, the
 * framing filter on its raw bytes, its output written straight to the
 * socket, the replies handed to evhttp and not yet written out (which the
 * shutdown waits for), and the stream it carries, freed if the client
 * goes.
 */
#ifndef GROUPBUYD_CONN_H
#define GROUPBUYD_CONN_H

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/httpframe.h"
#include "http/server.h"

/* evhttp and the framing filter get limits this many times ours, so that
 * ours are answered in the API's envelope (http.c). */
#define HTTP_HARD_LIMIT_FACTOR 16

struct conn_track {
    struct server *srv;
    struct bufferevent *bev; /* the filter that evhttp reads from */
    struct evhttp_connection *evcon;
    struct event *deadline;
    struct event *attach;
    struct event *writable; /* the socket can take more of our output */
    bool writing;           /* http_writable_cb is flushing */
    int fd;
    bool closed;   /* evhttp has freed the connection */
    int unflushed; /* its replies sent, not yet written out */
    /* a streaming reply, and what frees it if the client goes (stream.c) */
    struct req *stream;
    void (*stream_gone)(struct req *r);
    /* request framing (httpframe.h) on the raw bytes */
    struct httpframe frame;
    size_t held;       /* bytes at the start of the input, checked, held */
    uint32_t messages; /* messages passed on to evhttp */
    uint32_t requests; /* requests evhttp has handed to us */
    uint32_t bad_seq;  /* the stand-in for a bad request; 0 = none */
};

/* evhttp's bufferevent for a new connection (evhttp_set_bevcb; arg: the
 * server): a socket under the framing filter, which owns the tracker. */
struct bufferevent *conn_bev_cb(struct event_base *base, void *arg);
/* The tracker of evcon, or NULL (not yet attached, or gone). */
struct conn_track *conn_of(struct server *srv, struct evhttp_connection *evcon);
/* (Re)starts the deadline for reading the next request whole. */
void conn_arm(struct conn_track *t);
/* A reply is handed to evhttp on ev's connection: the shutdown waits for
 * it until it is written out or the connection ends. */
void conn_reply_pending(struct server *srv, struct evhttp_request *ev);

#endif
