/*
 * ratelimit.c - see ratelimit.h.
 *
 * For a key, `full_at` is when its bucket is full again. With interval
 * T = window / limit, an attempt at `now` finds the bucket holding
 * (window - (full_at - now)) / T attempts; it may go when full_at - now
 * is at most window - T, and pushes full_at on by T.
 */
#include "lib/ratelimit.h"

#include <stdlib.h>
#include <string.h>

struct ratelimit_entry {
    unsigned char key[16];
    uint64_t full_at; /* 0: empty */
};

struct ratelimit {
    struct ratelimit_entry e[RATELIMIT_SETS * RATELIMIT_WAYS];
};

struct ratelimit *ratelimit_new(void)
{
    return calloc(1, sizeof(struct ratelimit));
}

void ratelimit_free(struct ratelimit *rl)
{
    free(rl);
}

/* FNV-1a over the 16 bytes. */
static uint32_t ratelimit_hash(const unsigned char key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) {
        h ^= key[i];
        h *= 16777619u;
    }
    return h;
}

uint64_t ratelimit_take(struct ratelimit *rl, const unsigned char key[16],
                        uint64_t now_ms, int limit, uint64_t window_ms)
{
    uint64_t interval = window_ms / (uint64_t)limit;
    if (interval == 0)
        interval = 1;
    uint64_t tolerance = window_ms - interval;
    struct ratelimit_entry *set =
        &rl->e[(size_t)(ratelimit_hash(key) % RATELIMIT_SETS) * RATELIMIT_WAYS];
    struct ratelimit_entry *slot = NULL, *victim = &set[0];
    for (int i = 0; i < RATELIMIT_WAYS; i++) {
        struct ratelimit_entry *e = &set[i];
        if (e->full_at != 0 && memcmp(e->key, key, 16) == 0) {
            slot = e;
            break;
        }
        if (e->full_at < victim->full_at)
            victim = e;
    }
    uint64_t full_at =
        slot != NULL && slot->full_at > now_ms ? slot->full_at : now_ms;
    if (full_at - now_ms > tolerance)
        return full_at - now_ms - tolerance;
    if (slot == NULL) {
        slot = victim;
        memcpy(slot->key, key, 16);
    }
    slot->full_at = full_at + interval;
    return 0;
}
