/*
 * dispatch.c - see dispatch.h.
 */
#include "http/dispatch.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "http/request.h"
#include "http/router.h"
#include "http/static.h"

_Static_assert(REQ_MAX_PARAMS == ROUTER_MAX_PARAMS,
               "a request holds every {id} of a route");

void dispatch_request(struct req *r)
{
    char allow[128];
    /* With the sandbox off its paths do not exist: 404 before any 401. */
    if (!r->srv->cfg->payment_sandbox &&
        strncmp(r->path, "/v1/sandbox/", 12) == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such resource.");
        return;
    }
    switch (router_match(r->method, r->path, &r->route, r->params, allow,
                         sizeof allow)) {
    case ROUTER_FOUND:
        r->route_index = router_index(r->route);
        break;
    case ROUTER_BAD_METHOD:
        req_add_header(r, "Allow", allow);
        req_reply_error(r, 405, "method_not_allowed", NULL,
                        "%s is not allowed here; allowed: %s.",
                        req_method_name(r->method), allow);
        return;
    case ROUTER_NOT_FOUND:
        static_serve(r); /* the web app's files, else 404 */
        return;
    }
    snprintf(r->who.scope, sizeof r->who.scope, "anon");
    if (r->route->access == ACCESS_PUBLIC)
        r->route->handler(r);
    else
        r->srv->authorize(r);
}
