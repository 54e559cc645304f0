/*
 * joinbatch.c - coalesced joins (see joinbatch.h for the design).
 *
 * State: one entry per campaign with joins queued or batches in flight, in
 * a small chained hash by campaign id; an entry goes away when it has
 * neither. A waiting join lives in its request's arena (a request without
 * a streaming reply is only freed by its reply, and it is answered only
 * from a batch). A batch is malloc'd with its items and freed when its
 * last statement returned; it never touches a request after answering it.
 *
 * Timings (joinbatch.h, enum joinbatch_phase): a join carries its submit
 * time and the start of the part it is in; as a round is sent and as its
 * result comes, each join of its batches still to answer adds the time
 * since to the part it leaves (queue or wait when sent, read or write at
 * the result), with the round's own time taken at the same instant. The
 * parts go into the histograms when the join is answered.
 */
#include "engine/joinbatch.h"
#include "lib/clock.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/joinengine.h"
#include "http/request.h"
#include "live/livenotify.h"

#define JB_BUCKETS 256

struct jb_wait {
    struct jb_wait *next;
    struct req *r;
    uint64_t submitted_ns; /* monotonic */
    int64_t quantity;
    int64_t pickup_point;
    const char *address;
    const char *share_code;
};

struct jb_campaign {
    struct jb_campaign *next; /* hash chain */
    int64_t id;
    struct jb_wait *head, **tail;
    int queued;
    int inflight;
    bool pumping; /* in jb_pump: it alone may free the entry */
};

struct jb_item {
    struct req *r;
    struct joinengine_join j; /* campaign, customer, quantity; then priced */
    bool answered;
    bool sent;    /* in the batch statement */
    bool written; /* was in a write round (its wait and write count) */
    uint64_t submitted_ns, since_ns; /* since: the current part's start */
    uint64_t part_ns[JOINBATCH_PHASE_TOTAL]; /* queue, read, wait, write */
};

struct jb_batch {
    struct joinbatch *jb;
    struct jb_campaign *camp;
    struct jb_batch *prev, *next; /* every batch in flight */
    struct jb_batch *ready_next;  /* waiting for a read or write round */
    bool alone;                   /* to be written in a round of its own */
    int attempts;
    int n;
    struct jb_item items[];
};

/* One read or write statement in flight: the batches it carries, in
 * order. */
struct jb_round {
    struct joinbatch *jb;
    struct jb_round *prev, *next; /* every round in flight */
    bool read;                    /* a read round, else a write round */
    uint64_t started_ns;          /* monotonic */
    int nb;
    struct jb_batch *b[JOINBATCH_ROUND_BATCHES];
};

struct joinbatch {
    struct server *srv;
    struct livenotify *live;
    joinbatch_reply_cb *cb;
    struct jb_campaign *buckets[JB_BUCKETS];
    struct jb_batch *batches;
    struct jb_batch *rready, **rready_tail; /* waiting to be read */
    struct jb_batch *ready, **ready_tail;   /* read, waiting to be written */
    struct jb_round *rounds;                /* statements in flight */
    int nreads, nrounds;                    /* of each kind */
    int nbatches, nqueued;                  /* for joinbatch_get_stats */
    uint64_t submitted, reads_total, writes_total;
    struct histogram read_seconds, write_seconds;      /* rounds */
    struct histogram phase_seconds[JOINBATCH_NPHASES]; /* answered joins */
    int max_rounds;                                    /* config join_rounds */
    uint64_t patience_ms;                              /* join_patience_ms */
    struct event *patience;      /* a write round waits for the one in flight */
    struct event *read_patience; /* and a read round for the read in flight */
};

static void jb_flush(struct joinbatch *jb);
static void jb_flush_reads(struct joinbatch *jb);

static void jb_patience_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    jb_flush(arg);
}

static void jb_read_patience_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    jb_flush_reads(arg);
}

