/* test_keycount.c - exact counts per key with a bound: takes up to the
 * limit, keys apart, gives back, an entry gone with its last give, many
 * keys in one list. Table-driven over (key, take or give) steps. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/keycount.h"
#include "unit.h"

enum op { TAKE, GIVE };

struct step {
    int key;
    enum op op;
    int limit;
    bool want; /* TAKE: taken */
    int count; /* the key's count after */
    int keys;  /* keys with a count after */
};

static const struct step steps[] = {
    {1, TAKE, 2, true, 1, 1},  {1, TAKE, 2, true, 2, 1},
    {1, TAKE, 2, false, 2, 1}, /* at the limit */
    {2, TAKE, 2, true, 1, 2},  /* another key has its own count */
    {1, TAKE, 3, true, 3, 2},  /* the limit is the caller's, each time */
    {1, GIVE, 0, true, 2, 2},  {1, GIVE, 0, true, 1, 2},
    {1, TAKE, 2, true, 2, 2},                            /* room again */
    {1, GIVE, 0, true, 1, 2},  {1, GIVE, 0, true, 0, 1}, /* its entry goes */
    {1, GIVE, 0, true, 0, 1},  /* a give too many changes nothing */
    {3, TAKE, 0, false, 0, 1}, /* a limit under 1 takes nothing */
    {2, GIVE, 0, true, 0, 0},
};

static void key_of(int k, unsigned char key[16])
{
    memset(key, 0, 16);
    key[0] = (unsigned char)k;
    key[15] = (unsigned char)(k >> 8);
}

int main(void)
{
    struct keycount *kc = keycount_new();
    CHECK(kc != NULL);
    if (kc == NULL)
        return unit_summary("keycount");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const struct step *s = &steps[i];
        unsigned char key[16];
        key_of(s->key, key);
        if (s->op == TAKE) {
            bool got = keycount_take(kc, key, s->limit);
            CHECK_MSG(got == s->want, "step %zu: take %d", i, got);
        } else {
            keycount_give(kc, key);
        }
        CHECK_MSG(keycount_get(kc, key) == s->count, "step %zu: count %d", i,
                  keycount_get(kc, key));
        CHECK_MSG(keycount_keys(kc) == s->keys, "step %zu: keys %d", i,
                  keycount_keys(kc));
    }
    /* 20,000 keys, more than the lists: each counted apart, and gone */
    unsigned char key[16];
    for (int k = 0; k < 20000; k++) {
        key_of(k, key);
        CHECK(keycount_take(kc, key, 1));
    }
    CHECK(keycount_keys(kc) == 20000);
    int wrong = 0;
    for (int k = 0; k < 20000; k++) {
        key_of(k, key);
        wrong += keycount_get(kc, key) != 1 || keycount_take(kc, key, 1);
    }
    CHECK_MSG(wrong == 0, "%d keys miscounted", wrong);
    for (int k = 0; k < 20000; k += 2) {
        key_of(k, key);
        keycount_give(kc, key);
    }
    CHECK(keycount_keys(kc) == 10000);
    key_of(1, key);
    CHECK(keycount_get(kc, key) == 1);
    key_of(2, key);
    CHECK(keycount_get(kc, key) == 0);
    keycount_free(kc); /* with entries left: freed, ASan would say */
    return unit_summary("keycount");
}
