/*
 * joinbatch.c - coalesced joins (see joinbatch.h for the design).
 *
 * State: one entry per campaign with joins queued or batches in flight, in
 * a small chained hash by campaign id; an entry goes away when it has
 * neither. A waiting join lives in its request's arena (a request without
 * a streaming reply is only freed by its reply, and it is answered only
 * from a batch). A batch is malloc'd with its items and freed when its
 * last statement returned; it never touches a request after answering it.
 */
#include "joinbatch.h"

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_join.h"
#include "http.h"
#include "pricing.h"

#define JB_BUCKETS 256

struct jb_wait {
    struct jb_wait *next;
    struct req *r;
    int64_t quantity;
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
    int64_t customer, quantity;
    struct reliability_result score;
    int64_t deposit_percent, deposit_cents;
    bool answered;
    bool sent; /* in the batch statement */
};

struct jb_batch {
    struct joinbatch *jb;
    struct jb_campaign *camp;
    struct jb_batch *prev, *next; /* every batch in flight */
    int attempts;
    int version;
    int n;
    struct jb_item items[];
};

struct joinbatch {
    struct server *srv;
    joinbatch_reply_cb *cb;
    struct jb_campaign *buckets[JB_BUCKETS];
    struct jb_batch *batches;
};

/* One row per customer of $2, in order: the campaign's status, tiers,
 * deposit policy, version and per-customer limit, the customer's VIP level
 * with the campaign's distributor, and the history (schema/012). No row:
 * no joinable campaign. */
static struct db_stmt jb_read_stmt = DB_STMT(
    "join_batch_read", "SELECT * FROM gb_join_batch_read($1, $2, $3)", 3);

static struct db_stmt jb_write_stmt =
    DB_STMT("join_batch_write",
            "SELECT * FROM gb_join_batch($1, $2, $3, $4, $5, $6, $7, $8)", 8);

