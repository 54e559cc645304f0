/*
 * health.c - liveness, readiness and metrics.
 *
 * /healthz answers from memory while the process runs. /readyz asks the
 * database, through the pool, whether every migration found in schema_dir
 * at start is applied and every function file found there is applied as
 * it is; any failure (no connection, missing table, pending migration,
 * function files changed since the last migrate) is 503. /metrics renders the
 * in-memory counters and the pool's state, and the campaigns by status when the
 * database answers; during an outage it still answers with the process's own
 * figures.
 *
 * /metrics shows figures across tenants, so it is not public: with
 * metrics_token set it needs that bearer token; without, it is open only
 * while the server listens on a loopback address (nothing off the host can
 * reach it then), and closed to all when it listens on any other.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/ops/ops.h"
#include "app.h"
#include "engine/auth.h"
#include "engine/joinbatch.h"
#include "engine/scheduler.h"
#include "http/metrics.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/histogram.h"
#include "live/sse.h"
#include "live/viewcache.h"
#include "out/webhook_relay.h"

/* GET /healthz -> 200 {"status":"ok"} */
void health_live(struct req *r)
{
    static const char body[] = "{\"status\":\"ok\"}";
    req_reply_raw(r, 200, "application/json", body, sizeof body - 1);
}

/* Ready when every migration found is applied and every function file
 * found is in the database as it is on disk (name and SHA-256): a server
 * whose functions are older than its files would call them with the
 * arguments or expect the answers of the new ones. */
static struct db_stmt readyz_stmt =
    DB_STMT("readyz",
            "SELECT NOT EXISTS (SELECT unnest($1::int[]) EXCEPT "
            "SELECT version FROM schema_migrations),"
            " NOT EXISTS (SELECT unnest($2::text[]) EXCEPT "
            "SELECT name || ':' || sha256 FROM schema_functions),"
            " NOT pg_is_in_recovery()",
            2);

static void health_ready_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_error(r, 503, "unavailable", NULL, "Not ready: %s",
                        res->status == DB_UNAVAILABLE
                            ? "the database is unavailable."
                            : "the schema is not migrated.");
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "t") != 0) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "Not ready: a migration is pending.");
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 2), "t") != 0) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "Not ready: the database is a standby.");
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 1), "t") != 0) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "Not ready: the database's functions differ from "
                        "schema/functions; run migrate.");
        return;
    }
    static const char body[] = "{\"status\":\"ready\"}";
    req_reply_raw(r, 200, "application/json", body, sizeof body - 1);
}

/* GET /readyz -> 200 {"status":"ready"} | 503 unavailable */
void health_ready(struct req *r)
{
    const char *params[] = {app_of(r)->migrations_param,
                            app_of(r)->functions_param};
    if (!req_query_db(r, &readyz_stmt, params, health_ready_cb))
        return;
}

/* The gauges read from the database (functions/reports.sql): campaigns
 * by status, and the due rows the scheduler holds back after a failure,
 * by step; never waiting for a lock. */
static struct db_stmt campaigns_by_status_stmt = DB_STMT(
    "metrics_campaigns", "SELECT what, name, n FROM gb_reports_metrics()", 0);

static void health_metrics_statement(const char *name, uint64_t executions,
                                     void *arg)
{
    evbuffer_add_printf(arg,
                        "groupbuyd_db_statements_total{statement=\"%s\"} "
                        "%llu\n",
                        name, (unsigned long long)executions);
}

/* What an operator watches across a failover, per pool: connections that
 * broke, times the pool had none left, the time spent without one (ended
 * outages, and the current one's length so far). */