struct joinbatch *joinbatch_new(struct server *srv, struct livenotify *live,
                                joinbatch_reply_cb *cb)
{
    struct joinbatch *jb = calloc(1, sizeof *jb);
    if (jb == NULL)
        return NULL;
    jb->srv = srv;
    jb->live = live;
    jb->cb = cb;
    jb->ready_tail = &jb->ready;
    jb->rready_tail = &jb->rready;
    jb->max_rounds = srv->cfg->join_rounds > 0 ? srv->cfg->join_rounds : 1;
    jb->patience_ms = (uint64_t)srv->cfg->join_patience_ms; /* 0-60000 */
    jb->patience = evtimer_new(srv->base, jb_patience_cb, jb);
    jb->read_patience = evtimer_new(srv->base, jb_read_patience_cb, jb);
    if (jb->patience == NULL || jb->read_patience == NULL) {
        if (jb->patience)
            event_free(jb->patience);
        if (jb->read_patience)
            event_free(jb->read_patience);
        free(jb);
        return NULL;
    }
    return jb;
}

void joinbatch_free(struct joinbatch *jb)
{
    if (jb == NULL)
        return;
    for (int i = 0; i < JB_BUCKETS; i++) {
        struct jb_campaign *c = jb->buckets[i];
        while (c) {
            struct jb_campaign *next = c->next;
            free(c);
            c = next;
        }
    }
    struct jb_batch *b = jb->batches;
    while (b) {
        struct jb_batch *next = b->next;
        free(b);
        b = next;
    }
    struct jb_round *w = jb->rounds;
    while (w) {
        struct jb_round *next = w->next;
        free(w);
        w = next;
    }
    event_free(jb->patience);
    event_free(jb->read_patience);
    free(jb);
}

static struct jb_campaign **jb_slot(struct joinbatch *jb, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    struct jb_campaign **p = &jb->buckets[h >> 56];
    while (*p && (*p)->id != id)
        p = &(*p)->next;
    return p;
}

/* Each join of b still to answer leaves its part at now (see the top). */
static void jb_part_end(struct jb_batch *b, enum joinbatch_phase part,
                        uint64_t now)
{
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        if (it->answered)
            continue;
        it->part_ns[part] += now - it->since_ns;
        it->since_ns = now;
        if (part == JOINBATCH_PHASE_WAIT)
            it->written = true;
    }
}

static void jb_answer(struct jb_batch *b, struct jb_item *it,
                      const struct joinengine_outcome *o)
{
    if (it->answered)
        return;
    it->answered = true;
    struct histogram *h = b->jb->phase_seconds;
    histogram_observe_ns(&h[JOINBATCH_PHASE_QUEUE],
                         it->part_ns[JOINBATCH_PHASE_QUEUE]);
    histogram_observe_ns(&h[JOINBATCH_PHASE_READ],
                         it->part_ns[JOINBATCH_PHASE_READ]);
    if (it->written) {
        histogram_observe_ns(&h[JOINBATCH_PHASE_WAIT],
                             it->part_ns[JOINBATCH_PHASE_WAIT]);
        histogram_observe_ns(&h[JOINBATCH_PHASE_WRITE],
                             it->part_ns[JOINBATCH_PHASE_WRITE]);
    }
    histogram_observe_ns(&h[JOINBATCH_PHASE_TOTAL],
                         clock_now_ns() - it->submitted_ns);
    b->jb->cb(it->r, o);
}

static void jb_answer_all(struct jb_batch *b, enum joinengine_status status,
                          const char *reason, const struct db_result *db)
{
    for (int i = 0; i < b->n; i++) {
        struct joinengine_outcome o = {.status = status,
                                       .reason = reason,
                                       .score = b->items[i].j.score.score,
                                       .db = db};
        jb_answer(b, &b->items[i], &o);
    }
}

static void jb_pump(struct joinbatch *jb, struct jb_campaign *camp);
static void jb_read(struct jb_batch *b);
static void jb_write(struct jb_batch *b);

