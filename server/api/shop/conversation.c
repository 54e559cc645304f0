/*
 * conversation.c - the answers a question and a complaint share when they
 * are opened (see conversation.h). Not a handler.
 */
#include "api/shop/conversation.h"

#include <string.h>

#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"

bool conversation_reply_opened(struct req *r, const struct db_result *res,
                               const char *what, int per_hour)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return true;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0) {
        idem_reply_text(r, 201, PQgetvalue(res->res, 0, 1));
        return true;
    }
    if (strcmp(outcome, "rate_limited") == 0) {
        const char *secs = req_strdup(r, PQgetvalue(res->res, 0, 2));
        req_add_header(r, "Retry-After", secs);
        req_reply_error(r, 429, "rate_limited", NULL,
                        "At most %d %s an hour; retry in %s seconds.", per_hour,
                        what, secs);
        return true;
    }
    return false;
}
