/*
 * api_join.h - the join handler's answer to a join decided by the join
 * decision (joinengine.h), the callback the coalesced joins (joinbatch)
 * answer through.
 */
#ifndef GROUPBUYD_API_JOIN_H
#define GROUPBUYD_API_JOIN_H

#include "engine/joinengine.h"

struct req;

/* Answers a join from its outcome: 201 with the participation, or the
 * refusal in the error envelope (joinbatch.h's reply callback). */
void api_join_batch_reply(struct req *r, const struct joinengine_outcome *o);

#endif
