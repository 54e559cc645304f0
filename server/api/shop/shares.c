/*
 * shares.c - share links (拼团 invites): a shopper's link to a campaign,
 * the page the link opens (GET /s/{code}, no auth: what a chat app reads
 * to show the offer), and the shopper's shares with the friends they
 * brought. The join that names a link's code is joins.c's; the rules are
 * in schema/functions/growth.sql and join.sql.
 *
 * A code is CRYPTO_CODE_LEN letters from the CSPRNG (lib/crypto.h); the
 * page is built by domain/sharepage.h from the campaign's public view,
 * every value escaped, under the web app's Content-Security-Policy.
 */
#include <stdlib.h>
#include <string.h>

#include "api/shop/shop.h"
#include "domain/sharepage.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "http/static.h"
#include "lib/crypto.h"
#include "lib/json.h"

#define SHARES_CODE_ATTEMPTS 3

/* ---------------------------------------------------------------- create */

static struct db_stmt share_create_stmt =
    DB_STMT("share_create",
            "SELECT outcome, body::text FROM gb_share_create($1, $2, $3)", 3);

static void shares_create_run(struct req *r);

static void shares_created_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    int *attempts = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "created") == 0)
        idem_reply_text(r, 201, PQgetvalue(res->res, 0, 1));
    else if (strcmp(outcome, "existing") == 0)
        idem_reply_text(r, 200, PQgetvalue(res->res, 0, 1));
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
    else if (strcmp(outcome, "code_taken") == 0 &&
             *attempts < SHARES_CODE_ATTEMPTS)
        shares_create_run(r); /* another share drew this code: draw again */
    else if (strcmp(outcome, "code_taken") == 0)
        req_reply_error(r, 500, "internal", NULL,
                        "No free share code could be drawn.");
    else
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The campaign has closed: there is nothing to share.");
}

static void shares_create_run(struct req *r)
{
    int *attempts = r->state;
    (*attempts)++;
    char code[CRYPTO_CODE_LEN + 1];
    if (!crypto_random_code(code, CRYPTO_CODE_LEN)) {
        req_reply_error(r, 500, "internal", NULL, "No randomness.");
        return;
    }
    const char *params[] = {req_printf(r, "%lld", (long long)r->who.id),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            req_strdup(r, code)};
    if (!req_exec(r, &share_create_stmt, params, shares_created_cb))
        return;
}

/* POST /v1/campaigns/{id}/shares (customer; a scheduled or open campaign)
 * -> 201 share {code, url, campaign_id} | 200 the same share again | 404 |
 * 409 invalid_state (closed) */
void shares_create(struct req *r)
{
    if (!req_json_none(r))
        return;
    int *attempts = req_alloc(r, sizeof *attempts);
    *attempts = 0;
    r->state = attempts;
    idem_begin(r, shares_create_run);
}

/* ---------------------------------------------------------------- page */

static struct db_stmt share_page_stmt =
    DB_STMT_URGENT("share_page", "SELECT gb_share_page($1)::text", 1);

static void shares_not_found_page(struct req *r)
{
    static_html_headers(r);
    req_reply_raw(r, 404, "text/html; charset=utf-8", sharepage_not_found,
                  strlen(sharepage_not_found));
}

static int64_t shares_int(const cJSON *obj, const char *key, int64_t dflt)
{
    int64_t v;
    return json_item_int(json_get(obj, key), INT64_MIN, INT64_MAX, &v) ? v
                                                                       : dflt;
}

static void shares_page_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
        shares_not_found_page(r);
        return;
    }
    const char *text = PQgetvalue(res->res, 0, 0);
    struct json_parse_error err;
    cJSON *view = json_parse_strict(text, strlen(text), &err);
    const cJSON *title = json_get(view, "title");
    const cJSON *status = json_get(view, "status");
    const cJSON *progress = json_get(view, "progress");
    const cJSON *basis = json_get(view, "tier_basis");
    if (!cJSON_IsString(title) || !cJSON_IsString(status) ||
        !cJSON_IsObject(progress) || !cJSON_IsString(basis)) {
        cJSON_Delete(view);
        req_reply_error(r, 500, "internal", NULL,
                        "The campaign's view cannot be read.");
        return;
    }
    const cJSON *next = json_get(progress, "next_tier");
    struct sharepage page = {
        .code = r->state,
        .campaign_id = shares_int(view, "id", 0),
        .title = title->valuestring,
        .status = status->valuestring,
        .per_unit = strcmp(basis->valuestring, "quantity") == 0,
        .price_cents = shares_int(progress, "current_unit_price_cents", -1),
        .has_next = cJSON_IsObject(next),
        .next_price_cents = shares_int(next, "unit_price_cents", 0),
        .next_needed = shares_int(next, "needed", 0),
        .participants = shares_int(progress, "participants", 0),
        .min_participants = shares_int(view, "min_participants", 0),
        .public_url = r->srv->cfg->public_url};
    size_t need = sharepage_html(&page, NULL, 0);
    char *html = req_alloc(r, need + 1);
    sharepage_html(&page, html, need + 1);
    cJSON_Delete(view);
    static_html_headers(r);
    req_reply_raw(r, 200, "text/html; charset=utf-8", html, need);
}

/* GET /s/{code} (no auth) -> 200 text/html, the campaign's page with its
 * Open Graph tags | 404 text/html (no such share, or a campaign that is
 * not public) */
void shares_page(struct req *r)
{
    const char *code = router_last_segment(r->path);
    if (!crypto_code_is_wellformed(code, strlen(code), 1, ROUTER_CODE_MAX)) {
        shares_not_found_page(r);
        return;
    }
    r->state = req_strdup(r, code);
    const char *params[] = {r->state};
    if (!req_query_db_read(r, &share_page_stmt, params, shares_page_cb))
        return;
}

/* ---------------------------------------------------------------- mine */

static struct db_stmt shares_mine_stmt =
    DB_STMT("shares_mine", "SELECT id, item FROM gb_my_shares($1, $2, $3)", 3);

/* GET /v1/me/shares (customer) -> {items: [{campaign_id, code, url, joined,
 * completed, friends, ...}], next_after} */
void shares_list_mine(struct req *r)
{
    req_own_list(r, &shares_mine_stmt);
}
