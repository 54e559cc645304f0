/*
 * histogram.h - latencies counted in fixed buckets, in seconds, and
 * rendered as a Prometheus histogram (text format 0.0.4). Pure but for
 * the render, which appends to an evbuffer: no clock, no threads.
 *
 * The bounds run from 0.1 ms to 10 s, each at most 1.67 times the one
 * before it between 2 ms and 0.5 s (where the joins' times lie), at most
 * 2.5 times outside, so a quantile read from the buckets as its
 * bucket's upper bound (tests/bench/figures.py) is that close; a value above 10
 * s falls in the +Inf bucket. A struct histogram is a plain value: zeroed is
 * empty, and a copy is a snapshot.
 */
#ifndef GROUPBUYD_HISTOGRAM_H
#define GROUPBUYD_HISTOGRAM_H

#include <stdint.h>

struct evbuffer;

#define HISTOGRAM_NBOUNDS 23

/* The buckets' upper bounds, inclusive (Prometheus' le), ascending; the
 * +Inf bucket follows the last. */
extern const double histogram_bounds[HISTOGRAM_NBOUNDS];

struct histogram {
    uint64_t buckets[HISTOGRAM_NBOUNDS + 1]; /* not cumulative; last: +Inf */
    uint64_t count;
    double sum; /* seconds */
};

/* Counts one value of seconds (a negative one as 0; NaN not at all). */
void histogram_observe(struct histogram *h, double seconds);
/* The same for a value in nanoseconds (differences of clock_now_ns). */
void histogram_observe_ns(struct histogram *h, uint64_t ns);

/* Appends h's samples: name_bucket{labels,le="..."} for every bound and
 * +Inf, cumulative as Prometheus requires, then name_sum{labels} and
 * name_count{labels}. labels is the label text without braces (kind="read"),
 * or NULL or "" for none; the caller writes the # HELP and # TYPE lines,
 * once per metric name. */
void histogram_render(const struct histogram *h, struct evbuffer *out,
                      const char *name, const char *labels);

#endif
