/*
 * joinbatch.h - coalesced joins: the concurrent joins of one campaign are
 * read, decided and written together, in one transaction per batch.
 *
 * A join submitted while no batch of its campaign is in flight starts one
 * at once (a batch of one: no added latency when idle). While batches are
 * in flight (at most JOINBATCH_MAX_INFLIGHT per campaign), new joins queue;
 * when one completes, the queue (up to JOINBATCH_MAX_SIZE joins, in arrival
 * order) becomes the next batch. So a join waits for at most the batches
 * in flight before it: no timer.
 *
 * A batch is read, then written. The read gives, for all its customers,
 * the campaign, the VIP level and the history; C scores each customer and
 * prices the deposit. The write decides row by row in arrival order and
 * inserts the accepted rows with one INSERT, taking the campaign's lock
 * only to count at the end (deciding again lock first when the batch
 * might not fit or met a change), so the batches in flight of one campaign
 * insert side by side (gb_join_batches: joinengine.h). Each join is then
 * answered with its own outcome through the callback given to
 * joinbatch_new.
 *
 * Reads and writes go in rounds, one statement each, for whichever batches
 * are waiting, of any campaigns: at most join_rounds (config) read and as many
 * write statements in flight, each with up to JOINBATCH_ROUND_BATCHES
 * batches (a write round: at most one batch per campaign, and at most
 * JOINBATCH_MAX_SIZE joins), one transaction whatever it holds. With joins
 * spread over many campaigns, where most batches hold one join, this is
 * what batches them. Should a write round fail as a whole, each of its
 * batches goes again in a round of its own; should a batch fail as a whole
 * (a constraint the rows were checked against, in a race no lock
 * prevents), its joins are retried each in a batch of its own, so an
 * innocent join never fails for another.
 *
 * One write round at a time, normally: a round pays a fixed cost in
 * PostgreSQL (the statement's start-up, the counters' update, the commit)
 * whatever it holds, so the joins read while it is in flight are best
 * written together in the next. A second round starts only when the
 * youngest in flight has waited join_patience_ms (config; a campaign whose
 * lock is held, by a close or a staff edit, holds up the round it is in;
 * the other campaigns' joins must not wait for it), up to join_rounds
 * (config) write rounds. Measured with 64 connections on 100 campaigns,
 * 5 s runs side by side: one round at a time 257 us of PostgreSQL CPU per
 * join and 3,700 joins/s, four at once 459-474 us and 2,800. Read rounds
 * go the same way, one at a time unless the one in flight has waited
 * join_patience_ms, up to join_rounds: a read has a fixed cost too,
 * and with several at once the joins spread over 100 campaigns were read
 * 3.9 to a statement, with one at a time 9.3 (docs/decisions.md).
 */
#ifndef GROUPBUYD_JOINBATCH_H
#define GROUPBUYD_JOINBATCH_H

#include <libpq-fe.h>
#include <stdint.h>

#include "db/db.h"
#include "engine/joinengine.h"
#include "lib/histogram.h"

#define JOINBATCH_MAX_SIZE 256
/* One batch per campaign in flight. A batch's fixed cost in PostgreSQL
 * (about 1.5 ms of CPU: statement and trigger start-up, the counter's
 * update, the commit) is paid per batch, and a second batch of the same
 * campaign would only split its queue and then wait on the campaign's row
 * lock (docs/decisions.md). */
#define JOINBATCH_MAX_INFLIGHT  1
#define JOINBATCH_ROUND_BATCHES 64 /* campaigns' batches per statement */

struct req;
struct server;
struct livenotify;
struct joinbatch;

/* Answers one join (the reply is the callback's). */
typedef void joinbatch_reply_cb(struct req *r,
                                const struct joinengine_outcome *o);

/* Joins of srv's requests, announced through live once committed. */
struct joinbatch *joinbatch_new(struct server *srv, struct livenotify *live,
                                joinbatch_reply_cb *cb)
    __attribute__((warn_unused_result));
/* Frees the per-campaign state; batches still in flight are abandoned
 * (only at exit, after the pool stopped calling back). */
void joinbatch_free(struct joinbatch *jb);

/* The parts of a join's time in the server, for the tails under load
 * (groupbuyd_join_phase_seconds). A join is in one part at a time, and
 * a retry adds to the part it goes back to: a batch read again after a
 * staff edit adds to queue and read, a write round failing as a whole
 * (its batches, or its joins, written again alone) to wait and write. So
 * queue + read + wait + write is the join's time up to its last round's
 * result, and total adds the handling of that result before its answer.
 * Every answered join is counted in queue, read and total; in wait and
 * write only one that was in a write round (a join refused or failed at
 * the read, or left at the read by a database that failed, is not: those
 * counts can be below the others'). */
enum joinbatch_phase {
    JOINBATCH_PHASE_QUEUE, /* submitted, to a read round sent: behind its
                              campaign's batch in flight, then the rounds */
    JOINBATCH_PHASE_READ,  /* its read round, sent to result */
    JOINBATCH_PHASE_WAIT,  /* read round's result to a write round sent */
    JOINBATCH_PHASE_WRITE, /* its write round, sent to result */
    JOINBATCH_PHASE_TOTAL, /* submitted to answered */
    JOINBATCH_NPHASES
};
/* "queue", "read", "wait", "write", "total" */
const char *joinbatch_phase_name(enum joinbatch_phase p);

/* What the coalesced joins hold at this instant, for /metrics (a test
 * waits for a state of the queue rather than for a time). */
struct joinbatch_stats {
    uint64_t submitted;   /* joins handed to joinbatch_submit */
    int queued;           /* joins waiting for a batch of their campaign */
    int batches;          /* batches in flight, in any step below */
    int to_read;          /* batches waiting for a read round */
    int to_write;         /* batches read and priced, waiting for a write */
    int reads, writes;    /* read and write rounds (statements) in flight */
    uint64_t reads_total; /* rounds sent since the start */
    uint64_t writes_total;
    /* Since the start: each round's time, sent to its result (one per
     * round counted in reads_total and writes_total, a round the pool
     * refused at once with its near-0 time), and each answered join's
     * parts (enum joinbatch_phase). */
    struct histogram read_seconds, write_seconds;
    struct histogram phase_seconds[JOINBATCH_NPHASES];
};
void joinbatch_get_stats(const struct joinbatch *jb,
                         struct joinbatch_stats *out);

/* Queues the join of r->who.id for quantity units of campaign_id, with
 * its fulfilment choice (pickup_point 0: none; address: JSON text owned by
 * r, or NULL) and share code (owned by r, or NULL). r is answered later
 * through the callback, exactly once. */
void joinbatch_submit(struct joinbatch *jb, struct req *r, int64_t campaign_id,
                      int64_t quantity, int64_t pickup_point,
                      const char *address, const char *share_code);

#endif
