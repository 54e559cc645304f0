/*
 * refit.h - a refit of a distributor's reliability model (DESIGN.md
 * "Refit"), as the server runs it: the cases read by SQL
 * (gb_reliability_refit_data, functions/reliability.sql), fitted and
 * scored on the worker pool (never on the loop: thousands of cases times
 * hundreds of evaluations), answered as JSON. Nothing is written: the
 * owner adopts the proposal, or not, with PUT /v1/admin/reliability/
 * parameters.
 *
 * A job is malloc'd and owns a copy of the cases' text, so that it crosses
 * to a worker thread alone; refit_free releases it.
 */
#ifndef GROUPBUYD_REFIT_H
#define GROUPBUYD_REFIT_H

#include <cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/reliability.h"

struct workpool;

/* Fewer scored participations than this: 409, not enough history. */
#define REFIT_MIN_CASES 200

struct refit {
    int64_t campaigns, holdout_campaigns, cases, holdout_cases;
    char *data;
    struct reliability_params current; /* in force: adopted or defaults */
    bool current_adopted;
    /* computed */
    struct reliability_params proposed;
    struct reliability_fit_score current_holdout, proposed_holdout;
    struct reliability_fit_score current_training, proposed_training;
    bool ok;
};

typedef void refit_done_cb(struct refit *f, bool cancelled, void *arg);

/* Reads gb_reliability_refit_data's five columns from col, and the
 * distributor's parameters (gb_reliability_params) at params_col, falling
 * back to defaults. NULL when unreadable or out of memory. */
struct refit *refit_read(const PGresult *res, int row, int col, int params_col,
                         const struct reliability_params *defaults)
    __attribute__((warn_unused_result));
void refit_free(struct refit *f);

/* Why there is not enough history to fit on (the 409's message), or NULL
 * when there is: fewer than REFIT_MIN_CASES scored participations, or no
 * case left on one side of the split. */
const char *refit_shortage(const struct refit *f, char *buf, size_t len);

/* Fits and scores on wp; done(f, cancelled, arg) follows on the loop.
 * False, done never called, when the pool refuses the job. */
bool refit_start(struct workpool *wp, struct refit *f, refit_done_cb *done,
                 void *arg) __attribute__((warn_unused_result));

/* The answer: {"current": {"parameters", "brier_score", "log_loss"},
 * "proposed": {...}, "holdout": {"campaigns", "participations"},
 * "training": {...}}. NULL when out of memory. */
cJSON *refit_json(const struct refit *f);

/* A parameter set as the API's object (names of reliability_param_names). */
cJSON *refit_params_json(const struct reliability_params *p);

#endif
