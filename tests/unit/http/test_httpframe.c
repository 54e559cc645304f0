/* test_httpframe.c - strict request framing, table-driven: each input is
 * fed whole and then one byte at a time, and must give the same messages,
 * bodies and error either way. */
#include <stdio.h>
#include <string.h>

#include "http/httpframe.h"
#include "unit.h"

#define MAX_HEAD 8192
#define MAX_BODY 1024

struct frame_case {
    const char *name;
    const char *in;
    size_t len;   /* 0: strlen(in) */
    int messages; /* whole messages seen */
    int heads;    /* heads announcing a body */
    int status;   /* error status, 0 for none */
    const char *code;
    size_t lead; /* empty-line bytes before the last message */
};

/* a literal with NUL bytes in it, and its length */
#define BYTES(s) s, sizeof(s) - 1
#define OK(name, in, msgs, heads)            \
    {                                        \
        name, in, 0, msgs, heads, 0, NULL, 0 \
    }
#define BAD(name, in, msgs)                         \
    {                                               \
        name, in, 0, msgs, 0, 400, "bad_request", 0 \
    }
/* bad inside a chunked body: its head was announced */
#define BAD_BODY(name, in, msgs)                    \
    {                                               \
        name, in, 0, msgs, 1, 400, "bad_request", 0 \
    }

