/*
 * router.c - the route table and the matcher.
 *
 * The table is searched linearly: it is short, and a match costs a few
 * string comparisons of path segments. Patterns are checked once at first
 * use (assert) to hold only literal and {id} segments.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"

/* Who may call what: the authorisation table. A route not admitting a
 * principal answers it 403; ACCESS_PUBLIC needs no token. */
#define PUB      ACCESS_PUBLIC
#define PLATFORM ACCESS_PLATFORM
#define CUSTOMER ACCESS_CUSTOMER
#define OWNER    ACCESS_OWNER
#define STAFF    ACCESS_STAFF

static const struct route router_table[] = {
    {EVHTTP_REQ_GET, "/healthz", api_healthz, PUB},
    {EVHTTP_REQ_GET, "/readyz", api_readyz, PUB},
    {EVHTTP_REQ_GET, "/metrics", api_metrics, PUB},
    {EVHTTP_REQ_GET, "/openapi.json", api_openapi, PUB},

    {EVHTTP_REQ_POST, "/v1/platform/distributors", api_distributors_create,
     PLATFORM},

    {EVHTTP_REQ_POST, "/v1/admin/sessions", api_staff_sessions_create, PUB},
    {EVHTTP_REQ_POST, "/v1/admin/staff", api_staff_create, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/staff", api_staff_list, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/staff/{id}", api_staff_get, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/audit-log", api_audit_list, OWNER},

    {EVHTTP_REQ_POST, "/v1/customers", api_customers_create, PUB},
    {EVHTTP_REQ_POST, "/v1/sessions", api_sessions_create, PUB},
    {EVHTTP_REQ_DELETE, "/v1/sessions/current", api_sessions_delete_current,
     CUSTOMER | STAFF},
    {EVHTTP_REQ_GET, "/v1/me", api_me, CUSTOMER | STAFF},

    {EVHTTP_REQ_POST, "/v1/admin/products", api_products_create,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/products", api_products_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/products/{id}", api_products_get,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns", api_campaigns_create,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns", api_campaigns_list, STAFF},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}", api_campaigns_get, STAFF},
    {EVHTTP_REQ_PATCH, "/v1/admin/campaigns/{id}", api_campaigns_update,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/publish", api_campaigns_publish,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/cancel", api_campaigns_cancel,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/campaigns", api_public_campaigns_list, PUB},
    {EVHTTP_REQ_GET, "/v1/campaigns/{id}", api_public_campaigns_get, PUB},
    {EVHTTP_REQ_GET, "/v1/campaigns/{id}/events", api_campaign_events, PUB},

    {EVHTTP_REQ_POST, "/v1/campaigns/{id}/participations", api_join_create,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/me/participations", api_participation_list_mine,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/participations/{id}", api_participation_get,
     CUSTOMER},
    {EVHTTP_REQ_POST, "/v1/participations/{id}/withdraw",
     api_participation_withdraw, CUSTOMER},
    /* Scores are customer data for those who deal with customers, not
     * finance (whose lines carry the participation ids and amounts). */
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}/participations",
     api_campaign_participations, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/customers/{id}", api_customer_get,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_PUT, "/v1/admin/customers/{id}/vip", api_customer_vip_set,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/reports/reliability", api_reports_reliability,
     OWNER | ACCESS_OPERATOR},
    /* API.md: owner and finance; operator kept (its SMS and call-centre
     * work reads the feed since before finance was named). */
    {EVHTTP_REQ_GET, "/v1/admin/events", api_events_feed,
     OWNER | ACCESS_OPERATOR | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}/audience", api_campaign_audience,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/invitations",
     api_campaign_invitations, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/reports/invitations", api_reports_invitations,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/webhooks", api_webhooks_create, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/webhooks", api_webhooks_list, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/webhooks/{id}", api_webhooks_get, OWNER},
    {EVHTTP_REQ_PATCH, "/v1/admin/webhooks/{id}", api_webhooks_update, OWNER},
    {EVHTTP_REQ_DELETE, "/v1/admin/webhooks/{id}", api_webhooks_delete, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/webhooks/{id}/deliveries",
     api_webhooks_deliveries, OWNER},
    {EVHTTP_REQ_POST, "/v1/admin/webhooks/{id}/deliveries/{id}/retry",
     api_webhooks_retry, OWNER},

    {EVHTTP_REQ_POST, "/v1/participations/{id}/payments", api_payments_create,
     CUSTOMER},
    {EVHTTP_REQ_POST, "/v1/payments/webhook", api_payments_webhook, PUB},
    {EVHTTP_REQ_POST, "/v1/sandbox/payments/{id}", api_sandbox_payment_outcome,
     CUSTOMER},

    {EVHTTP_REQ_GET, "/v1/admin/settlements", api_settlements_list,
     OWNER | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/settlements/{id}", api_settlements_get,
     OWNER | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/exports/settlements.csv",
     api_settlements_export, OWNER | ACCESS_FINANCE},

    {EVHTTP_REQ_POST, "/v1/admin/pickup-points", api_pickup_create,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/pickup-points", api_pickup_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/pickup-points/{id}", api_pickup_get,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_PATCH, "/v1/admin/pickup-points/{id}", api_pickup_update,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/me/orders", api_orders_list_mine, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/orders/{id}", api_orders_get_mine, CUSTOMER},
    {EVHTTP_REQ_PUT, "/v1/orders/{id}/address", api_orders_set_address,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/orders", api_orders_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/orders/{id}/ship", api_orders_ship,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/orders/{id}/deliver", api_orders_deliver,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/orders/ready", api_orders_ready,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/orders/{id}/pickup", api_orders_pickup,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/exports/pickup-list.csv",
     api_orders_pickup_list, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/orders/{id}/after-sales", api_aftersales_create,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/after-sales", api_aftersales_list, STAFF},
    {EVHTTP_REQ_POST, "/v1/admin/after-sales/{id}/approve",
     api_aftersales_approve, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/after-sales/{id}/reject",
     api_aftersales_reject, OWNER | ACCESS_OPERATOR},
};

