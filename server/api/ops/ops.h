/*
 * ops.h - the routes of those who run the service rather than use it:
 * liveness, readiness, metrics and the API's own description.
 */
#ifndef GROUPBUYD_OPS_H
#define GROUPBUYD_OPS_H

#include <stdbool.h>
#include <stddef.h>

struct req;

/* health.c */
void health_live(struct req *r);
void health_ready(struct req *r);
void health_metrics(struct req *r);

/* openapi.c: the document is read once at start (main.c) */
bool openapi_load(const char *path, char *err, size_t errlen);
void openapi_free(void);
void openapi_get(struct req *r);

#endif