static struct jb_batch *jb_batch_new(struct joinbatch *jb,
                                     struct jb_campaign *camp, int n)
{
    struct jb_batch *b =
        calloc(1, sizeof *b + (size_t)n * sizeof(struct jb_item));
    if (b == NULL)
        abort(); /* as req_alloc: no way to answer without memory */
    b->jb = jb;
    b->camp = camp;
    b->n = n;
    b->next = jb->batches;
    if (jb->batches)
        jb->batches->prev = b;
    jb->batches = b;
    jb->nbatches++;
    camp->inflight++;
    return b;
}

/* The batch is done: every join answered. Frees it and starts the next. */
static void jb_finish(struct jb_batch *b)
{
    struct joinbatch *jb = b->jb;
    struct jb_campaign *camp = b->camp;
    for (int i = 0; i < b->n; i++) {
        struct joinengine_outcome o = {.status = JOINENGINE_INTERNAL};
        jb_answer(b, &b->items[i], &o); /* none left: defensive */
    }
    if (b->prev)
        b->prev->next = b->next;
    else
        jb->batches = b->next;
    if (b->next)
        b->next->prev = b->prev;
    free(b);
    jb->nbatches--;
    camp->inflight--;
    jb_pump(jb, camp);
}

static void jb_pump(struct joinbatch *jb, struct jb_campaign *camp)
{
    if (camp->pumping)
        return; /* a batch that failed at once: the loop goes on */
    camp->pumping = true;
    while (camp->inflight < JOINBATCH_MAX_INFLIGHT && camp->queued > 0) {
        int n = camp->queued < JOINBATCH_MAX_SIZE ? camp->queued
                                                  : JOINBATCH_MAX_SIZE;
        struct jb_batch *b = jb_batch_new(jb, camp, n);
        for (int i = 0; i < n; i++) {
            struct jb_wait *w = camp->head;
            camp->head = w->next;
            b->items[i].r = w->r;
            b->items[i].submitted_ns = w->submitted_ns;
            b->items[i].since_ns = w->submitted_ns;
            b->items[i].j.campaign = camp->id;
            b->items[i].j.customer = w->r->who.id;
            b->items[i].j.quantity = w->quantity;
            b->items[i].j.pickup_point = w->pickup_point;
            b->items[i].j.address = w->address;
            b->items[i].j.share_code = w->share_code;
        }
        camp->queued -= n;
        jb->nqueued -= n;
        if (camp->head == NULL)
            camp->tail = &camp->head;
        jb_read(b);
    }
    camp->pumping = false;
    if (camp->inflight == 0 && camp->queued == 0) {
        struct jb_campaign **p = jb_slot(jb, camp->id);
        *p = camp->next;
        free(camp);
    }
}

void joinbatch_submit(struct joinbatch *jb, struct req *r, int64_t campaign_id,
                      int64_t quantity, int64_t pickup_point,
                      const char *address, const char *share_code)
{
    struct jb_campaign **p = jb_slot(jb, campaign_id);
    struct jb_campaign *camp = *p;
    if (camp == NULL) {
        camp = calloc(1, sizeof *camp);
        if (camp == NULL)
            abort();
        camp->id = campaign_id;
        camp->tail = &camp->head;
        *p = camp;
    }
    struct jb_wait *w = req_alloc(r, sizeof *w);
    w->next = NULL;
    w->r = r;
    w->submitted_ns = clock_now_ns();
    w->quantity = quantity;
    w->pickup_point = pickup_point;
    w->address = address;
    w->share_code = share_code;
    *camp->tail = w;
    camp->tail = &w->next;
    camp->queued++;
    jb->nqueued++;
    jb->submitted++;
    jb_pump(jb, camp);
}

const char *joinbatch_phase_name(enum joinbatch_phase p)
{
    static const char *const names[JOINBATCH_NPHASES] = {
        "queue", "read", "wait", "write", "total"};
    return (unsigned)p < JOINBATCH_NPHASES ? names[p] : "unknown";
}

