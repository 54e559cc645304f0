/*
 * metrics.c - fixed arrays indexed by route and status class.
 *
 * Statuses are kept per exact code for the codes the API uses and as
 * "other" beyond them, so the arrays stay small and a client cannot grow
 * the label set.
 */
#include "http/metrics.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>

static const int metrics_codes[] = {200, 201, 204, 304, 400, 401, 403, 404,
                                    405, 409, 413, 415, 429, 431, 500, 503};
#define NCODES  (sizeof metrics_codes / sizeof metrics_codes[0])
#define NSTATUS (NCODES + 1) /* + other */

static const double metrics_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,  0.1,    0.25,  0.5,
                                        1,      2.5,   5,      10};
#define NBOUNDS (sizeof metrics_bounds / sizeof metrics_bounds[0])

struct metrics_route {
    uint64_t by_status[NSTATUS];
    uint64_t buckets[NBOUNDS]; /* non-cumulative */
    uint64_t count;
    double sum;
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
    mr->count++;
    mr->sum += seconds;
    for (size_t i = 0; i < NBOUNDS; i++) {
        if (seconds <= metrics_bounds[i]) {
            mr->buckets[i]++;
            break;
        }
    }
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
        if (mr->count == 0)
            continue;
        const char *name = m->labels[i];
        uint64_t cum = 0;
        for (size_t b = 0; b < NBOUNDS; b++) {
            cum += mr->buckets[b];
            evbuffer_add_printf(
                out,
                "groupbuyd_http_request_duration_seconds_bucket{route=\"%s\","
                "le=\"%g\"} %llu\n",
                name, metrics_bounds[b], (unsigned long long)cum);
        }
        evbuffer_add_printf(
            out,
            "groupbuyd_http_request_duration_seconds_bucket{route=\"%s\","
            "le=\"+Inf\"} %llu\n"
            "groupbuyd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "groupbuyd_http_request_duration_seconds_count{route=\"%s\"} "
            "%llu\n",
            name, (unsigned long long)mr->count, name, mr->sum, name,
            (unsigned long long)mr->count);
    }
}
