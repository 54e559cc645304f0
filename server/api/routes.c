/*
 * routes.c - every endpoint of the API: method, path pattern, handler, and
 * who may call it (the authorisation table). A route not admitting a
 * principal answers it 403; ACCESS_PUBLIC needs no token. main.c hands the
 * table to the matcher (http/router.h) before anything is served.
 */
#include "api/routes.h"

#include "api/admin/admin.h"
#include "api/finance/finance.h"
#include "api/identity/identity.h"
#include "api/ops/ops.h"
#include "api/platform/platform.h"
#include "api/shop/shop.h"

#define PUB      ACCESS_PUBLIC
#define PLATFORM ACCESS_PLATFORM
#define CUSTOMER ACCESS_CUSTOMER
#define OWNER    ACCESS_OWNER
#define STAFF    ACCESS_STAFF

const struct route api_routes[] = {
    {EVHTTP_REQ_GET, "/healthz", health_live, PUB},
    {EVHTTP_REQ_GET, "/readyz", health_ready, PUB},
    {EVHTTP_REQ_GET, "/metrics", health_metrics, PUB},
    {EVHTTP_REQ_GET, "/openapi.json", openapi_get, PUB},

    {EVHTTP_REQ_POST, "/v1/platform/distributors", distributors_create,
     PLATFORM},

    {EVHTTP_REQ_POST, "/v1/admin/sessions", sessions_staff_login, PUB},
    {EVHTTP_REQ_POST, "/v1/admin/staff", staff_create, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/staff", staff_list, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/staff/{id}", staff_get, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/audit-log", staff_audit_list, OWNER},

    {EVHTTP_REQ_POST, "/v1/customers", signup_create, PUB},
    {EVHTTP_REQ_POST, "/v1/sessions", sessions_customer_login, PUB},
    {EVHTTP_REQ_DELETE, "/v1/sessions/current", sessions_logout,
     CUSTOMER | STAFF},
    {EVHTTP_REQ_GET, "/v1/me", sessions_me, CUSTOMER | STAFF},

    {EVHTTP_REQ_POST, "/v1/admin/products", products_create,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/products", products_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/products/{id}", products_get,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_PATCH, "/v1/admin/products/{id}", products_update,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_PUT, "/v1/admin/products/{id}/stock", stock_put,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns", campaigns_create,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns", campaigns_list, STAFF},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}", campaigns_get, STAFF},
    {EVHTTP_REQ_PATCH, "/v1/admin/campaigns/{id}", campaign_edit_patch,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/publish", campaigns_publish,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/cancel", campaigns_cancel,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/campaigns", catalog_list, PUB},
    {EVHTTP_REQ_GET, "/v1/campaigns/events", catalog_events_many, PUB},
    {EVHTTP_REQ_GET, "/v1/campaigns/{id}", catalog_get, PUB},
    {EVHTTP_REQ_GET, "/v1/campaigns/{id}/events", catalog_events, PUB},

    {EVHTTP_REQ_POST, "/v1/campaigns/{id}/participations", joins_create,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/me/participations", joins_list_mine, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/participations/{id}", joins_get, CUSTOMER},
    {EVHTTP_REQ_POST, "/v1/participations/{id}/withdraw", joins_withdraw,
     CUSTOMER},

    /* share links, the waitlist, questions and complaints (growth) */
    {EVHTTP_REQ_POST, "/v1/campaigns/{id}/shares", shares_create, CUSTOMER},
    {EVHTTP_REQ_GET, "/s/{code}", shares_page, PUB},
    {EVHTTP_REQ_GET, "/v1/me/shares", shares_list_mine, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}/referrals", referrals_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/campaigns/{id}/waitlist", waitlist_create, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/me/waitlist", waitlist_list_mine, CUSTOMER},
    {EVHTTP_REQ_DELETE, "/v1/waitlist/{id}", waitlist_leave, CUSTOMER},
    {EVHTTP_REQ_POST, "/v1/campaigns/{id}/questions", questions_create,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/campaigns/{id}/questions", questions_list_public,
     PUB},
    {EVHTTP_REQ_GET, "/v1/me/questions", questions_list_mine, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/questions", question_queue_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/questions/{id}/answer", question_queue_answer,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/me/complaints", complaints_create, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/me/complaints", complaints_list_mine, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/complaints", complaint_queue_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/complaints/{id}/reply", complaint_queue_reply,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/complaints/{id}/resolve",
     complaint_queue_resolve, OWNER | ACCESS_OPERATOR},
    /* Scores are customer data for those who deal with customers, not
     * finance (whose lines carry the participation ids and amounts). */
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}/participations",
     participations_list, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/customers", customers_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/customers/{id}", customers_get,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_PUT, "/v1/admin/customers/{id}/vip", customers_vip_set,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/reports/reliability", reports_reliability,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/forecasts/ladder", forecasts_ladder,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/reliability/refit", model_refit, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/reliability/parameters", model_params_get,
     OWNER},
    {EVHTTP_REQ_PUT, "/v1/admin/reliability/parameters", model_params_put,
     OWNER},
    {EVHTTP_REQ_DELETE, "/v1/admin/reliability/parameters", model_params_delete,
     OWNER},
    /* API.md: owner and finance; operator kept (its SMS and call-centre
     * work reads the feed since before finance was named). */
    {EVHTTP_REQ_GET, "/v1/admin/events", reports_events,
     OWNER | ACCESS_OPERATOR | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/campaigns/{id}/audience", invitations_audience,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/invitations",
     invitations_create, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/reports/invitations", invitations_report,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/webhooks", webhooks_create, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/webhooks", webhooks_list, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/webhooks/{id}", webhooks_get, OWNER},
    {EVHTTP_REQ_PATCH, "/v1/admin/webhooks/{id}", webhooks_update, OWNER},
    {EVHTTP_REQ_DELETE, "/v1/admin/webhooks/{id}", webhooks_delete, OWNER},
    {EVHTTP_REQ_GET, "/v1/admin/webhooks/{id}/deliveries", webhooks_deliveries,
     OWNER},
    {EVHTTP_REQ_POST, "/v1/admin/webhooks/{id}/deliveries/{id}/retry",
     webhooks_retry, OWNER},

    {EVHTTP_REQ_POST, "/v1/participations/{id}/payments", payments_create,
     CUSTOMER},
    {EVHTTP_REQ_POST, "/v1/payments/webhook", payments_webhook, PUB},
    {EVHTTP_REQ_POST, "/v1/sandbox/payments/{id}", sandbox_payment_outcome,
     CUSTOMER},

    {EVHTTP_REQ_GET, "/v1/admin/settlements", settlements_list,
     OWNER | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/settlements/{id}", settlements_get,
     OWNER | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/settlement-adjustments",
     settlements_adjustments, OWNER | ACCESS_FINANCE},
    {EVHTTP_REQ_GET, "/v1/admin/exports/settlements.csv", exports_settlements,
     OWNER | ACCESS_FINANCE},

    {EVHTTP_REQ_POST, "/v1/admin/pickup-points", pickup_points_create,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/pickup-points", pickup_points_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/pickup-points/{id}", pickup_points_get,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_PATCH, "/v1/admin/pickup-points/{id}", pickup_points_update,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/me/orders", orders_list_mine, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/orders/{id}", orders_get_mine, CUSTOMER},
    {EVHTTP_REQ_PUT, "/v1/orders/{id}/address", orders_set_address, CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/orders", fulfilment_list,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/orders/{id}/ship", fulfilment_ship,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/orders/{id}/deliver", fulfilment_deliver,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/campaigns/{id}/orders/ready", fulfilment_ready,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/orders/{id}/pickup", fulfilment_pickup,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_GET, "/v1/admin/exports/pickup-list.csv",
     fulfilment_pickup_list, OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/orders/{id}/after-sales", orders_aftersales_create,
     CUSTOMER},
    {EVHTTP_REQ_GET, "/v1/admin/after-sales", aftersales_list, STAFF},
    {EVHTTP_REQ_POST, "/v1/admin/after-sales/{id}/approve", aftersales_approve,
     OWNER | ACCESS_OPERATOR},
    {EVHTTP_REQ_POST, "/v1/admin/after-sales/{id}/reject", aftersales_reject,
     OWNER | ACCESS_OPERATOR},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