void joinbatch_get_stats(const struct joinbatch *jb,
                         struct joinbatch_stats *out)
{
    *out = (struct joinbatch_stats){
        .submitted = jb->submitted,
        .queued = jb->nqueued,
        .batches = jb->nbatches,
        .reads = jb->nreads,
        .writes = jb->nrounds,
        .reads_total = jb->reads_total,
        .writes_total = jb->writes_total,
        .read_seconds = jb->read_seconds,
        .write_seconds = jb->write_seconds,
    };
    memcpy(out->phase_seconds, jb->phase_seconds, sizeof out->phase_seconds);
    for (const struct jb_batch *b = jb->rready; b; b = b->ready_next)
        out->to_read++;
    for (const struct jb_batch *b = jb->ready; b; b = b->ready_next)
        out->to_write++;
}

/* ---------------------------------------------------------------- read */

/* The read of b came back: rows[i] is the result row of its item i, or
 * -1 (no joinable campaign). Each join is scored and priced; what the
 * campaign allows is the decision's (the write). */
static void jb_read_done(struct jb_batch *b, PGresult *pg, const int *rows)
{
    for (int i = 0; i < b->n; i++)
        if (rows[i] < 0) {
            jb_answer_all(b, JOINENGINE_NOT_FOUND, NULL, NULL);
            jb_finish(b);
            return;
        }
    struct joinengine_campaign c;
    if (!joinengine_campaign_read(pg, rows[0], &c)) {
        jb_answer_all(b, JOINENGINE_UNREADABLE, NULL, NULL);
        jb_finish(b);
        return;
    }
    int nsend = 0;
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        it->sent = false;
        if (it->answered)
            continue;
        if (!joinengine_price(&b->jb->srv->cfg->reliability, &c, pg, rows[i],
                              &it->j)) {
            struct joinengine_outcome o = {.status = JOINENGINE_INTERNAL};
            jb_answer(b, it, &o);
            continue;
        }
        it->sent = true;
        nsend++;
    }
    if (nsend == 0) {
        jb_finish(b);
        return;
    }
    jb_write(b);
}

static void jb_round_unlink(struct jb_round *w);

static void jb_read_round_cb(const struct db_result *res, void *arg)
{
    struct jb_round *w = arg;
    struct joinbatch *jb = w->jb;
    jb_round_unlink(w);
    uint64_t now = clock_now_ns();
    histogram_observe_ns(&jb->read_seconds, now - w->started_ns);
    for (int i = 0; i < w->nb; i++)
        jb_part_end(w->b[i], JOINBATCH_PHASE_READ, now);
    int total = 0;
    for (int i = 0; i < w->nb; i++)
        total += w->b[i]->n;
    int *rows = malloc((size_t)total * sizeof *rows);
    if (rows == NULL)
        abort();
    for (int k = 0; k < total; k++)
        rows[k] = -1;
    if (res->status == DB_OK) {
        /* ord (the last column) is the row's position among those sent */
        PGresult *pg = res->res;
        int last = PQnfields(pg) - 1;
        for (int row = 0; row < PQntuples(pg); row++) {
            long ord = strtol(PQgetvalue(pg, row, last), NULL, 10);
            if (ord >= 1 && ord <= total)
                rows[ord - 1] = row;
        }
    }
    int start = 0;
    for (int i = 0; i < w->nb; i++) {
        struct jb_batch *b = w->b[i];
        int n = b->n;
        if (res->status != DB_OK) {
            jb_answer_all(b, JOINENGINE_DB_ERROR, NULL, res);
            jb_finish(b);
        } else {
            jb_read_done(b, res->res, rows + start);
        }
        start += n;
    }
    free(rows);
    free(w);
    jb_flush_reads(jb);
}

