/*
 * request.c - the request context: its arena, what a handler reads of the
 * request (query, headers, the JSON body), and the replies, each of which
 * sends, logs, counts and frees the context.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"

#include "http/conn.h"
#include "http/metrics.h"
#include "lib/clientaddr.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"

struct req_chunk {
    struct req_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

/* ---- arena --------------------------------------------------------- */

void *req_alloc(struct req *r, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (sizeof r->arena0 - r->arena0_used >= n) {
        void *p = (char *)r->arena0 + r->arena0_used;
        r->arena0_used += n;
        return p;
    }
    struct req_chunk *c = r->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 4000 ? n : 4000;
        c = malloc(sizeof *c + cap);
        if (c == NULL) {
            log_error("out of memory");
            abort();
        }
        c->cap = cap;
        c->used = 0;
        c->next = r->chunks;
        r->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

char *req_strdup(struct req *r, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = req_alloc(r, n);
    memcpy(d, s, n);
    return d;
}

char *req_printf(struct req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = req_alloc(r, (size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- replies ------------------------------------------------------- */

void req_free(struct req *r)
{
    if (r->srv->after_reply)
        r->srv->after_reply(r);
    if (r->cleanup)
        r->cleanup(r);
    if (r->stream_abort)
        event_free(r->stream_abort);
    if (r->job)
        db_job_cancel(r->job);
    if (r->conn)
        db_release(r->conn);
    if (r->json)
        cJSON_Delete(r->json);
    if (r->query) {
        evhttp_clear_headers(r->query);
        free(r->query);
    }
    struct req_chunk *c = r->chunks;
    while (c) {
        struct req_chunk *n = c->next;
        free(c);
        c = n;
    }
    r->srv->inflight--;
    free(r);
}

const char *req_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

const char *req_status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

void req_add_header(struct req *r, const char *key, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), key, value);
}

void req_reply_raw(struct req *r, int status, const char *content_type,
                   const char *data, size_t len)
{
    struct server *srv = r->srv;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id",
                      r->client_id[0] ? r->client_id : r->id);
    if (evhttp_find_header(h, "Cache-Control") == NULL)
        evhttp_add_header(h, "Cache-Control", "no-store");
    /* no answer is ever read as another type than it says (static files
     * set it too, with their other headers) */
    if (evhttp_find_header(h, "X-Content-Type-Options") == NULL)
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (srv->stopping)
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *buf = evbuffer_new();
    if (r->method == EVHTTP_REQ_HEAD) {
        /* The headers of the GET, without its body: evhttp would send the
         * body of a HEAD reply and no Content-Length, and the next reply
         * on the connection would be misread. */
        char n[24];
        snprintf(n, sizeof n, "%zu", len);
        evhttp_add_header(h, "Content-Length", n);
    } else if (buf && len > 0) {
        evbuffer_add(buf, data, len);
    }

    double secs = (double)(clock_now_ns() - r->start_ns) / 1e9;
    metrics_observe_request(srv->metrics, r->route_index, status, secs);
    log_info("%s %s %d %.3fms %s%s%s", req_method_name(r->method),
             r->path ? r->path : "-", status, secs * 1000.0, r->id,
             r->client_id[0] ? " client-id " : "", r->client_id);

    struct evhttp_request *ev = r->ev;
    conn_reply_pending(srv, ev);
    req_free(r);
    evhttp_send_reply(ev, status, req_status_reason(status), buf);
    if (buf)
        evbuffer_free(buf);
}

void req_reply_json(struct req *r, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body)
        cJSON_Delete(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"Out of "
            "memory.\"}}";
        req_reply_raw(r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    req_reply_raw(r, status, "application/json", text, strlen(text));
    cJSON_free(text);
}

void req_reply_error(struct req *r, int status, const char *code,
                     const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", msg);
    if (field)
        cJSON_AddStringToObject(err, "field", field);
    req_reply_json(r, status, root);
}

/* ---- helpers for handlers ----------------------------------------- */

const char *req_query(struct req *r, const char *key)
{
    return r->query ? evhttp_find_header(r->query, key) : NULL;
}

const char *req_header(struct req *r, const char *key)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), key);
}

/* The proxies of http_trusted_proxies, parsed at the first use of the
 * configuration string (config_load has refused one that does not parse)
 * and kept for the life of the process. */
static struct clientaddr_proxies req_proxies;
static const char *req_proxies_of;

bool req_client_addr(struct req *r, unsigned char out[16])
{
    const char *list = r->srv->cfg->http_trusted_proxies;
    if (req_proxies_of != list) {
        if (!clientaddr_parse_proxies(list, &req_proxies))
            req_proxies.n = 0;
        req_proxies_of = list;
    }
    struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
    if (conn == NULL)
        return false;
    char *host = NULL; /* libevent's, valid while the connection is */
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(conn, &host, &port);
    return clientaddr_resolve(&req_proxies, host,
                              req_header(r, "X-Forwarded-For"), out);
}

cJSON *req_json_object(struct req *r)
{
    if (r->body == NULL) {
        req_reply_error(r, 400, "invalid_json", NULL,
                        "The request needs a JSON object body.");
        return NULL;
    }
    struct json_parse_error err;
    cJSON *root = json_parse_strict(r->body, r->body_len, &err);
    if (root == NULL) {
        req_reply_error(r, 400, "invalid_json", NULL,
                        "The body is not valid JSON: %s.", err.message);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        req_reply_error(r, 400, "invalid_json", NULL,
                        "The body must be a JSON object.");
        return NULL;
    }
    r->json = root;
    return root;
}

bool req_json_none(struct req *r)
{
    if (r->body == NULL)
        return true;
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return false;
    static const char *const none[] = {NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, none);
    return req_fields_ok(r, &jf);
}

char *req_json_text(struct req *r, int max_chars)
{
    cJSON *json = req_json_object(r);
    if (json == NULL)
        return NULL;
    static const char *const fields[] = {"body", NULL};
    const char *body = NULL;
    struct jfields jf;
    jfields_init(&jf, json);
    jfields_only(&jf, fields);
    jfields_str(&jf, "body", true, 1, max_chars, &body, NULL);
    if (!req_fields_ok(r, &jf))
        return NULL;
    return req_strdup(r, body);
}

bool req_fields_ok(struct req *r, const struct jfields *jf)
{
    if (jfields_ok(jf))
        return true;
    req_reply_error(r, 400, "invalid_field", jf->field, "%s", jf->message);
    return false;
}
