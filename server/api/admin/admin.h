/*
 * admin.h - the routes of a distributor's staff (owner, operator, and
 * finance where it reads): its staff, catalogue, campaigns, customers,
 * invitations, reports, forecasts and the reliability model, webhooks,
 * pickup points, fulfilment and after-sales.
 */
#ifndef GROUPBUYD_ADMIN_H
#define GROUPBUYD_ADMIN_H

struct req;

/* staff.c */
void staff_create(struct req *r);
void staff_list(struct req *r);
void staff_get(struct req *r);
void staff_audit_list(struct req *r);

/* products.c */
void products_create(struct req *r);
void products_list(struct req *r);
void products_get(struct req *r);
void products_update(struct req *r);

/* stock.c */
void stock_put(struct req *r);

/* campaigns.c */
void campaigns_create(struct req *r);
void campaigns_list(struct req *r);
void campaigns_get(struct req *r);
void campaigns_publish(struct req *r);
void campaigns_cancel(struct req *r);

/* campaign_edit.c */
void campaign_edit_patch(struct req *r);

/* customers.c */
void customers_list(struct req *r);
void customers_get(struct req *r);
void customers_vip_set(struct req *r);

/* participations.c */
void participations_list(struct req *r);

/* invitations.c */
void invitations_audience(struct req *r);
void invitations_create(struct req *r);
void invitations_report(struct req *r);

/* forecasts.c */
void forecasts_ladder(struct req *r);

/* model.c */
void model_refit(struct req *r);
void model_params_get(struct req *r);
void model_params_put(struct req *r);
void model_params_delete(struct req *r);

/* reports.c */
void reports_events(struct req *r);
void reports_reliability(struct req *r);

/* webhooks.c */
void webhooks_create(struct req *r);
void webhooks_list(struct req *r);
void webhooks_get(struct req *r);
void webhooks_update(struct req *r);
void webhooks_delete(struct req *r);
void webhooks_deliveries(struct req *r);
void webhooks_retry(struct req *r);

/* pickup_points.c */
void pickup_points_create(struct req *r);
void pickup_points_list(struct req *r);
void pickup_points_get(struct req *r);
void pickup_points_update(struct req *r);

/* fulfilment.c */
void fulfilment_list(struct req *r);
void fulfilment_ship(struct req *r);
void fulfilment_deliver(struct req *r);
void fulfilment_ready(struct req *r);
void fulfilment_pickup(struct req *r);
void fulfilment_pickup_list(struct req *r);

/* referrals.c */
void referrals_list(struct req *r);

/* question_queue.c */
void question_queue_list(struct req *r);
void question_queue_answer(struct req *r);

/* complaint_queue.c */
void complaint_queue_list(struct req *r);
void complaint_queue_reply(struct req *r);
void complaint_queue_resolve(struct req *r);

/* aftersales.c */
void aftersales_list(struct req *r);
void aftersales_approve(struct req *r);
void aftersales_reject(struct req *r);

#endif