static void health_metrics_failover(const struct server *srv,
                                    struct evbuffer *out)
{
    struct db_pool *pools[] = {srv->db, srv->db_read};
    const char *names[] = {"primary", "read"};
    struct db_pool_stats st[2];
    int n = srv->db_read ? 2 : 1;
    for (int i = 0; i < n; i++)
        db_pool_get_stats(pools[i], &st[i]);
    evbuffer_add_printf(out, "# HELP groupbuyd_db_up 1 while the pool has a "
                             "live connection.\n"
                             "# TYPE groupbuyd_db_up gauge\n");
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out, "groupbuyd_db_up{pool=\"%s\"} %d\n", names[i],
                            st[i].live > 0);
    evbuffer_add_printf(out,
                        "# HELP groupbuyd_db_connections_lost_total Live "
                        "connections that broke (server gone, failover).\n"
                        "# TYPE groupbuyd_db_connections_lost_total counter\n");
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(
            out, "groupbuyd_db_connections_lost_total{pool=\"%s\"} %llu\n",
            names[i], (unsigned long long)st[i].lost);
    evbuffer_add_printf(out, "# HELP groupbuyd_db_outages_total Times the "
                             "pool lost its last live connection.\n"
                             "# TYPE groupbuyd_db_outages_total counter\n");
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out,
                            "groupbuyd_db_outages_total{pool=\"%s\"} %llu\n",
                            names[i], (unsigned long long)st[i].outages);
    evbuffer_add_printf(out,
                        "# HELP groupbuyd_db_outage_seconds_total Time the "
                        "pool spent without a live connection.\n"
                        "# TYPE groupbuyd_db_outage_seconds_total counter\n");
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(
            out, "groupbuyd_db_outage_seconds_total{pool=\"%s\"} %.3f\n",
            names[i], (double)(st[i].outage_ms + st[i].down_since_ms) / 1000.0);
}

/* The coalesced joins' times, for the p99 of a round and of each part of
 * a join (joinbatch.h, enum joinbatch_phase). */
static void health_metrics_join_times(const struct joinbatch_stats *js,
                                      struct evbuffer *out)
{
    static const char round[] = "groupbuyd_join_round_seconds";
    static const char phase[] = "groupbuyd_join_phase_seconds";
    evbuffer_add_printf(out,
                        "# HELP %s Join statements' time, sent to result, "
                        "by kind.\n"
                        "# TYPE %s histogram\n",
                        round, round);
    histogram_render(&js->read_seconds, out, round, "kind=\"read\"");
    histogram_render(&js->write_seconds, out, round, "kind=\"write\"");
    evbuffer_add_printf(
        out,
        "# HELP %s The parts of an answered join's time: queue (submitted "
        "to its read round sent), read (that round), wait (read to its "
        "write round sent), write (that round), total (submitted to "
        "answered); a retry adds to its parts again, and a join answered "
        "without a write has no wait or write.\n"
        "# TYPE %s histogram\n",
        phase, phase);
    for (int p = 0; p < JOINBATCH_NPHASES; p++) {
        char labels[32];
        snprintf(labels, sizeof labels, "phase=\"%s\"",
                 joinbatch_phase_name((enum joinbatch_phase)p));
        histogram_render(&js->phase_seconds[p], out, phase, labels);
    }
}

