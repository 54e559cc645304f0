/*
 * shop.h - the routes of shoppers (customers): signing up, the public
 * catalogue, joining, paying (with the provider's webhook and the
 * sandbox that plays the provider), their orders, share links, the
 * waitlist, questions and complaints.
 */
#ifndef GROUPBUYD_SHOP_H
#define GROUPBUYD_SHOP_H

struct req;
struct joinengine_outcome;

/* signup.c */
void signup_create(struct req *r);

/* catalog.c */
void catalog_list(struct req *r);
void catalog_get(struct req *r);
void catalog_events(struct req *r);
void catalog_events_many(struct req *r);

/* joins.c */
void joins_create(struct req *r);
void joins_list_mine(struct req *r);
void joins_get(struct req *r);
void joins_withdraw(struct req *r);
/* Answers a join from its outcome (engine/joinengine.h): 201 with the
 * participation, or the refusal in the error envelope. main.c hands it to
 * the coalesced joins (joinbatch.h's reply callback); keyed joins answer
 * through it too. */
void joins_batch_reply(struct req *r, const struct joinengine_outcome *o);

/* payments.c */
void payments_create(struct req *r);
void payments_webhook(struct req *r);

/* sandbox.c */
void sandbox_payment_outcome(struct req *r);

/* shares.c */
void shares_create(struct req *r);
void shares_page(struct req *r);
void shares_list_mine(struct req *r);

/* waitlist.c */
void waitlist_create(struct req *r);
void waitlist_list_mine(struct req *r);
void waitlist_leave(struct req *r);

/* questions.c */
void questions_create(struct req *r);
void questions_list_public(struct req *r);
void questions_list_mine(struct req *r);

/* complaints.c */
void complaints_create(struct req *r);
void complaints_list_mine(struct req *r);

/* orders.c */
void orders_list_mine(struct req *r);
void orders_get_mine(struct req *r);
void orders_set_address(struct req *r);
void orders_aftersales_create(struct req *r);

#endif
