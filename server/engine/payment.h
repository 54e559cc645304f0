/*
 * payment.h - the payment provider's webhook, whole: the signature check,
 * then the outcome applied. The provider's route and the sandbox (which
 * plays the provider) both deliver through it.
 */
#ifndef GROUPBUYD_PAYMENT_H
#define GROUPBUYD_PAYMENT_H

#include <stddef.h>

struct req;

/* Delivers a webhook made of a raw body and its X-Signature value, which
 * need not be the request's own: the sandbox delivers the message it
 * signed through here. raw must live until the reply (r's arena). Replies
 * 200 {outcome, payment} | 401 bad or stale signature | 400 | 404
 * payment_id | 409 | 503 (no secret set, or a lost lock race). */
void payment_webhook_deliver(struct req *r, const char *signature,
                             const char *raw, size_t len);

#endif