static void health_metrics_render(struct req *r, PGresult *campaigns)
{
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    const struct server *srv = r->srv;
    const struct app *app = app_of(r);
    metrics_render(srv->metrics, out);
    struct db_pool_stats st;
    db_pool_get_stats(srv->db, &st);
    evbuffer_add_printf(
        out,
        "# HELP groupbuyd_db_pool_connections Database connections by "
        "state.\n"
        "# TYPE groupbuyd_db_pool_connections gauge\n"
        "groupbuyd_db_pool_connections{state=\"configured\"} %d\n"
        "groupbuyd_db_pool_connections{state=\"live\"} %d\n"
        "groupbuyd_db_pool_connections{state=\"busy\"} %d\n"
        "# HELP groupbuyd_db_pool_waiting Requests waiting for a "
        "connection.\n"
        "# TYPE groupbuyd_db_pool_waiting gauge\n"
        "groupbuyd_db_pool_waiting %d\n"
        "# HELP groupbuyd_db_pool_rejected_total Requests refused with 503 "
        "by the pool.\n"
        "# TYPE groupbuyd_db_pool_rejected_total counter\n"
        "groupbuyd_db_pool_rejected_total{reason=\"queue_full\"} %llu\n"
        "groupbuyd_db_pool_rejected_total{reason=\"timeout\"} %llu\n"
        "# HELP groupbuyd_db_reconnects_total Reconnection attempts.\n"
        "# TYPE groupbuyd_db_reconnects_total counter\n"
        "groupbuyd_db_reconnects_total %llu\n"
        "# HELP groupbuyd_http_requests_in_flight Requests being handled.\n"
        "# TYPE groupbuyd_http_requests_in_flight gauge\n"
        "groupbuyd_http_requests_in_flight %d\n"
        "# HELP groupbuyd_joins_total Joins accepted by this process.\n"
        "# TYPE groupbuyd_joins_total counter\n"
        "groupbuyd_joins_total %llu\n"
        "# HELP groupbuyd_join_units_total Units of the joins accepted.\n"
        "# TYPE groupbuyd_join_units_total counter\n"
        "groupbuyd_join_units_total %llu\n",
        st.size, st.live, st.busy, st.waiting,
        (unsigned long long)st.queue_full,
        (unsigned long long)st.queue_timeouts,
        (unsigned long long)st.reconnects, srv->inflight,
        (unsigned long long)app->joins_accepted,
        (unsigned long long)app->join_units_accepted);
    if (app->joins) {
        struct joinbatch_stats js;
        joinbatch_get_stats(app->joins, &js);
        evbuffer_add_printf(
            out,
            "# HELP groupbuyd_join_submitted_total Joins handed to the "
            "coalesced joins, in arrival order.\n"
            "# TYPE groupbuyd_join_submitted_total counter\n"
            "groupbuyd_join_submitted_total %llu\n"
            "# HELP groupbuyd_join_queued Joins waiting for a batch of their "
            "campaign.\n"
            "# TYPE groupbuyd_join_queued gauge\n"
            "groupbuyd_join_queued %d\n"
            "# HELP groupbuyd_join_batches Join batches in flight, by step.\n"
            "# TYPE groupbuyd_join_batches gauge\n"
            "groupbuyd_join_batches{step=\"all\"} %d\n"
            "groupbuyd_join_batches{step=\"to_read\"} %d\n"
            "groupbuyd_join_batches{step=\"to_write\"} %d\n"
            "# HELP groupbuyd_join_rounds Join statements in flight.\n"
            "# TYPE groupbuyd_join_rounds gauge\n"
            "groupbuyd_join_rounds{kind=\"read\"} %d\n"
            "groupbuyd_join_rounds{kind=\"write\"} %d\n"
            "# HELP groupbuyd_join_rounds_total Join statements sent.\n"
            "# TYPE groupbuyd_join_rounds_total counter\n"
            "groupbuyd_join_rounds_total{kind=\"read\"} %llu\n"
            "groupbuyd_join_rounds_total{kind=\"write\"} %llu\n",
            (unsigned long long)js.submitted, js.queued, js.batches, js.to_read,
            js.to_write, js.reads, js.writes,
            (unsigned long long)js.reads_total,
            (unsigned long long)js.writes_total);
        health_metrics_join_times(&js, out);
    }
    evbuffer_add_printf(
        out,
        "# HELP groupbuyd_auth_lookups_queued Session lookups waiting behind "
        "those in flight.\n"
        "# TYPE groupbuyd_auth_lookups_queued gauge\n"
        "groupbuyd_auth_lookups_queued %d\n"
        "# HELP groupbuyd_view_waiting Public view requests waiting for "
        "another request's query.\n"
        "# TYPE groupbuyd_view_waiting gauge\n"
        "groupbuyd_view_waiting %d\n",
        auth_lookups_queued(), viewcache_waiting());
    health_metrics_failover(srv, out);
    evbuffer_add_printf(out, "# HELP groupbuyd_db_statements_total "
                             "Executions of each prepared statement.\n"
                             "# TYPE groupbuyd_db_statements_total counter\n");
    db_pool_each_statement(srv->db, health_metrics_statement, out);
    if (app->sched) {
        struct scheduler_stats ss;
        scheduler_get_stats(app->sched, &ss);
        evbuffer_add_printf(out,
                            "# HELP groupbuyd_transitions_total Due "
                            "transitions made by this process.\n"
                            "# TYPE groupbuyd_transitions_total counter\n");
        for (int k = 0; k < SCHED_NKINDS; k++)
            evbuffer_add_printf(
                out, "groupbuyd_transitions_total{kind=\"%s\"} %llu\n",
                scheduler_kind_name((enum scheduler_kind)k),
                (unsigned long long)ss.done[k]);
        evbuffer_add_printf(out,
                            "# HELP groupbuyd_scheduler_failures_total Due "
                            "rows (or whole steps) whose transition failed "
                            "in this process.\n"
                            "# TYPE groupbuyd_scheduler_failures_total "
                            "counter\n");
        for (int k = 0; k < SCHED_NKINDS; k++)
            evbuffer_add_printf(
                out, "groupbuyd_scheduler_failures_total{step=\"%s\"} %llu\n",
                scheduler_kind_name((enum scheduler_kind)k),
                (unsigned long long)ss.failed[k]);
        evbuffer_add_printf(
            out,
            "# HELP groupbuyd_scheduler_passes_total Passes over the due "
            "steps begun by this process.\n"
            "# TYPE groupbuyd_scheduler_passes_total counter\n"
            "groupbuyd_scheduler_passes_total %llu\n"
            "# HELP groupbuyd_scheduler_pass_failures_total Failures that "
            "ended or spoilt a pass (a database that does not answer).\n"
            "# TYPE groupbuyd_scheduler_pass_failures_total counter\n"
            "groupbuyd_scheduler_pass_failures_total %llu\n",
            (unsigned long long)ss.passes, (unsigned long long)ss.failures);
    }
    if (app->webhooks) {
        struct webhook_relay_stats ws;
        webhook_relay_get_stats(app->webhooks, &ws);
        evbuffer_add_printf(
            out,
            "# HELP groupbuyd_webhook_attempts_total Webhook requests sent "
            "by this process, by outcome.\n"
            "# TYPE groupbuyd_webhook_attempts_total counter\n"
            "groupbuyd_webhook_attempts_total{outcome=\"delivered\"} %llu\n"
            "groupbuyd_webhook_attempts_total{outcome=\"failed\"} %llu\n"
            "# HELP groupbuyd_webhook_inflight Webhook deliveries claimed "
            "by this process and not yet recorded.\n"
            "# TYPE groupbuyd_webhook_inflight gauge\n"
            "groupbuyd_webhook_inflight %d\n",
            (unsigned long long)ws.delivered,
            (unsigned long long)ws.failed_attempts, ws.inflight);
    }
    struct sse_stats es;
    sse_get_stats(&es);
    evbuffer_add_printf(
        out,
        "# HELP groupbuyd_sse_streams Live progress streams open in this "
        "process.\n"
        "# TYPE groupbuyd_sse_streams gauge\n"
        "groupbuyd_sse_streams %d\n"
        "# HELP groupbuyd_sse_streams_many Of those, streams of several "
        "campaigns (GET /v1/campaigns/events).\n"
        "# TYPE groupbuyd_sse_streams_many gauge\n"
        "groupbuyd_sse_streams_many %d\n"
        "# HELP groupbuyd_sse_follows Campaigns followed, summed over the "
        "streams.\n"
        "# TYPE groupbuyd_sse_follows gauge\n"
        "groupbuyd_sse_follows %d\n"
        "# HELP groupbuyd_sse_campaigns Campaigns those streams watch.\n"
        "# TYPE groupbuyd_sse_campaigns gauge\n"
        "groupbuyd_sse_campaigns %d\n"
        "# HELP groupbuyd_sse_events_total Events written to streams (one "
        "per stream and campaign).\n"
        "# TYPE groupbuyd_sse_events_total counter\n"
        "groupbuyd_sse_events_total %llu\n"
        "# HELP groupbuyd_sse_dropped_total Streams cut because their client "
        "stopped reading.\n"
        "# TYPE groupbuyd_sse_dropped_total counter\n"
        "groupbuyd_sse_dropped_total %llu\n"
        "# HELP groupbuyd_sse_notifications_total Campaign change "
        "notifications received.\n"
        "# TYPE groupbuyd_sse_notifications_total counter\n"
        "groupbuyd_sse_notifications_total %llu\n",
        es.streams, es.streams_many, es.follows, es.topics,
        (unsigned long long)es.events, (unsigned long long)es.dropped,
        (unsigned long long)es.notifications);
    if (campaigns) {
        evbuffer_add_printf(out, "# HELP groupbuyd_campaigns Campaigns by "
                                 "status (all processes).\n"
                                 "# TYPE groupbuyd_campaigns gauge\n");
        for (int i = 0; i < PQntuples(campaigns); i++)
            if (strcmp(PQgetvalue(campaigns, i, 0), "campaigns") == 0)
                evbuffer_add_printf(
                    out, "groupbuyd_campaigns{status=\"%s\"} %s\n",
                    PQgetvalue(campaigns, i, 1), PQgetvalue(campaigns, i, 2));
        evbuffer_add_printf(out, "# HELP groupbuyd_scheduler_backoff Due rows "
                                 "waiting for their next attempt after a "
                                 "failure (all processes).\n"
                                 "# TYPE groupbuyd_scheduler_backoff gauge\n");
        for (int i = 0; i < PQntuples(campaigns); i++)
            if (strcmp(PQgetvalue(campaigns, i, 0), "backoff") == 0)
                evbuffer_add_printf(
                    out, "groupbuyd_scheduler_backoff{step=\"%s\"} %s\n",
                    PQgetvalue(campaigns, i, 1), PQgetvalue(campaigns, i, 2));
    }
    size_t len = evbuffer_get_length(out);
    char *text = req_alloc(r, len + 1);
    evbuffer_remove(out, text, len);
    evbuffer_free(out);
    req_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                  len);
}

