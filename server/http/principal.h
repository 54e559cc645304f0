/*
 * principal.h - who is asking: the principal of a request (r->who), set by
 * the authoriser (engine/auth.h) before a route's handler runs. Admin
 * handlers scope every statement by its distributor_id (req_tenant_param of
 * http/reply.h), so another distributor's ids are simply not found.
 */
#ifndef GROUPBUYD_PRINCIPAL_H
#define GROUPBUYD_PRINCIPAL_H

#include <stdint.h>

enum principal_kind {
    PRINCIPAL_NONE,
    PRINCIPAL_PLATFORM,
    PRINCIPAL_STAFF,
    PRINCIPAL_CUSTOMER
};

struct principal {
    enum principal_kind kind;
    unsigned access;        /* the ACCESS_* bit this principal holds */
    int64_t id;             /* staff or customer id */
    int64_t distributor_id; /* staff only */
    char role[16];          /* staff only */
    char scope[48];         /* "staff:12", "customer:5", "platform", "anon" */
    char token_hash[65];    /* hex SHA-256 of the session token */
};

#endif