/* Sends read round w: every item of its batches, campaign and customer. */
static void jb_read_round_send(struct jb_round *w)
{
    struct joinbatch *jb = w->jb;
    struct evbuffer *e[2];
    joinengine_arrays_open(e, 2);
    const char *sep = "";
    for (int i = 0; i < w->nb; i++)
        for (int k = 0; k < w->b[i]->n; k++) {
            evbuffer_add_printf(e[0], "%s%lld", sep,
                                (long long)w->b[i]->camp->id);
            evbuffer_add_printf(e[1], "%s%lld", sep,
                                (long long)w->b[i]->items[k].j.customer);
            sep = ",";
        }
    char *arrays[2];
    joinengine_arrays_close(e, arrays, 2);
    char half_life[32];
    snprintf(half_life, sizeof half_life, "%.17g",
             jb->srv->cfg->reliability.half_life_days);
    const char *params[] = {arrays[0], arrays[1], half_life};
    struct db_job *job = db_query(jb->srv->db, &joinengine_read_stmt, params,
                                  jb_read_round_cb, w);
    free(arrays[0]);
    free(arrays[1]);
    if (job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        jb_read_round_cb(&res, w); /* answers them, frees w */
    }
}

/* w is about to be sent: its joins' queue or wait ends now. */
static void jb_round_link(struct jb_round *w)
{
    struct joinbatch *jb = w->jb;
    w->started_ns = clock_now_ns();
    for (int i = 0; i < w->nb; i++)
        jb_part_end(w->b[i],
                    w->read ? JOINBATCH_PHASE_QUEUE : JOINBATCH_PHASE_WAIT,
                    w->started_ns);
    w->next = jb->rounds;
    if (w->next)
        w->next->prev = w;
    jb->rounds = w;
    if (w->read) {
        jb->nreads++;
        jb->reads_total++;
    } else {
        jb->nrounds++;
        jb->writes_total++;
    }
}

/* Whether a new round of the kind (read or write) must wait: one of that
 * kind is in flight and the youngest of them has waited less than
 * join_patience_ms; timer is then set for when it will have. */
static bool jb_must_wait(struct joinbatch *jb, bool read, struct event *timer)
{
    if ((read ? jb->nreads : jb->nrounds) == 0)
        return false;
    uint64_t now = clock_now_ms(), youngest = UINT64_MAX;
    for (const struct jb_round *r = jb->rounds; r; r = r->next)
        if (r->read == read && now - r->started_ns / 1000000u < youngest)
            youngest = now - r->started_ns / 1000000u;
    if (youngest >= jb->patience_ms)
        return false;
    if (!evtimer_pending(timer, NULL)) {
        long ms = (long)(jb->patience_ms - youngest);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(timer, &tv);
    }
    return true;
}

/* Starts read rounds while fewer than join_rounds are in flight, one at
 * a time unless the one in flight has waited join_patience_ms (as
 * write rounds, for the same reason: the batches that wait meanwhile go
 * together), each with the batches waiting, in order, up to
 * JOINBATCH_ROUND_BATCHES. */
static void jb_flush_reads(struct joinbatch *jb)
{
    while (jb->nreads < jb->max_rounds && jb->rready != NULL) {
        if (jb_must_wait(jb, true, jb->read_patience))
            return;
        struct jb_round *w = calloc(1, sizeof *w);
        if (w == NULL)
            abort();
        w->jb = jb;
        w->read = true;
        while (jb->rready != NULL && w->nb < JOINBATCH_ROUND_BATCHES) {
            struct jb_batch *b = jb->rready;
            jb->rready = b->ready_next;
            b->ready_next = NULL;
            w->b[w->nb++] = b;
        }
        if (jb->rready == NULL)
            jb->rready_tail = &jb->rready;
        jb_round_link(w);
        jb_read_round_send(w);
    }
}

static void jb_read(struct jb_batch *b)
{
    struct joinbatch *jb = b->jb;
    b->attempts++;
    b->ready_next = NULL;
    *jb->rready_tail = b;
    jb->rready_tail = &b->ready_next;
    jb_flush_reads(jb);
}

/* ---------------------------------------------------------------- write */

/* After the batch statement failed as a whole: each join still to answer
 * gets a batch of its own, written in a round of its own (scores known:
 * straight to the write). */
