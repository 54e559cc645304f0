/*
 * account.h - creating accounts, and admitting the anonymous password
 * endpoints.
 *
 * Customers (registration), staff (an owner adding them) and distributor
 * owners (the platform) are created by one path: the login is brought to
 * its normal form (login.h), the password checked for length and hashed on
 * the worker pool, then the handler's statement runs under its
 * Idempotency-Key (idem.h), and a login that is taken answers 409
 * duplicate. The statement calls the schema's function that writes the
 * account (gb_customer_create, gb_staff_create, gb_distributor_create),
 * with its audit entry for staff and distributors.
 *
 * Hashing is what an anonymous client can make the server spend: logins
 * and registrations first take an attempt from the client's per-minute
 * allowance (client_auth_attempts_per_minute, clientaddr.h for who the
 * client is), kept in this process's memory, or answer 429 with
 * Retry-After.
 */
#ifndef GROUPBUYD_ACCOUNT_H
#define GROUPBUYD_ACCOUNT_H

#include <stdbool.h>

#include "domain/login.h"

struct req;
struct db_stmt;

#define ACCOUNT_MAX_PARAMS 8

struct account_new {
    const char *login;    /* as sent */
    const char *password; /* as sent */
    const char *field;    /* prefix of error fields: "" or "owner." */
    bool anonymous;       /* counts against the client's allowance */
    /* Runs after hashing; answers one row whose column 0 is the 201 body,
     * or NULL when the login is taken (as is a unique violation). */
    struct db_stmt *insert;
    const char *params[ACCOUNT_MAX_PARAMS]; /* the handler's parameters */
    int login_param;                        /* filled with the normal form */
    int hash_param;                         /* filled with the hash */
    char normal[LOGIN_MAX + 1];
};

/* Creates the account described by *a (allocated in r's arena, which the
 * handler has filled) and answers: 201, 400 invalid_field, 409 duplicate,
 * 429 or 503. */
void account_create(struct req *r, struct account_new *a);

/* Takes one attempt from the allowance of r's client; false after
 * answering 429 rate_limited with Retry-After. */
bool account_client_admit(struct req *r) __attribute__((warn_unused_result));

/* Frees the allowance table at exit (main.c, after the loop has stopped). */
void account_free(void);

#endif
