/*
 * complaints.c - complaints (投诉), the shopper's side: opening one about a
 * campaign they took part in or one of their orders (at most
 * COMPLAINTS_PER_HOUR an hour per customer), and reading their own with
 * the staff's replies. Staff reply and resolve in
 * api/admin/complaint_queue.c; the rules are in
 * schema/functions/conversations.sql.
 *
 * A complaint must name its campaign or its order (docs/decisions.md): it
 * goes to the distributor who ran it, and only there.
 */
#include <string.h>

#include "api/shop/conversation.h"
#include "api/shop/shop.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define COMPLAINTS_PER_HOUR 5
#define COMPLAINT_MAX_CHARS 2000

struct complaint_in {
    const char *body;
    int64_t campaign_id, order_id; /* 0: not named */
};

static struct db_stmt complaint_open_stmt =
    DB_STMT("complaint_open",
            "SELECT outcome, body::text, retry_s FROM gb_complaint_open($1,"
            " $2, $3, $4, $5)",
            5);

static void complaints_opened_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (conversation_reply_opened(r, res, "complaints", COMPLAINTS_PER_HOUR))
        return;
    if (strcmp(PQgetvalue(res->res, 0, 0), "missing") == 0)
        req_reply_error(r, 400, "invalid_field", "campaign_id",
                        "Name the campaign_id or the order_id the complaint "
                        "is about.");
    else
        req_reply_error(r, 404, "not_found", NULL,
                        "No such campaign or order of yours.");
}

static const char *complaints_id(struct req *r, int64_t id)
{
    return id > 0 ? req_printf(r, "%lld", (long long)id) : NULL;
}

static void complaints_create_run(struct req *r)
{
    struct complaint_in *in = r->state;
    const char *params[] = {req_printf(r, "%lld", (long long)r->who.id),
                            complaints_id(r, in->campaign_id),
                            complaints_id(r, in->order_id), in->body,
                            req_printf(r, "%d", COMPLAINTS_PER_HOUR)};
    if (!req_exec(r, &complaint_open_stmt, params, complaints_opened_cb))
        return;
}

/* POST /v1/me/complaints {body, campaign_id?, order_id?} (customer; one of
 * the two) -> 201 complaint (open) | 400 | 404 (not the customer's) | 429
 * rate_limited */
void complaints_create(struct req *r)
{
    cJSON *json = req_json_object(r);
    if (json == NULL)
        return;
    struct complaint_in *in = req_alloc(r, sizeof *in);
    memset(in, 0, sizeof *in);
    r->state = in;
    static const char *const fields[] = {"body", "campaign_id", "order_id",
                                         NULL};
    struct jfields jf;
    jfields_init(&jf, json);
    jfields_only(&jf, fields);
    jfields_str(&jf, "body", true, 1, COMPLAINT_MAX_CHARS, &in->body, NULL);
    jfields_int(&jf, "campaign_id", false, 1, JSON_MAX_SAFE_INT,
                &in->campaign_id, NULL);
    jfields_int(&jf, "order_id", false, 1, JSON_MAX_SAFE_INT, &in->order_id,
                NULL);
    if (!req_fields_ok(r, &jf))
        return;
    in->body = req_strdup(r, in->body);
    idem_begin(r, complaints_create_run);
}

/* ---------------------------------------------------------------- mine */

static struct db_stmt complaints_mine_stmt = DB_STMT(
    "complaints_mine", "SELECT id, item FROM gb_my_complaints($1, $2, $3)", 3);

/* GET /v1/me/complaints (customer) -> {items: [complaint with replies],
 * next_after} */
void complaints_list_mine(struct req *r)
{
    req_own_list(r, &complaints_mine_stmt);
}
