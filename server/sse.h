/*
 * sse.h - live campaign progress as Server-Sent Events
 * (GET /v1/campaigns/{id}/events); the design is at the top of sse.c.
 */
#ifndef GROUPBUYD_SSE_H
#define GROUPBUYD_SSE_H

#include <stdbool.h>

struct server;
struct req;

/* Starts the LISTEN connection and the keep-alive timer; false on
 * allocation failure. */
bool sse_init(struct server *srv) __attribute__((warn_unused_result));
/* Server shutdown: ends every open stream (complete) and refuses new ones
 * with 503. */
void sse_shutdown(void);
/* Frees what is left, after http_stop and before the pool is freed. */
void sse_free(void);

#endif
