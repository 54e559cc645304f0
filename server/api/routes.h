/*
 * routes.h - the route table of the API (routes.c), for the matcher.
 */
#ifndef GROUPBUYD_ROUTES_H
#define GROUPBUYD_ROUTES_H

#include <stddef.h>

#include "http/router.h"

extern const struct route api_routes[];
extern const size_t api_routes_count;

#endif
