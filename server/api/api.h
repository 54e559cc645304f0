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

/* api_admin.c */
void api_staff_create(struct req *r);
void api_staff_list(struct req *r);
void api_staff_get(struct req *r);
void api_audit_list(struct req *r);

/* api_products.c */
void api_products_create(struct req *r);
void api_products_list(struct req *r);
void api_products_get(struct req *r);

/* api_campaigns.c */
void api_campaigns_create(struct req *r);
void api_campaigns_list(struct req *r);
void api_campaigns_get(struct req *r);
void api_campaigns_update(struct req *r);
void api_campaigns_publish(struct req *r);
void api_campaigns_cancel(struct req *r);

/* api_customers.c */
void api_customer_get(struct req *r);
void api_customer_vip_set(struct req *r);

/* api_reports.c */
void api_events_feed(struct req *r);

/* api_audience.c */
void api_campaign_audience(struct req *r);
void api_campaign_invitations(struct req *r);
void api_reports_invitations(struct req *r);

/* api_webhooks.c */
void api_webhooks_create(struct req *r);
void api_webhooks_list(struct req *r);
void api_webhooks_get(struct req *r);
void api_webhooks_update(struct req *r);
void api_webhooks_delete(struct req *r);
void api_webhooks_deliveries(struct req *r);
void api_webhooks_retry(struct req *r);
void api_reports_reliability(struct req *r);

/* api_orders.c */
void api_orders_list(struct req *r);
void api_orders_ship(struct req *r);
void api_orders_deliver(struct req *r);
void api_orders_ready(struct req *r);
void api_orders_pickup(struct req *r);
void api_orders_pickup_list(struct req *r);

/* api_aftersales.c */
void api_aftersales_list(struct req *r);
void api_aftersales_approve(struct req *r);
void api_aftersales_reject(struct req *r);

/* api_pickup.c */
void api_pickup_create(struct req *r);
void api_pickup_list(struct req *r);
void api_pickup_get(struct req *r);
void api_pickup_update(struct req *r);

#endif