struct joinbatch *joinbatch_new(struct server *srv, joinbatch_reply_cb *cb)
{
    struct joinbatch *jb = calloc(1, sizeof *jb);
    if (jb == NULL)
        return NULL;
    jb->srv = srv;
    jb->cb = cb;
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

static void jb_answer(struct jb_batch *b, struct jb_item *it,
                      const struct joinbatch_outcome *o)
{
    if (it->answered)
        return;
    it->answered = true;
    b->jb->cb(it->r, o);
}

static void jb_answer_all(struct jb_batch *b, enum joinbatch_status status,
                          const char *reason, const struct db_result *db)
{
    for (int i = 0; i < b->n; i++) {
        struct joinbatch_outcome o = {.status = status,
                                      .reason = reason,
                                      .score = b->items[i].score.score,
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
    camp->inflight++;
    return b;
}

/* The batch is done: every join answered. Frees it and starts the next. */
static void jb_finish(struct jb_batch *b)
{
    struct joinbatch *jb = b->jb;
    struct jb_campaign *camp = b->camp;
    for (int i = 0; i < b->n; i++) {
        struct joinbatch_outcome o = {.status = JOINBATCH_INTERNAL};
        jb_answer(b, &b->items[i], &o); /* none left: defensive */
    }
    if (b->prev)
        b->prev->next = b->next;
    else
        jb->batches = b->next;
    if (b->next)
        b->next->prev = b->prev;
    free(b);
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
            b->items[i].customer = w->r->who.id;
            b->items[i].quantity = w->quantity;
        }
        camp->queued -= n;
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
                      int64_t quantity)
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
    w->quantity = quantity;
    *camp->tail = w;
    camp->tail = &w->next;
    camp->queued++;
    jb_pump(jb, camp);
}

/* ---------------------------------------------------------------- read */

/* "{a,b,...}" of the items still to send, one field each; caller frees. */
enum jb_field {
    JB_CUSTOMER,
    JB_QUANTITY,
    JB_SCORE,
    JB_P_COMPLETE,
    JB_PERCENT,
    JB_DEPOSIT,
};

static char *jb_array(const struct jb_batch *b, enum jb_field f, bool all)
{
    struct evbuffer *e = evbuffer_new();
    if (e == NULL)
        abort();
    evbuffer_add(e, "{", 1);
    bool first = true;
    for (int i = 0; i < b->n; i++) {
        const struct jb_item *it = &b->items[i];
        if (!all && !it->sent)
            continue;
        if (!first)
            evbuffer_add(e, ",", 1);
        first = false;
        switch (f) {
        case JB_CUSTOMER:
            evbuffer_add_printf(e, "%lld", (long long)it->customer);
            break;
        case JB_QUANTITY:
            evbuffer_add_printf(e, "%lld", (long long)it->quantity);
            break;
        case JB_SCORE:
            evbuffer_add_printf(e, "%d", it->score.score);
            break;
        case JB_P_COMPLETE:
            evbuffer_add_printf(e, "%.17g", it->score.p_complete);
            break;
        case JB_PERCENT:
            evbuffer_add_printf(e, "%lld", (long long)it->deposit_percent);
            break;
        case JB_DEPOSIT:
            evbuffer_add_printf(e, "%lld", (long long)it->deposit_cents);
            break;
        }
    }
    evbuffer_add(e, "}", 2); /* with the NUL */
    size_t len = evbuffer_get_length(e);
    char *s = malloc(len);
    if (s == NULL)
        abort();
    evbuffer_remove(e, s, len);
    evbuffer_free(e);
    return s;
}

static void jb_read_cb(const struct db_result *res, void *arg)
{
    struct jb_batch *b = arg;
    if (res->status != DB_OK) {
        jb_answer_all(b, JOINBATCH_DB_ERROR, NULL, res);
        jb_finish(b);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != b->n) {
        jb_answer_all(b, JOINBATCH_NOT_FOUND, NULL, NULL);
        jb_finish(b);
        return;
    }
    if (strcmp(PQgetvalue(pg, 0, 0), "open") != 0) {
        jb_answer_all(b, JOINBATCH_REFUSED, "campaign_not_open", NULL);
        jb_finish(b);
        return;
    }
    struct pricing_tier tiers[PRICING_MAX_TIERS];
    struct pricing_deposit_band bands[PRICING_MAX_BANDS];
    size_t ntiers, nbands;
    if (!join_parse_tiers(PQgetvalue(pg, 0, 1), tiers, &ntiers) ||
        !join_parse_bands(PQgetvalue(pg, 0, 2), bands, &nbands)) {
        jb_answer_all(b, JOINBATCH_UNREADABLE, NULL, NULL);
        jb_finish(b);
        return;
    }
    b->version = atoi(PQgetvalue(pg, 0, 3));
    int64_t limit = strtoll(PQgetvalue(pg, 0, 4), NULL, 10);
    int nsend = 0;
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        it->sent = false;
        if (it->answered)
            continue;
        if (it->quantity > limit) {
            struct joinbatch_outcome o = {.status = JOINBATCH_REFUSED,
                                          .reason = "per_customer_limit"};
            jb_answer(b, it, &o);
            continue;
        }
        int vip = atoi(PQgetvalue(pg, i, 5));
        if (!join_history_score(it->r, pg, i, 6, vip, &it->score, NULL) ||
            !pricing_deposit_for_score(
                tiers, ntiers, bands, nbands, it->score.score, it->quantity,
                &it->deposit_cents, &it->deposit_percent)) {
            struct joinbatch_outcome o = {.status = JOINBATCH_INTERNAL};
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

static void jb_read(struct jb_batch *b)
{
    b->attempts++;
    char *customers = jb_array(b, JB_CUSTOMER, true);
    char campaign[24], half_life[32];
    snprintf(campaign, sizeof campaign, "%lld", (long long)b->camp->id);
    snprintf(half_life, sizeof half_life, "%.17g",
             b->jb->srv->cfg->reliability.half_life_days);
    const char *params[] = {campaign, customers, half_life};
    struct db_job *job =
        db_query(b->jb->srv->db, &jb_read_stmt, params, jb_read_cb, b);
    free(customers);
    if (job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        jb_answer_all(b, JOINBATCH_DB_ERROR, NULL, &res);
        jb_finish(b);
    }
}

/* ---------------------------------------------------------------- write */

/* After the batch statement failed as a whole: each join still to answer
 * gets a batch of its own (scores known: straight to the write). */
static void jb_split(struct jb_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        if (it->answered || !it->sent)
            continue;
        struct jb_batch *one = jb_batch_new(b->jb, b->camp, 1);
        one->attempts = b->attempts;
        one->version = b->version;
        one->items[0] = *it;
        it->answered = true; /* now the single batch's */
        jb_write(one);
    }
    jb_finish(b);
}

static void jb_write_cb(const struct db_result *res, void *arg)
{
    struct jb_batch *b = arg;
    int nsent = 0;
    for (int i = 0; i < b->n; i++)
        nsent += b->items[i].sent && !b->items[i].answered;
    if (res->status == DB_SQL_ERROR && nsent > 1) {
        jb_split(b);
        return;
    }
    if (res->status == DB_SQL_ERROR) {
        const char *reason = NULL;
        if (db_is_unique_violation(res)) /* participations_one_live */
            reason = "already_joined";
        else if (strcmp(res->sqlstate, "23514") == 0 && res->message &&
                 strstr(res->message, "campaigns_no_oversell"))
            reason = "campaign_full";
        if (reason)
            jb_answer_all(b, JOINBATCH_REFUSED, reason, NULL);
        else
            jb_answer_all(b, JOINBATCH_DB_ERROR, NULL, res);
        jb_finish(b);
        return;
    }
    if (res->status != DB_OK) {
        jb_answer_all(b, JOINBATCH_DB_ERROR, NULL, res);
        jb_finish(b);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != nsent) {
        jb_answer_all(b, JOINBATCH_INTERNAL, NULL, NULL);
        jb_finish(b);
        return;
    }
    if (nsent > 0 && !PQgetisnull(pg, 0, 1) &&
        strcmp(PQgetvalue(pg, 0, 1), "changed") == 0) {
        if (b->attempts < 2) {
            jb_read(b); /* staff edited it since the read: read again */
            return;
        }
        jb_answer_all(b, JOINBATCH_CHANGED, NULL, NULL);
        jb_finish(b);
        return;
    }
    int row = 0;
    for (int i = 0; i < b->n; i++) {
        struct jb_item *it = &b->items[i];
        if (!it->sent || it->answered)
            continue;
        struct joinbatch_outcome o = {.score = it->score.score};
        if (PQgetisnull(pg, row, 1)) {
            o.status = JOINBATCH_ACCEPTED;
            o.res = pg;
            o.row = row;
        } else if (strcmp(PQgetvalue(pg, row, 1), "not_found") == 0) {
            o.status = JOINBATCH_NOT_FOUND;
        } else {
            o.status = JOINBATCH_REFUSED;
            o.reason = PQgetvalue(pg, row, 1);
        }
        jb_answer(b, it, &o);
        row++;
    }
    jb_finish(b);
}

static void jb_write(struct jb_batch *b)
{
    char *arrays[6];
    for (int f = 0; f < 6; f++)
        arrays[f] = jb_array(b, (enum jb_field)f, false);
    char campaign[24], version[16];
    snprintf(campaign, sizeof campaign, "%lld", (long long)b->camp->id);
    snprintf(version, sizeof version, "%d", b->version);
    const char *params[] = {campaign,  version,   arrays[0], arrays[1],
                            arrays[2], arrays[3], arrays[4], arrays[5]};
    struct db_job *job =
        db_query(b->jb->srv->db, &jb_write_stmt, params, jb_write_cb, b);
    for (int f = 0; f < 6; f++)
        free(arrays[f]);
    if (job == NULL) {
        struct db_result res = {.status = DB_UNAVAILABLE};
        jb_answer_all(b, JOINBATCH_DB_ERROR, NULL, &res);
        jb_finish(b);
    }
}
