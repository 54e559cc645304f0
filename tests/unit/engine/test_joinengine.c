/*
 * test_joinengine.c - joinengine.h: the campaign's first price and stored
 * policy read back, the C side of the join decision (score -> band -> deposit,
 * a quantity over the limit left unpriced) on rows shaped like the read's,
 * the decision's parameter arrays and the outcome of its rows.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "engine/joinengine.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse_bands(void)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"[{\"min_score\": 0, \"deposit_percent\": 30}]", true},
        {"[{\"min_score\": 80, \"deposit_percent\": 0},"
         " {\"min_score\": 0, \"deposit_percent\": 30}]",
         true},
        {"[{\"min_score\": 0, \"deposit_percent\": 101}]", false},
        {"[{\"min_score\": -1, \"deposit_percent\": 10}]", false},
        {"[{\"deposit_percent\": 10}]", false},
        {"[1]", false},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct pricing_deposit_band bands[PRICING_MAX_BANDS];
        size_t n;
        CHECK_MSG(joinengine_parse_bands(cases[i].text, bands, &n) ==
                      cases[i].ok,
                  "bands %s", cases[i].text);
    }
}

/* A result shaped like one row of gb_join_batch_reads (params NULL: the
 * distributor adopted none). */
static PGresult *read_row_params(const char *price, const char *policy,
                                 const char *limit, const char *vip,
                                 const char *completed, const char *defaulted,
                                 const char *params)
{
    static const char *const names[] = {
        "status",    "price",       "deposit_policy", "version",
        "limit",     "vip_level",   "completed",      "completed_w",
        "withdrawn", "withdrawn_w", "defaulted",      "defaulted_w",
        "expired",   "expired_w",   "params",         "ord"};
    const char *values[] = {
        "open", price, policy,    "3",       limit, vip, completed, completed,
        "0",    "0",   defaulted, defaulted, "0",   "0", params,    "1"};
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[N_ELEMS(names)];
    memset(attrs, 0, sizeof attrs);
    for (size_t i = 0; i < N_ELEMS(names); i++) {
        attrs[i].name = (char *)(uintptr_t)names[i];
        attrs[i].format = 0;
        attrs[i].typlen = -1;
    }
    if (res == NULL || !PQsetResultAttrs(res, (int)N_ELEMS(names), attrs))
        abort();
    for (size_t i = 0; i < N_ELEMS(values); i++)
        if (!PQsetvalue(res, 0, (int)i, (char *)(uintptr_t)values[i],
                        values[i] ? (int)strlen(values[i]) : -1))
            abort();
    return res;
}

static PGresult *read_row(const char *price, const char *policy,
                          const char *limit, const char *vip,
                          const char *completed, const char *defaulted)
{
    return read_row_params(price, policy, limit, vip, completed, defaulted,
                           NULL);
}

/* A distributor's own parameters replace the configured ones: a prior of
 * alpha 1 puts a new customer at 50, of 9 at 90 (a half-life changes
 * nothing without a history); unreadable sets are refused. */
static void test_params_cell(void)
{
    static const char policy[] =
        "[{\"min_score\": 80, \"deposit_percent\": 0},"
        " {\"min_score\": 50, \"deposit_percent\": 10},"
        " {\"min_score\": 0, \"deposit_percent\": 30}]";
    static const struct {
        const char *params;
        bool ok;
        int score;
    } cases[] = {
        {NULL, true, 75},
        {"{180,1,2,1,0.5,0.5,1}", true, 50},
        {"{30,3,2,1,0.5,0.5,1}", true, 75},
        {"{180,9,2,1,0.5,0.5,1}", true, 90},
        {"{180,1,2,1,0.5,0.5}", false, 0},
        {"{180,1,2,1,0.5,0.5,1,1}", false, 0},
        {"{0,1,2,1,0.5,0.5,1}", false, 0},
        {"{180,1,2,x,0.5,0.5,1}", false, 0},
        {"180,1,2,1,0.5,0.5,1", false, 0},
        {"{180,1,2,1,0.5,0.5,1}x", false, 0},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        PGresult *res = read_row_params("10000", policy, "5", "0", "0", "0",
                                        cases[i].params);
        struct joinengine_campaign c;
        CHECK(joinengine_campaign_read(res, 0, &c));
        struct joinengine_join j = {
            .campaign = 7, .customer = 9, .quantity = 1};
        bool ok = joinengine_price(&reliability_default_params, &c, res, 0, &j);
        CHECK_MSG(ok == cases[i].ok, "%s", cases[i].params);
        if (ok)
            CHECK_MSG(j.score.score == cases[i].score, "%s: score %d",
                      cases[i].params, j.score.score);
        struct reliability_params out;
        CHECK(joinengine_params_cell(&reliability_default_params, res, 0,
                                     JOINENGINE_READ_PARAMS,
                                     &out) == cases[i].ok);
        PQclear(res);
    }
}

