/*
 * webhook_relay.h - delivers the outbox to the distributors' webhook
 * endpoints from the event loop (DESIGN.md "Notifications").
 *
 * A tick fans new events out to deliveries and claims due ones with a
 * lease (functions/webhooks.sql), then for each: checks and resolves the
 * URL's host again (webhook_target.h: the address may have changed since
 * the endpoint was saved), POSTs the signed event to the checked address
 * (outhttp.h), and records the attempt, a failure as its class. No
 * transaction is open while a request is on the network. Several
 * processes share the work: a row is claimed by one at a time, and a
 * process killed mid-request leaves a lease that expires, after which the
 * delivery is claimed again.
 *
 * The claim shares the relay fairly (DESIGN.md "Notifications"): at most
 * webhooks.distributor_slots deliveries of one distributor and
 * endpoint_slots of one endpoint in flight over all processes, turns
 * between distributors, and at most host_rate requests a second to one
 * target host; a receiver that never answers holds its share, no more.
 */
#ifndef GROUPBUYD_WEBHOOK_RELAY_H
#define GROUPBUYD_WEBHOOK_RELAY_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct db_pool;
struct config;
struct webhook_relay;

struct webhook_relay *webhook_relay_new(struct event_base *base,
                                        struct db_pool *db,
                                        const struct config *cfg)
    __attribute__((warn_unused_result));
/* Aborts what is in flight (its leases expire and another try follows). */
void webhook_relay_free(struct webhook_relay *w);

/* The resolver shared with the endpoint handlers' checks. */
struct evdns_base *webhook_relay_dns(struct webhook_relay *w);

/* Looks for work at once (an endpoint created, a manual retry). */
void webhook_relay_poke(struct webhook_relay *w);

struct webhook_relay_stats {
    uint64_t sent, delivered, failed_attempts;
    int inflight;
};
void webhook_relay_get_stats(const struct webhook_relay *w,
                             struct webhook_relay_stats *out);

#endif