static const struct frame_case cases[] = {
    OK("simple GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 0),
    OK("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 1, 0),
    OK("pipelined",
       "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
       "HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
       "DELETE /c HTTP/1.1\r\nHost: x\r\n\r\n",
       3, 0),
    OK("OWS around values",
       "GET / HTTP/1.1\r\nHost: \t x \t\r\n"
       "X-A:b\r\n\r\n",
       1, 0),
    OK("obs-text value",
       "GET / HTTP/1.1\r\nHost: x\r\nX-N: \xe6\x9d\x8e\r\n\r\n", 1, 0),
    OK("Content-Length body",
       "POST /p HTTP/1.1\r\nHost: x\r\n"
       "Content-Length: 5\r\n\r\nhello",
       1, 1),
    OK("Content-Length 0 on GET",
       "GET / HTTP/1.1\r\nHost: x\r\n"
       "Content-Length: 0\r\n\r\n",
       1, 0),
    OK("leading zeros",
       "POST / HTTP/1.1\r\nHost: x\r\n"
       "content-length: 007\r\n\r\n1234567",
       1, 1),
    OK("body then next",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3"
       "\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n",
       2, 1),
    OK("chunked",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
       "\r\n\r\n5\r\nhello\r\n01a\r\n"
       "abcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
       1, 1),
    OK("chunked, case and trailer",
       "PATCH / HTTP/1.1\r\nHost: x\r\n"
       "transfer-encoding: Chunked \r\n\r\n"
       "A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
       2, 1),
    OK("incomplete head", "GET / HTTP/1.1\r\nHost: x\r\n", 0, 0),
    OK("incomplete body",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9"
       "\r\n\r\nabc",
       0, 1),
    {"empty lines before", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 1, 0,
     0, NULL, 4},

    BAD("two Content-Length",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:"
        " 5\r\nContent-Length: 5\r\n\r\nhello",
        0),
    BAD("Content-Length list",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 5, 5\r\n\r\nhello",
        0),
    BAD("Content-Length +7",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: +7\r\n\r\n1234567",
        0),
    BAD("Content-Length -5",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: -5\r\n\r\n",
        0),
    BAD("Content-Length empty",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Content-Length:\r\n\r\n",
        0),
    BAD("Content-Length hex",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 0x5\r\n\r\n",
        0),
    BAD("space before colon",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding : chunked\r\n\r\n",
        0),
    BAD("TE and CL",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        0),
    BAD("TE gzip",
        "POST / HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n",
        0),
    BAD("TE twice",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        0),
    BAD("TE in HTTP/1.0",
        "POST / HTTP/1.0\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        0),
    BAD("bare LF", "GET / HTTP/1.1\nHost: x\n\n", 0),
    BAD("bare LF in a field", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 0),
    BAD("CR without LF", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 0),
    {"NUL in a value", BYTES("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n"), 0,
     0, 400, "bad_request", 0},
    BAD("DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", 0),
    BAD("ESC in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x1b\r\n\r\n", 0),
    BAD("no Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 0),
    BAD("two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 0),
    BAD("two Host in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 0),
    BAD("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 0),
    BAD("no colon", "GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 0),
    BAD("empty name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 0),
    BAD("version 9.9", "GET / HTTP/9.9\r\n\r\n", 0),
    BAD("version lower case", "GET / http/1.1\r\nHost: x\r\n\r\n", 0),
    BAD("HTTP/0.9", "GET /\r\n\r\n", 0),
    BAD("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 0),
    BAD("target with a control", "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
    BAD("target with obs-text", "GET /\xe6 HTTP/1.1\r\nHost: x\r\n\r\n", 0),
    {"garbage", BYTES("\x00\x01\x02\xff\xfe\r\n\r\n"), 0, 0, 400, "bad_request",
     0},
    BAD("GET with a body",
        "GET / HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 3\r\n\r\nabc",
        0),
    BAD("HEAD chunked",
        "HEAD / HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        0),
    BAD_BODY("bad chunk size",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
             "chunked\r\n\r\nzz\r\n",
             0),
    BAD_BODY("chunk size +5",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
             "chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
             0),
    BAD_BODY("chunk extension",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-"
             "Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n"
             "0\r\n\r\n",
             0),
    BAD_BODY("space before ext",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:"
             " chunked\r\n\r\n5 ;a\r\nhello\r\n0\r\n\r\n",
             0),
    BAD_BODY("chunk longer than size",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-"
             "Encoding: chunked\r\n\r\n3\r\nhello\r\n"
             "0\r\n\r\n",
             0),
    BAD_BODY("chunk without CRLF",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-"
             "Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n",
             0),
    BAD_BODY("chunk size bare LF",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-"
             "Encoding: chunked\r\n\r\n5\nhello\r\n",
             0),
    BAD_BODY("Host in trailer",
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:"
             " chunked\r\n\r\n0\r\nHost: y\r\n\r\n",
             0),
    BAD("bad after a good one",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: x\nX: 1\r\n\r\n",
        1),

    {"unknown method", "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 0, 501,
     "not_implemented", 0},
    {"TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 0, 501,
     "not_implemented", 0},
    {"Content-Length over the limit",
     "POST / HTTP/1.1\r\nHost: x\r\n"
     "Content-Length: 1025\r\n\r\n",
     0, 0, 0, 413, "payload_too_large", 0},
    {"Content-Length of 30 digits",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-"
     "Length: 999999999999999999999999999999"
     "\r\n\r\n",
     0, 0, 0, 400, "bad_request", 0},
    {"chunk over the limit",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:"
     " chunked\r\n\r\n401\r\n",
     0, 0, 1, 413, "payload_too_large", 0},
};

struct outcome {
    int messages, heads, status;
    const char *code;
    size_t lead;
};

/* Feeds in[0..len) in slices of step bytes (0: whole). */
static struct outcome frame_run(const char *in, size_t len, size_t step)
{
    struct httpframe f;
    struct outcome o = {0, 0, 0, NULL, 0};
    httpframe_init(&f, MAX_HEAD, MAX_BODY);
    size_t off = 0;
    while (off < len) {
        size_t n = step && len - off > step ? step : len - off;
        size_t used = 0;
        enum httpframe_status st = httpframe_feed(&f, in + off, n, &used);
        off += used;
        if (st == HTTPFRAME_ERROR) {
            o.status = f.error_status;
            o.code = f.error_code;
            break;
        }
        if (st == HTTPFRAME_HEAD)
            o.heads++;
        if (st == HTTPFRAME_HEAD || st == HTTPFRAME_DONE) {
            o.lead = f.lead;
            f.lead = 0;
        }
        if (st == HTTPFRAME_DONE)
            o.messages++;
    }
    return o;
}

static void frame_check(const struct frame_case *c, size_t step)
{
    size_t len = c->len ? c->len : strlen(c->in);
    struct outcome o = frame_run(c->in, len, step);
    CHECK_MSG(o.messages == c->messages, "%s (step %zu): %d messages, want %d",
              c->name, step, o.messages, c->messages);
    CHECK_MSG(o.heads == c->heads, "%s (step %zu): %d heads, want %d", c->name,
              step, o.heads, c->heads);
    CHECK_MSG(o.status == c->status, "%s (step %zu): status %d, want %d",
              c->name, step, o.status, c->status);
    if (c->code)
        CHECK_MSG(o.code && strcmp(o.code, c->code) == 0,
                  "%s: code %s, want %s", c->name, o.code ? o.code : "-",
                  c->code);
    if (c->status == 0)
        CHECK_MSG(o.lead == c->lead, "%s: lead %zu, want %zu", c->name, o.lead,
                  c->lead);
}

/* A head larger than the limit is 431, wherever the limit falls. */
static void frame_check_head_limit(void)
{
    static char big[MAX_HEAD + 64];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    memset(big + n, 'a', sizeof big - (size_t)n);
    struct outcome o = frame_run(big, sizeof big, 0);
    CHECK_INT_EQ(o.status, 431);
    CHECK_STR_EQ(o.code, "headers_too_large");
}

/* After an error the parser stays failed. */
static void frame_check_dead(void)
{
    struct httpframe f;
    httpframe_init(&f, MAX_HEAD, MAX_BODY);
    size_t used;
    CHECK(httpframe_feed(&f, "GET / HTTP/1.1\n", 15, &used) == HTTPFRAME_ERROR);
    CHECK_INT_EQ(used, 15);
    CHECK(httpframe_feed(&f, "GET", 3, &used) == HTTPFRAME_ERROR);
    CHECK_INT_EQ(used, 0);
}

/* The parser tells where a Content-Length body may stream. */
static void frame_check_length_body(void)
{
    struct httpframe f;
    httpframe_init(&f, MAX_HEAD, MAX_BODY);
    static const char head[] =
        "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n";
    size_t used;
    CHECK(httpframe_feed(&f, head, sizeof head - 1, &used) == HTTPFRAME_HEAD);
    CHECK_INT_EQ(used, sizeof head - 1);
    CHECK(f.body == HTTPFRAME_BODY_LENGTH);
    CHECK(httpframe_in_length_body(&f));
    CHECK(httpframe_feed(&f, "ab", 2, &used) == HTTPFRAME_MORE);
    CHECK(httpframe_feed(&f, "cdGET", 5, &used) == HTTPFRAME_DONE);
    CHECK_INT_EQ(used, 2);
    CHECK(!httpframe_in_length_body(&f));
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        frame_check(&cases[i], 0);
        frame_check(&cases[i], 1);
        frame_check(&cases[i], 7);
    }
    frame_check_head_limit();
    frame_check_dead();
    frame_check_length_body();
    return unit_summary("httpframe");
}