static void jb_split(struct jb_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        if (it->answered || !it->sent)
            continue;
        struct jb_batch *one = jb_batch_new(b->jb, b->camp, 1);
        one->attempts = b->attempts;
        one->alone = true;
        one->items[0] = *it;
        it->answered = true; /* now the single batch's */
        jb_write(one);
    }
    jb_finish(b);
}

static int jb_nsent(const struct jb_batch *b)
{
    int n = 0;
    for (int i = 0; i < b->n; i++)
        n += b->items[i].sent && !b->items[i].answered;
    return n;
}

/* The write of b came back: res, and when it is DB_OK, rows[k] is the
 * result row of b's k-th join still to answer. */
static void jb_write_done(struct jb_batch *b, const struct db_result *res,
                          const int *rows)
{
    int nsent = jb_nsent(b);
    if (res->status == DB_SQL_ERROR && nsent > 1) {
        jb_split(b);
        return;
    }
    if (res->status != DB_OK) {
        const char *reason = joinengine_error_reason(res);
        if (reason)
            jb_answer_all(b, JOINENGINE_REFUSED, reason, NULL);
        else
            jb_answer_all(b, JOINENGINE_DB_ERROR, NULL, res);
        jb_finish(b);
        return;
    }
    PGresult *pg = res->res;
    for (int k = 0; k < nsent; k++)
        if (rows[k] < 0) {
            jb_answer_all(b, JOINENGINE_INTERNAL, NULL, NULL);
            jb_finish(b);
            return;
        }
    struct joinengine_outcome o = {.status = JOINENGINE_INTERNAL};
    if (nsent > 0)
        joinengine_outcome_row(pg, rows[0], &o);
    if (o.status == JOINENGINE_CHANGED) { /* the whole batch's */
        if (b->attempts < 2) {
            jb_read(b); /* staff edited it since the read: read again */
            return;
        }
        jb_answer_all(b, JOINENGINE_CHANGED, NULL, NULL);
        jb_finish(b);
        return;
    }
    int k = 0;
    bool joined = false;
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        if (!it->sent || it->answered)
            continue;
        joinengine_outcome_row(pg, rows[k++], &o);
        o.score = it->j.score.score;
        joined = joined || o.status == JOINENGINE_ACCEPTED;
        jb_answer(b, it, &o);
    }
    /* Committed (the statement was its own transaction), not announced by
     * it: livenotify.h. */
    if (joined)
        livenotify_changed(b->jb->live, b->camp->id);
    jb_finish(b);
}

static void jb_flush(struct joinbatch *jb);

static void jb_round_unlink(struct jb_round *w)
{
    struct joinbatch *jb = w->jb;
    if (w->prev)
        w->prev->next = w->next;
    else
        jb->rounds = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->read)
        jb->nreads--;
    else
        jb->nrounds--;
}

static void jb_round_cb(const struct db_result *res, void *arg)
{
    struct jb_round *w = arg;
    struct joinbatch *jb = w->jb;
    jb_round_unlink(w);
    uint64_t now = clock_now_ns();
    histogram_observe_ns(&jb->write_seconds, now - w->started_ns);
    for (int i = 0; i < w->nb; i++)
        jb_part_end(w->b[i], JOINBATCH_PHASE_WRITE, now);
    if (res->status == DB_SQL_ERROR && w->nb > 1) {
        /* One of them, maybe: each goes again in a round of its own. */
        for (int i = 0; i < w->nb; i++) {
            w->b[i]->alone = true;
            jb_write(w->b[i]);
        }
        free(w);
        jb_flush(jb);
        return;
    }
    int total = 0;
    for (int i = 0; i < w->nb; i++)
        total += jb_nsent(w->b[i]);
    int *rows = malloc((size_t)total * sizeof *rows);
    if (rows == NULL)
        abort();
    for (int k = 0; k < total; k++)
        rows[k] = -1;
    if (res->status == DB_OK) {
        /* o_ord (column 0) is the row's position among the rows sent. */
        PGresult *pg = res->res;
        for (int row = 0; row < PQntuples(pg); row++) {
            long ord = strtol(PQgetvalue(pg, row, 0), NULL, 10);
            if (ord >= 1 && ord <= total)
                rows[ord - 1] = row;
        }
    }
    int start = 0;
    for (int i = 0; i < w->nb; i++) {
        int n = jb_nsent(w->b[i]);
        jb_write_done(w->b[i], res, rows + start);
        start += n;
    }
    free(rows);
    free(w);
    jb_flush(jb);
}

