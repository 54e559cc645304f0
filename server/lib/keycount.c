/*
 * keycount.c - see keycount.h. A chained hash table of KEYCOUNT_BUCKETS
 * lists; an entry is allocated at a key's first take and freed at its
 * last give. Keys are few (at most the open streams), so the table does
 * not grow.
 */
#include "lib/keycount.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEYCOUNT_BUCKETS 4096

struct keycount_entry {
    struct keycount_entry *next;
    unsigned char key[16];
    int n;
};

struct keycount {
    struct keycount_entry *b[KEYCOUNT_BUCKETS];
    int keys;
};

struct keycount *keycount_new(void)
{
    return calloc(1, sizeof(struct keycount));
}

void keycount_free(struct keycount *kc)
{
    if (kc == NULL)
        return;
    for (size_t i = 0; i < KEYCOUNT_BUCKETS; i++)
        while (kc->b[i] != NULL) {
            struct keycount_entry *e = kc->b[i];
            kc->b[i] = e->next;
            free(e);
        }
    free(kc);
}

/* FNV-1a over the 16 bytes: key's list. */
static size_t keycount_hash(const unsigned char key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) {
        h ^= key[i];
        h *= 16777619u;
    }
    return h % KEYCOUNT_BUCKETS;
}

/* The link that points at key's entry, or at the list's end. */
static struct keycount_entry **keycount_find(struct keycount *kc,
                                             const unsigned char key[16])
{
    struct keycount_entry **p = &kc->b[keycount_hash(key)];
    while (*p != NULL && memcmp((*p)->key, key, 16) != 0)
        p = &(*p)->next;
    return p;
}

bool keycount_take(struct keycount *kc, const unsigned char key[16], int limit)
{
    struct keycount_entry **p = keycount_find(kc, key);
    if (*p != NULL) {
        if ((*p)->n >= limit)
            return false;
        (*p)->n++;
        return true;
    }
    if (limit < 1)
        return false;
    struct keycount_entry *e = malloc(sizeof *e);
    if (e == NULL)
        return false;
    memcpy(e->key, key, 16);
    e->n = 1;
    e->next = NULL;
    *p = e;
    kc->keys++;
    return true;
}

void keycount_give(struct keycount *kc, const unsigned char key[16])
{
    struct keycount_entry **p = keycount_find(kc, key);
    struct keycount_entry *e = *p;
    if (e == NULL)
        return;
    if (--e->n > 0)
        return;
    *p = e->next;
    free(e);
    kc->keys--;
}

int keycount_get(const struct keycount *kc, const unsigned char key[16])
{
    for (const struct keycount_entry *e = kc->b[keycount_hash(key)]; e;
         e = e->next)
        if (memcmp(e->key, key, 16) == 0)
            return e->n;
    return 0;
}

int keycount_keys(const struct keycount *kc)
{
    return kc->keys;
}
