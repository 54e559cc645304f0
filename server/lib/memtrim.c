/*
 * memtrim.c - free heap memory handed back after bursts (see memtrim.h).
 */
#include "lib/memtrim.h"

#include <event2/event.h>
#include <stdlib.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

struct memtrim {
    struct event *timer;
    size_t last; /* free bytes malloc held just after the last trim */
    size_t trims;
};

/* Trims when malloc holds at least MEMTRIM_THRESHOLD_BYTES free and that
 * changed by a quarter of it since the last trim: the pages a trim gave
 * back still count as free in mallinfo2, so an unchanged figure means
 * there is nothing new to give back. */
static void memtrim_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct memtrim *m = arg;
#ifdef __GLIBC__
    size_t free_bytes = mallinfo2().fordblks;
    size_t delta =
        free_bytes > m->last ? free_bytes - m->last : m->last - free_bytes;
    if (free_bytes < MEMTRIM_THRESHOLD_BYTES ||
        delta < MEMTRIM_THRESHOLD_BYTES / 4)
        return;
    malloc_trim(0);
    m->last = mallinfo2().fordblks;
    m->trims++;
#else
    (void)m;
#endif
}

struct memtrim *memtrim_new(struct event_base *base)
{
    struct memtrim *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->timer = event_new(base, -1, EV_PERSIST, memtrim_tick, m);
    struct timeval tv = {.tv_sec = MEMTRIM_INTERVAL_S, .tv_usec = 0};
    if (m->timer == NULL || event_add(m->timer, &tv) != 0) {
        if (m->timer)
            event_free(m->timer);
        free(m);
        return NULL;
    }
    return m;
}

void memtrim_free(struct memtrim *m)
{
    if (m == NULL)
        return;
    event_free(m->timer);
    free(m);
}

size_t memtrim_trims(const struct memtrim *m)
{
    return m ? m->trims : 0;
}
