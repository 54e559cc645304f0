/*
 * identity.h - the routes shared by staff and customers: logging in and
 * out, and who the caller is.
 */
#ifndef GROUPBUYD_IDENTITY_H
#define GROUPBUYD_IDENTITY_H

struct req;

/* sessions.c */
void sessions_staff_login(struct req *r);
void sessions_customer_login(struct req *r);
void sessions_logout(struct req *r);
void sessions_me(struct req *r);

#endif
