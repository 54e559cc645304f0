/*
 * auth.h - who is asking, and may they: one place for every route.
 *
 * Each route of the table in api/routes.c names the principals it admits
 * (ACCESS_* bits). The dispatcher (http/dispatch.h) runs a public route's
 * handler at once and hands any other to auth_authorize, which needs
 * "Authorization: Bearer TOKEN",
 * which is the platform token of the configuration or a session token
 * (only its SHA-256 is stored). No, bad or expired token: 401; a principal
 * the route does not admit: 403. Handlers then find the principal in
 * r->who, and admin handlers scope every statement by r->who.distributor_id
 * (req_tenant_param of http/reply.h), so another distributor's ids are simply
 * not found.
 *
 * Password hashing and verification run on the worker pool, never on the
 * loop; the request waits for the result and replies 503 when the pool's
 * queue is full.
 */
#ifndef GROUPBUYD_AUTH_H
#define GROUPBUYD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct req;

/* The server's authoriser (srv->authorize, registered by main.c) for a
 * request whose route is found and not public: names the principal in
 * r->who, then runs the route's handler, or replies 401/403/503. */
void auth_authorize(struct req *r);

/* Drops the cached session of token_hash (hex SHA-256) at once, and keeps
 * lookups in flight from caching what they read: call it once the session
 * is revoked, before answering. */
void auth_session_forget(const char *token_hash);
/* Frees the session cache (at exit). */
void auth_cache_free(void);
/* Session lookups waiting for a statement (behind those in flight), for
 * /metrics. */
int auth_lookups_queued(void);

typedef void auth_hash_cb(struct req *r, const char *encoded);
typedef void auth_verify_cb(struct req *r, bool ok, const char *rehash);

/* Hashes password on the worker pool with the configured iterations; cb
 * gets the encoded hash. On a full queue it replies 503 and returns false. */
bool auth_hash_password(struct req *r, const char *password, auth_hash_cb *cb)
    __attribute__((warn_unused_result));

/* Verifies password against encoded (NULL: an unknown login, verified
 * against a dummy so that it takes as long). cb gets ok, and when the
 * stored hash used fewer iterations than configured, a new hash to store
 * (else NULL). Replies 503 and returns false on a full queue. */
bool auth_verify_password(struct req *r, const char *password,
                          const char *encoded, auth_verify_cb *cb)
    __attribute__((warn_unused_result));

#endif
