/*
 * webhook_relay.c - the relay of webhook_relay.h.
 *
 * One tick at a time: fan out, then claim up to the free request slots.
 * Each claimed delivery is a struct relay_item that lives until its
 * attempt is recorded; the relay keeps them on a list so that
 * webhook_relay_free can cancel whatever stage each is in (lookup, HTTP
 * transfer, record statement). A tick that filled every slot, or finished
 * deliveries, asks for the next tick at once; an idle relay polls every
 * webhooks.poll_ms.
 *
 * The lease is the timeout plus a margin: a record written after the
 * lease ran out is refused by gb_webhook_record when another process has
 * claimed the row since (the attempts number differs).
 */
#include "out/webhook_relay.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "db/db.h"
#include "domain/webhook_rules.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "out/outhttp.h"
#include "out/webhook_target.h"

#define RELAY_FANOUT_BATCH 1000
#define RELAY_LEASE_SLACK  5000 /* ms beyond the timeout */
#define RELAY_MAX_RESPONSE 65536

struct relay_item;

struct webhook_relay {
    struct event_base *base;
    struct db_pool *db;
    const struct config *cfg;
    struct evdns_base *dns;
    struct outhttp *http;
    struct event *timer;
    struct db_job *job; /* the tick's fan-out or claim */
    bool ticking, again;
    int slots; /* items alive (claimed, not yet recorded) */
    struct relay_item *items;
    struct webhook_relay_stats stats;
};

struct relay_item {
    struct webhook_relay *w;
    struct relay_item *prev, *next;
    int64_t id;
    int attempts;
    char *url, *secret, *body, *event_id;
    struct webhook_lookup *lookup;
    struct outhttp_job *xfer;
    struct db_job *record;
    char params_buf[8][32];
};

static struct db_stmt relay_fanout =
    DB_STMT("webhook_fanout", "SELECT gb_webhook_fanout($1)", 1);
static struct db_stmt relay_claim =
    DB_STMT("webhook_claim",
            "SELECT delivery_id, url, secret, event_id, body, attempts"
            "  FROM gb_webhook_claim($1, $2, $3, $4, $5, $6)",
            6);
static struct db_stmt relay_record =
    DB_STMT("webhook_record",
            "SELECT gb_webhook_record($1, $2, $3, $4, $5, $6, $7, $8)", 8);

static void relay_tick(struct webhook_relay *w);

static void relay_schedule(struct webhook_relay *w, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_del(w->timer);
    evtimer_add(w->timer, &tv);
}

static void relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    relay_tick(arg);
}

static void item_free(struct relay_item *it)
{
    struct webhook_relay *w = it->w;
    if (it->prev)
        it->prev->next = it->next;
    else
        w->items = it->next;
    if (it->next)
        it->next->prev = it->prev;
    w->slots--;
    free(it->url);
    free(it->secret);
    free(it->body);
    free(it->event_id);
    free(it);
}

/* The attempt is recorded (or could not be: the lease runs out and the
 * delivery is tried again); the slot is free for the next claim. */
static void recorded_cb(const struct db_result *res, void *arg)
{
    struct relay_item *it = arg;
    struct webhook_relay *w = it->w;
    it->record = NULL;
    if (res->status != DB_OK)
        log_warn("webhooks: delivery %lld: cannot record the attempt: %s",
                 (long long)it->id, res->message ? res->message : "?");
    item_free(it);
    if (!w->ticking)
        relay_schedule(w, 0);
}

static void item_record(struct relay_item *it, long status, const char *error,
                        long ms)
{
    struct webhook_relay *w = it->w;
    bool ok = error == NULL && status >= 200 && status <= 299;
    if (ok)
        w->stats.delivered++;
    else
        w->stats.failed_attempts++;
    double u = (double)(rand() % 1000000) / 1000000.0;
    int64_t retry =
        ok ? 0
           : webhook_backoff_ms(it->attempts, w->cfg->webhook_retry_base_ms, u);
    char err[600];
    if (!ok && error == NULL)
        snprintf(err, sizeof err, "HTTP status %ld", status);
    else if (error)
        snprintf(err, sizeof err, "%s", error);
    snprintf(it->params_buf[0], 32, "%lld", (long long)it->id);
    snprintf(it->params_buf[1], 32, "%d", it->attempts);
    snprintf(it->params_buf[2], 32, "%ld", status);
    snprintf(it->params_buf[3], 32, "%ld", ms);
    snprintf(it->params_buf[4], 32, "%lld", (long long)retry);
    snprintf(it->params_buf[5], 32, "%d", w->cfg->webhook_retry_window_s);
    const char *params[] = {it->params_buf[0],
                            it->params_buf[1],
                            status > 0 ? it->params_buf[2] : NULL,
                            ok ? NULL : err,
                            it->params_buf[3],
                            ok ? "true" : "false",
                            it->params_buf[4],
                            it->params_buf[5]};
    it->record = db_query(w->db, &relay_record, params, recorded_cb, it);
    if (it->record == NULL) {
        log_warn("webhooks: delivery %lld: the attempt is not recorded",
                 (long long)it->id);
        item_free(it);
    }
}

