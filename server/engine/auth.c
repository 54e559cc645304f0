/*
 * auth.c - see auth.h.
 *
 * The session lookup is one prepared statement keyed by the tokens'
 * SHA-256s, for every lookup that queued while others were in flight
 * (coalesced lookups, below); a revoked or expired session is not found. Its
 * result is kept in memory (the session cache) so that a busy client does not
 * cost a query per request:
 *  - a fixed table of SESSION_CACHE_SETS x SESSION_CACHE_WAYS entries
 *    (65,536; about 6 MB, allocated on first use), keyed by the token's
 *    SHA-256, holding the principal and until when it may be served;
 *    a full set evicts the entry closest to its end;
 *  - an entry is served for at most session_cache_ttl_ms after its lookup
 *    was sent, and never past the session's expires_at (the lookup returns
 *    the milliseconds left, counted from the same start): an expired
 *    session is never served;
 *  - a logout through this process removes the entry before it answers,
 *    and a lookup that was in flight across a logout is not stored (the
 *    generation counter), so it takes effect at once here; a logout
 *    through another process, or a session revoked or shortened in the
 *    database, takes effect here within session_cache_ttl_ms;
 *  - unknown, revoked and expired tokens are not cached: a flood of random
 *    tokens costs queries, never memory;
 *  - session_cache_ttl_ms = 0 turns the cache off.
 * Worker jobs copy
 * nothing from the request while they run: everything they read or write
 * was allocated in the request's arena before submission, and the request
 * is not freed before the job's done callback replies.
 */
#include "engine/auth.h"
#include "lib/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/workpool.h"

/* The sessions of several tokens at once ($1: their SHA-256s in hex, as
 * a text array): one row per live session, with its token's 1-based
 * position (schema/functions/identity.sql). */
static struct db_stmt session_stmt =
    DB_STMT_URGENT("auth_sessions", "SELECT * FROM gb_sessions_lookup($1)", 1);

/* ---- the session cache (see the top of the file) -------------------- */

#define SESSION_CACHE_SETS 16384
#define SESSION_CACHE_WAYS 4

struct session_entry {
    unsigned char digest[CRYPTO_SHA256_LEN];
    uint64_t until_ms; /* monotonic; 0: empty */
    int64_t id;
    int64_t distributor_id;
    enum principal_kind kind;
    char role[16];
};

static struct session_entry *session_cache; /* SETS * WAYS, lazily */
static uint64_t session_cache_gen;          /* bumped by every forget */

/* What a lookup in flight needs when its answer comes. */
struct session_lookup {
    unsigned char digest[CRYPTO_SHA256_LEN];
    uint64_t sent_ms;
    uint64_t gen;
};

static struct session_entry *auth_cache_set(const unsigned char *digest)
{
    uint32_t h = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 |
                 (uint32_t)digest[2] << 16 | (uint32_t)digest[3] << 24;
    return &session_cache[(size_t)(h % SESSION_CACHE_SETS) *
                          SESSION_CACHE_WAYS];
}

/* The live entry of digest, or NULL. */
static struct session_entry *auth_cache_find(const unsigned char *digest,
                                             uint64_t now)
{
    if (session_cache == NULL)
        return NULL;
    struct session_entry *set = auth_cache_set(digest);
    for (int i = 0; i < SESSION_CACHE_WAYS; i++) {
        struct session_entry *e = &set[i];
        if (e->until_ms == 0 ||
            memcmp(e->digest, digest, CRYPTO_SHA256_LEN) != 0)
            continue;
        if (e->until_ms > now)
            return e;
        e->until_ms = 0; /* expired: gone */
        return NULL;
    }
    return NULL;
}

static void auth_cache_put(const unsigned char *digest, uint64_t until,
                           const struct principal *w)
{
    if (session_cache == NULL) {
        session_cache = calloc((size_t)SESSION_CACHE_SETS * SESSION_CACHE_WAYS,
                               sizeof *session_cache);
        if (session_cache == NULL)
            return; /* no cache, no harm */
    }
    struct session_entry *set = auth_cache_set(digest);
    struct session_entry *victim = &set[0];
    for (int i = 0; i < SESSION_CACHE_WAYS; i++) {
        struct session_entry *e = &set[i];
        if (e->until_ms != 0 &&
            memcmp(e->digest, digest, CRYPTO_SHA256_LEN) == 0) {
            victim = e;
            break;
        }
        if (e->until_ms < victim->until_ms)
            victim = e;
    }
    memcpy(victim->digest, digest, CRYPTO_SHA256_LEN);
    victim->until_ms = until;
    victim->kind = w->kind;
    victim->id = w->id;
    victim->distributor_id = w->distributor_id;
    snprintf(victim->role, sizeof victim->role, "%s", w->role);
}

