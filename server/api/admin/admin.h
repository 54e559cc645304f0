/*
 * admin.h - the routes of a distributor's staff (owner, operator): its
 * staff, catalogue, campaigns, customers, invitations, reports, webhooks,
 * pickup points, fulfilment and after-sales.
 */
#ifndef GROUPBUYD_ADMIN_H
#define GROUPBUYD_ADMIN_H

struct req;

/* participations.c */
void participations_list(struct req *r);

#endif
