/*
 * campaign_forecast.c - the forecast between SQL and the model (see
 * campaign_forecast.h).
 *
 * What crosses to a worker thread is the job alone: the cells it needs
 * are copied by _read (texts malloc'd) and parsed by the computation, so
 * that a large campaign's 100,000 probabilities are neither parsed nor
 * summed on the loop. The JSON is built back on the loop from the
 * outcome.
 */
#include "engine/campaign_forecast.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/workpool.h"

/* Above this many bytes of arrays to parse the job goes to the pool (some
 * 2,000 participations or customers: about a millisecond of work). */
#define CAMPAIGN_FORECAST_LOOP_BYTES 32768

struct campaign_forecast_run {
    struct campaign_forecast *f;
    campaign_forecast_done_cb *done;
    void *arg;
};

struct campaign_forecast *campaign_forecast_new(void)
{
    return calloc(1, sizeof(struct campaign_forecast));
}

void campaign_forecast_free(struct campaign_forecast *f)
{
    if (f == NULL)
        return;
    free(f->p_text);
    free(f->q_text);
    free(f->audience_text);
    free(f->p);
    free(f->q);
    free(f);
}

int64_t campaign_forecast_cents(double x)
{
    if (!isfinite(x))
        return 0;
    return (int64_t)floor(x + 0.5);
}

/* ------------------------------------------------------------ reading */

static bool cf_int(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0)
        return false;
    *out = v;
    return true;
}

/* A double cell; NULL reads as dflt. */
static bool cf_double(const PGresult *res, int row, int col, double dflt,
                      double *out)
{
    if (PQgetisnull(res, row, col)) {
        *out = dflt;
        return true;
    }
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(*out);
}

/* Reads an array literal "{a,b,...}" of at most max numbers into v (as
 * doubles) or iv (as integers); *n the count. NULL text: none. */
static bool cf_array(const char *s, double *v, int64_t *iv, size_t max,
                     size_t *n)
{
    *n = 0;
    if (s == NULL)
        return true;
    if (*s++ != '{')
        return false;
    if (*s == '}')
        return s[1] == '\0';
    for (;;) {
        char *end;
        errno = 0;
        if (*n >= max)
            return false;
        if (v)
            v[*n] = strtod(s, &end);
        else
            iv[*n] = strtoll(s, &end, 10);
        if (end == s || errno != 0)
            return false;
        (*n)++;
        if (*end == '}')
            return end[1] == '\0';
        if (*end != ',')
            return false;
        s = end + 1;
    }
}

/* Elements of an array literal (commas + 1), for sizing. */
static size_t cf_count(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

static char *cf_dup(const PGresult *res, int row, int col, bool *ok)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    char *s = strdup(PQgetvalue(res, row, col));
    if (s == NULL)
        *ok = false;
    return s;
}

/* The eight columns of gb_forecast_history from col. */
static bool cf_history(const PGresult *res, int row, int col,
                       struct forecast_history *h)
{
    size_t n;
    memset(h, 0, sizeof *h);
    if (!cf_int(res, row, col, &h->campaigns) ||
        !cf_double(res, row, col + 2, 0.0, &h->mean_joins) ||
        !cf_double(res, row, col + 3, 0.0, &h->p_complete) ||
        !cf_double(res, row, col + 4, 1.0, &h->quantity_per_join) ||
        !cf_int(res, row, col + 5, &h->invitation_campaigns) ||
        !cf_int(res, row, col + 6, &h->invited) ||
        !cf_int(res, row, col + 7, &h->invited_joined))
        return false;
    if (PQgetisnull(res, row, col + 1))
        return h->campaigns == 0;
    return cf_array(PQgetvalue(res, row, col + 1), h->curve, NULL,
                    FORECAST_CURVE_POINTS, &n) &&
           n == FORECAST_CURVE_POINTS;
}

static bool cf_params(const PGresult *res, int row, int col,
                      const struct reliability_params *defaults,
                      struct reliability_params *out)
{
    if (PQgetisnull(res, row, col)) {
        *out = *defaults;
        return true;
    }
    double v[RELIABILITY_PARAMS];
    size_t n;
    if (!cf_array(PQgetvalue(res, row, col), v, NULL, RELIABILITY_PARAMS, &n) ||
        n != RELIABILITY_PARAMS)
        return false;
    reliability_params_from_array(v, out);
    return reliability_params_validate(out, NULL);
}

