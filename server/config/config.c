/*
 * config.c - a table of keys, each with a parser into struct config.
 *
 * One table drives the file parser, the environment overrides and
 * check-config, so a key cannot exist in one and be forgotten in another.
 * The default database is the var/ cluster that `make run` starts, found
 * relative to the working directory (the repository root).
 */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clientaddr.h"

enum config_kind { CK_STR, CK_INT, CK_LISTEN, CK_LOGLEVEL, CK_DOUBLE };

struct config_key {
    const char *name;
    const char *env; /* NULL: file only */
    enum config_kind kind;
    size_t offset;
    int min, max; /* CK_INT; CK_DOUBLE: finite, range checked after load */
    bool secret;
};

#define OFF(f) offsetof(struct config, f)

static const struct config_key config_keys[] = {
    {"listen", "GROUPBUYD_LISTEN", CK_LISTEN, 0, 0, 0, false},
    {"database_url", "GROUPBUYD_DATABASE_URL", CK_STR, OFF(database_url), 0, 0,
     false},
    {"read_database_url", "GROUPBUYD_READ_DATABASE_URL", CK_STR,
     OFF(read_database_url), 0, 0, false},
    {"platform_token", "GROUPBUYD_PLATFORM_TOKEN", CK_STR, OFF(platform_token),
     0, 0, true},
    {"payment_webhook_secret", "GROUPBUYD_PAYMENT_WEBHOOK_SECRET", CK_STR,
     OFF(payment_webhook_secret), 0, 0, true},
    {"metrics_token", "GROUPBUYD_METRICS_TOKEN", CK_STR, OFF(metrics_token), 0,
     0, true},
    {"log_level", "GROUPBUYD_LOG_LEVEL", CK_LOGLEVEL, OFF(log_level), 0, 0,
     false},
    {"schema_dir", NULL, CK_STR, OFF(schema_dir), 0, 0, false},
    {"http.web_root", NULL, CK_STR, OFF(web_root), 0, 0, false},
    {"http.public_url", NULL, CK_STR, OFF(public_url), 0, 0, false},
    {"payment.sandbox", "GROUPBUYD_PAYMENT_SANDBOX", CK_INT,
     OFF(payment_sandbox), 0, 1, false},
    {"db_pool_size", NULL, CK_INT, OFF(db_pool_size), 1, 256, false},
    {"db_queue_max", NULL, CK_INT, OFF(db_queue_max), 0, 1000000, false},
    {"db_queue_timeout_ms", NULL, CK_INT, OFF(db_queue_timeout_ms), 1, 600000,
     false},
    {"db_statement_timeout_ms", NULL, CK_INT, OFF(db_statement_timeout_ms), 0,
     3600000, false},
    {"db_reconnect_ms", NULL, CK_INT, OFF(db_reconnect_ms), 10, 60000, false},
    {"db_reconnect_max_ms", NULL, CK_INT, OFF(db_reconnect_max_ms), 10, 600000,
     false},
    {"db_read_pool_size", NULL, CK_INT, OFF(db_read_pool_size), 1, 256, false},
    {"http_max_header_bytes", NULL, CK_INT, OFF(http_max_header_bytes), 1024,
     1048576, false},
    {"http_max_body_bytes", NULL, CK_INT, OFF(http_max_body_bytes), 1024,
     16777216, false},
    {"http_timeout_s", NULL, CK_INT, OFF(http_timeout_s), 1, 3600, false},
    {"shutdown_grace_s", NULL, CK_INT, OFF(shutdown_grace_s), 0, 600, false},
    {"session_ttl_s", NULL, CK_INT, OFF(session_ttl_s), 60, 31536000, false},
    {"session_cache_ttl_ms", NULL, CK_INT, OFF(session_cache_ttl_ms), 0, 60000,
     false},
    {"campaign_view_cache_ms", NULL, CK_INT, OFF(campaign_view_cache_ms), 0,
     10000, false},
    {"password_iterations", NULL, CK_INT, OFF(password_iterations), 1000,
     10000000, false},
    {"worker_threads", NULL, CK_INT, OFF(worker_threads), 0, 256, false},
    {"worker_queue_max", NULL, CK_INT, OFF(worker_queue_max), 0, 1000000,
     false},
    {"client_auth_attempts_per_minute", NULL, CK_INT,
     OFF(client_auth_per_minute), 0, 1000000, false},
    {"http_trusted_proxies", NULL, CK_STR, OFF(http_trusted_proxies), 0, 0,
     false},
    {"reliability_half_life_days", NULL, CK_DOUBLE,
     OFF(reliability.half_life_days), 0, 0, false},
    {"reliability_prior_alpha_base", NULL, CK_DOUBLE,
     OFF(reliability.prior_alpha_base), 0, 0, false},
    {"reliability_prior_alpha_per_vip", NULL, CK_DOUBLE,
     OFF(reliability.prior_alpha_per_vip), 0, 0, false},
    {"reliability_prior_beta", NULL, CK_DOUBLE, OFF(reliability.prior_beta), 0,
     0, false},
    {"reliability_weight_withdrawn", NULL, CK_DOUBLE,
     OFF(reliability.weight_withdrawn), 0, 0, false},
    {"reliability_weight_deposit_expired", NULL, CK_DOUBLE,
     OFF(reliability.weight_deposit_expired), 0, 0, false},
    {"reliability_weight_defaulted", NULL, CK_DOUBLE,
     OFF(reliability.weight_defaulted), 0, 0, false},
    {"openapi_file", NULL, CK_STR, OFF(openapi_file), 0, 0, false},
    {"join_rounds", NULL, CK_INT, OFF(join_rounds), 1, 64, false},
    {"join_patience_ms", NULL, CK_INT, OFF(join_patience_ms), 0, 60000, false},
    {"sse_max_streams", NULL, CK_INT, OFF(sse_max_streams), 0, 1000000, false},
    {"sse_keepalive_s", NULL, CK_INT, OFF(sse_keepalive_s), 1, 15, false},
    {"sse_coalesce_ms", NULL, CK_INT, OFF(sse_coalesce_ms), 0, 1000, false},
    {"sse_max_buffer_bytes", NULL, CK_INT, OFF(sse_max_buffer_bytes), 1024,
     16777216, false},
    {"sse_max_streams_per_client", "GROUPBUYD_SSE_MAX_STREAMS_PER_CLIENT",
     CK_INT, OFF(sse_max_streams_per_client), 1, 1000000, false},
    {"sse_stall_s", NULL, CK_INT, OFF(sse_stall_s), 1, 3600, false},
    {"webhooks.allow_hosts", "GROUPBUYD_WEBHOOK_ALLOW_HOSTS", CK_STR,
     OFF(webhook_allow_hosts), 0, 0, false},
    {"webhooks.timeout_ms", NULL, CK_INT, OFF(webhook_timeout_ms), 100, 60000,
     false},
    {"webhooks.retry_base_ms", NULL, CK_INT, OFF(webhook_retry_base_ms), 10,
     3600000, false},
    {"webhooks.retry_window_s", NULL, CK_INT, OFF(webhook_retry_window_s), 1,
     2592000, false},
    {"webhooks.poll_ms", NULL, CK_INT, OFF(webhook_poll_ms), 10, 60000, false},
    {"webhooks.concurrency", NULL, CK_INT, OFF(webhook_concurrency), 0, 1024,
     false},
    {"webhooks.max_endpoints", NULL, CK_INT, OFF(webhook_max_endpoints), 1,
     10000, false},
    {"webhooks.distributor_slots", NULL, CK_INT, OFF(webhook_distributor_slots),
     1, 1024, false},
    {"webhooks.endpoint_slots", NULL, CK_INT, OFF(webhook_endpoint_slots), 1,
     1024, false},
    {"webhooks.host_rate", NULL, CK_INT, OFF(webhook_host_rate), 1, 100000,
     false},
    {"webhooks.host_burst", NULL, CK_INT, OFF(webhook_host_burst), 1, 100000,
     false},
};

