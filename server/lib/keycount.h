/*
 * keycount.h - exact counts per 16-byte key, bounded per key: what a
 * client holds open (its live streams), counted by its address. Pure: no
 * I/O, no clock, no threads.
 *
 * Unlike ratelimit.h's buckets, a count is never forgotten while it is
 * above zero (a forgotten one would let its key open more): a key takes
 * one entry while its count is positive, and the entry goes with the last.
 */
#ifndef GROUPBUYD_KEYCOUNT_H
#define GROUPBUYD_KEYCOUNT_H

#include <stdbool.h>

struct keycount;

/* NULL when memory is short. */
struct keycount *keycount_new(void) __attribute__((warn_unused_result));
void keycount_free(struct keycount *kc);

/* Adds one to key's count unless it is at limit (>= 1) already: true
 * when it did; false at the limit or when memory is short. */
bool keycount_take(struct keycount *kc, const unsigned char key[16], int limit)
    __attribute__((warn_unused_result));

/* Takes one from key's count (as many gives as successful takes). */
void keycount_give(struct keycount *kc, const unsigned char key[16]);

/* key's count; 0 for a key never taken or given back in full. */
int keycount_get(const struct keycount *kc, const unsigned char key[16]);

/* The keys with a positive count. */
int keycount_keys(const struct keycount *kc);

#endif
