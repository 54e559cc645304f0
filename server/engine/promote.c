/*
 * promote.c - the waitlist's promotions (see promote.h).
 *
 * A pass: due (the campaigns holding units) -> for each, rounds of read ->
 * decision -> the next campaign -> the next pass after PROMOTE_POLL_MS, or
 * at once when the look found PROMOTE_DUE_MAX campaigns or a kick came
 * meanwhile. State: `job` is the statement in flight (cancelled by
 * promote_free); the timer is pending exactly when no pass runs.
 */
#include "engine/promote.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "db/db.h"
#include "engine/joinengine.h"
#include "http/server.h"
#include "lib/log.h"

/* Columns of gb_waitlist_reads after the join's read. */
#define READ_ENTRY    16
#define READ_CUSTOMER 17
#define READ_QUANTITY 18

struct promote {
    struct server *srv;
    struct event *timer;
    struct db_job *job;
    bool running; /* a pass is under way */
    bool kicked;  /* look again as soon as the pass ends */
    bool outage;  /* a failure warned, not yet recovered */
    int64_t due[PROMOTE_DUE_MAX];
    int ndue, at;  /* the campaigns of this pass, the current one */
    bool full;     /* the look found PROMOTE_DUE_MAX */
    int64_t after; /* the last entry decided of the campaign */
    int attempts;  /* reads of this round (a changed campaign) */
    struct promote_stats stats;
};

static struct db_stmt promote_due_stmt =
    DB_STMT("promote_due", "SELECT * FROM gb_waitlist_due($1::int)", 1);
static struct db_stmt promote_read_stmt = DB_STMT(
    "promote_read",
    "SELECT * FROM gb_waitlist_reads($1::bigint, $2::bigint, $3::int, $4)", 4);
static struct db_stmt promote_decide_stmt = DB_STMT(
    "promote_decide",
    "SELECT outcome, promoted, skipped, more FROM gb_waitlist_promote($1, $2,"
    " $3, $4, $5, $6, $7, $8)",
    8);

static void promote_look(struct promote *p);
static void promote_round(struct promote *p);