#define NKEYS (sizeof config_keys / sizeof config_keys[0])

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    char cwd[512];
    if (getcwd(cwd, sizeof cwd) == NULL)
        snprintf(cwd, sizeof cwd, ".");
    snprintf(c->database_url, sizeof c->database_url,
             "host=%s/var/pg/sock dbname=groupbuyd user=postgres", cwd);
    c->log_level = LOG_INFO;
    snprintf(c->schema_dir, sizeof c->schema_dir, "schema");
    snprintf(c->openapi_file, sizeof c->openapi_file, "docs/openapi.json");
    snprintf(c->web_root, sizeof c->web_root, "web");
    c->db_pool_size = 8;
    c->db_queue_max = 4096;
    c->db_queue_timeout_ms = 5000;
    c->db_statement_timeout_ms = 10000;
    c->db_reconnect_ms = 50;
    c->db_reconnect_max_ms = 2000;
    c->db_read_pool_size = 4;
    c->http_max_header_bytes = 8192;
    c->http_max_body_bytes = 65536;
    c->http_timeout_s = 10;
    c->shutdown_grace_s = 10;
    c->session_ttl_s = 86400;
    c->session_cache_ttl_ms = 2000;
    c->campaign_view_cache_ms = 100;
    c->password_iterations = 600000;
    c->worker_threads = 0;
    c->worker_queue_max = 0;
    c->client_auth_per_minute = 30;
    c->reliability = reliability_default_params;
    c->join_rounds = 4;
    c->join_patience_ms = 20;
    c->sse_max_streams = 10000;
    c->sse_keepalive_s = 15;
    c->sse_coalesce_ms = 100;
    c->sse_max_buffer_bytes = 65536;
    c->sse_max_streams_per_client = 20;
    c->sse_stall_s = 60;
    c->webhook_timeout_ms = 10000;
    c->webhook_retry_base_ms = 10000;
    c->webhook_retry_window_s = 86400;
    c->webhook_poll_ms = 1000;
    c->webhook_concurrency = 64;
    c->webhook_max_endpoints = 20;
    c->webhook_distributor_slots = 16;
    c->webhook_endpoint_slots = 4;
    c->webhook_host_rate = 5;
    c->webhook_host_burst = 10;
}

