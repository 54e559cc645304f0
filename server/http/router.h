/*
 * router.h - the table of routes: method, path pattern, handler.
 *
 * Patterns are literal segments and "{id}" segments; an {id} matches a
 * decimal integer from 1 to 2^53 and is handed to the handler in
 * req->params. A "{code}" segment matches 1..ROUTER_CODE_MAX characters of
 * [A-Za-z0-9_-] (a share link's code); the handler reads it from the path
 * (router_last_segment). A path that matches no pattern answers 404; one that
 * matches a pattern under another method answers 405 with an Allow header.
 * Every endpoint is one line of the table in api/routes.c, which main.c
 * hands to router_init before the first request.
 */
#ifndef GROUPBUYD_ROUTER_H
#define GROUPBUYD_ROUTER_H

#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

struct req;

typedef void route_handler(struct req *r);

/* Who may call a route: the bits of the principals it admits. */
enum access {
    ACCESS_PUBLIC = 0,
    ACCESS_PLATFORM = 1 << 0,
    ACCESS_CUSTOMER = 1 << 1,
    ACCESS_OWNER = 1 << 2,
    ACCESS_OPERATOR = 1 << 3,
    ACCESS_FINANCE = 1 << 4,
};
#define ACCESS_STAFF (ACCESS_OWNER | ACCESS_OPERATOR | ACCESS_FINANCE)

/* The longest {code} segment. */
#define ROUTER_CODE_MAX 64

/* {id} segments a pattern may hold */
#define ROUTER_MAX_PARAMS 4

struct route {
    enum evhttp_cmd_type method;
    const char *pattern;
    route_handler *handler;
    unsigned access; /* ACCESS_* bits; 0 = public */
};

/* Sets the table (n routes) that the functions below search. */
void router_init(const struct route *table, size_t n);

enum router_match { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

/* Finds the route of (method, path): on ROUTER_FOUND *route and
 * params[0..] (its {id} segments, in order); on ROUTER_BAD_METHOD, allow
 * receives the allowed methods ("GET, POST"). HEAD finds the GET route. */
enum router_match router_match(enum evhttp_cmd_type method, const char *path,
                               const struct route **route,
                               int64_t params[ROUTER_MAX_PARAMS], char *allow,
                               size_t allowlen);

/* The table, for metrics labels: the count, an entry, an entry's index. */
size_t router_count(void);
const struct route *router_at(size_t i);
size_t router_index(const struct route *route);
/* "METHOD /pattern" of route i into buf. */
void router_label(size_t i, char *buf, size_t len);
/* Who may call route i: "public", or the principals it admits in the
 * order platform, customer, owner, operator, finance ("owner,operator"). */
void router_access_label(size_t i, char *buf, size_t len);

/* The last segment of path (what follows its last '/'): a {code} that
 * ends a pattern. */
const char *router_last_segment(const char *path);

#endif
