/*
 * refit.c - a refit on the worker pool (see refit.h).
 *
 * The cases come as one text, a case a line ("y vip held k:age ..."); the
 * worker parses it into two case sets over one event array (the training
 * cases, the held-out ones), fits on the first from the parameters in
 * force (reliability_fit), and scores both sets under both parameter sets.
 */
#include "engine/refit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/workpool.h"

struct refit_run {
    struct refit *f;
    refit_done_cb *done;
    void *arg;
};

static bool refit_int(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return end != s && *end == '\0' && errno == 0;
}

struct refit *refit_read(const PGresult *res, int row, int col, int params_col,
                         const struct reliability_params *defaults)
{
    struct refit *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    if (!refit_int(res, row, col, &f->campaigns) ||
        !refit_int(res, row, col + 1, &f->holdout_campaigns) ||
        !refit_int(res, row, col + 2, &f->cases) ||
        !refit_int(res, row, col + 3, &f->holdout_cases))
        goto fail;
    if (!PQgetisnull(res, row, col + 4)) {
        f->data = strdup(PQgetvalue(res, row, col + 4));
        if (f->data == NULL)
            goto fail;
    }
    f->current = *defaults;
    if (!PQgetisnull(res, row, params_col)) {
        double v[RELIABILITY_PARAMS];
        const char *s = PQgetvalue(res, row, params_col);
        if (*s++ != '{')
            goto fail;
        for (int i = 0; i < RELIABILITY_PARAMS; i++) {
            char *end;
            v[i] = strtod(s, &end);
            if (end == s || *end != (i + 1 < RELIABILITY_PARAMS ? ',' : '}'))
                goto fail;
            s = end + 1;
        }
        reliability_params_from_array(v, &f->current);
        if (!reliability_params_validate(&f->current, NULL))
            goto fail;
        f->current_adopted = true;
    }
    return f;
fail:
    refit_free(f);
    return NULL;
}

void refit_free(struct refit *f)
{
    if (f == NULL)
        return;
    free(f->data);
    free(f);
}

const char *refit_shortage(const struct refit *f, char *buf, size_t len)
{
    if (f->cases < REFIT_MIN_CASES)
        snprintf(buf, len,
                 "Not enough history: %lld closed participations with an "
                 "outcome, %d needed.",
                 (long long)f->cases, REFIT_MIN_CASES);
    else if (f->holdout_cases == 0 || f->cases == f->holdout_cases)
        snprintf(buf, len,
                 "Not enough history: the newest fifth of the closed "
                 "campaigns (%lld of %lld) leaves %s to fit on.",
                 (long long)f->holdout_campaigns, (long long)f->campaigns,
                 f->holdout_cases == 0 ? "no participation to score it"
                                       : "no older participation");
    else
        return NULL;
    return buf;
}

/* The parsed cases: both sets over one event array, malloc'd. */
struct refit_cases {
    struct reliability_event *ev;
    struct reliability_case *tc, *hc;
    struct reliability_cases train, hold;
};

static void refit_cases_free(struct refit_cases *c)
{
    free(c->ev);
    free(c->tc);
    free(c->hc);
}

/* Parses the cases' text into training and held-out cases. False on a
 * malformed line or no memory (nothing left allocated). */
static bool refit_parse(const char *text, struct refit_cases *out)
{
    size_t lines = 0, events = 0;
    for (const char *s = text; *s; s++) {
        lines += *s == '\n';
        events += *s == ':';
    }
    lines++;
    struct reliability_event *ev = malloc((events ? events : 1) * sizeof *ev);
    struct reliability_case *tc = malloc(lines * sizeof *tc);
    struct reliability_case *hc = malloc(lines * sizeof *hc);
    if (!ev || !tc || !hc)
        goto fail;
    size_t ne = 0, nt = 0, nh = 0;
    const char *s = text;
    while (*s) {
        char *end;
        long y = strtol(s, &end, 10), vip = strtol(end, &end, 10),
             held = strtol(end, &end, 10);
        if ((y != 0 && y != 1) || (held != 0 && held != 1) || vip < 0 ||
            vip > RELIABILITY_VIP_MAX)
            goto fail;
        struct reliability_case c = {.first = ne,
                                     .count = 0,
                                     .vip_level = (int)vip,
                                     .completed = y == 1};
        while (*end == ' ') {
            long kind = strtol(end + 1, &end, 10);
            if (*end != ':' || kind < 0 || kind >= RELIABILITY_EVENT_KINDS ||
                ne >= events)
                goto fail;
            double age = strtod(end + 1, &end);
            ev[ne++] = (struct reliability_event){
                age, (enum reliability_event_kind)kind};
            c.count++;
        }
        if (*end == '\n')
            end++;
        else if (*end != '\0')
            goto fail;
        if (held)
            hc[nh++] = c;
        else
            tc[nt++] = c;
        s = end;
    }
    *out = (struct refit_cases){ev, tc, hc, {tc, nt, ev, ne}, {hc, nh, ev, ne}};
    return true;
fail:
    free(ev);
    free(tc);
    free(hc);
    return false;
}