static void sent_cb(void *arg, long status, enum outhttp_error error, long ms)
{
    struct relay_item *it = arg;
    it->xfer = NULL;
    item_record(it, status,
                error == OUTHTTP_OK ? NULL : outhttp_error_text(error), ms);
}

/* The host is checked: sign and send to the checked address. */
static void target_cb(void *arg, const struct webhook_target *t,
                      const char *error)
{
    struct relay_item *it = arg;
    struct webhook_relay *w = it->w;
    it->lookup = NULL;
    if (t == NULL) {
        item_record(it, 0, error, 0);
        return;
    }
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    size_t blen = strlen(it->body);
    size_t tlen = strlen(ts);
    char *signed_part = malloc(tlen + 1 + blen + 1);
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    bool ok = signed_part != NULL;
    if (ok) {
        memcpy(signed_part, ts, tlen);
        signed_part[tlen] = '.';
        memcpy(signed_part + tlen + 1, it->body, blen + 1);
        ok = crypto_hmac_sha256(it->secret, strlen(it->secret), signed_part,
                                tlen + 1 + blen, mac);
    }
    free(signed_part);
    if (!ok) {
        item_record(it, 0, "cannot sign the event", 0);
        return;
    }
    crypto_hex_encode(mac, sizeof mac, hex);
    char sig[160], eid[80];
    snprintf(sig, sizeof sig, "X-Groupbuyd-Signature: t=%s,v1=%s", ts, hex);
    snprintf(eid, sizeof eid, "X-Groupbuyd-Event-Id: %s", it->event_id);
    const char *headers[] = {"Content-Type: application/json", sig, eid, NULL};
    struct outhttp_request rq = {
        .url = t->url,
        .host = t->host,
        .port = t->port,
        .literal = t->literal,
        .addr = t->addr,
        .headers = headers,
        .body = it->body,
        .body_len = blen,
        .timeout_ms = w->cfg->webhook_timeout_ms,
        .max_response = RELAY_MAX_RESPONSE,
    };
    w->stats.sent++;
    it->xfer = outhttp_post(w->http, &rq, sent_cb, it);
    if (it->xfer == NULL)
        item_record(it, 0, "cannot start the request", 0);
}

static char *dup_value(PGresult *res, int row, int col)
{
    return strdup(PQgetvalue(res, row, col));
}

static void claimed_cb(const struct db_result *res, void *arg)
{
    struct webhook_relay *w = arg;
    w->job = NULL;
    w->ticking = false;
    if (res->status != DB_OK) {
        log_warn("webhooks: claim: %s", res->message ? res->message : "?");
        relay_schedule(w, w->cfg->webhook_poll_ms);
        return;
    }
    int n = PQntuples(res->res);
    int free_slots = w->cfg->webhook_concurrency - w->slots;
    for (int i = 0; i < n; i++) {
        struct relay_item *it = calloc(1, sizeof *it);
        if (it == NULL)
            break; /* the lease runs out; claimed again later */
        it->w = w;
        it->id = strtoll(PQgetvalue(res->res, i, 0), NULL, 10);
        it->url = dup_value(res->res, i, 1);
        it->secret = dup_value(res->res, i, 2);
        it->event_id = dup_value(res->res, i, 3);
        it->body = dup_value(res->res, i, 4);
        it->attempts = atoi(PQgetvalue(res->res, i, 5));
        it->next = w->items;
        if (w->items)
            w->items->prev = it;
        w->items = it;
        w->slots++;
        if (!it->url || !it->secret || !it->event_id || !it->body) {
            item_free(it);
            continue;
        }
        /* target_cb may have run (and freed it) before this returns */
        struct webhook_lookup *l = webhook_target_check(
            w->dns, it->url, w->cfg->webhook_allow_hosts, target_cb, it);
        if (l != NULL)
            it->lookup = l;
    }
    /* every slot filled: more may be due at once */
    relay_schedule(w, n >= free_slots ? 0 : w->cfg->webhook_poll_ms);
}

