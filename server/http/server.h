/*
 * server.h - the transport's state (struct server): one per process, what
 * every request reaches through r->srv. Types only: the server is started
 * and stopped by http.h, requests are served through request.h.
 */
#ifndef GROUPBUYD_SERVER_H
#define GROUPBUYD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct config;
struct db_pool;
struct workpool;
struct metrics;
struct req;
struct conn_track;

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

#endif