static void refit_work(void *arg)
{
    struct refit *f = ((struct refit_run *)arg)->f;
    struct refit_cases c;
    f->ok = false;
    if (f->data == NULL || !refit_parse(f->data, &c))
        return;
    f->ok = reliability_fit(&c.train, &f->current, &f->proposed) &&
            reliability_evaluate(&f->current, &c.hold, &f->current_holdout) &&
            reliability_evaluate(&f->proposed, &c.hold, &f->proposed_holdout) &&
            reliability_evaluate(&f->current, &c.train, &f->current_training) &&
            reliability_evaluate(&f->proposed, &c.train, &f->proposed_training);
    refit_cases_free(&c);
}

static void refit_done(void *arg, bool cancelled)
{
    struct refit_run *run = arg;
    struct refit_run copy = *run;
    free(run);
    copy.done(copy.f, cancelled, copy.arg);
}

bool refit_start(struct workpool *wp, struct refit *f, refit_done_cb *done,
                 void *arg)
{
    struct refit_run *run = malloc(sizeof *run);
    if (run == NULL)
        return false;
    *run = (struct refit_run){f, done, arg};
    if (!workpool_submit(wp, refit_work, refit_done, run)) {
        free(run);
        return false;
    }
    return true;
}

/* A number as the API prints it: %.15g, raw. */
static cJSON *refit_number(double v)
{
    char text[32];
    if (!isfinite(v))
        return cJSON_CreateNull();
    snprintf(text, sizeof text, "%.15g", v);
    return cJSON_CreateRaw(text);
}

cJSON *refit_params_json(const struct reliability_params *p)
{
    double v[RELIABILITY_PARAMS];
    reliability_params_to_array(p, v);
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o != NULL && i < RELIABILITY_PARAMS; i++) {
        cJSON *n = refit_number(v[i]);
        if (n == NULL ||
            !cJSON_AddItemToObject(o, reliability_param_names[i], n)) {
            cJSON_Delete(n);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* {"parameters", "brier_score", "log_loss"} of one set on the holdout,
 * with its training log loss. */
static cJSON *refit_side(const struct reliability_params *p,
                         const struct reliability_fit_score *hold,
                         const struct reliability_fit_score *train)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *params = refit_params_json(p);
    if (o == NULL || params == NULL ||
        !cJSON_AddItemToObject(o, "parameters", params)) {
        cJSON_Delete(params);
        cJSON_Delete(o);
        return NULL;
    }
    cJSON *b = refit_number(hold->brier), *l = refit_number(hold->log_loss),
          *t = refit_number(train->log_loss);
    bool ok = b && cJSON_AddItemToObject(o, "brier_score", b);
    ok = ok && l && cJSON_AddItemToObject(o, "log_loss", l);
    ok = ok && t && cJSON_AddItemToObject(o, "training_log_loss", t);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *refit_count(int64_t campaigns, int64_t participations)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !json_add_int(o, "campaigns", campaigns) ||
        !json_add_int(o, "participations", participations)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *refit_json(const struct refit *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cur =
        refit_side(&f->current, &f->current_holdout, &f->current_training);
    cJSON *prop =
        refit_side(&f->proposed, &f->proposed_holdout, &f->proposed_training);
    cJSON *hold = refit_count(f->holdout_campaigns, f->holdout_cases);
    cJSON *train = refit_count(f->campaigns - f->holdout_campaigns,
                               f->cases - f->holdout_cases);
    if (o && cur && prop && hold && train) {
        cJSON_AddItemToObject(o, "current", cur);
        cJSON_AddItemToObject(o, "proposed", prop);
        cJSON_AddItemToObject(o, "holdout", hold);
        cJSON_AddItemToObject(o, "training", train);
        if (json_add_str(o, "current_source",
                         f->current_adopted ? "adopted" : "defaults"))
            return o;
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_Delete(o);
    cJSON_Delete(cur);
    cJSON_Delete(prop);
    cJSON_Delete(hold);
    cJSON_Delete(train);
    return NULL;
}
