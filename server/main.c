/*
 * main.c - subcommands, configuration, signals and the event loop.
 *
 *   groupbuyd [-c FILE] [serve]       serve HTTP (the default)
 *   groupbuyd [-c FILE] migrate       apply pending schema migrations
 *   groupbuyd [-c FILE] check-config  print the effective configuration
 *   groupbuyd routes                  print the route table, one
 *                                     "METHOD /pattern who" a line (who:
 *                                     public, or owner,operator,...)
 *
 * Everything before event_base_dispatch may die(); after it, failures end
 * one request, never the process.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops/ops.h"
#include "api/routes.h"
#include "api/shop/shop.h"
#include "app.h"
#include "config/config.h"
#include "db/db.h"
#include "db/migrate.h"
#include "engine/account.h"
#include "engine/auth.h"
#include "engine/joinbatch.h"
#include "engine/promote.h"
#include "engine/scheduler.h"
#include "http/http.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/static.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/memtrim.h"
#include "lib/workpool.h"
#include "live/livenotify.h"
#include "live/sse.h"
#include "live/viewcache.h"
#include "out/webhook_relay.h"

#define DEFAULT_CONFIG "config/groupbuyd.conf"

static void main_usage(void)
{
    fprintf(stderr,
            "usage: groupbuyd [-c FILE] [serve | migrate | check-config | "
            "routes]\n");
}

static void main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct app *app = arg;
    (void)what;
    log_info("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_begin_shutdown(&app->srv);
    sse_shutdown(); /* streams end within the grace period, at once */
}

/* Builds "{1,2,3}" from the versions found in schema_dir. */
static char *main_migrations_param(const struct migration *list, int n)
{
    size_t cap = 3 + (size_t)n * 12;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    size_t used = 0;
    s[used++] = '{';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(s + used, cap - used, "%s%d", i ? "," : "",
                                 list[i].version);
    snprintf(s + used, cap - used, "}");
    return s;
}

/* The sandbox signs its webhooks with the webhook secret. Without one it
 * makes an ephemeral secret for this process: the sandbox then works out
 * of the box, and no outside party can sign a webhook (nobody knows it). */
static void main_sandbox_secret(struct config *cfg)
{
    if (cfg->payment_webhook_secret[0] == '\0') {
        if (!crypto_random_hex(cfg->payment_webhook_secret, 32))
            die("cannot make the sandbox's webhook secret");
        log_warn("payment sandbox: no payment_webhook_secret set; using an "
                 "ephemeral one for this process");
    }
    log_warn("payment sandbox ON: shoppers confirm payments themselves "
             "(never in production)");
}

static void main_db_up_cb(void *arg)
{
    struct app *app = arg;
    scheduler_kick(app->sched);
}

