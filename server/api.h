/*
 * api.h - every HTTP handler, grouped by the file that holds it. The route
 * table in router.c is the only place that maps paths to these.
 */
#ifndef GROUPBUYD_API_H
#define GROUPBUYD_API_H

struct req;

/* api_health.c */
void api_healthz(struct req *r);
void api_readyz(struct req *r);
void api_metrics(struct req *r);

#endif
