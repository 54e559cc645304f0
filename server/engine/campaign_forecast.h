/*
 * campaign_forecast.h - a forecast as the server runs it: the inputs read
 * from SQL (functions/forecast.sql), the model of domain/forecast.h run on
 * the loop when it is cheap and on the worker pool when it is not, and the
 * answer as JSON. Three callers: the staff campaign view (api/admin/
 * campaigns.c), the scheduler's snapshots (engine/snapshots.c) and the
 * ladder planner (api/admin/forecasts.c), which forecasts a campaign not
 * yet created.
 *
 * A job (struct campaign_forecast) is malloc'd and owns copies of what it
 * read, so that it outlives the PGresult and may cross to a worker thread;
 * the worker touches only the job. campaign_forecast_free releases it.
 *
 * Lifecycle: _new, then _read (a campaign) or _plan_read (the planner),
 * then _start, whose done callback receives the job computed (f->ok) or
 * cancelled (the pool stopped); then _json or _plan_json, then _free.
 */
#ifndef GROUPBUYD_CAMPAIGN_FORECAST_H
#define GROUPBUYD_CAMPAIGN_FORECAST_H

#include <cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/forecast.h"
#include "domain/reliability.h"

struct workpool;

/* The columns of gb_forecast_inputs (and of gb_forecast_due after its
 * first two), from the first. */
#define CAMPAIGN_FORECAST_COLS 20

struct campaign_forecast {
    /* read */
    bool closed; /* a closed campaign has no forecast (nothing to run) */
    double fraction;
    int64_t min_participants, max_quantity, per_customer_limit;
    bool quantity_basis;
    struct forecast_tier tiers[FORECAST_MAX_TIERS];
    size_t ntiers;
    struct reliability_params params; /* the distributor's */
    struct forecast_history history;
    char *p_text, *q_text; /* the live p_complete and quantities (arrays) */
    char *audience_text;   /* planner: customers to score, or NULL */
    int64_t audience;      /* planner: the audience's size (given/counted) */
    int64_t min_score;     /* planner: the audience's floor */
    bool planner;
    /* computed (any thread) */
    double *p;
    int64_t *q;
    size_t n;
    int64_t live_quantity;
    struct forecast_arrivals arrivals;
    struct forecast_outcome out;
    bool ok; /* computed */
};

typedef void campaign_forecast_done_cb(struct campaign_forecast *f,
                                       bool cancelled, void *arg);

/* A new job, zeroed; NULL when out of memory. */
struct campaign_forecast *campaign_forecast_new(void);
void campaign_forecast_free(struct campaign_forecast *f);

/* Reads the CAMPAIGN_FORECAST_COLS columns of gb_forecast_inputs at (row,
 * col..) into f (copying what it keeps), the distributor's parameters
 * falling back to defaults. False when a cell cannot be read. */
bool campaign_forecast_read(struct campaign_forecast *f, const PGresult *res,
                            int row, int col,
                            const struct reliability_params *defaults)
    __attribute__((warn_unused_result));

/* The planner's own inputs: the distributor's history (the columns of
 * gb_forecast_history from col), its parameters (params_col, as
 * gb_reliability_params), and the audience (gb_forecast_audience's two
 * columns from audience_col, unless the size was given: audience >= 0).
 * The campaign's fields (tiers, min_participants, max_quantity,
 * per_customer_limit, basis, min_score) are set by the caller. */
bool campaign_forecast_plan_read(struct campaign_forecast *f,
                                 const PGresult *res, int row, int col,
                                 int params_col, int audience_col,
                                 int64_t audience,
                                 const struct reliability_params *defaults)
    __attribute__((warn_unused_result));

/* Runs the model: on the loop, before returning, when it is cheap (a few
 * thousand participations, a small audience), else on wp; done(f, ...)
 * follows either way. False, done never called, when the pool refuses the
 * job (full queue: answer 503). */
bool campaign_forecast_start(struct workpool *wp, struct campaign_forecast *f,
                             campaign_forecast_done_cb *done, void *arg)
    __attribute__((warn_unused_result));

/* The staff view's "forecast" (API.md), or JSON null for a closed
 * campaign; NULL when out of memory. */
cJSON *campaign_forecast_json(const struct campaign_forecast *f);

/* The planner's answer (API.md "POST /v1/admin/forecasts/ladder"). */
cJSON *campaign_forecast_plan_json(const struct campaign_forecast *f);

/* A whole number of cents from an expectation: rounded half up. */
int64_t campaign_forecast_cents(double x);

#endif
