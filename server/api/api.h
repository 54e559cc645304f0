/*
 * api.h - every HTTP handler, grouped by the file that holds it. The route
 * table in router.c is the only place that maps paths to these.
 */
#ifndef GROUPBUYD_API_H
#define GROUPBUYD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/reply.h" /* every handler answers with these */

struct req;
struct jfields;
struct cJSON;

/* api_campaigns.c */
void api_campaigns_create(struct req *r);
void api_campaigns_list(struct req *r);
void api_campaigns_get(struct req *r);
void api_campaigns_update(struct req *r);
void api_campaigns_publish(struct req *r);
void api_campaigns_cancel(struct req *r);

#endif
