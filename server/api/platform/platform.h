/*
 * platform.h - the routes of the platform operator, who runs the service
 * for every distributor (authenticated by the platform token).
 */
#ifndef GROUPBUYD_PLATFORM_H
#define GROUPBUYD_PLATFORM_H

struct req;

/* distributors.c */
void distributors_create(struct req *r);

#endif
