/*
 * listen.h - one dedicated PostgreSQL connection per process that LISTENs
 * on a channel and hands each notification's payload to a callback.
 *
 * Non-blocking libpq on the event loop, like the pool (db.h), but outside
 * it: a LISTEN holds its connection for the life of the process. When the
 * connection breaks it is re-established with the pool's backoff
 * (db_reconnect_ms, doubling up to db_reconnect_max_ms; the connection
 * string may name several hosts, and a standby refuses the LISTEN, so after
 * a failover it lands on the new primary) and the channel listened to again;
 * notifications sent meanwhile are lost, so every (re)connection calls
 * resync once the LISTEN is in place: the caller then reads again whatever
 * it watches.
 */
#ifndef GROUPBUYD_LISTEN_H
#define GROUPBUYD_LISTEN_H

#include <stdbool.h>

struct event_base;
struct config;
struct listener;

/* payload: the notification's text, valid during the call only. */
typedef void listen_notify_fn(const char *payload, void *arg);
typedef void listen_resync_fn(void *arg);

/* Starts connecting at once; NULL on allocation failure. channel must be
 * a plain identifier (it is written into the LISTEN statement). */
struct listener *listener_new(struct event_base *base, const struct config *cfg,
                              const char *channel, listen_notify_fn *notify,
                              listen_resync_fn *resync, void *arg)
    __attribute__((warn_unused_result));
/* Closes the connection; no callback after. */
void listener_free(struct listener *l);
/* True while the LISTEN is in place (notifications arrive). */
bool listener_live(const struct listener *l);

#endif
