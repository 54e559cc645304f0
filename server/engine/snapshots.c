/*
 * snapshots.c - the scheduler's forecast step (see snapshots.h).
 *
 * State: at most one round in flight, s->round. A round is in one of three
 * places: its read statement in flight (job), its forecasts being computed
 * (pending > 0: jobs on the worker pool, plus one count held by the loop
 * that starts them), its save statement in flight (job). snapshots_free
 * cancels a statement in flight and frees the round at once; while
 * forecasts are out it orphans the round instead (s = NULL), and the last
 * forecast to come back frees it without calling anyone.
 */
#include "engine/snapshots.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "engine/campaign_forecast.h"

struct snap_round;

struct snap_item {
    struct snap_round *round;
    char *id;
    int checkpoint;
    struct campaign_forecast *f;
    const char *error; /* static text, or NULL */
};

struct snap_round {
    struct snapshots *s; /* NULL: orphaned */
    snapshots_done_cb *done;
    void *arg;
    struct db_job *job;
    int n, pending;
    struct snap_item *items;
};

struct snapshots {
    struct db_pool *db;
    struct workpool *wp;
    const struct reliability_params *defaults;
    struct snap_round *round;
};

/* The columns: campaign id, checkpoint, then gb_forecast_inputs'. */
static struct db_stmt snap_due_stmt =
    DB_STMT("snapshots_due", "SELECT * FROM gb_forecast_due($1::int)", 1);

