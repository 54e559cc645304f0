/*
 * http.h - the server: evhttp on one event base, every request read into
 * its context (request.h) and handed to the dispatcher (dispatch.h), and
 * graceful shutdown.
 */
#ifndef GROUPBUYD_HTTP_H
#define GROUPBUYD_HTTP_H

#include <stdbool.h>

#include "http/server.h"

/* Starts listening; false (with a logged reason) on failure. */
bool http_start(struct server *srv) __attribute__((warn_unused_result));
/* Stops accepting, lets in-flight requests finish (grace period), then
 * breaks the loop. Safe to call more than once. */
void http_begin_shutdown(struct server *srv);
void http_stop(struct server *srv);

#endif
