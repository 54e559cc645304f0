/*
 * dispatch.h - from a request read to its handler.
 *
 * dispatch_request runs for every request the transport has read: it finds
 * the route (http/router.h), answers 404 (the web app's files first:
 * http/static.h) and 405 with Allow, then runs a public route's handler at
 * once and hands any other to the server's authoriser (srv->authorize, set
 * by main.c: engine/auth.h), which names the principal in r->who and runs
 * the handler, or answers 401 or 403. The transport thus depends on
 * nothing above it.
 */
#ifndef GROUPBUYD_DISPATCH_H
#define GROUPBUYD_DISPATCH_H

struct req;

/* Routes and answers r (see above). */
void dispatch_request(struct req *r);

#endif
