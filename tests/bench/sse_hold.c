/*
 * The bench's live-progress stream holder: opens N streams
 * (GET /v1/campaigns/{id}/events) on loopback and keeps reading them, as
 * browsers would, at as little CPU as it can (one thread, epoll,
 * non-blocking connects), so that `make bench` measures the server and not
 * its client. Built by the Makefile into build/bench/sse_hold.
 *
 *   sse_hold PORT CAMPAIGN N SECONDS
 *
 * CAMPAIGN is one id, or several joined by commas ("3,4,5"): then every
 * stream follows all of them on one connection
 * (GET /v1/campaigns/events?ids=3,4,5), as the shopper app's list does.
 *
 * Prints "open N first_events M refused R" once every stream has answered
 * (M sent their first event, R answered other than 200), then reads on for
 * SECONDS and prints "events E bytes B" with what arrived meanwhile, and
 * "cpu user_s U sys_s S wakeups W" with its own CPU time and voluntary
 * context switches over the whole run, which the bench reports beside the
 * server's figures.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* At most this many streams are connecting or waiting for their first
 * event at once: the server's accept backlog is not flooded. */
#define HOLD_INFLIGHT 256
#define HOLD_READ     65536
#define HOLD_ROUND_MS 20

enum { ST_CONNECTING, ST_HEAD, ST_BODY, ST_CLOSED };

struct stream {
    int fd;
    int state;
    bool first;     /* its first event arrived */
    int status;     /* the HTTP status, 0 until the head is in */
    char head[512]; /* the head read so far (it is short) */
    size_t head_len;
    char tail[3]; /* the last bytes of the body read: "id: " may straddle */
    size_t tail_len;
};

static struct stream *streams;
static int nstreams, inflight, refused, nfirst;
static uint64_t events, bytes;
static char request[1024];
static size_t request_len;
static struct sockaddr_in addr;
static int ep;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stream_close(struct stream *s)
{
    if (s->state == ST_CLOSED)
        return;
    if (s->state != ST_BODY || !s->first)
        inflight--;
    close(s->fd);
    s->state = ST_CLOSED;
}

/* Counts the events in data (each has one "id: " line; the JSON of its
 * data line has none), across the end of the previous read. */
static void stream_count(struct stream *s, const char *data, size_t len)
{
    char buf[HOLD_READ + sizeof s->tail];
    memcpy(buf, s->tail, s->tail_len);
    memcpy(buf + s->tail_len, data, len);
    size_t n = s->tail_len + len;
    uint64_t c = 0;
    const char *p = buf, *end = buf + n;
    while ((p = memmem(p, (size_t)(end - p), "id: ", 4)) != NULL) {
        c++;
        p += 4;
    }
    s->tail_len = n < sizeof s->tail ? n : sizeof s->tail;
    memcpy(s->tail, end - s->tail_len, s->tail_len);
    if (c > 0 && !s->first) {
        s->first = true;
        nfirst++;
        inflight--;
        c--;
    }
    events += c;
}

static void stream_read(struct stream *s)
{
    static char buf[HOLD_READ];
    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            stream_close(s);
            return;
        }
        bytes += (uint64_t)n;
        const char *body = buf;
        size_t len = (size_t)n;
        if (s->state == ST_HEAD) {
            size_t take = len < sizeof s->head - 1 - s->head_len
                              ? len
                              : sizeof s->head - 1 - s->head_len;
            memcpy(s->head + s->head_len, buf, take);
            s->head_len += take;
            s->head[s->head_len] = '\0';
            char *eoh = strstr(s->head, "\r\n\r\n");
            if (eoh == NULL) {
                if (s->head_len == sizeof s->head - 1) {
                    refused++;
                    stream_close(s);
                }
                continue;
            }
            size_t head_bytes = (size_t)(eoh + 4 - s->head);
            size_t before = s->head_len - take;
            body = buf + (head_bytes - before);
            len -= head_bytes - before;
            s->status = atoi(s->head + 9); /* "HTTP/1.1 200" */
            s->state = ST_BODY;
            if (s->status != 200) {
                refused++;
                stream_close(s);
                return;
            }
        }
        if (len > 0)
            stream_count(s, body, len);
    }
}

