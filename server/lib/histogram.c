/*
 * histogram.c - fixed buckets, counted apart and summed up at render.
 */
#include "lib/histogram.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>

const double histogram_bounds[HISTOGRAM_NBOUNDS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075,
    0.01,   0.015,   0.02,   0.03,  0.05,  0.075, 0.1,   0.15,
    0.2,    0.3,     0.5,    1,     2.5,   5,     10};

void histogram_observe(struct histogram *h, double seconds)
{
    if (isnan(seconds))
        return;
    if (seconds < 0)
        seconds = 0;
    size_t b = 0;
    while (b < HISTOGRAM_NBOUNDS && seconds > histogram_bounds[b])
        b++;
    h->buckets[b]++;
    h->count++;
    h->sum += seconds;
}

void histogram_observe_ns(struct histogram *h, uint64_t ns)
{
    histogram_observe(h, (double)ns / 1e9);
}

void histogram_render(const struct histogram *h, struct evbuffer *out,
                      const char *name, const char *labels)
{
    bool some = labels != NULL && labels[0] != '\0';
    const char *sep = some ? "," : "";
    if (!some)
        labels = "";
    uint64_t cum = 0;
    for (size_t b = 0; b < HISTOGRAM_NBOUNDS; b++) {
        cum += h->buckets[b];
        evbuffer_add_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
                            labels, sep, histogram_bounds[b],
                            (unsigned long long)cum);
    }
    cum += h->buckets[HISTOGRAM_NBOUNDS];
    const char *open = some ? "{" : "", *close = some ? "}" : "";
    evbuffer_add_printf(out,
                        "%s_bucket{%s%sle=\"+Inf\"} %llu\n"
                        "%s_sum%s%s%s %.9f\n"
                        "%s_count%s%s%s %llu\n",
                        name, labels, sep, (unsigned long long)cum, name, open,
                        labels, close, h->sum, name, open, labels, close,
                        (unsigned long long)h->count);
}
