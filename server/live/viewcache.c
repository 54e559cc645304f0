/*
 * viewcache.c - the public campaign view cache.
 *
 * The public view (GET /v1/campaigns/{id}) is served from memory: the
 * rendered reply is kept in a direct-mapped table of VIEW_CACHE_SLOTS
 * entries (by id) for at most campaign_view_cache_ms after its query was
 * sent, so no reply shows a state older than that bound, whoever changed
 * the campaign (another process, the scheduler, a payment). A write request
 * that went through this process drops the campaign's entry when it has
 * answered (viewcache_note_write, the transport's after-reply hook): routes
 * under campaigns/{id} drop that campaign, any other write drops them all; a
 * query in flight across a drop does not store its (maybe older) answer.
 * Past half its life, an entry still answers every request but one, which
 * refreshes it: a hot view does not send a burst of queries when its entry
 * ends. When there is no entry (none yet, past its bound, or dropped by a
 * write), the first request sends the query and the requests for the same
 * campaign that arrive while it is in flight wait for its answer instead
 * of sending their own, as long as nothing was written through this
 * process since it was sent (else they send a newer one): while a hot
 * campaign takes joins, each of which drops its entry, its viewers cost
 * one query in flight at a time, not one each, and still never see a
 * state older than their own last write. Only 200 replies are kept;
 * campaign_view_cache_ms = 0 turns it off.
 */
#include "live/viewcache.h"
#include "lib/clock.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/request.h"
#include "http/router.h"

#define VIEW_CACHE_SLOTS 4096

struct view_entry {
    int64_t id;          /* 0: empty */
    uint64_t sent_ms;    /* monotonic: when its query was sent */
    uint64_t until_ms;   /* sent_ms + the bound */
    uint64_t refresh_ms; /* a refresh in flight since (0: none) */
    uint64_t epoch;      /* view_epoch when its query was sent */
    char *text;
    size_t len;
};

static struct view_entry *view_cache;            /* VIEW_CACHE_SLOTS, lazily */
static uint32_t view_slot_gen[VIEW_CACHE_SLOTS]; /* bumped by a drop */
static uint64_t view_epoch;                      /* bumped by drop all */

/* A view query in flight, in its first request's arena. Requests for the
 * same campaign that arrive while it is in flight, with nothing written
 * through this process since it was sent, wait for it instead of sending
 * their own (waiters, answered before the first request, whose reply
 * frees the arena). */
struct view_fetch {
    struct req *owner;
    int64_t id;
    uint64_t sent_ms;
    uint64_t epoch;
    uint32_t gen;
    struct view_waiter *waiters;
};

struct view_waiter {
    struct view_waiter *next;
    struct req *r;
};

static struct view_fetch *view_flight[VIEW_CACHE_SLOTS]; /* the newest */
static int view_waiting; /* requests joined to a query in flight */

static size_t viewcache_slot(int64_t id)
{
    return (size_t)((uint64_t)id % VIEW_CACHE_SLOTS);
}

static void viewcache_clear(struct view_entry *e)
{
    free(e->text);
    memset(e, 0, sizeof *e);
}

void viewcache_forget(int64_t id)
{
    if (id <= 0) {
        view_epoch++;
        if (view_cache != NULL)
            for (size_t i = 0; i < VIEW_CACHE_SLOTS; i++)
                if (view_cache[i].id != 0)
                    viewcache_clear(&view_cache[i]);
        return;
    }
    size_t slot = viewcache_slot(id);
    view_slot_gen[slot]++;
    if (view_cache != NULL && view_cache[slot].id == id)
        viewcache_clear(&view_cache[slot]);
}

void viewcache_note_write(struct req *r)
{
    /* after the reply, before any later request: a view cached in this
     * process never hides this request's write */
    if (r->route == NULL || r->method == EVHTTP_REQ_GET ||
        r->method == EVHTTP_REQ_HEAD || r->method == EVHTTP_REQ_OPTIONS)
        return;
    if (strstr(r->route->pattern, "/campaigns/{id}") != NULL)
        viewcache_forget(r->params[0]);
    else
        viewcache_forget(0);
}