void auth_session_forget(const char *token_hash)
{
    session_cache_gen++;
    unsigned char digest[CRYPTO_SHA256_LEN];
    if (session_cache == NULL ||
        !crypto_hex_decode(token_hash, strlen(token_hash), digest,
                           sizeof digest))
        return;
    struct session_entry *set = auth_cache_set(digest);
    for (int i = 0; i < SESSION_CACHE_WAYS; i++)
        if (memcmp(set[i].digest, digest, CRYPTO_SHA256_LEN) == 0)
            set[i].until_ms = 0;
}

static void auth_lookups_free(void);

void auth_cache_free(void)
{
    free(session_cache);
    session_cache = NULL;
    auth_lookups_free();
}

static unsigned auth_role_access(const char *role)
{
    if (strcmp(role, "owner") == 0)
        return ACCESS_OWNER;
    if (strcmp(role, "operator") == 0)
        return ACCESS_OPERATOR;
    if (strcmp(role, "finance") == 0)
        return ACCESS_FINANCE;
    return 0;
}

/* A route only the platform operator may call, while no platform token is
 * configured: nobody can call it, and the answer says how to change that
 * (the code stays the contract's 401 or 403). */
static bool auth_platform_disabled(const struct req *r)
{
    return r->route->access == ACCESS_PLATFORM &&
           r->srv->cfg->platform_token[0] == '\0';
}

#define AUTH_PLATFORM_DISABLED                                            \
    "The platform API is disabled: set GROUPBUYD_PLATFORM_TOKEN (config " \
    "platform_token) to enable it."

static void auth_reply_401(struct req *r)
{
    req_add_header(r, "WWW-Authenticate", "Bearer");
    req_reply_error(r, 401, "unauthenticated", NULL, "%s",
                    auth_platform_disabled(r)
                        ? AUTH_PLATFORM_DISABLED
                        : "A valid bearer token is required.");
}

static void auth_admit(struct req *r)
{
    if ((r->route->access & r->who.access) == 0) {
        req_reply_error(r, 403, "forbidden", NULL, "%s",
                        auth_platform_disabled(r)
                            ? AUTH_PLATFORM_DISABLED
                            : "Your role may not do this.");
        return;
    }
    r->route->handler(r);
}

/* Fills the access and scope of a principal from its kind, id and role. */
static void auth_principal_finish(struct principal *w)
{
    if (w->kind == PRINCIPAL_STAFF) {
        w->access = auth_role_access(w->role);
        snprintf(w->scope, sizeof w->scope, "staff:%lld", (long long)w->id);
    } else {
        w->access = ACCESS_CUSTOMER;
        snprintf(w->scope, sizeof w->scope, "customer:%lld", (long long)w->id);
    }
}

/* Admits r as the principal of row `row` of a session lookup (or -1:
 * no live session), caching it when it may be. */
static void auth_session_found(struct req *r, PGresult *pg, int row)
{
    struct session_lookup *lk = r->state;
    r->state = NULL;
    if (row < 0) {
        auth_reply_401(r);
        return;
    }
    struct principal *w = &r->who;
    if (!PQgetisnull(pg, row, 1)) {
        w->kind = PRINCIPAL_STAFF;
        w->id = strtoll(PQgetvalue(pg, row, 1), NULL, 10);
        w->distributor_id = strtoll(PQgetvalue(pg, row, 3), NULL, 10);
        snprintf(w->role, sizeof w->role, "%s", PQgetvalue(pg, row, 4));
    } else {
        w->kind = PRINCIPAL_CUSTOMER;
        w->id = strtoll(PQgetvalue(pg, row, 2), NULL, 10);
    }
    auth_principal_finish(w);
    int ttl = r->srv->cfg->session_cache_ttl_ms;
    long long left = strtoll(PQgetvalue(pg, row, 5), NULL, 10);
    if (ttl > 0 && lk != NULL && lk->gen == session_cache_gen && left > 0) {
        uint64_t until = lk->sent_ms + (uint64_t)ttl;
        if ((uint64_t)left < (uint64_t)ttl)
            until = lk->sent_ms + (uint64_t)left;
        auth_cache_put(lk->digest, until, w);
    }
    auth_admit(r);
}