static void stream_connect(struct stream *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        perror("sse_hold: socket");
        exit(1);
    }
    inflight++;
    s->state = ST_CONNECTING;
    if (connect(s->fd, (struct sockaddr *)&addr, sizeof addr) != 0 &&
        errno != EINPROGRESS) {
        refused++;
        stream_close(s);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP,
                             .data.ptr = s};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        perror("sse_hold: epoll_ctl");
        exit(1);
    }
}

static void stream_writable(struct stream *s)
{
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0 ||
        send(s->fd, request, request_len, MSG_NOSIGNAL) !=
            (ssize_t)request_len) {
        refused++;
        stream_close(s);
        return;
    }
    s->state = ST_HEAD;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Waits up to ms for the sockets and serves what is ready. */
static void pump(int ms)
{
    struct epoll_event evs[1024];
    int n;
    do {
        n = epoll_wait(ep, evs, 1024, ms);
        for (int i = 0; i < n; i++) {
            struct stream *s = evs[i].data.ptr;
            if (s->state == ST_CONNECTING && (evs[i].events & EPOLLOUT))
                stream_writable(s);
            if (s->state == ST_HEAD || s->state == ST_BODY)
                stream_read(s);
            else if (s->state == ST_CONNECTING &&
                     (evs[i].events & (EPOLLERR | EPOLLHUP))) {
                refused++;
                stream_close(s);
            }
        }
        ms = 0; /* a full batch: more may be ready */
    } while (n == 1024);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sse_hold PORT CAMPAIGN[,CAMPAIGN...] N "
                        "SECONDS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *campaigns = argv[2];
    bool many = strchr(campaigns, ',') != NULL;
    nstreams = atoi(argv[3]);
    double secs = atof(argv[4]);
    if (port <= 0 || port > 65535 || nstreams <= 0 || secs < 0 ||
        campaigns[0] == '\0' || strlen(campaigns) > 900 ||
        strspn(campaigns, "0123456789,") != strlen(campaigns)) {
        fprintf(stderr, "sse_hold: bad arguments\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    request_len = (size_t)snprintf(
        request, sizeof request,
        many ? "GET /v1/campaigns/events?ids=%s HTTP/1.1\r\nHost: bench\r\n\r\n"
             : "GET /v1/campaigns/%s/events HTTP/1.1\r\nHost: bench\r\n\r\n",
        campaigns);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    streams = calloc((size_t)nstreams, sizeof *streams);
    ep = epoll_create1(0);
    if (streams == NULL || ep < 0) {
        perror("sse_hold");
        return 1;
    }

    /* open them all, HOLD_INFLIGHT at a time, within a minute */
    int next = 0;
    double deadline = now_s() + 60;
    while (now_s() < deadline) {
        while (next < nstreams && inflight < HOLD_INFLIGHT)
            stream_connect(&streams[next++]);
        if (next == nstreams && inflight == 0)
            break;
        pump(100);
    }
    printf("open %d first_events %d refused %d\n", next, nfirst, refused);
    fflush(stdout);

    events = 0;
    bytes = 0;
    /* Reads in rounds HOLD_ROUND_MS apart rather than as each event comes:
     * a reader asleep in epoll_wait is woken by the events of every
     * stream, and on loopback those wake-ups land on the two cores the
     * server and PostgreSQL share (a remote browser's never do). */
    double end = now_s() + secs;
    for (double t = now_s(); t < end; t = now_s()) {
        pump(0);
        struct timespec nap = {0, HOLD_ROUND_MS * 1000000L};
        nanosleep(&nap, NULL);
    }
    printf("events %llu bytes %llu\n", (unsigned long long)events,
           (unsigned long long)bytes);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cpu user_s %.3f sys_s %.3f wakeups %ld\n",
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
           ru.ru_nvcsw);
    return 0;
}