static void test_price(void)
{
    static const char price[] = "10000"; /* the first tier's */
    static const char policy[] =
        "[{\"min_score\": 80, \"deposit_percent\": 0},"
        " {\"min_score\": 50, \"deposit_percent\": 10},"
        " {\"min_score\": 0, \"deposit_percent\": 30}]";
    static const struct {
        const char *name;
        const char *vip, *completed, *defaulted;
        int64_t quantity;
        int64_t percent, cents;
    } cases[] = {
        /* a fresh customer scores 75 under the default prior */
        {"fresh", "0", "0", "0", 2, 10, 2000},
        {"reliable", "0", "20", "0", 1, 0, 0},
        {"defaulter", "0", "0", "3", 1, 30, 3000},
        {"vip", "3", "0", "0", 1, 0, 0},
        /* over the limit of 5: left to the decision, not priced */
        {"over the limit", "0", "0", "0", 6, 0, 0},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        PGresult *res = read_row(price, policy, "5", cases[i].vip,
                                 cases[i].completed, cases[i].defaulted);
        struct joinengine_campaign c;
        CHECK(joinengine_campaign_read(res, 0, &c));
        CHECK_INT_EQ(c.version, 3);
        CHECK_INT_EQ(c.per_customer_limit, 5);
        struct joinengine_join j = {
            .campaign = 7, .customer = 9, .quantity = cases[i].quantity};
        bool ok = joinengine_price(&reliability_default_params, &c, res, 0, &j);
        CHECK_MSG(ok, "%s", cases[i].name);
        CHECK_INT_EQ(j.version, 3);
        CHECK_MSG(j.deposit_percent == cases[i].percent &&
                      j.deposit_cents == cases[i].cents,
                  "%s: score %d, %lld %% = %lld", cases[i].name, j.score.score,
                  (long long)j.deposit_percent, (long long)j.deposit_cents);
        PQclear(res);
    }
    static const char *const unreadable[] = {"", "0", "-1", "12x",
                                             "99999999999999999999"};
    for (size_t i = 0; i < N_ELEMS(unreadable); i++) {
        PGresult *res = read_row(unreadable[i], policy, "5", "0", "0", "0");
        struct joinengine_campaign c;
        CHECK_MSG(!joinengine_campaign_read(res, 0, &c), "price %s",
                  unreadable[i]);
        PQclear(res);
    }
    PGresult *res = read_row(price, "[]", "5", "0", "0", "0");
    struct joinengine_campaign c;
    CHECK(!joinengine_campaign_read(res, 0, &c));
    PQclear(res);
}

static void test_decide_params(void)
{
    struct joinengine_join js[] = {
        {.campaign = 7,
         .customer = 9,
         .quantity = 2,
         .version = 3,
         .score = {.score = 75, .p_complete = 0.75},
         .deposit_percent = 10,
         .deposit_cents = 2000},
        {.campaign = 8, .customer = 10, .quantity = 1, .version = 1},
        /* the fulfilment choice: a point, and an address whose quotes and
         * backslashes are escaped inside the text[] literal */
        {.campaign = 8,
         .customer = 11,
         .quantity = 1,
         .version = 1,
         .pickup_point = 5},
        {.campaign = 8,
         .customer = 12,
         .quantity = 1,
         .version = 1,
         .address = "{\"line\":\"a\\\\b\"}",
         .share_code = "abcdefgh2345"},
    };
    static const char *const want[JOINENGINE_DECIDE_ARRAYS] = {
        "{7,8,8,8}",
        "{3,1,1,1}",
        "{9,10,11,12}",
        "{2,1,1,1}",
        "{75,0,0,0}",
        "{0.75,0,0,0}",
        "{10,0,0,0}",
        "{2000,0,0,0}",
        "{NULL,NULL,5,NULL}",
        "{NULL,NULL,NULL,\"{\\\"line\\\":\\\"a\\\\\\\\b\\\"}\"}",
        "{NULL,NULL,NULL,\"abcdefgh2345\"}"};
    struct evbuffer *e[JOINENGINE_DECIDE_ARRAYS];
    char *out[JOINENGINE_DECIDE_ARRAYS];
    bool first = true;
    joinengine_arrays_open(e, JOINENGINE_DECIDE_ARRAYS);
    for (size_t i = 0; i < N_ELEMS(js); i++)
        joinengine_decide_add(e, &js[i], &first);
    joinengine_arrays_close(e, out, JOINENGINE_DECIDE_ARRAYS);
    for (int f = 0; f < JOINENGINE_DECIDE_ARRAYS; f++) {
        CHECK_STR_EQ(out[f], want[f]);
        free(out[f]);
    }
}

static void test_outcome_row(void)
{
    static const struct {
        const char *reason; /* NULL: accepted */
        enum joinengine_status status;
    } cases[] = {
        {NULL, JOINENGINE_ACCEPTED},
        {"not_found", JOINENGINE_NOT_FOUND},
        {"changed", JOINENGINE_CHANGED},
        {"campaign_full", JOINENGINE_REFUSED},
        {"already_joined", JOINENGINE_REFUSED},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
        PGresAttDesc attrs[2];
        memset(attrs, 0, sizeof attrs);
        attrs[0].name = (char *)(uintptr_t) "o_ord";
        attrs[1].name = (char *)(uintptr_t) "o_reason";
        attrs[0].typlen = attrs[1].typlen = -1;
        if (res == NULL || !PQsetResultAttrs(res, 2, attrs) ||
            !PQsetvalue(res, 0, 0, (char *)(uintptr_t) "1", 1) ||
            !PQsetvalue(res, 0, 1, (char *)(uintptr_t)cases[i].reason,
                        cases[i].reason ? (int)strlen(cases[i].reason) : -1))
            abort();
        struct joinengine_outcome o;
        joinengine_outcome_row(res, 0, &o);
        CHECK_INT_EQ(o.status, cases[i].status);
        if (cases[i].status == JOINENGINE_REFUSED)
            CHECK_STR_EQ(o.reason, cases[i].reason);
        if (cases[i].status == JOINENGINE_ACCEPTED)
            CHECK(o.res == res && o.row == 0);
        PQclear(res);
    }
}

int main(void)
{
    test_parse_bands();
    test_params_cell();
    test_price();
    test_decide_params();
    test_outcome_row();
    return unit_summary("joinengine");
}