static struct db_stmt snap_save_stmt = DB_STMT(
    "snapshots_save",
    "SELECT o_id, o_done, o_error, o_attempts, o_retry_s"
    "  FROM gb_forecast_snapshot_save($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    10);

struct snapshots *snapshots_new(struct db_pool *db, struct workpool *wp,
                                const struct reliability_params *defaults)
{
    struct snapshots *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->db = db;
    s->wp = wp;
    s->defaults = defaults;
    return s;
}

static void snap_round_free(struct snap_round *round)
{
    for (int i = 0; i < round->n; i++) {
        campaign_forecast_free(round->items[i].f);
        free(round->items[i].id);
    }
    free(round->items);
    free(round);
}

/* The round is over: tells the scheduler, frees it. */
static void snap_finish(struct snap_round *round, bool ok, const PGresult *rows,
                        const char *why)
{
    struct snapshots *s = round->s;
    s->round = NULL;
    round->done(ok, rows, why, round->arg);
    snap_round_free(round);
}

static void snap_describe(const struct db_result *res, char *why, size_t len)
{
    if (res->status == DB_SQL_ERROR)
        snprintf(why, len, "%s: %s", res->sqlstate,
                 res->message ? res->message : "");
    else
        snprintf(why, len, "database unavailable%s%s", res->message ? ": " : "",
                 res->message ? res->message : "");
}

static void snap_saved_cb(const struct db_result *res, void *arg)
{
    struct snap_round *round = arg;
    round->job = NULL;
    if (res->status != DB_OK) {
        char why[512];
        snap_describe(res, why, sizeof why);
        snap_finish(round, false, NULL, why);
        return;
    }
    snap_finish(round, true, res->res, NULL);
}

/* Every forecast is in: one statement saves them all. */
static void snap_save(struct snap_round *round)
{
    enum {
        IDS,
        CPS,
        FRACTIONS,
        PARTS,
        SUCCESS,
        EXPECTED,
        ARRIVALS,
        BASIS,
        USED,
        ERRORS,
        NARRAYS
    };
    struct evbuffer *e[NARRAYS];
    for (int k = 0; k < NARRAYS; k++) {
        e[k] = evbuffer_new();
        if (e[k] == NULL)
            abort(); /* as req_alloc: nothing sensible to do without memory */
        evbuffer_add(e[k], "{", 1);
    }
    for (int i = 0; i < round->n; i++) {
        const struct snap_item *it = &round->items[i];
        const struct campaign_forecast *f = it->f;
        bool ok = it->error == NULL;
        const char *sep = i ? "," : "";
        evbuffer_add_printf(e[IDS], "%s%s", sep, it->id);
        evbuffer_add_printf(e[CPS], "%s%d", sep, it->checkpoint);
        evbuffer_add_printf(e[FRACTIONS], "%s%.17g", sep,
                            ok ? f->fraction : 0.0);
        evbuffer_add_printf(e[PARTS], "%s%zu", sep, ok ? f->n : 0);
        evbuffer_add_printf(e[SUCCESS], "%s%.17g", sep,
                            ok ? f->out.success_probability : 0.0);
        evbuffer_add_printf(e[EXPECTED], "%s%.17g", sep,
                            ok ? f->out.expected_participants : 0.0);
        evbuffer_add_printf(e[ARRIVALS], "%s%.17g", sep,
                            ok ? f->arrivals.expected : 0.0);
        evbuffer_add_printf(e[BASIS], "%s%s", sep,
                            ok ? forecast_basis_name(f->arrivals.basis)
                               : "prior");
        evbuffer_add_printf(e[USED], "%s%lld", sep,
                            ok ? (long long)f->arrivals.campaigns_used : 0LL);
        if (ok)
            evbuffer_add_printf(e[ERRORS], "%sNULL", sep);
        else
            evbuffer_add_printf(e[ERRORS], "%s\"%s\"", sep, it->error);
    }
    char *arrays[NARRAYS];
    const char *params[NARRAYS];
    for (int k = 0; k < NARRAYS; k++) {
        evbuffer_add(e[k], "}", 2); /* with the NUL */
        size_t len = evbuffer_get_length(e[k]);
        arrays[k] = malloc(len);
        if (arrays[k] == NULL)
            abort();
        evbuffer_remove(e[k], arrays[k], len);
        evbuffer_free(e[k]);
        params[k] = arrays[k];
    }
    round->job =
        db_query(round->s->db, &snap_save_stmt, params, snap_saved_cb, round);
    for (int k = 0; k < NARRAYS; k++)
        free(arrays[k]);
    if (round->job == NULL)
        snap_finish(round, false, NULL, "database unavailable");
}

/* One count of round->pending is over. */
static void snap_release(struct snap_round *round)
{
    if (--round->pending > 0)
        return;
    if (round->s == NULL) {
        snap_round_free(round); /* orphaned: nobody to tell */
        return;
    }
    snap_save(round);
}

static void snap_forecast_done(struct campaign_forecast *f, bool cancelled,
                               void *arg)
{
    struct snap_item *it = arg;
    (void)f;
    if (cancelled)
        it->error = "the forecast was cancelled";
    else if (!it->f->ok)
        it->error = "the forecast could not be computed";
    snap_release(it->round);
}

static void snap_due_cb(const struct db_result *res, void *arg)
{
    struct snap_round *round = arg;
    round->job = NULL;
    if (res->status != DB_OK) {
        char why[512];
        snap_describe(res, why, sizeof why);
        snap_finish(round, false, NULL, why);
        return;
    }
    PGresult *pg = res->res;
    int n = PQntuples(pg);
    if (n == 0) {
        snap_finish(round, true, NULL, NULL);
        return;
    }
    round->items = calloc((size_t)n, sizeof *round->items);
    if (round->items == NULL) {
        snap_finish(round, false, NULL, "out of memory");
        return;
    }
    round->n = n;
    round->pending = 1; /* this loop's own, released below */
    for (int i = 0; i < n; i++) {
        struct snap_item *it = &round->items[i];
        it->round = round;
        it->id = strdup(PQgetvalue(pg, i, 0));
        it->checkpoint = atoi(PQgetvalue(pg, i, 1));
        it->f = campaign_forecast_new();
        if (it->id == NULL || it->f == NULL)
            abort(); /* as req_alloc */
        if (!campaign_forecast_read(it->f, pg, i, 2, round->s->defaults) ||
            it->f->closed) {
            it->error = "the forecast's inputs cannot be read";
            continue;
        }
        round->pending++;
        if (!campaign_forecast_start(round->s->wp, it->f, snap_forecast_done,
                                     it)) {
            round->pending--;
            it->error = "the worker pool is full";
        }
    }
    snap_release(round);
}

bool snapshots_run(struct snapshots *s, int limit, snapshots_done_cb *done,
                   void *arg)
{
    if (s->round != NULL)
        return false;
    struct snap_round *round = calloc(1, sizeof *round);
    if (round == NULL)
        return false;
    round->s = s;
    round->done = done;
    round->arg = arg;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {lim};
    round->job = db_query(s->db, &snap_due_stmt, params, snap_due_cb, round);
    if (round->job == NULL) {
        free(round);
        return false;
    }
    s->round = round;
    return true;
}

void snapshots_free(struct snapshots *s)
{
    if (s == NULL)
        return;
    struct snap_round *round = s->round;
    if (round != NULL) {
        if (round->job != NULL) {
            db_job_cancel(round->job);
            snap_round_free(round);
        } else {
            round->s = NULL; /* forecasts out: the last one frees it */
        }
    }
    free(s);
}
