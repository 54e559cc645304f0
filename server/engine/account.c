/*
 * account.c - see account.h.
 */
#include "engine/account.h"
#include "lib/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/auth.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/clientaddr.h"
#include "lib/log.h"
#include "lib/ratelimit.h"

/* ---- the client's allowance ------------------------------------------ */

/* Allocated on first use and kept for the life of the process. */
static struct ratelimit *account_limits;

void account_free(void)
{
    ratelimit_free(account_limits);
    account_limits = NULL;
}

bool account_client_admit(struct req *r)
{
    int limit = r->srv->cfg->client_auth_per_minute;
    if (limit <= 0)
        return true;
    unsigned char addr[16], key[16];
    if (!req_client_addr(r, addr))
        return true; /* no peer: a closed connection, nothing to spend */
    if (account_limits == NULL) {
        account_limits = ratelimit_new();
        if (account_limits == NULL) {
            req_reply_error(r, 503, "unavailable", NULL, "Out of memory.");
            return false;
        }
    }
    clientaddr_limit_key(addr, key);
    uint64_t wait =
        ratelimit_take(account_limits, key, clock_now_ms(), limit, 60000);
    if (wait == 0)
        return true;
    const char *secs =
        req_printf(r, "%llu", (unsigned long long)(wait + 999) / 1000);
    req_add_header(r, "Retry-After", secs);
    req_reply_error(r, 429, "rate_limited", NULL,
                    "Too many logins or registrations from your address; "
                    "retry in %s seconds.",
                    secs);
    return false;
}

/* ---- creating an account --------------------------------------------- */

static void account_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct account_new *a = r->state;
    const char *field = req_printf(r, "%slogin", a->field);
    if (db_is_unique_violation(res)) {
        req_reply_error(r, 409, "duplicate", field, "This login is taken.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
        req_reply_error(r, 409, "duplicate", field, "This login is taken.");
        return;
    }
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void account_run(struct req *r)
{
    struct account_new *a = r->state;
    if (!req_exec(r, a->insert, a->params, account_inserted_cb))
        return;
}

static void account_hashed_cb(struct req *r, const char *encoded)
{
    struct account_new *a = r->state;
    a->params[a->hash_param] = req_strdup(r, encoded);
    idem_begin(r, account_run);
}

void account_create(struct req *r, struct account_new *a)
{
    r->state = a;
    if (login_normalize(a->login, a->normal) == LOGIN_INVALID) {
        req_reply_error(r, 400, "invalid_field",
                        req_printf(r, "%slogin", a->field),
                        "login must be an e-mail address or a mainland "
                        "mobile number.");
        return;
    }
    size_t pwlen = strlen(a->password);
    if (pwlen < 8 || pwlen > 256) {
        req_reply_error(r, 400, "invalid_field",
                        req_printf(r, "%spassword", a->field),
                        "password must be 8 to 256 bytes.");
        return;
    }
    if (a->anonymous && !account_client_admit(r))
        return;
    a->params[a->login_param] = a->normal;
    if (!auth_hash_password(r, a->password, account_hashed_cb))
        return;
}
