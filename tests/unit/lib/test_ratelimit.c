/* test_ratelimit.c - per-key token buckets: bursts, refill, waits, keys
 * apart, and a full table. Table-driven over (time, key) steps. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/ratelimit.h"
#include "unit.h"

struct step {
    uint64_t at_ms;
    int key;
    uint64_t want; /* 0: taken, else the wait */
};

/* 3 attempts a minute: one every 20 s. */
static const struct step steps[] = {
    {1000, 1, 0},      {1000, 1, 0},  {1000, 1, 0},
    {1000, 1, 20000}, /* the 4th of a burst waits for one to come back */
    {1000, 2, 0},     /* another key has its own bucket */
    {20999, 1, 1},     {21000, 1, 0}, /* one back after 20 s */
    {21000, 1, 20000}, {81000, 1, 0}, /* a long pause refills it all */
    {81000, 1, 0},     {81000, 1, 0}, {81000, 1, 20000},
};

static void key_of(int k, unsigned char key[16])
{
    memset(key, 0, 16);
    key[0] = (unsigned char)k;
    key[15] = (unsigned char)(k >> 8);
}

int main(void)
{
    struct ratelimit *rl = ratelimit_new();
    CHECK(rl != NULL);
    if (rl == NULL)
        return unit_summary("ratelimit");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        unsigned char key[16];
        key_of(steps[i].key, key);
        uint64_t got = ratelimit_take(rl, key, steps[i].at_ms, 3, 60000);
        CHECK_MSG(got == steps[i].want, "step %zu: got %llu, want %llu", i,
                  (unsigned long long)got, (unsigned long long)steps[i].want);
    }
    /* A limit of 1: one attempt, then a whole window. */
    unsigned char one[16];
    key_of(300, one);
    CHECK_INT_EQ(ratelimit_take(rl, one, 5000, 1, 60000), 0);
    CHECK_INT_EQ(ratelimit_take(rl, one, 5000, 1, 60000), 60000);
    /* Twice as many keys as the table holds: every new key still gets
     * its whole bucket (entries are reused, the table never grows). */
    int refused = 0;
    for (int k = 1000; k < 1000 + RATELIMIT_SETS * RATELIMIT_WAYS * 2; k++) {
        unsigned char key[16];
        memset(key, 0, 16);
        memcpy(key, &k, sizeof k);
        if (ratelimit_take(rl, key, 200000, 2, 60000) != 0)
            refused++;
    }
    CHECK_INT_EQ(refused, 0);
    ratelimit_free(rl);
    return unit_summary("ratelimit");
}