bool campaign_forecast_read(struct campaign_forecast *f, const PGresult *res,
                            int row, int col,
                            const struct reliability_params *defaults)
{
    const char *status = PQgetvalue(res, row, col);
    if (strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
        strcmp(status, "cancelled") == 0 || strcmp(status, "settled") == 0) {
        f->closed = true;
        return true;
    }
    int64_t th[FORECAST_MAX_TIERS], pr[FORECAST_MAX_TIERS],
        co[FORECAST_MAX_TIERS];
    size_t nth, npr, nco;
    if (!cf_double(res, row, col + 1, 0.0, &f->fraction) ||
        !cf_int(res, row, col + 2, &f->min_participants) ||
        !cf_int(res, row, col + 3, &f->max_quantity) ||
        !cf_int(res, row, col + 4, &f->per_customer_limit) ||
        PQgetisnull(res, row, col + 6) || PQgetisnull(res, row, col + 7) ||
        PQgetisnull(res, row, col + 8) ||
        !cf_array(PQgetvalue(res, row, col + 6), NULL, th, FORECAST_MAX_TIERS,
                  &nth) ||
        !cf_array(PQgetvalue(res, row, col + 7), NULL, pr, FORECAST_MAX_TIERS,
                  &npr) ||
        !cf_array(PQgetvalue(res, row, col + 8), NULL, co, FORECAST_MAX_TIERS,
                  &nco) ||
        nth == 0 || nth != npr || nth != nco ||
        !cf_params(res, row, col + 11, defaults, &f->params) ||
        !cf_history(res, row, col + 12, &f->history))
        return false;
    f->quantity_basis = strcmp(PQgetvalue(res, row, col + 5), "quantity") == 0;
    f->ntiers = nth;
    for (size_t t = 0; t < nth; t++)
        f->tiers[t] = (struct forecast_tier){th[t], pr[t], co[t]};
    bool ok = true;
    f->p_text = cf_dup(res, row, col + 9, &ok);
    f->q_text = cf_dup(res, row, col + 10, &ok);
    return ok && (f->p_text == NULL) == (f->q_text == NULL);
}

bool campaign_forecast_plan_read(struct campaign_forecast *f,
                                 const PGresult *res, int row, int col,
                                 int params_col, int audience_col,
                                 int64_t audience,
                                 const struct reliability_params *defaults)
{
    f->planner = true;
    if (!cf_history(res, row, col, &f->history) ||
        !cf_params(res, row, params_col, defaults, &f->params))
        return false;
    if (audience >= 0) {
        f->audience = audience;
        return true;
    }
    bool ok = cf_int(res, row, audience_col, &f->audience);
    f->audience_text = cf_dup(res, row, audience_col + 1, &ok);
    return ok;
}

/* ------------------------------------------------------------ computing */

/* A new customer's p_complete under the distributor's parameters. */
static double cf_p_new(const struct reliability_params *params)
{
    struct reliability_tally t;
    struct reliability_result r;
    reliability_tally_init(&t);
    if (!reliability_score_tally(params, 0, &t, &r))
        return 0.0;
    return r.p_complete;
}

/* The audience not below min_score, from its histories (lines of ten
 * numbers: VIP, then count and weight per kind as gb_customer_history). */
static bool cf_count_audience(struct campaign_forecast *f)
{
    static const enum reliability_event_kind kinds[] = {
        RELIABILITY_COMPLETED, RELIABILITY_WITHDRAWN, RELIABILITY_DEFAULTED,
        RELIABILITY_DEPOSIT_EXPIRED};
    int64_t in = 0;
    const char *s = f->audience_text;
    while (*s) {
        char *end;
        long vip = strtol(s, &end, 10);
        struct reliability_tally t;
        reliability_tally_init(&t);
        for (int k = 0; k < RELIABILITY_EVENT_KINDS; k++) {
            long long n = strtoll(end, &end, 10);
            double w = strtod(end, &end);
            if (w > (double)n) /* rounding of the sum */
                w = (double)n;
            if (!reliability_tally_add_group(&t, kinds[k], n, w))
                return false;
        }
        struct reliability_result r;
        if (!reliability_score_tally(&f->params, (int)vip, &t, &r))
            return false;
        in += r.score >= f->min_score;
        while (*end == ' ')
            end++;
        if (*end == '\n')
            end++;
        else if (*end != '\0')
            return false;
        s = end;
    }
    f->audience = in;
    return true;
}

