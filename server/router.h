/*
 * router.h - the table of routes: method, path pattern, handler.
 *
 * Patterns are literal segments and "{id}" segments; an {id} matches a
 * decimal integer from 1 to 2^53 and is handed to the handler in
 * req->params. A path that matches no pattern answers 404; one that matches
 * a pattern under another method answers 405 with an Allow header.
 * Every endpoint is one line of the table in router.c.
 */
#ifndef GROUPBUYD_ROUTER_H
#define GROUPBUYD_ROUTER_H

#include <event2/http.h>
#include <stddef.h>

struct req;

typedef void route_handler(struct req *r);

struct route {
    enum evhttp_cmd_type method;
    const char *pattern;
    route_handler *handler;
    unsigned access; /* ACCESS_* bits of auth.h; 0 = public */
};

enum router_match { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

/* Finds the route of (method, path) and fills r->route and r->params. On
 * ROUTER_BAD_METHOD, allow receives the allowed methods ("GET, POST"). */
enum router_match router_match(struct req *r, char *allow, size_t allowlen);

/* The table, for metrics labels: index of r->route, and the count. */
size_t router_count(void);
const struct route *router_at(size_t i);
size_t router_index(const struct route *route);

#endif