static void health_metrics_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    /* During an outage the process's own figures still matter most. */
    health_metrics_render(r, res->status == DB_OK ? res->res : NULL);
}

static bool health_metrics_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
           strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
}

/* True when r may read the metrics (see the top of the file). */
static bool health_metrics_allowed(struct req *r)
{
    const struct config *cfg = r->srv->cfg;
    if (cfg->metrics_token[0] == '\0')
        return health_metrics_loopback(cfg->listen_host);
    const char *h = req_header(r, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    return crypto_secret_equal(token, strlen(token), cfg->metrics_token,
                               strlen(cfg->metrics_token));
}

/* GET /metrics -> 200 Prometheus text (campaign gauges when a database
 * connection is free at once: monitoring never queues behind requests)
 * | 401 unauthenticated */
void health_metrics(struct req *r)
{
    if (!health_metrics_allowed(r)) {
        req_add_header(r, "WWW-Authenticate", "Bearer");
        req_reply_error(r, 401, "unauthenticated", NULL,
                        "The metrics need the metrics token.");
        return;
    }
    r->db_cb = health_metrics_cb;
    r->job = db_query_nowait(r->srv->db, &campaigns_by_status_stmt, NULL,
                             req_db_trampoline, r);
    if (r->job == NULL)
        health_metrics_render(r, NULL);
}
