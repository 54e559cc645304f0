/*
 * promote.h - the waitlist's promotions as the server drives them
 * (schema/functions/waitlist.sql holds the rules and says how): units freed
 * while customers wait are held for them, and a campaign holding units is
 * due; this module finds the due campaigns and promotes their queues
 * through the one join decision.
 *
 * A campaign's promotion goes in rounds of up to PROMOTE_CHUNK entries in
 * arrival order: the read (gb_waitlist_reads: the entries with the join's
 * read of each, gb_join_batch_reads), the score and the deposit of each
 * customer computed here exactly as for a join (joinengine_price), then
 * the decision (gb_waitlist_promote, one transaction: the campaign's lock,
 * the entries still waiting, gb_join_batch_locked). A campaign edited
 * between the read and the decision is read again. While units stay free
 * for entries after the round, the next round goes on after it.
 *
 * When: at once when this process freed units or queued an entry
 * (promote_kick: a withdrawal, a new entry), and otherwise every
 * PROMOTE_POLL_MS (gb_waitlist_due: an index of the campaigns holding
 * units, almost always empty), which finds what the other processes and the
 * scheduler (expired deposits) freed, and what a process that died mid-way
 * left: within a second of the commit that freed the units. Every process
 * promotes; the campaign's lock puts them one after the other and each
 * entry is decided once.
 *
 * One statement in flight at a time; a failed statement ends the pass and
 * the next starts after the poll interval (warned once per outage).
 */
#ifndef GROUPBUYD_PROMOTE_H
#define GROUPBUYD_PROMOTE_H

#include <stdint.h>

struct server;
struct promote;

#define PROMOTE_POLL_MS 250
#define PROMOTE_CHUNK   200 /* entries per round */
#define PROMOTE_DUE_MAX 16  /* campaigns per look */

struct promote_stats {
    uint64_t passes;   /* looks at the due campaigns */
    uint64_t rounds;   /* decisions sent */
    uint64_t promoted; /* entries promoted by this process */
    uint64_t skipped;  /* entries skipped by this process */
    uint64_t failures; /* statements that failed */
};

/* Starts polling srv's database at once; NULL on allocation failure. */
struct promote *promote_new(struct server *srv)
    __attribute__((warn_unused_result));
/* Stops; a statement in flight is abandoned (call before the pool goes). */
void promote_free(struct promote *p);
/* This process freed units or queued an entry: look now (or right after
 * the pass in flight). NULL p: nothing. */
void promote_kick(struct promote *p);
void promote_get_stats(const struct promote *p, struct promote_stats *out);

#endif
