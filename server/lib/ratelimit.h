/*
 * ratelimit.h - per-key token buckets in a fixed table. Pure: no I/O, no
 * clock (the caller passes the time), no threads.
 *
 * Each key has a bucket of `limit` attempts that refills at `limit` per
 * window: a burst may take all of it at once, then attempts come back one
 * every window / limit. Kept as one number per key, the time its bucket is
 * full again (the generic cell rate algorithm), so a key costs 24 bytes.
 *
 * The table has RATELIMIT_SETS x RATELIMIT_WAYS entries (about 1.5 MB);
 * a key whose set is full takes the entry that is fullest again (an entry
 * whose bucket is full again is free). A flood of many keys can thus push
 * one out early; a client able to use that many addresses is not held by a
 * per-address limit anyway, and the table never grows.
 */
#ifndef GROUPBUYD_RATELIMIT_H
#define GROUPBUYD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SETS 16384
#define RATELIMIT_WAYS 4

struct ratelimit;

/* NULL when memory is short. */
struct ratelimit *ratelimit_new(void) __attribute__((warn_unused_result));
void ratelimit_free(struct ratelimit *rl);

/*
 * Takes one attempt from the bucket of key (16 bytes) at now_ms, for
 * `limit` (>= 1) attempts per window_ms (>= limit). 0: taken; otherwise
 * the milliseconds until an attempt would be allowed (nothing is taken).
 */
uint64_t ratelimit_take(struct ratelimit *rl, const unsigned char key[16],
                        uint64_t now_ms, int limit, uint64_t window_ms);

#endif
