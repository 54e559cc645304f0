/*
 * snapshots.h - the scheduler's forecast step: the success forecast of
 * each open campaign at 25, 50 and 75 % of its duration, kept for the
 * calibration report (DESIGN.md "Forecast", API.md "GET /v1/admin/reports/
 * reliability").
 *
 * One round: the due checkpoints are read with their forecasts' inputs
 * (gb_forecast_due, functions/forecast.sql), each forecast is computed
 * (engine/campaign_forecast.h: on the loop when small, on the worker pool
 * when not), and all are saved in one statement (gb_forecast_snapshot_save)
 * that answers a row per campaign as the other due steps do (moved,
 * already there, or failed and in backoff). Exactly once: the snapshot's
 * primary key (campaign, checkpoint) keeps the first of two processes'
 * computations; a process that dies before saving leaves the checkpoint
 * due, and the next pass (its own or another's) takes it.
 */
#ifndef GROUPBUYD_SNAPSHOTS_H
#define GROUPBUYD_SNAPSHOTS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "domain/reliability.h"

struct db_pool;
struct workpool;
struct snapshots;

/* A round's end: ok with the save's rows (o_id, o_done, o_error,
 * o_attempts, o_retry_s; NULL when nothing was due), or not ok with why
 * (the database unavailable or a statement failed). */
typedef void snapshots_done_cb(bool ok, const PGresult *rows, const char *why,
                               void *arg);

/* The step, with the configured parameters for distributors without their
 * own. NULL when out of memory. */
struct snapshots *snapshots_new(struct db_pool *db, struct workpool *wp,
                                const struct reliability_params *defaults)
    __attribute__((warn_unused_result));

/* Cancels a round in flight (its callback will not run) and frees. A
 * forecast still on the worker pool finishes there and is dropped. */
void snapshots_free(struct snapshots *s);

/* Starts a round of at most limit checkpoints; done follows (never before
 * this returns). False when a round is already running or the database
 * cannot take the statement now. */
bool snapshots_run(struct snapshots *s, int limit, snapshots_done_cb *done,
                   void *arg) __attribute__((warn_unused_result));

#endif