static void cf_compute(struct campaign_forecast *f)
{
    f->ok = false;
    double p_new = cf_p_new(&f->params);
    if (f->planner) {
        if (f->audience_text && !cf_count_audience(f))
            return;
        if (!forecast_arrivals_audience(&f->history, f->audience, p_new,
                                        f->per_customer_limit, &f->arrivals))
            return;
    } else {
        size_t cap = f->p_text ? cf_count(f->p_text) : 0, nq;
        f->p = malloc((cap ? cap : 1) * sizeof *f->p);
        f->q = malloc((cap ? cap : 1) * sizeof *f->q);
        if (!f->p || !f->q || !cf_array(f->p_text, f->p, NULL, cap, &f->n) ||
            !cf_array(f->q_text, NULL, f->q, cap, &nq) || nq != f->n)
            return;
        double p_sum = 0.0;
        f->live_quantity = 0;
        for (size_t i = 0; i < f->n; i++) {
            if (!(f->p[i] >= 0.0 && f->p[i] <= 1.0) || f->q[i] < 1)
                return;
            p_sum += f->p[i];
            f->live_quantity += f->q[i];
        }
        if (p_sum > (double)f->n)
            p_sum = (double)f->n;
        if (!forecast_arrivals_campaign(&f->history, f->fraction, f->n,
                                        f->live_quantity, p_sum, p_new,
                                        f->per_customer_limit, &f->arrivals))
            return;
    }
    struct forecast_model m = {
        .p = f->p,
        .quantity = f->q,
        .n = f->n,
        .live_quantity = f->live_quantity,
        .arrivals = f->arrivals.expected,
        .p_arrival = f->arrivals.p_complete,
        .quantity_per_join = f->arrivals.quantity_per_join,
        .min_participants = f->min_participants,
        .max_quantity = f->max_quantity,
        .quantity_basis = f->quantity_basis,
        .tiers = f->tiers,
        .ntiers = f->ntiers,
    };
    f->ok = forecast_run(&m, &f->out);
}

static void cf_work(void *arg)
{
    struct campaign_forecast_run *run = arg;
    cf_compute(run->f);
}

static void cf_done(void *arg, bool cancelled)
{
    struct campaign_forecast_run *run = arg;
    campaign_forecast_done_cb *done = run->done;
    struct campaign_forecast *f = run->f;
    void *cb_arg = run->arg;
    free(run);
    done(f, cancelled, cb_arg);
}

