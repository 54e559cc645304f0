/*
 * httpframe.h - strict HTTP/1.1 request framing (RFC 9112), checked on the
 * raw bytes before evhttp parses them.
 *
 * evhttp (libevent 2.1) is lenient where leniency lets two parsers disagree
 * on where a request ends (request smuggling): it takes bare LF line ends,
 * "Name : value", "+7" as a Content-Length, two Content-Lengths, a
 * Transfer-Encoding beside a Content-Length, control bytes in values, and
 * ignores the body of a GET. This parser accepts only the framing both it
 * and evhttp read the same way, and names everything else as an error with
 * the status and code of the answer:
 *   - the request line is method SP target SP "HTTP/1.0"|"HTTP/1.1" CRLF,
 *     the method one evhttp serves, the target visible ASCII;
 *   - every line ends in CRLF; empty lines before the request line are
 *     skipped (RFC 9112 2.2), reported in `lead` so the caller drops them;
 *   - a field is token ":" OWS value OWS CRLF; the value has no control byte
 *     but HTAB; no obs-fold;
 *   - at most one Content-Length, 1*DIGIT; a Transfer-Encoding only as
 *     exactly "chunked", never with a Content-Length, never in HTTP/1.0;
 *   - HTTP/1.1 has exactly one Host, HTTP/1.0 at most one;
 *   - a body only on POST, PUT and PATCH (evhttp reads no other);
 *   - chunked bodies: hex sizes, CRLF after each chunk's data, trailer
 *     fields without Content-Length, Transfer-Encoding or Host; no chunk
 *     extensions (evhttp 2.1 cannot read them: it would fail the request
 *     with its own page);
 *   - the head over max_head bytes is 431, a body over max_body 413.
 *
 * The parser is byte-resumable: feed it any slices of the stream. It stops
 * at each event (a head with a body to follow, the end of a message, an
 * error) so the caller can act at exactly that offset; body bytes of a
 * Content-Length body are skipped without being looked at. Pure: no I/O.
 */
#ifndef GROUPBUYD_HTTPFRAME_H
#define GROUPBUYD_HTTPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum httpframe_status {
    HTTPFRAME_MORE,  /* all input used; the message goes on */
    HTTPFRAME_HEAD,  /* a head ended; a body (see body) follows */
    HTTPFRAME_DONE,  /* a whole message ended; the next one may follow */
    HTTPFRAME_ERROR, /* the stream is bad from here: answer and close */
};

enum httpframe_body {
    HTTPFRAME_BODY_NONE,
    HTTPFRAME_BODY_LENGTH,
    HTTPFRAME_BODY_CHUNKED,
};

struct httpframe {
    /* limits, set by httpframe_init */
    uint64_t max_head, max_body;
    /* the current message */
    enum httpframe_body body;
    /* Empty-line bytes before the request line, at the start of what the
     * caller holds: it drops them when it passes the message on (they
     * would be a malformed request to evhttp) and sets lead to 0. */
    size_t lead;
    int state;          /* internal */
    int method;         /* internal */
    int minor;          /* HTTP/1.<minor> */
    bool trailer;       /* parsing the trailer section */
    uint64_t head_len;  /* head bytes so far */
    uint64_t body_len;  /* body bytes (raw, chunked) so far */
    uint64_t remaining; /* of the Content-Length body or current chunk */
    uint64_t length;    /* the Content-Length or current chunk size */
    int ncl, nte, nhost;
    int field;   /* internal: which field is being read */
    int tok_len; /* internal: bytes in tok */
    char tok[24];
    bool value_bad; /* internal */
    /* set on HTTPFRAME_ERROR: the answer to give */
    int error_status;
    const char *error_code;
    const char *error_message;
};

/* Starts a parser for a new connection. */
void httpframe_init(struct httpframe *f, uint64_t max_head, uint64_t max_body);

/* Reads p[0..n) and stops at the first event; *used receives the bytes
 * read up to and including the one that made it (n on HTTPFRAME_MORE).
 * After HTTPFRAME_ERROR every call returns it again. */
enum httpframe_status httpframe_feed(struct httpframe *f, const char *p,
                                     size_t n, size_t *used)
    __attribute__((warn_unused_result));

/* True while the bytes to come are a Content-Length body: the caller may
 * pass them on as they arrive (they cannot break the framing). */
bool httpframe_in_length_body(const struct httpframe *f);

#endif
