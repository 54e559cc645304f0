/*
 * clock.h - the process's monotonic clock, for timeouts, caches and
 * latencies. Deadlines of the business (a campaign's ends_at, a deposit's
 * window) are never read here: the database's clock is the one clock for
 * them.
 */
#ifndef GROUPBUYD_CLOCK_H
#define GROUPBUYD_CLOCK_H

#include <stdint.h>

/* Nanoseconds and milliseconds of CLOCK_MONOTONIC. */
uint64_t clock_now_ns(void);
uint64_t clock_now_ms(void);

#endif