bool campaign_forecast_start(struct workpool *wp, struct campaign_forecast *f,
                             campaign_forecast_done_cb *done, void *arg)
{
    size_t bytes = (f->p_text ? strlen(f->p_text) : 0) +
                   (f->q_text ? strlen(f->q_text) : 0) +
                   (f->audience_text ? strlen(f->audience_text) : 0);
    if (f->closed || bytes <= CAMPAIGN_FORECAST_LOOP_BYTES) {
        if (!f->closed)
            cf_compute(f);
        done(f, false, arg);
        return true;
    }
    struct campaign_forecast_run *run = malloc(sizeof *run);
    if (run == NULL)
        return false;
    *run = (struct campaign_forecast_run){f, done, arg};
    if (!workpool_submit(wp, cf_work, cf_done, run)) {
        free(run);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ JSON */

/* A probability or an expectation as the API prints it: %.15g, raw. */
static cJSON *cf_number(double v)
{
    char text[32];
    if (!isfinite(v))
        return cJSON_CreateNull();
    snprintf(text, sizeof text, "%.15g", v);
    return cJSON_CreateRaw(text);
}

static bool cf_add(cJSON *obj, const char *key, double v)
{
    cJSON *n = cf_number(v);
    return n != NULL && cJSON_AddItemToObject(obj, key, n);
}

static cJSON *cf_arrivals(const struct campaign_forecast *f)
{
    const struct forecast_arrivals *a = &f->arrivals;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && cf_add(o, "expected", a->expected) &&
              json_add_str(o, "basis", forecast_basis_name(a->basis)) &&
              json_add_int(o, "campaigns_used", a->campaigns_used) &&
              cf_add(o, "p_complete", a->p_complete) &&
              cf_add(o, "quantity_per_join", a->quantity_per_join) &&
              (f->planner ? cf_add(o, "join_share", a->join_share)
                          : cf_add(o, "share_by_now", a->share_by_now));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The members both answers share. */
static bool cf_common(const struct campaign_forecast *f, cJSON *o)
{
    const struct forecast_outcome *r = &f->out;
    cJSON *arr = cf_arrivals(f);
    if (arr == NULL || !cJSON_AddItemToObject(o, "arrivals", arr)) {
        cJSON_Delete(arr);
        return false;
    }
    return cf_add(o, "expected_participants", r->expected_participants) &&
           cf_add(o, "expected_quantity", r->expected_quantity) &&
           cf_add(o, "expected_joins", r->expected_joins) &&
           cf_add(o, "success_probability", r->success_probability) &&
           json_add_int(o, "expected_final_unit_price_cents",
                        campaign_forecast_cents(r->expected_unit_price_cents));
}

cJSON *campaign_forecast_json(const struct campaign_forecast *f)
{
    if (f->closed)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON *tiers = cJSON_AddArrayToObject(o, "tier_probabilities");
    bool ok = o != NULL && tiers != NULL && cf_common(f, o) &&
              cf_add(o, "fraction_elapsed", f->fraction);
    for (size_t t = 0; ok && t < f->ntiers; t++) {
        cJSON *it = cJSON_CreateObject();
        ok = it != NULL && cJSON_AddItemToArray(tiers, it) &&
             json_add_int(it, "threshold", f->tiers[t].threshold) &&
             json_add_int(it, "unit_price_cents",
                          f->tiers[t].unit_price_cents) &&
             cf_add(it, "probability", f->out.tier_probability[t]);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *campaign_forecast_plan_json(const struct campaign_forecast *f)
{
    const struct forecast_outcome *r = &f->out;
    cJSON *o = cJSON_CreateObject();
    cJSON *tiers = cJSON_AddArrayToObject(o, "tier_probabilities");
    double q = f->arrivals.quantity_per_join;
    int64_t revenue = campaign_forecast_cents(r->expected_revenue_cents);
    int64_t cost = campaign_forecast_cents(r->expected_cost_cents);
    bool ok = o != NULL && tiers != NULL && cf_common(f, o) &&
              json_add_int(o, "expected_revenue_cents", revenue) &&
              json_add_int(o, "expected_cost_cents", cost) &&
              json_add_int(o, "expected_margin_cents", revenue - cost) &&
              json_add_int(o, "audience_size", f->audience) &&
              json_add_str(o, "basis", forecast_basis_name(f->arrivals.basis));
    for (size_t t = 0; ok && t < f->ntiers; t++) {
        const struct forecast_tier *k = &f->tiers[t];
        int64_t tr = campaign_forecast_cents(r->tier_revenue_cents[t]);
        int64_t tc = campaign_forecast_cents(r->tier_cost_cents[t]);
        cJSON *it = cJSON_CreateObject();
        ok = it != NULL && cJSON_AddItemToArray(tiers, it) &&
             json_add_int(it, "threshold", k->threshold) &&
             json_add_int(it, "unit_price_cents", k->unit_price_cents) &&
             json_add_int(it, "cost_price_cents", k->cost_price_cents) &&
             json_add_int(it, "unit_margin_cents",
                          k->unit_price_cents - k->cost_price_cents) &&
             cf_add(it, "probability", r->tier_probability[t]) &&
             cf_add(it, "expected_participants", r->tier_completers[t]) &&
             cf_add(it, "expected_quantity", q * r->tier_completers[t]) &&
             json_add_int(it, "expected_revenue_cents", tr) &&
             json_add_int(it, "expected_margin_cents", tr - tc);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