static bool config_parse_listen(struct config *c, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v ||
        (size_t)(colon - v) >= sizeof c->listen_host)
        return false;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return false;
    memcpy(c->listen_host, v, (size_t)(colon - v));
    c->listen_host[colon - v] = '\0';
    c->listen_port = (int)port;
    return true;
}

/* Applies one value; false when it is not valid for the key. */
static bool config_set(struct config *c, const struct config_key *k,
                       const char *v)
{
    char *base = (char *)c;
    switch (k->kind) {
    case CK_STR:
        if (strlen(v) >= CONFIG_STR_MAX)
            return false;
        snprintf(base + k->offset, CONFIG_STR_MAX, "%s", v);
        return true;
    case CK_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || *v == '\0' || *end || n < k->min || n > k->max)
            return false;
        *(int *)(base + k->offset) = (int)n;
        return true;
    }
    case CK_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno || *v == '\0' || *end || !isfinite(d))
            return false;
        *(double *)(base + k->offset) = d;
        return true;
    }
    case CK_LISTEN:
        return config_parse_listen(c, v);
    case CK_LOGLEVEL:
        return log_level_parse(v, (enum log_level *)(base + k->offset));
    }
    return false;
}

static const struct config_key *config_find(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/* The edit distance (insertions, deletions, substitutions) of a and b,
 * ignoring case (keys are lower case; "Listen" means "listen"), both
 * shorter than 64 bytes; larger for longer ones. */
static size_t config_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na >= 64 || nb >= 64)
        return na > nb ? na : nb;
    size_t row[64];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (tolower((unsigned char)a[i - 1]) !=
                                  tolower((unsigned char)b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The known key nearest to an unknown one, if it is near enough to be the
 * likely meaning (a third of the name mistyped at most), else NULL. */
static const char *config_nearest(const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < NKEYS; i++) {
        size_t d = config_distance(name, config_keys[i].name);
        if (d < best_d) {
            best_d = d;
            best = config_keys[i].name;
        }
    }
    size_t n = strlen(name);
    size_t limit = n / 3 > 2 ? n / 3 : 2;
    return best_d <= limit ? best : NULL;
}

static void config_describe(const struct config_key *k, char *buf, size_t len)
{
    if (k->kind == CK_INT)
        snprintf(buf, len, "an integer from %d to %d", k->min, k->max);
    else if (k->kind == CK_LISTEN)
        snprintf(buf, len, "host:port");
    else if (k->kind == CK_DOUBLE)
        snprintf(buf, len, "a finite decimal number");
    else if (k->kind == CK_LOGLEVEL)
        snprintf(buf, len, "one of debug, info, warn, error");
    else
        snprintf(buf, len, "a string shorter than %d bytes", CONFIG_STR_MAX);
}

static char *config_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool config_load_file(struct config *c, FILE *f, const char *path,
                             char *err, size_t errlen)
{
    char line[CONFIG_STR_MAX + 256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            return false;
        }
        char *s = config_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: expected \"key = value\"", path,
                     lineno);
            return false;
        }
        *eq = '\0';
        char *key = config_trim(s);
        char *val = config_trim(eq + 1);
        const struct config_key *k = config_find(key);
        if (k == NULL) {
            const char *near = config_nearest(key);
            if (near != NULL)
                snprintf(err, errlen,
                         "%s:%d: unknown key \"%s\" (did you mean \"%s\"?)",
                         path, lineno, key, near);
            else
                snprintf(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno,
                         key);
            return false;
        }
        if (!config_set(c, k, val)) {
            char want[96];
            config_describe(k, want, sizeof want);
            snprintf(err, errlen, "%s:%d: bad value for \"%s\": expected %s",
                     path, lineno, key, want);
            return false;
        }
    }
    return true;
}

