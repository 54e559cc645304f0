/*
 * metrics.c - fixed arrays indexed by route and status class.
 *
 * Statuses are kept per exact code for the codes the API uses and as
 * "other" beyond them, so the arrays stay small and a client cannot grow
 * the label set. Durations use lib/histogram's buckets, the same as the
 * join's own histograms, so the two read alike.
 */
#include "http/metrics.h"

#include "lib/histogram.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>

static const int metrics_codes[] = {200, 201, 204, 304, 400, 401, 403, 404,
                                    405, 409, 413, 415, 429, 431, 500, 503};
#define NCODES  (sizeof metrics_codes / sizeof metrics_codes[0])
#define NSTATUS (NCODES + 1) /* + other */

struct metrics_route {
    uint64_t by_status[NSTATUS];
    struct histogram duration;
};

#define LABEL_MAX 128

struct metrics {
    size_t nroutes; /* table routes + unmatched */
    struct metrics_route *routes;
    char (*labels)[LABEL_MAX];
};

struct metrics *metrics_new(size_t nroutes,
                            void (*label)(size_t i, char *buf, size_t len))
{
    struct metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->nroutes = nroutes + 1;
    m->routes = calloc(m->nroutes, sizeof *m->routes);
    m->labels = calloc(m->nroutes, sizeof *m->labels);
    if (m->routes == NULL || m->labels == NULL) {
        metrics_free(m);
        return NULL;
    }
    for (size_t i = 0; i < nroutes; i++)
        label(i, m->labels[i], LABEL_MAX);
    snprintf(m->labels[nroutes], LABEL_MAX, "unmatched");
    return m;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    free(m->routes);
    free(m->labels);
    free(m);
}

void metrics_observe_request(struct metrics *m, size_t route, int status,
                             double seconds)
{
    if (route >= m->nroutes)
        route = m->nroutes - 1;
    struct metrics_route *mr = &m->routes[route];
    size_t s = NCODES;
    for (size_t i = 0; i < NCODES; i++)
        if (metrics_codes[i] == status)
            s = i;
    mr->by_status[s]++;
    histogram_observe(&mr->duration, seconds);
}

void metrics_render(const struct metrics *m, struct evbuffer *out)
{
    evbuffer_add_printf(out, "# HELP groupbuyd_http_requests_total HTTP "
                             "requests answered, by route and status.\n"
                             "# TYPE groupbuyd_http_requests_total counter\n");
    for (size_t i = 0; i < m->nroutes; i++) {
        const struct metrics_route *mr = &m->routes[i];
        const char *name = m->labels[i];
        for (size_t s = 0; s < NSTATUS; s++) {
            if (mr->by_status[s] == 0)
                continue;
            char code[8];
            if (s < NCODES)
                snprintf(code, sizeof code, "%d", metrics_codes[s]);
            else
                snprintf(code, sizeof code, "other");
            evbuffer_add_printf(out,
                                "groupbuyd_http_requests_total{route=\"%s\","
                                "status=\"%s\"} %llu\n",
                                name, code,
                                (unsigned long long)mr->by_status[s]);
        }
    }
    evbuffer_add_printf(
        out, "# HELP groupbuyd_http_request_duration_seconds Time from "
             "request read to reply, by route.\n"
             "# TYPE groupbuyd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nroutes; i++) {
        const struct metrics_route *mr = &m->routes[i];
        if (mr->duration.count == 0)
            continue;
        char labels[LABEL_MAX + 16];
        snprintf(labels, sizeof labels, "route=\"%s\"", m->labels[i]);
        histogram_render(&mr->duration, out,
                         "groupbuyd_http_request_duration_seconds", labels);
    }
}