static int main_serve(const struct config *cfg)
{
    static struct app app;
    struct server *srv = &app.srv;
    srv->cfg = cfg;

    char err[512];
    struct migration *list = NULL;
    int n = 0;
    if (!migrate_scan(cfg->schema_dir, &list, &n, err, sizeof err))
        die("schema: %s", err);
    app.migrations_param = main_migrations_param(list, n);
    free(list);
    if (app.migrations_param == NULL)
        die("out of memory");
    app.functions_param =
        migrate_functions_param(cfg->schema_dir, err, sizeof err);
    if (app.functions_param == NULL)
        die("schema: %s", err);
    if (!openapi_load(cfg->openapi_file, err, sizeof err))
        die("openapi: %s", err);

    if (!static_load(cfg->web_root, err, sizeof err))
        die("web: %s", err);

    signal(SIGPIPE, SIG_IGN);
    srv->base = event_base_new();
    if (srv->base == NULL)
        die("libevent: cannot create the event base");
    srv->metrics = metrics_new(router_count(), router_label);
    srv->authorize = auth_authorize;
    srv->after_reply = viewcache_note_write;
    srv->db = db_pool_new(srv->base, cfg);
    srv->work =
        workpool_new(srv->base, cfg->worker_threads, cfg->worker_queue_max);
    if (srv->metrics == NULL || srv->db == NULL || srv->work == NULL)
        die("out of memory");
    if (cfg->read_database_url[0] != '\0') {
        srv->db_read = db_pool_new_read(srv->base, cfg);
        if (srv->db_read == NULL)
            die("out of memory");
    }
    if (!http_start(srv))
        die("cannot start the HTTP server");
    app.sigterm = evsignal_new(srv->base, SIGTERM, main_signal_cb, &app);
    app.sigint = evsignal_new(srv->base, SIGINT, main_signal_cb, &app);
    if (app.sigterm == NULL || app.sigint == NULL ||
        event_add(app.sigterm, NULL) != 0 || event_add(app.sigint, NULL) != 0)
        die("cannot install signal handlers");

    app.sched = scheduler_new(srv->base, srv->db, srv->work, &cfg->reliability);
    if (app.sched == NULL)
        die("cannot start the scheduler");
    app.live = livenotify_new(srv->base, srv->db);
    struct memtrim *trim = memtrim_new(srv->base);
    if (trim == NULL)
        die("out of memory");
    /* After an outage (a failover) the deadlines that passed meanwhile are
     * due at once, not after the scheduler's retry pause. */
    db_pool_on_up(srv->db, main_db_up_cb, &app);
    app.joins = joinbatch_new(srv, app.live, joins_batch_reply);
    app.promote = promote_new(srv);
    if (app.live == NULL || app.joins == NULL || app.promote == NULL)
        die("out of memory");
    if (!sse_init(srv))
        die("out of memory");
    app.webhooks = webhook_relay_new(srv->base, srv->db, cfg);
    if (app.webhooks == NULL)
        die("cannot start the webhook relay");

    event_base_dispatch(srv->base);

    scheduler_free(app.sched); /* before the pool: no callback after free */
    promote_free(app.promote); /* likewise */
    /* before the pool too; its resolver fails the endpoint checks still
     * waiting, which answer while their requests exist */
    webhook_relay_free(app.webhooks);

    /* Jobs still queued get their done callback (cancelled) and answer
     * 503 while the requests still exist. */
    workpool_free(srv->work);
    http_stop(srv);
    sse_free(); /* after the streams, before the pool: reads in flight */
    memtrim_free(trim);
    livenotify_free(app.live); /* before the pool: its statement in flight */
    app.live = NULL;
    db_pool_free(srv->db_read);
    db_pool_free(srv->db);
    joinbatch_free(app.joins); /* after the pool: no callback left */
    auth_cache_free();
    account_free();
    viewcache_free();
    static_free();
    metrics_free(srv->metrics);
    event_free(app.sigterm);
    event_free(app.sigint);
    event_base_free(srv->base);
    free(app.migrations_param);
    free(app.functions_param);
    openapi_free();
    libevent_global_shutdown();
    log_info("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    bool config_given = false;
    const char *command = "serve";
    router_init(api_routes, api_routes_count);
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
            config_given = true;
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            main_usage();
            return 0;
        } else if (argv[i][0] == '-') {
            main_usage();
            return 2;
        } else {
            break;
        }
    }
    if (i < argc)
        command = argv[i++];
    if (i < argc) {
        main_usage();
        return 2;
    }

    /* The table is the binary's own: no configuration needed to print it
     * (tests/api/http/test_openapi.py compares it with docs/openapi.json,
     * tests/api/identity/test_authz.py builds its matrix from it). */
    if (strcmp(command, "routes") == 0) {
        for (size_t k = 0; k < router_count(); k++) {
            char label[256], who[96];
            router_label(k, label, sizeof label);
            router_access_label(k, who, sizeof who);
            printf("%s %s\n", label, who);
        }
        return 0;
    }

    static struct config cfg;
    char err[1024];
    config_defaults(&cfg);
    if (!config_load(&cfg, config_path, config_given, err, sizeof err)) {
        fprintf(stderr, "groupbuyd: configuration: %s\n", err);
        return 2;
    }
    log_set_level(cfg.log_level);
    if (!db_check_conninfo(cfg.database_url, err, sizeof err)) {
        fprintf(stderr,
                "groupbuyd: configuration: database_url "
                "(GROUPBUYD_DATABASE_URL): %s\n",
                err);
        return 2;
    }
    if (cfg.read_database_url[0] != '\0' &&
        !db_check_conninfo(cfg.read_database_url, err, sizeof err)) {
        fprintf(stderr,
                "groupbuyd: configuration: read_database_url "
                "(GROUPBUYD_READ_DATABASE_URL): %s\n",
                err);
        return 2;
    }

    if (strcmp(command, "serve") == 0) {
        if (cfg.payment_sandbox)
            main_sandbox_secret(&cfg);
        return main_serve(&cfg);
    }
    if (strcmp(command, "migrate") == 0)
        return migrate_run(&cfg);
    if (strcmp(command, "check-config") == 0) {
        static char buf[16384];
        config_format(&cfg, buf, sizeof buf);
        fputs(buf, stdout);
        return 0;
    }
    main_usage();
    return 2;
}