/* http.public_url: empty, or a scheme and an authority of letters,
 * digits and ".-:[]" (a host, a port, an IPv6 literal), no path. */
static bool config_public_url_ok(const char *u)
{
    if (*u == '\0')
        return true;
    const char *rest = strncmp(u, "https://", 8) == 0  ? u + 8
                       : strncmp(u, "http://", 7) == 0 ? u + 7
                                                       : NULL;
    if (rest == NULL || *rest == '\0')
        return false;
    for (; *rest != '\0'; rest++)
        if (!isalnum((unsigned char)*rest) && strchr(".-:[]", *rest) == NULL)
            return false;
    return true;
}

bool config_load(struct config *c, const char *path, bool required, char *err,
                 size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (required) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return false;
        }
    } else {
        bool ok = config_load_file(c, f, path, err, errlen);
        fclose(f);
        if (!ok)
            return false;
    }
    for (size_t i = 0; i < NKEYS; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->env == NULL)
            continue;
        const char *v = getenv(k->env);
        if (v == NULL)
            continue;
        if (!config_set(c, k, v)) {
            char want[96];
            config_describe(k, want, sizeof want);
            snprintf(err, errlen,
                     "environment %s: bad value for \"%s\": expected %s",
                     k->env, k->name, want);
            return false;
        }
    }
    struct clientaddr_proxies proxies;
    if (!clientaddr_parse_proxies(c->http_trusted_proxies, &proxies)) {
        snprintf(err, errlen,
                 "%s: bad value for \"http_trusted_proxies\": expected up to "
                 "%d comma-separated addresses or CIDR ranges",
                 path, CLIENTADDR_MAX_PROXIES);
        return false;
    }
    if (c->db_reconnect_max_ms < c->db_reconnect_ms) {
        snprintf(err, errlen,
                 "%s: bad value for \"db_reconnect_max_ms\": expected at "
                 "least db_reconnect_ms (%d)",
                 path, c->db_reconnect_ms);
        return false;
    }
    if (!config_public_url_ok(c->public_url)) {
        snprintf(err, errlen,
                 "%s: bad value for \"http.public_url\": expected empty or "
                 "http(s)://host[:port] without a path",
                 path);
        return false;
    }
    const char *bad = NULL;
    if (!reliability_params_validate(&c->reliability, &bad)) {
        snprintf(err, errlen,
                 "%s: bad value for \"reliability_%s\": half_life_days and "
                 "the priors must be > 0, the other parameters >= 0",
                 path, bad ? bad : "?");
        return false;
    }
    return true;
}

/* Masks the password of a libpq URI or key=value string. */
static void config_mask_url(const char *url, char *out, size_t len)
{
    snprintf(out, len, "%s", url);
    char *p = strstr(out, "password=");
    if (p) {
        p += strlen("password=");
        char *end = p + strcspn(p, " &");
        memmove(p + 3, end, strlen(end) + 1);
        memcpy(p, "***", 3);
        return;
    }
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *at = strchr(scheme + 3, '@');
        char *colon = strchr(scheme + 3, ':');
        if (at && colon && colon < at) {
            memmove(colon + 4, at, strlen(at) + 1);
            memcpy(colon + 1, "***", 3);
        }
    }
}

void config_format(const struct config *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NKEYS && used < len; i++) {
        const struct config_key *k = &config_keys[i];
        const char *base = (const char *)c;
        char val[CONFIG_STR_MAX + 64];
        switch (k->kind) {
        case CK_STR: {
            const char *s = base + k->offset;
            if (k->secret)
                snprintf(val, sizeof val, "%s", *s ? "***" : "");
            else if (k->offset == OFF(database_url) ||
                     k->offset == OFF(read_database_url))
                config_mask_url(s, val, sizeof val);
            else
                snprintf(val, sizeof val, "%s", s);
            break;
        }
        case CK_INT:
            snprintf(val, sizeof val, "%d", *(const int *)(base + k->offset));
            break;
        case CK_DOUBLE:
            snprintf(val, sizeof val, "%.15g",
                     *(const double *)(base + k->offset));
            break;
        case CK_LISTEN:
            snprintf(val, sizeof val, "%s:%d", c->listen_host, c->listen_port);
            break;
        case CK_LOGLEVEL:
            snprintf(val, sizeof val, "%s", log_level_name(c->log_level));
            break;
        }
        int n = snprintf(buf + used, len - used, "%s = %s\n", k->name, val);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