void viewcache_free(void)
{
    viewcache_forget(0);
    free(view_cache);
    view_cache = NULL;
}

static void viewcache_store(struct req *r, const struct view_fetch *f,
                            const char *text)
{
    int ttl = r->srv->cfg->campaign_view_cache_ms;
    size_t slot = viewcache_slot(f->id);
    if (ttl <= 0 || f == NULL || f->epoch != view_epoch ||
        f->gen != view_slot_gen[slot])
        return;
    if (view_cache == NULL) {
        view_cache = calloc(VIEW_CACHE_SLOTS, sizeof *view_cache);
        if (view_cache == NULL)
            return;
    }
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return;
    memcpy(copy, text, len + 1);
    struct view_entry *e = &view_cache[slot];
    viewcache_clear(e);
    e->id = f->id;
    e->sent_ms = f->sent_ms;
    e->until_ms = f->sent_ms + (uint64_t)ttl;
    e->epoch = f->epoch;
    e->text = copy;
    e->len = len;
}

enum viewcache_result viewcache_lookup(struct req *r, int64_t id,
                                       const char **text, size_t *len)
{
    r->state = NULL;
    int ttl_ms = r->srv->cfg->campaign_view_cache_ms;
    if (ttl_ms <= 0)
        return VIEWCACHE_MISS;
    uint64_t now = clock_now_ms();
    size_t slot = viewcache_slot(id);
    struct view_entry *e = view_cache != NULL ? &view_cache[slot] : NULL;
    if (e != NULL && e->id == id && e->epoch == view_epoch &&
        e->until_ms > now) {
        /* Past half its life, one request refreshes it while the others
         * are still answered from memory: no stampede on the database
         * when a hot entry ends. */
        uint64_t ttl = (uint64_t)ttl_ms;
        bool refresh = now - e->sent_ms >= ttl / 2 &&
                       (e->refresh_ms == 0 || now - e->refresh_ms >= ttl);
        if (!refresh) {
            *text = e->text;
            *len = e->len;
            return VIEWCACHE_HIT;
        }
        e->refresh_ms = now;
    } else {
        /* No usable entry: join a query sent since the last write through
         * this process, if one is in flight. */
        struct view_fetch *g = view_flight[slot];
        if (g != NULL && g->id == id && g->epoch == view_epoch &&
            g->gen == view_slot_gen[slot] &&
            now - g->sent_ms < (uint64_t)ttl_ms) {
            struct view_waiter *w = req_alloc(r, sizeof *w);
            w->r = r;
            w->next = g->waiters;
            g->waiters = w;
            view_waiting++;
            return VIEWCACHE_JOINED;
        }
    }
    struct view_fetch *f = req_alloc(r, sizeof *f);
    f->owner = r;
    f->id = id;
    f->sent_ms = now;
    f->epoch = view_epoch;
    f->gen = view_slot_gen[slot];
    f->waiters = NULL;
    r->state = f;
    return VIEWCACHE_MISS;
}

int viewcache_waiting(void)
{
    return view_waiting;
}

void viewcache_sent(struct req *r)
{
    struct view_fetch *f = r->state;
    if (f != NULL)
        view_flight[viewcache_slot(f->id)] = f;
}

void viewcache_done(struct req *r, const struct db_result *res,
                    const char *text, viewcache_answer_fn *answer)
{
    struct view_fetch *f = r->state;
    if (f == NULL)
        return;
    size_t slot = viewcache_slot(f->id);
    struct view_entry *e = view_cache != NULL ? &view_cache[slot] : NULL;
    if (e != NULL && e->id == f->id)
        e->refresh_ms = 0; /* this was the refresh, or another may go */
    if (view_flight[slot] == f)
        view_flight[slot] = NULL;
    if (text != NULL)
        viewcache_store(r, f, text);
    /* A waiter lives in its own request's arena, which its reply frees:
     * next is read first. */
    struct view_waiter *w = f->waiters;
    while (w != NULL) {
        struct view_waiter *next = w->next;
        view_waiting--;
        answer(w->r, res, text);
        w = next;
    }
}
