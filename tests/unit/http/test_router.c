/* test_router.c - the route table's matcher, table-driven: found routes
 * and their {id}s, {code} segments, 404, 405 with Allow, HEAD as GET, and
 * the labels. */
#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "http/router.h"
#include "unit.h"

struct route_case {
    enum evhttp_cmd_type method;
    const char *path;
    enum router_match want;
    const char *pattern; /* ROUTER_FOUND: the route's pattern */
    int64_t params[ROUTER_MAX_PARAMS];
    const char *allow; /* ROUTER_BAD_METHOD */
};

#define GET    EVHTTP_REQ_GET
#define POST   EVHTTP_REQ_POST
#define PUT    EVHTTP_REQ_PUT
#define PATCH  EVHTTP_REQ_PATCH
#define DELETE EVHTTP_REQ_DELETE
#define HEAD   EVHTTP_REQ_HEAD
#define FOUND  ROUTER_FOUND
#define NONE   ROUTER_NOT_FOUND
#define BAD    ROUTER_BAD_METHOD

static const struct route_case cases[] = {
    {GET, "/healthz", FOUND, "/healthz", {0}, NULL},
    {HEAD, "/healthz", FOUND, "/healthz", {0}, NULL},
    {GET, "/v1/campaigns", FOUND, "/v1/campaigns", {0}, NULL},
    {GET, "/v1/campaigns/42", FOUND, "/v1/campaigns/{id}", {42}, NULL},
    {POST,
     "/v1/campaigns/7/participations",
     FOUND,
     "/v1/campaigns/{id}/participations",
     {7},
     NULL},
    {PATCH,
     "/v1/admin/campaigns/9007199254740992",
     FOUND,
     "/v1/admin/campaigns/{id}",
     {9007199254740992LL},
     NULL},
    {PUT,
     "/v1/admin/customers/5/vip",
     FOUND,
     "/v1/admin/customers/{id}/vip",
     {5},
     NULL},
    {GET,
     "/v1/admin/exports/settlements.csv",
     FOUND,
     "/v1/admin/exports/settlements.csv",
     {0},
     NULL},
    {DELETE, "/v1/sessions/current", FOUND, "/v1/sessions/current", {0}, NULL},

    /* ids: 1..2^53, digits only, no leading zero */
    {GET, "/v1/campaigns/0", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/007", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/9007199254740993", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/12345678901234567", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/-1", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/1a", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/abc", NONE, NULL, {0}, NULL},
    {GET, "/v1/campaigns/", NONE, NULL, {0}, NULL},

    /* {code}: 1..64 of [A-Za-z0-9_-], read from the path by the handler */
    {GET, "/s/abcdefgh2345", FOUND, "/s/{code}", {0}, NULL},
    {HEAD, "/s/a", FOUND, "/s/{code}", {0}, NULL},
    {GET, "/s/A-b_9", FOUND, "/s/{code}", {0}, NULL},
    {GET,
     "/s/0123456789012345678901234567890123456789012345678901234567890123",
     FOUND,
     "/s/{code}",
     {0},
     NULL},
    {GET,
     "/s/01234567890123456789012345678901234567890123456789012345678901234",
     NONE,
     NULL,
     {0},
     NULL},
    {GET, "/s/", NONE, NULL, {0}, NULL},
    {GET, "/s", NONE, NULL, {0}, NULL},
    {GET, "/s/a.b", NONE, NULL, {0}, NULL},
    {GET, "/s/a%20b", NONE, NULL, {0}, NULL},
    {GET, "/s/ab/c", NONE, NULL, {0}, NULL},
    {POST, "/s/abc", BAD, NULL, {0}, "GET"},

    /* whole segments only */
    {GET, "/", NONE, NULL, {0}, NULL},
    {GET, "", NONE, NULL, {0}, NULL},
    {GET, "/healthz/", NONE, NULL, {0}, NULL},
    {GET, "/healthz/extra", NONE, NULL, {0}, NULL},
    {GET, "/healthzz", NONE, NULL, {0}, NULL},
    {GET, "//healthz", NONE, NULL, {0}, NULL},
    {GET, "/v1", NONE, NULL, {0}, NULL},
    {GET, "/V1/campaigns", NONE, NULL, {0}, NULL},

    /* the path is there, the method is not */
    {DELETE, "/healthz", BAD, NULL, {0}, "GET"},
    {PUT, "/v1/admin/campaigns/3", BAD, NULL, {0}, "GET, PATCH"},
    {DELETE, "/v1/admin/staff", BAD, NULL, {0}, "POST, GET"},
    {POST, "/v1/campaigns/3", BAD, NULL, {0}, "GET"},
    {GET, "/v1/sessions", BAD, NULL, {0}, "POST"},
    {HEAD, "/v1/sessions", BAD, NULL, {0}, "POST"},
};

static void router_check(const struct route_case *c)
{
    const struct route *rt = NULL;
    int64_t params[ROUTER_MAX_PARAMS] = {-1, -1, -1, -1};
    char allow[128];
    enum router_match got =
        router_match(c->method, c->path, &rt, params, allow, sizeof allow);
    CHECK_MSG(got == c->want, "%s: got %d, want %d", c->path, got, c->want);
    if (got != c->want)
        return;
    if (got == ROUTER_FOUND) {
        CHECK_MSG(rt != NULL && strcmp(rt->pattern, c->pattern) == 0,
                  "%s: pattern %s, want %s", c->path, rt ? rt->pattern : "-",
                  c->pattern);
        CHECK_MSG(memcmp(params, c->params, sizeof params) == 0,
                  "%s: params %lld, want %lld", c->path, (long long)params[0],
                  (long long)c->params[0]);
        CHECK(router_at(router_index(rt)) == rt);
    }
    if (got == ROUTER_BAD_METHOD)
        CHECK_MSG(strcmp(allow, c->allow) == 0, "%s: Allow \"%s\", want \"%s\"",
                  c->path, allow, c->allow);
}

/* Every route has a distinct label, and its own path finds it. */
static void router_check_table(void)
{
    char a[128], b[128];
    for (size_t i = 0; i < router_count(); i++) {
        router_label(i, a, sizeof a);
        CHECK_MSG(strchr(a, ' ') != NULL && strstr(a, router_at(i)->pattern),
                  "label %s", a);
        for (size_t j = 0; j < i; j++) {
            router_label(j, b, sizeof b);
            CHECK_MSG(strcmp(a, b) != 0, "two routes labelled %s", a);
        }
    }
    router_label(0, a, sizeof a);
    CHECK_STR_EQ(a, "GET /healthz");
}

/* Allow never overflows its buffer. */
static void router_check_short_allow(void)
{
    const struct route *rt = NULL;
    int64_t params[ROUTER_MAX_PARAMS];
    char allow[4];
    CHECK(router_match(DELETE, "/v1/admin/campaigns/3", &rt, params, allow,
                       sizeof allow) == ROUTER_BAD_METHOD);
    CHECK(strlen(allow) < sizeof allow);
}

int main(void)
{
    router_init(api_routes, api_routes_count);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        router_check(&cases[i]);
    router_check_table();
    router_check_short_allow();
    CHECK_STR_EQ(router_last_segment("/s/abcdefgh"), "abcdefgh");
    CHECK_STR_EQ(router_last_segment("/s/"), "");
    return unit_summary("router");
}
