/*
 * order.h - the answers of the SQL functions that move an order on
 * (functions/orders.sql) and of those that handle its after-sales requests
 * (functions/aftersales.sql), for the customer's routes and the staff's
 * alike. Each function locks, checks the state and writes in one
 * transaction, then answers a row (outcome, body); these map the outcome
 * to the contract's status codes.
 */
#ifndef GROUPBUYD_ORDER_H
#define GROUPBUYD_ORDER_H

struct req;
struct db_result;

/* The callback (arg: the request) for an order transition's row: "ok" is
 * 200 with the order (through the idempotent section), "not_found" 404,
 * "no_address" and "wrong_code" 409, "locked" 429, anything else 409
 * invalid_state. */
void order_outcome_cb(const struct db_result *res, void *arg);

/* Answers an after-sales step's row: "ok" is ok_status with the request
 * (through the idempotent section), "not_found" 404, "amount" 400 naming
 * amount_cents, "quantity" 400 naming quantity_field (the field the unit
 * count came in), anything else 409 invalid_state. */
void order_aftersales_reply(struct req *r, const struct db_result *res,
                            int ok_status, const char *quantity_field);

#endif