static void promote_arm(struct promote *p, long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

/* The pass is over: the next one at once (more due, or a kick), or after
 * the poll interval. */
static void promote_pass_done(struct promote *p, bool failed)
{
    p->running = false;
    if (!failed && p->outage) {
        log_info("promote: database reachable again");
        p->outage = false;
    }
    bool again = !failed && (p->full || p->kicked);
    p->kicked = false;
    promote_arm(p, again ? 0 : PROMOTE_POLL_MS);
}

static void promote_fail(struct promote *p, const struct db_result *res)
{
    p->stats.failures++;
    if (!p->outage)
        log_warn("promote: %s (retrying; quiet until it recovers)",
                 res && res->message ? res->message : "database unavailable");
    p->outage = true;
    promote_pass_done(p, true);
}

/* On to the next due campaign, or the end of the pass. */
static void promote_next_campaign(struct promote *p)
{
    p->at++;
    p->after = 0;
    p->attempts = 0;
    if (p->at >= p->ndue) {
        promote_pass_done(p, false);
        return;
    }
    promote_round(p);
}

static void promote_decided_cb(const struct db_result *res, void *arg)
{
    struct promote *p = arg;
    p->job = NULL;
    if (res->status != DB_OK || PQntuples(res->res) != 1) {
        promote_fail(p, res);
        return;
    }
    PGresult *pg = res->res;
    const char *outcome = PQgetvalue(pg, 0, 0);
    if (strcmp(outcome, "changed") == 0 && p->attempts < 3) {
        promote_round(p); /* staff edited it since the read */
        return;
    }
    if (strcmp(outcome, "ok") == 0) {
        long promoted = strtol(PQgetvalue(pg, 0, 1), NULL, 10);
        long skipped = strtol(PQgetvalue(pg, 0, 2), NULL, 10);
        p->stats.promoted += (uint64_t)promoted;
        p->stats.skipped += (uint64_t)skipped;
        if (promoted > 0 || skipped > 0)
            log_info("promote: campaign %lld: %ld promoted, %ld skipped",
                     (long long)p->due[p->at], promoted, skipped);
        if (strcmp(PQgetvalue(pg, 0, 3), "t") == 0) {
            p->attempts = 0;
            promote_round(p); /* entries after this round, units free */
            return;
        }
    }
    promote_next_campaign(p);
}

/* Sends the decision of the entries read (rows of pg), each scored and
 * priced as a join is; an entry that cannot be priced waits (warned). */
static void promote_decide(struct promote *p, PGresult *pg)
{
    int n = PQntuples(pg);
    struct evbuffer *e[5];
    joinengine_arrays_open(e, 5);
    const char *version = NULL;
    char vbuf[16];
    int64_t last = p->after;
    struct joinengine_campaign c;
    bool campaign_ok = n > 0 && joinengine_campaign_read(pg, 0, &c);
    if (n > 0 && !campaign_ok)
        log_warn("promote: campaign %lld: its price or deposit policy cannot "
                 "be read",
                 (long long)p->due[p->at]);
    const char *sep = "";
    for (int i = 0; i < n; i++) {
        int64_t id = strtoll(PQgetvalue(pg, i, READ_ENTRY), NULL, 10);
        if (id > last)
            last = id;
        struct joinengine_join j = {
            .campaign = p->due[p->at],
            .customer = strtoll(PQgetvalue(pg, i, READ_CUSTOMER), NULL, 10),
            .quantity = strtoll(PQgetvalue(pg, i, READ_QUANTITY), NULL, 10)};
        if (!campaign_ok ||
            !joinengine_price(&p->srv->cfg->reliability, &c, pg, i, &j)) {
            if (campaign_ok)
                log_warn("promote: entry %lld: score or deposit cannot be "
                         "computed; it waits",
                         (long long)id);
            continue;
        }
        evbuffer_add_printf(e[0], "%s%lld", sep, (long long)id);
        evbuffer_add_printf(e[1], "%s%d", sep, j.score.score);
        evbuffer_add_printf(e[2], "%s%.17g", sep, j.score.p_complete);
        evbuffer_add_printf(e[3], "%s%lld", sep, (long long)j.deposit_percent);
        evbuffer_add_printf(e[4], "%s%lld", sep, (long long)j.deposit_cents);
        sep = ",";
    }
    if (campaign_ok) {
        snprintf(vbuf, sizeof vbuf, "%d", c.version);
        version = vbuf;
    }
    char *arrays[5];
    joinengine_arrays_close(e, arrays, 5);
    char campaign[24], lastbuf[24];
    snprintf(campaign, sizeof campaign, "%lld", (long long)p->due[p->at]);
    snprintf(lastbuf, sizeof lastbuf, "%lld", (long long)last);
    const char *params[] = {campaign,  version,   arrays[0], arrays[1],
                            arrays[2], arrays[3], arrays[4], lastbuf};
    p->after = last;
    p->stats.rounds++;
    p->job = db_query(p->srv->db, &promote_decide_stmt, params,
                      promote_decided_cb, p);
    for (int f = 0; f < 5; f++)
        free(arrays[f]);
    if (p->job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        promote_fail(p, &res);
    }
}

static void promote_read_cb(const struct db_result *res, void *arg)
{
    struct promote *p = arg;
    p->job = NULL;
    if (res->status != DB_OK) {
        promote_fail(p, res);
        return;
    }
    promote_decide(p, res->res);
}

/* Reads the next entries of the current campaign after p->after. */
static void promote_round(struct promote *p)
{
    p->attempts++;
    char campaign[24], after[24], limit[16], half_life[32];
    snprintf(campaign, sizeof campaign, "%lld", (long long)p->due[p->at]);
    snprintf(after, sizeof after, "%lld", (long long)p->after);
    snprintf(limit, sizeof limit, "%d", PROMOTE_CHUNK);
    snprintf(half_life, sizeof half_life, "%.17g",
             p->srv->cfg->reliability.half_life_days);
    const char *params[] = {campaign, after, limit, half_life};
    p->job =
        db_query(p->srv->db, &promote_read_stmt, params, promote_read_cb, p);
    if (p->job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        promote_fail(p, &res);
    }
}

static void promote_due_cb(const struct db_result *res, void *arg)
{
    struct promote *p = arg;
    p->job = NULL;
    if (res->status != DB_OK) {
        promote_fail(p, res);
        return;
    }
    int n = PQntuples(res->res);
    p->ndue = n < PROMOTE_DUE_MAX ? n : PROMOTE_DUE_MAX;
    p->full = n >= PROMOTE_DUE_MAX;
    for (int i = 0; i < p->ndue; i++)
        p->due[i] = strtoll(PQgetvalue(res->res, i, 0), NULL, 10);
    p->at = -1;
    promote_next_campaign(p);
}

/* Starts a pass: which campaigns hold units for their queue. */
static void promote_look(struct promote *p)
{
    p->running = true;
    p->kicked = false;
    p->stats.passes++;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", PROMOTE_DUE_MAX);
    const char *params[] = {limit};
    p->job = db_query(p->srv->db, &promote_due_stmt, params, promote_due_cb, p);
    if (p->job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        promote_fail(p, &res);
    }
}

static void promote_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    promote_look(arg);
}

struct promote *promote_new(struct server *srv)
{
    struct promote *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->srv = srv;
    p->timer = evtimer_new(srv->base, promote_timer_cb, p);
    if (p->timer == NULL) {
        free(p);
        return NULL;
    }
    promote_arm(p, 0);
    return p;
}

void promote_free(struct promote *p)
{
    if (p == NULL)
        return;
    if (p->job != NULL)
        db_job_cancel(p->job);
    event_free(p->timer);
    free(p);
}

void promote_kick(struct promote *p)
{
    if (p == NULL)
        return;
    if (p->running) {
        p->kicked = true;
        return;
    }
    evtimer_del(p->timer);
    promote_arm(p, 0);
}

void promote_get_stats(const struct promote *p, struct promote_stats *out)
{
    *out = p->stats;
}