/* ---- coalesced session lookups --------------------------------------
 * The lookups that miss the cache while one is in flight queue, and go
 * together in one statement when it returns: a burst of new clients costs
 * one query per batch of up to AUTH_LOOKUP_MAX tokens, not one each. A
 * lookup with none in flight goes at once (no added latency when idle).
 * One in flight, not two: the statement's fixed cost (about 0.1 ms of
 * PostgreSQL CPU) is most of a small batch's, a second statement halves
 * the batches, and a lookup by primary key waits on nothing (a table
 * lock aside) that a second lookup would not wait on too
 * (docs/decisions.md). A waiting request lives in its arena: a request is only
 * freed by its reply, and each is answered exactly once from its batch. */

#define AUTH_LOOKUP_MAX      256
#define AUTH_LOOKUP_INFLIGHT 1

struct auth_wait {
    struct auth_wait *next;
    struct req *r;
};

struct auth_batch {
    struct auth_batch *prev, *next; /* every batch in flight */
    int n;
    struct req *r[];
};

static struct {
    struct auth_wait *head, **tail;
    int queued, inflight;
    struct auth_batch *batches;
} auth_lookups;

static void auth_lookup_pump(struct server *srv);

int auth_lookups_queued(void)
{
    return auth_lookups.queued;
}

static void auth_batch_done(struct auth_batch *b, struct server *srv)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        auth_lookups.batches = b->next;
    if (b->next)
        b->next->prev = b->prev;
    free(b);
    auth_lookups.inflight--;
    auth_lookup_pump(srv);
}

static void auth_batch_cb(const struct db_result *res, void *arg)
{
    struct auth_batch *b = arg;
    struct server *srv = b->r[0]->srv;
    if (res->status != DB_OK) {
        for (int i = 0; i < b->n; i++) {
            b->r[i]->state = NULL;
            req_reply_db_error(b->r[i], res);
        }
        auth_batch_done(b, srv);
        return;
    }
    PGresult *pg = res->res;
    int found[AUTH_LOOKUP_MAX];
    for (int i = 0; i < b->n; i++)
        found[i] = -1;
    for (int row = 0; row < PQntuples(pg); row++) {
        long ord = strtol(PQgetvalue(pg, row, 0), NULL, 10);
        if (ord >= 1 && ord <= b->n)
            found[ord - 1] = row;
    }
    for (int i = 0; i < b->n; i++)
        auth_session_found(b->r[i], pg, found[i]);
    auth_batch_done(b, srv);
}

static void auth_lookup_pump(struct server *srv)
{
    while (auth_lookups.inflight < AUTH_LOOKUP_INFLIGHT &&
           auth_lookups.queued > 0) {
        int n = auth_lookups.queued < AUTH_LOOKUP_MAX ? auth_lookups.queued
                                                      : AUTH_LOOKUP_MAX;
        struct auth_batch *b = malloc(sizeof *b + (size_t)n * sizeof b->r[0]);
        if (b == NULL)
            abort(); /* as req_alloc: no way to answer without memory */
        b->n = n;
        /* "{hex,hex,...}": 65 bytes a token, and the braces. */
        char *tokens = malloc((size_t)n * 65 + 2);
        if (tokens == NULL)
            abort();
        char *p = tokens;
        *p++ = '{';
        for (int i = 0; i < n; i++) {
            struct auth_wait *w = auth_lookups.head;
            auth_lookups.head = w->next;
            b->r[i] = w->r;
            if (i > 0)
                *p++ = ',';
            memcpy(p, w->r->who.token_hash, 64);
            p += 64;
        }
        *p++ = '}';
        *p = '\0';
        auth_lookups.queued -= n;
        if (auth_lookups.head == NULL)
            auth_lookups.tail = &auth_lookups.head;
        b->prev = NULL;
        b->next = auth_lookups.batches;
        if (b->next)
            b->next->prev = b;
        auth_lookups.batches = b;
        auth_lookups.inflight++;
        const char *params[] = {tokens};
        struct db_job *job =
            db_query(srv->db, &session_stmt, params, auth_batch_cb, b);
        free(tokens);
        if (job == NULL) {
            struct db_result res = {.status = DB_UNAVAILABLE};
            auth_batch_cb(&res, b); /* answers them, frees b, pumps */
            return;
        }
    }
}

/* Lookups still in flight at exit are abandoned with the pool. */
static void auth_lookups_free(void)
{
    while (auth_lookups.batches) {
        struct auth_batch *b = auth_lookups.batches;
        auth_lookups.batches = b->next;
        free(b);
    }
    auth_lookups.inflight = 0;
}

static void auth_lookup(struct req *r)
{
    if (auth_lookups.tail == NULL)
        auth_lookups.tail = &auth_lookups.head;
    struct auth_wait *w = req_alloc(r, sizeof *w);
    w->next = NULL;
    w->r = r;
    *auth_lookups.tail = w;
    auth_lookups.tail = &w->next;
    auth_lookups.queued++;
    auth_lookup_pump(r->srv);
}

