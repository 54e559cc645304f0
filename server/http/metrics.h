/*
 * metrics.h - counters kept in process memory and rendered in the
 * Prometheus text format (version 0.0.4) for GET /metrics.
 *
 * Requests are counted by route (the pattern, or "unmatched") and status
 * code, and their latency goes into one histogram per route. Other modules
 * add gauges at render time through metrics_render's extra text.
 */
#ifndef GROUPBUYD_METRICS_H
#define GROUPBUYD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct evbuffer;

/* Counters for nroutes routes, label(i) naming route i ("GET /x"); the
 * caller passes the names in, so metrics knows nothing of the router. */
struct metrics *metrics_new(size_t nroutes,
                            void (*label)(size_t i, char *buf, size_t len))
    __attribute__((warn_unused_result));
void metrics_free(struct metrics *m);

/* route: the route's index, or any value >= nroutes for unmatched. */
void metrics_observe_request(struct metrics *m, size_t route, int status,
                             double seconds);

/* Appends the request counters and histograms. */
void metrics_render(const struct metrics *m, struct evbuffer *out);

#endif