static void fanned_cb(const struct db_result *res, void *arg)
{
    struct webhook_relay *w = arg;
    w->job = NULL;
    if (res->status != DB_OK)
        log_warn("webhooks: fan-out: %s", res->message ? res->message : "?");
    int free_slots = w->cfg->webhook_concurrency - w->slots;
    if (free_slots <= 0) {
        w->ticking = false;
        relay_schedule(w, w->cfg->webhook_poll_ms);
        return;
    }
    const struct config *cfg = w->cfg;
    char limit[16], lease[16], eslots[16], dslots[16], rate[16], burst[16];
    snprintf(limit, sizeof limit, "%d", free_slots);
    snprintf(lease, sizeof lease, "%d",
             cfg->webhook_timeout_ms + RELAY_LEASE_SLACK);
    snprintf(eslots, sizeof eslots, "%d", cfg->webhook_endpoint_slots);
    snprintf(dslots, sizeof dslots, "%d", cfg->webhook_distributor_slots);
    snprintf(rate, sizeof rate, "%d", cfg->webhook_host_rate);
    snprintf(burst, sizeof burst, "%d", cfg->webhook_host_burst);
    const char *params[] = {limit, lease, eslots, dslots, rate, burst};
    w->job = db_query(w->db, &relay_claim, params, claimed_cb, w);
    if (w->job == NULL) {
        w->ticking = false;
        relay_schedule(w, w->cfg->webhook_poll_ms);
    }
}

static void relay_tick(struct webhook_relay *w)
{
    if (w->ticking)
        return;
    w->ticking = true;
    char batch[16];
    snprintf(batch, sizeof batch, "%d", RELAY_FANOUT_BATCH);
    const char *params[] = {batch};
    w->job = db_query(w->db, &relay_fanout, params, fanned_cb, w);
    if (w->job == NULL) {
        w->ticking = false;
        relay_schedule(w, w->cfg->webhook_poll_ms);
    }
}

struct webhook_relay *webhook_relay_new(struct event_base *base,
                                        struct db_pool *db,
                                        const struct config *cfg)
{
    struct webhook_relay *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->base = base;
    w->db = db;
    w->cfg = cfg;
    srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)w);
    /* resolv.conf's servers and /etc/hosts; the loop does not wait for an
     * idle resolver */
    w->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                      EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (w->dns == NULL)
        w->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    /* a name that does not resolve answers within seconds, not the
     * resolver's default of 5 s times 3 tries, while a create waits */
    if (w->dns) {
        evdns_base_set_option(w->dns, "timeout:", "2");
        evdns_base_set_option(w->dns, "attempts:", "2");
    }
    w->http = outhttp_new(base);
    w->timer = evtimer_new(base, relay_timer_cb, w);
    if (w->dns == NULL || w->http == NULL || w->timer == NULL) {
        webhook_relay_free(w);
        return NULL;
    }
    if (cfg->webhook_concurrency > 0)
        relay_schedule(w, 0);
    return w;
}

void webhook_relay_free(struct webhook_relay *w)
{
    if (w == NULL)
        return;
    if (w->job)
        db_job_cancel(w->job);
    while (w->items) {
        struct relay_item *it = w->items;
        if (it->lookup)
            webhook_lookup_cancel(it->lookup);
        if (it->record)
            db_job_cancel(it->record);
        item_free(it); /* a transfer is aborted by outhttp_free below */
    }
    if (w->http)
        outhttp_free(w->http);
    if (w->timer)
        event_free(w->timer);
    if (w->dns)
        evdns_base_free(w->dns, 1);
    free(w);
}

struct evdns_base *webhook_relay_dns(struct webhook_relay *w)
{
    return w->dns;
}

void webhook_relay_poke(struct webhook_relay *w)
{
    if (w->cfg->webhook_concurrency > 0 && !w->ticking)
        relay_schedule(w, 0);
}

void webhook_relay_get_stats(const struct webhook_relay *w,
                             struct webhook_relay_stats *out)
{
    *out = w->stats;
    out->inflight = w->slots;
}
