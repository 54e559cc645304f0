/*
 * memtrim.h - gives freed heap memory back to the system after a burst.
 *
 * glibc's malloc keeps what a burst freed (10,000 live-progress streams,
 * thousands of connections under load) in its arenas: the process's RSS
 * stays at its high-water mark long after the streams are gone. A timer
 * checks, every MEMTRIM_INTERVAL_S, how much free memory malloc holds and,
 * past MEMTRIM_THRESHOLD_BYTES, hands it back (malloc_trim). Elsewhere than
 * glibc it does nothing.
 */
#ifndef GROUPBUYD_MEMTRIM_H
#define GROUPBUYD_MEMTRIM_H

#include <stddef.h>

struct event_base;
struct memtrim;

#define MEMTRIM_INTERVAL_S      5
#define MEMTRIM_THRESHOLD_BYTES (8u << 20)

struct memtrim *memtrim_new(struct event_base *base)
    __attribute__((warn_unused_result));
void memtrim_free(struct memtrim *m);
/* Trims done so far. */
size_t memtrim_trims(const struct memtrim *m);

#endif
