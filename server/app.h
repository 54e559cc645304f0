/*
 * app.h - the hub: one struct app per process, made and wired by main.c.
 *
 * It embeds the transport (struct server, http/http.h: the event base, the
 * settings, the database and worker pools, the hooks) and adds what the
 * layers above the transport own: the scheduler, the coalesced joins, the
 * waitlist's promotions, the live announcements, the webhook relay, and
 * what /readyz compares with
 * the database. A handler reaches it through app_of(r). The modules below
 * the handlers take what they need as arguments when they are made (see
 * main.c), never the hub.
 */
#ifndef GROUPBUYD_APP_H
#define GROUPBUYD_APP_H

#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

struct event;
struct scheduler;
struct joinbatch;
struct promote;
struct livenotify;
struct webhook_relay;

struct app {
    struct server srv;       /* the transport: first member */
    struct scheduler *sched; /* due transitions (engine/scheduler.h) */
    struct joinbatch *joins; /* coalesced joins (engine/joinbatch.h) */
    struct promote *promote; /* waitlist promotions (engine/promote.h) */
    struct livenotify *live; /* joins announced (live/livenotify.h) */
    struct webhook_relay
        *webhooks;                /* outbound webhooks (out/webhook_relay.h) */
    uint64_t joins_accepted;      /* joins answered 201 (not replays) */
    uint64_t join_units_accepted; /* their quantities */
    struct event *sigterm, *sigint;
    char *migrations_param; /* "{1,2,3}": the versions found, for readyz */
    char *functions_param;  /* {"name.sql:sha256",...} for readyz */
};

/* The application of a request. */
static inline struct app *app_of(const struct req *r)
{
    return (struct app *)((char *)r->srv - offsetof(struct app, srv));
}

#endif