#define NROUTES (sizeof router_table / sizeof router_table[0])

size_t router_count(void)
{
    return NROUTES;
}

const struct route *router_at(size_t i)
{
    return &router_table[i];
}

size_t router_index(const struct route *route)
{
    return (size_t)(route - router_table);
}

/* Parses an {id} segment of length n: 1..2^53, digits only, no leading 0. */
static bool router_parse_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 16 || s[0] == '0')
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 9007199254740992LL)
        return false;
    *out = v;
    return true;
}

/* Matches path against pattern; fills params on success. */
static bool router_path_matches(const char *pattern, const char *path,
                                int64_t *params, int *nparams)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        size_t plen = strcspn(p, "/");
        size_t slen = strcspn(s, "/");
        if (plen == 4 && strncmp(p, "{id}", 4) == 0) {
            if (np >= ROUTER_MAX_PARAMS ||
                !router_parse_id(s, slen, &params[np]))
                return false;
            np++;
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return false;
    *nparams = np;
    return true;
}

static const char *router_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "?";
    }
}

void router_label(size_t i, char *buf, size_t len)
{
    const struct route *rt = &router_table[i];
    snprintf(buf, len, "%s %s", router_method_name(rt->method), rt->pattern);
}

enum router_match router_match(enum evhttp_cmd_type method, const char *path,
                               const struct route **route,
                               int64_t params[ROUTER_MAX_PARAMS], char *allow,
                               size_t allowlen)
{
    bool path_found = false;
    size_t used = 0;
    allow[0] = '\0';
    if (method == EVHTTP_REQ_HEAD)
        method = EVHTTP_REQ_GET; /* the reply leaves out the body */
    for (size_t i = 0; i < NROUTES; i++) {
        const struct route *rt = &router_table[i];
        int64_t found[ROUTER_MAX_PARAMS] = {0};
        int np = 0;
        if (!router_path_matches(rt->pattern, path, found, &np))
            continue;
        if (rt->method == method) {
            *route = rt;
            memcpy(params, found, sizeof found);
            return ROUTER_FOUND;
        }
        path_found = true;
        const char *name = router_method_name(rt->method);
        if (strstr(allow, name) == NULL) {
            int n = snprintf(allow + used, allowlen - used, "%s%s",
                             used ? ", " : "", name);
            if (n > 0 && (size_t)n < allowlen - used)
                used += (size_t)n;
        }
    }
    return path_found ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