void auth_authorize(struct req *r)
{
    const char *h = req_header(r, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        auth_reply_401(r);
        return;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen(token);
    const char *platform = r->srv->cfg->platform_token;
    if (*platform &&
        crypto_secret_equal(token, len, platform, strlen(platform))) {
        r->who.kind = PRINCIPAL_PLATFORM;
        r->who.access = ACCESS_PLATFORM;
        snprintf(r->who.scope, sizeof r->who.scope, "platform");
        auth_admit(r);
        return;
    }
    unsigned char digest[CRYPTO_SHA256_LEN];
    if (!crypto_token_is_wellformed(token, len) ||
        !crypto_token_hash(token, len, digest)) {
        auth_reply_401(r);
        return;
    }
    crypto_hex_encode(digest, sizeof digest, r->who.token_hash);
    struct session_lookup *lk = NULL;
    if (r->srv->cfg->session_cache_ttl_ms > 0) {
        uint64_t now = clock_now_ms();
        const struct session_entry *e = auth_cache_find(digest, now);
        if (e != NULL) {
            struct principal *w = &r->who;
            w->kind = e->kind;
            w->id = e->id;
            w->distributor_id = e->distributor_id;
            snprintf(w->role, sizeof w->role, "%s", e->role);
            auth_principal_finish(w);
            auth_admit(r);
            return;
        }
        lk = req_alloc(r, sizeof *lk);
        memcpy(lk->digest, digest, sizeof digest);
        lk->sent_ms = now;
        lk->gen = session_cache_gen;
    }
    r->state = lk;
    auth_lookup(r);
}

/* ---- passwords on the worker pool ---------------------------------- */

struct pwjob {
    struct req *r;
    const char *password;
    size_t password_len;
    const char *encoded; /* verify: stored hash or NULL */
    int iterations;
    bool verify;
    bool ok;
    char *out; /* hash: the new hash; verify: a rehash or "" */
    auth_hash_cb *hash_cb;
    auth_verify_cb *verify_cb;
};

static void auth_pw_work(void *arg)
{
    struct pwjob *j = arg;
    j->out[0] = '\0';
    if (!j->verify) {
        j->ok =
            crypto_password_hash(j->password, j->password_len, j->iterations,
                                 j->out, CRYPTO_PASSWORD_ENCODED_MAX);
        return;
    }
    if (j->encoded == NULL) {
        crypto_password_verify_dummy(j->password, j->password_len,
                                     j->iterations);
        j->ok = false;
        return;
    }
    bool rehash = false;
    j->ok = crypto_password_verify(j->password, j->password_len, j->encoded,
                                   &rehash, j->iterations);
    if (j->ok && rehash &&
        !crypto_password_hash(j->password, j->password_len, j->iterations,
                              j->out, CRYPTO_PASSWORD_ENCODED_MAX))
        j->out[0] = '\0';
}

static void auth_pw_done(void *arg, bool cancelled)
{
    struct pwjob *j = arg;
    struct req *r = j->r;
    if (cancelled) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down; retry.");
        return;
    }
    if (!j->verify) {
        if (!j->ok) {
            req_reply_error(r, 500, "internal", NULL, "Hashing failed.");
            return;
        }
        j->hash_cb(r, j->out);
        return;
    }
    j->verify_cb(r, j->ok, j->out[0] ? j->out : NULL);
}

static bool auth_pw_submit(struct req *r, struct pwjob *j)
{
    j->r = r;
    j->iterations = r->srv->cfg->password_iterations;
    j->out = req_alloc(r, CRYPTO_PASSWORD_ENCODED_MAX);
    if (!workpool_submit(r->srv->work, auth_pw_work, auth_pw_done, j)) {
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "Too many logins at once; retry shortly.");
        return false;
    }
    return true;
}

bool auth_hash_password(struct req *r, const char *password, auth_hash_cb *cb)
{
    struct pwjob *j = req_alloc(r, sizeof *j);
    memset(j, 0, sizeof *j);
    j->password = password;
    j->password_len = strlen(password);
    j->hash_cb = cb;
    return auth_pw_submit(r, j);
}

bool auth_verify_password(struct req *r, const char *password,
                          const char *encoded, auth_verify_cb *cb)
{
    struct pwjob *j = req_alloc(r, sizeof *j);
    memset(j, 0, sizeof *j);
    j->password = password;
    j->password_len = strlen(password);
    j->encoded = encoded;
    j->verify = true;
    j->verify_cb = cb;
    return auth_pw_submit(r, j);
}
