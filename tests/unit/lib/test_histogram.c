/* test_histogram.c - fixed buckets: which bucket a value lands in (bounds
 * inclusive, as Prometheus' le), sum and count, and the text rendered for
 * /metrics (cumulative, labels, +Inf). Table-driven. A quantile is read
 * from the rendered buckets by whoever scrapes them (make bench:
 * tests/bench/figures.py). */
#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/histogram.h"
#include "unit.h"

#define INF HISTOGRAM_NBOUNDS /* the +Inf bucket's index */

struct landing {
    double seconds; /* observed as is, or ... */
    uint64_t ns;    /* ... when seconds < -1, these nanoseconds */
    int bucket;
};

static const struct landing landings[] = {
    {0, 0, 0},
    {-1, 0, 0}, /* a negative value counts as 0 */
    {0.00005, 0, 0},
    {0.0001, 0, 0}, /* a bound is its own bucket's */
    {0.00010001, 0, 1},
    {0.00025, 0, 1},
    {0.0026, 0, 5},
    {0.0075, 0, 7},
    {0.0076, 0, 8},
    {0.3, 0, 17},
    {0.31, 0, 18},
    {1, 0, 19},
    {10, 0, 22},
    {10.000001, 0, INF},
    {1e9, 0, INF},
    {INFINITY, 0, INF},
    {-2, 100000, 0}, /* 0.1 ms exactly */
    {-2, 100001, 1},
    {-2, 2500000000u, 20}, /* 2.5 s */
    {-2, 2500000001u, 21},
    {-2, 60000000000u, INF},
};

struct fill {
    double seconds;
    int n;
};

static char *render(const struct histogram *h, const char *name,
                    const char *labels)
{
    struct evbuffer *e = evbuffer_new();
    if (e == NULL)
        abort();
    histogram_render(h, e, name, labels);
    size_t len = evbuffer_get_length(e);
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    evbuffer_remove(e, s, len);
    s[len] = '\0';
    evbuffer_free(e);
    return s;
}

/* 0.0001 once, 0.0002 twice, 0.04 once, 20 once: every bound, cumulative */
static const char rendered[] =
    "x_seconds_bucket{kind=\"read\",le=\"0.0001\"} 1\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.00025\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.0005\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.001\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.002\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.003\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.005\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.0075\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.01\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.015\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.02\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.03\"} 3\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.05\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.075\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.1\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.15\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.2\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.3\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"0.5\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"1\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"2.5\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"5\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"10\"} 4\n"
    "x_seconds_bucket{kind=\"read\",le=\"+Inf\"} 5\n"
    "x_seconds_sum{kind=\"read\"} 20.040500000\n"
    "x_seconds_count{kind=\"read\"} 5\n";

int main(void)
{
    /* each value alone: its bucket, the count, the sum */
    for (size_t i = 0; i < sizeof landings / sizeof landings[0]; i++) {
        const struct landing *l = &landings[i];
        struct histogram h = {0};
        double s = l->seconds;
        if (s < -1) {
            histogram_observe_ns(&h, l->ns);
            s = (double)l->ns / 1e9;
        } else {
            histogram_observe(&h, s);
        }
        for (int b = 0; b <= HISTOGRAM_NBOUNDS; b++)
            CHECK_MSG(h.buckets[b] == (b == l->bucket), "value %zu: bucket %d",
                      i, b);
        CHECK_MSG(h.count == 1, "value %zu: count %llu", i,
                  (unsigned long long)h.count);
        CHECK_MSG(h.sum == (s < 0 ? 0 : s), "value %zu: sum %g", i, h.sum);
    }
    /* NaN is no time at all */
    struct histogram none = {0};
    histogram_observe(&none, NAN);
    CHECK_INT_EQ(none.count, 0);
    CHECK(none.sum == 0);
    /* the bounds ascend: a value between two lands in the upper one */
    for (int b = 1; b < HISTOGRAM_NBOUNDS; b++) {
        struct histogram h = {0};
        histogram_observe(&h,
                          (histogram_bounds[b - 1] + histogram_bounds[b]) / 2);
        CHECK_MSG(h.buckets[b] == 1, "between bounds %d and %d", b - 1, b);
    }

    struct histogram h = {0};
    histogram_observe(&h, 0.0001);
    histogram_observe(&h, 0.0002);
    histogram_observe(&h, 0.0002);
    histogram_observe(&h, 0.04);
    histogram_observe(&h, 20);
    char *text = render(&h, "x_seconds", "kind=\"read\"");
    CHECK_STR_EQ(text, rendered);
    free(text);
    /* without labels: only le in braces, none on sum and count */
    struct histogram one = {0};
    histogram_observe(&one, 0.5);
    const char *bare[] = {NULL, ""};
    for (int i = 0; i < 2; i++) {
        text = render(&one, "y", bare[i]);
        CHECK_MSG(strncmp(text, "y_bucket{le=\"0.0001\"} 0\n", 24) == 0, "%s",
                  text);
        CHECK_MSG(strstr(text, "\ny_bucket{le=\"0.5\"} 1\n") != NULL, "%s",
                  text);
        CHECK_MSG(strstr(text, "\ny_bucket{le=\"+Inf\"} 1\n"
                               "y_sum 0.500000000\n"
                               "y_count 1\n") != NULL,
                  "%s", text);
        free(text);
    }
    /* empty: every bucket 0, still rendered */
    struct histogram empty = {0};
    text = render(&empty, "z", "phase=\"read\"");
    CHECK(strstr(text, "z_bucket{phase=\"read\",le=\"+Inf\"} 0\n"
                       "z_sum{phase=\"read\"} 0.000000000\n"
                       "z_count{phase=\"read\"} 0\n") != NULL);
    free(text);
    return unit_summary("histogram");
}
