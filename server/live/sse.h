/*
 * sse.h - live campaign progress as Server-Sent Events
 * (GET /v1/campaigns/{id}/events, GET /v1/campaigns/events?ids=...); the
 * design is at the top of sse.c.
 */
#ifndef GROUPBUYD_SSE_H
#define GROUPBUYD_SSE_H

#include <stdbool.h>

#include <stdint.h>

struct server;
struct req;

/* This process's figures for /metrics. */
struct sse_stats {
    int streams;            /* open (answered or waiting for their first) */
    int streams_many;       /* of which many-campaign streams */
    int follows;            /* campaigns followed, summed over the streams */
    int topics;             /* campaigns watched */
    uint64_t events;        /* events written to streams, one per stream */
    uint64_t dropped;       /* streams cut for not reading */
    uint64_t notifications; /* change notifications received */
};
void sse_get_stats(struct sse_stats *out);

/* Makes r a stream of campaign_id's progress: answers it (503 when
 * shutting down or at sse_max_streams, 404 for a campaign that is not
 * public, 204 when the client has seen its end) or keeps it open. */
void sse_open(struct req *r, int64_t campaign_id);

/* Makes r one stream of the campaigns ids[0..n) (ascending, distinct, n in
 * 1..PROGRESS_MAX_IDS; else 400), resuming from the cursor in
 * Last-Event-ID (live/progress.h): answers it (503 as above, 404 naming
 * the first campaign found not public, 204 when the client has seen the
 * end of every one) or keeps it open until none is left. */
void sse_open_many(struct req *r, const int64_t *ids, int n);

/* Starts the LISTEN connection and the keep-alive timer; false on
 * allocation failure. */
bool sse_init(struct server *srv) __attribute__((warn_unused_result));
/* Server shutdown: ends every open stream (complete) and refuses new ones
 * with 503. */
void sse_shutdown(void);
/* Frees what is left, after http_stop and before the pool is freed. */
void sse_free(void);

#endif