/* Appends b's joins still to answer to the round's parameter arrays. */
static void jb_round_add(struct evbuffer *const *e, const struct jb_batch *b,
                         bool *first)
{
    for (int i = 0; i < b->n; i++) {
        const struct jb_item *it = &b->items[i];
        if (it->sent && !it->answered)
            joinengine_decide_add(e, &it->j, first);
    }
}

/* Sends write round w: the joins still to answer of its batches. */
static void jb_round_send(struct jb_round *w)
{
    struct joinbatch *jb = w->jb;
    struct evbuffer *e[JOINENGINE_DECIDE_ARRAYS];
    joinengine_arrays_open(e, JOINENGINE_DECIDE_ARRAYS);
    bool first = true;
    for (int i = 0; i < w->nb; i++)
        jb_round_add(e, w->b[i], &first);
    char *arrays[JOINENGINE_DECIDE_ARRAYS];
    joinengine_arrays_close(e, arrays, JOINENGINE_DECIDE_ARRAYS);
    const char *params[JOINENGINE_DECIDE_ARRAYS];
    for (int f = 0; f < JOINENGINE_DECIDE_ARRAYS; f++)
        params[f] = arrays[f];
    struct db_job *job =
        db_query(jb->srv->db, &joinengine_decide_stmt, params, jb_round_cb, w);
    for (int f = 0; f < JOINENGINE_DECIDE_ARRAYS; f++)
        free(arrays[f]);
    if (job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        jb_round_cb(&res, w); /* answers them, frees w */
    }
}

/* Starts write rounds while fewer than join_rounds are in flight:
 * each takes the ready batches in order, up to JOINBATCH_ROUND_BATCHES
 * batches and JOINBATCH_MAX_SIZE joins, one batch per campaign (a second
 * batch of a campaign waits for the next round), and a batch marked alone
 * only by itself. */
static void jb_flush(struct joinbatch *jb)
{
    while (jb->nrounds < jb->max_rounds && jb->ready != NULL) {
        /* a new round only if the youngest in flight has waited its
         * patience (a campaign's lock held up every round in flight),
         * else later, or with its answer */
        if (jb_must_wait(jb, false, jb->patience))
            return;
        struct jb_round *w = calloc(1, sizeof *w);
        if (w == NULL)
            abort();
        w->jb = jb;
        int joins = 0;
        struct jb_batch **p = &jb->ready;
        while (*p != NULL && w->nb < JOINBATCH_ROUND_BATCHES) {
            struct jb_batch *b = *p;
            int n = jb_nsent(b);
            bool fits = w->nb == 0 || (!b->alone && !w->b[0]->alone &&
                                       joins + n <= JOINBATCH_MAX_SIZE);
            for (int i = 0; fits && i < w->nb; i++)
                fits = w->b[i]->camp != b->camp;
            if (!fits) {
                p = &b->ready_next;
                continue;
            }
            *p = b->ready_next; /* out of the ready list */
            if (jb->ready_tail == &b->ready_next)
                jb->ready_tail = p;
            b->ready_next = NULL;
            w->b[w->nb++] = b;
            joins += n;
            if (b->alone)
                break;
        }
        jb_round_link(w);
        jb_round_send(w);
    }
}

/* b is read and priced: it waits for a write round. */
static void jb_write(struct jb_batch *b)
{
    struct joinbatch *jb = b->jb;
    b->ready_next = NULL;
    *jb->ready_tail = b;
    jb->ready_tail = &b->ready_next;
    jb_flush(jb);
}
