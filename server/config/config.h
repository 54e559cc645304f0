/*
 * config.h - the effective configuration: defaults, then the file, then the
 * GROUPBUYD_* environment variables of API.md.
 *
 * The file is "key = value" lines; '#' starts a comment line. Every key is
 * listed in config/groupbuyd.conf with its default. An unknown key or a bad
 * value stops the start with a message naming the key, the file and line.
 */
#ifndef GROUPBUYD_CONFIG_H
#define GROUPBUYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/reliability.h"
#include "lib/log.h"

#define CONFIG_STR_MAX 1024

struct config {
    char listen_host[256];
    int listen_port;
    char database_url[CONFIG_STR_MAX];
    /* Lag-tolerant reads (public views, lists, stream snapshots, exports)
     * go to this server, a hot standby; "" = everything on the primary. */
    char read_database_url[CONFIG_STR_MAX];
    char platform_token[CONFIG_STR_MAX];         /* "" = platform API off */
    char payment_webhook_secret[CONFIG_STR_MAX]; /* "" = webhook 503 */
    /* Bearer token that GET /metrics requires; "" = open when the server
     * listens on loopback only, else closed (api/ops/health.c). */
    char metrics_token[CONFIG_STR_MAX];
    enum log_level log_level;
    char schema_dir[CONFIG_STR_MAX];
    /* The OpenAPI document served at GET /openapi.json, read at start. */
    char openapi_file[CONFIG_STR_MAX];
    char web_root[CONFIG_STR_MAX]; /* http.web_root: the web app's files */
    /* http.public_url: the origin shoppers reach the server at, for the
     * og:url of share links' pages; "" = a path only. */
    char public_url[CONFIG_STR_MAX];
    /* payment.sandbox: the sandbox payment provider (api/shop/sandbox.c) is on.
     * main() gives it an ephemeral webhook secret when none is set. */
    int payment_sandbox;

    int db_pool_size;        /* connections kept open */
    int db_queue_max;        /* requests waiting for a connection */
    int db_queue_timeout_ms; /* longest wait for a connection: then 503 */
    int db_statement_timeout_ms;
    int db_reconnect_ms;     /* first pause before reconnecting */
    int db_reconnect_max_ms; /* the pause doubles up to this */
    int db_read_pool_size;   /* connections of the read pool */

    int http_max_header_bytes;
    int http_max_body_bytes;
    int http_timeout_s; /* idle keep-alive and request-read deadline */
    int shutdown_grace_s;

    int session_ttl_s;
    int session_cache_ttl_ms;   /* auth.c's cache of sessions; 0 = off */
    int campaign_view_cache_ms; /* public campaign views; 0 = off */
    int password_iterations;
    int worker_threads;         /* 0 = number of cores */
    int worker_queue_max;       /* 0 = WORKPOOL_QUEUE_PER_THREAD each */
    int client_auth_per_minute; /* logins + registrations per client; 0 off */
    char http_trusted_proxies[CONFIG_STR_MAX]; /* clientaddr.h; "" none */

    /* DESIGN.md's reliability model (reliability_* keys); checked with
     * reliability_params_validate when loaded. */
    struct reliability_params reliability;

    /* Live progress streams (sse.c): the most open at once (503 beyond),
     * the keep-alive comment interval, the coalescing window of one
     * campaign's changes, the output a stream may hold unread before its
     * client is dropped, the streams one client address may hold open
     * (429 beyond), and the seconds a stream's client may take nothing
     * while its socket's queue is full before it is cut. */
    /* Join statements in flight per process, reads and writes each, and
     * how long the one in flight runs before a second may start
     * (joinbatch.h). */
    int join_rounds;
    int join_patience_ms;
    int sse_max_streams;
    int sse_keepalive_s;
    int sse_coalesce_ms;
    int sse_max_buffer_bytes;
    int sse_max_streams_per_client;
    int sse_stall_s;
    /* Outbound webhooks (webhook_relay.c): hosts reachable over http:// or
     * on internal addresses (comma-separated), the timeout of one
     * delivery, the first retry delay (doubling, with jitter), how long a
     * delivery is retried, the relay's poll interval, and the requests in
     * flight at most (0: the relay does not run in this process); the
     * endpoints a distributor may have, the deliveries in flight at most
     * per distributor and per endpoint (over all processes), and the
     * requests a second (and at once) to one target host. */
    char webhook_allow_hosts[CONFIG_STR_MAX];
    int webhook_timeout_ms;
    int webhook_retry_base_ms;
    int webhook_retry_window_s;
    int webhook_poll_ms;
    int webhook_concurrency;
    int webhook_max_endpoints;
    int webhook_distributor_slots;
    int webhook_endpoint_slots;
    int webhook_host_rate;
    int webhook_host_burst;
};

/* Fills *c with the defaults. */
void config_defaults(struct config *c);

/* Reads the file at path (missing file is an error only when required) and
 * then the environment. On failure returns false with a message naming the
 * key and file:line in err. */
bool config_load(struct config *c, const char *path, bool required, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Writes the effective configuration as "key = value" lines, secrets masked,
 * into buf. */
void config_format(const struct config *c, char *buf, size_t len);

#endif
