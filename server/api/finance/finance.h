/*
 * finance.h - the routes of a distributor's finance (and its owner):
 * settlements and their CSV export.
 */
#ifndef GROUPBUYD_FINANCE_H
#define GROUPBUYD_FINANCE_H

struct req;

/* settlements.c */
void settlements_list(struct req *r);
void settlements_get(struct req *r);
void settlements_adjustments(struct req *r);

/* exports.c */
void exports_settlements(struct req *r);

#endif
