/*
 * livenotify.h - announces the joins this process committed to the live
 * progress streams of every process, after their commit.
 *
 * A NOTIFY sent inside a transaction makes its commit take a lock that is
 * global to the cluster and hold it through the WAL flush: every notifying
 * transaction commits one after the other, and group commit is lost (a
 * 16-client durable insert loop on this machine: 12,300 commits/s without a
 * NOTIFY, 3,200 to 6,200 with one). The joins are the only frequent change
 * of a campaign, so their transactions do not notify (gb_join_batches with
 * p_notify false, schema/functions/live.sql); joinbatch.c reports each
 * campaign it committed joins to here, and a short timer sends one NOTIFY
 * per campaign changed since the last one, in a statement of its own that
 * writes nothing (so its commit flushes nothing). Every other change of a
 * campaign still notifies from its own transaction.
 *
 * The price: the announcement of a join follows its commit by up to
 * LIVENOTIFY_DELAY_MS, and is lost if this process dies in between (the
 * streams then show the change with the next one).
 */
#ifndef GROUPBUYD_LIVENOTIFY_H
#define GROUPBUYD_LIVENOTIFY_H

#include <stdint.h>

struct event_base;
struct db_pool;
struct livenotify;

/* The channel of campaign changes: the payload is the campaign's id. */
#define LIVE_CHANNEL "gb_campaign_changed"
/* How long changes gather before one statement announces them all. */
#define LIVENOTIFY_DELAY_MS 20

struct livenotify *livenotify_new(struct event_base *base, struct db_pool *db)
    __attribute__((warn_unused_result));
void livenotify_free(struct livenotify *n);
/* Campaign id changed in a transaction that has committed. */
void livenotify_changed(struct livenotify *n, int64_t campaign_id);
/* Announcements sent and lost (the statement failed), for /metrics. */
uint64_t livenotify_sent(const struct livenotify *n);
uint64_t livenotify_failed(const struct livenotify *n);

#endif
