/*
 * The bench's reference point for HTTP: a bare single-threaded evhttp
 * server answering every request with the same JSON body of a given size,
 * so `make bench` can put the campaign view beside what libevent alone
 * does on this machine. Built and started by scripts/bench.sh:
 *   hello HOST PORT BODY_BYTES
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *body;
static size_t body_len;

static void hello_reply(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evbuffer_add_reference(out, body, body_len, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void hello_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT BODY_BYTES\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[3], NULL, 10);
    if (n < 2 || n > 1 << 20) {
        fprintf(stderr, "hello: BODY_BYTES must be 2 to 1048576\n");
        return 2;
    }
    /* {"x":"aaaa...a"} padded to exactly n bytes (shorter: {} plus spaces) */
    body_len = (size_t)n;
    body = malloc(body_len);
    if (body == NULL)
        return 1;
    if (n >= 9) {
        memset(body, 'a', body_len);
        memcpy(body, "{\"x\":\"", 6);
        memcpy(body + body_len - 2, "\"}", 2);
    } else {
        memset(body, ' ', body_len);
        body[0] = '{';
        body[body_len - 1] = '}';
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (http == NULL)
        return 1;
    evhttp_set_gencb(http, hello_reply, NULL);
    if (evhttp_bind_socket(http, argv[1], (ev_uint16_t)atoi(argv[2])) != 0) {
        fprintf(stderr, "hello: cannot listen on %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    struct event *term = evsignal_new(base, SIGTERM, hello_stop, base);
    struct event *intr = evsignal_new(base, SIGINT, hello_stop, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    free(body);
    return 0;
}
