/*
 * httpframe.c - see httpframe.h. One state machine, one byte at a time
 * through heads, chunk-size lines and trailers; Content-Length bodies and
 * chunk data are skipped by count.
 */
#include "http/httpframe.h"

#include <string.h>
#include <strings.h>

enum {
    ST_START,       /* before the request line (or an empty line) */
    ST_LEAD_LF,     /* CR of an empty line seen */
    ST_METHOD,      /* in the method */
    ST_TARGET,      /* in the request target */
    ST_VERSION,     /* in the HTTP version */
    ST_LINE_LF,     /* CR of the request line seen */
    ST_FIELD_START, /* at the start of a field line or the final CRLF */
    ST_NAME,        /* in a field name */
    ST_VALUE,       /* in a field value */
    ST_FIELD_LF,    /* CR of a field line seen */
    ST_END_LF,      /* CR of the empty line ending the head/trailers */
    ST_BODY,        /* in a Content-Length body */
    ST_CHUNK_SIZE,  /* in a chunk-size */
    ST_CHUNK_LF,    /* CR of a chunk-size line seen */
    ST_CHUNK_DATA,  /* in chunk data */
    ST_DATA_CR,     /* after chunk data: CR expected */
    ST_DATA_LF,     /* after chunk data: LF expected */
    ST_DEAD,        /* after an error */
};

/* The methods evhttp serves (evhttp_set_allowed_methods in http.c); only
 * POST, PUT and PATCH carry a body there. */
enum { M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS };
static const char *const httpframe_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};
#define NMETHODS (sizeof httpframe_methods / sizeof httpframe_methods[0])

enum { F_OTHER, F_CONTENT_LENGTH, F_TRANSFER_ENCODING, F_HOST };

/* RFC 9110 5.6.2 tchar */
static bool httpframe_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field-value byte: anything but a control byte, HTAB
 * allowed; obs-text (0x80-0xff) allowed. */
static bool httpframe_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int httpframe_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void httpframe_init(struct httpframe *f, uint64_t max_head, uint64_t max_body)
{
    memset(f, 0, sizeof *f);
    f->max_head = max_head;
    f->max_body = max_body;
    f->state = ST_START;
}

bool httpframe_in_length_body(const struct httpframe *f)
{
    return f->state == ST_BODY;
}

static enum httpframe_status httpframe_fail(struct httpframe *f, int status,
                                            const char *code,
                                            const char *message)
{
    f->state = ST_DEAD;
    f->error_status = status;
    f->error_code = code;
    f->error_message = message;
    return HTTPFRAME_ERROR;
}

static enum httpframe_status httpframe_bad(struct httpframe *f,
                                           const char *message)
{
    return httpframe_fail(f, 400, "bad_request", message);
}

/* Forgets the message that ended; the next starts fresh. lead stays
 * until the caller has taken it. */
static void httpframe_next(struct httpframe *f)
{
    uint64_t max_head = f->max_head, max_body = f->max_body;
    size_t lead = f->lead;
    httpframe_init(f, max_head, max_body);
    f->lead = lead;
}

static bool httpframe_tok_is(const struct httpframe *f, const char *s)
{
    size_t n = strlen(s);
    return (size_t)f->tok_len == n && strncasecmp(f->tok, s, n) == 0;
}

/* The field name in tok ended with ':'. */
static void httpframe_name_end(struct httpframe *f)
{
    f->field = F_OTHER;
    if (httpframe_tok_is(f, "content-length"))
        f->field = F_CONTENT_LENGTH;
    else if (httpframe_tok_is(f, "transfer-encoding"))
        f->field = F_TRANSFER_ENCODING;
    else if (httpframe_tok_is(f, "host"))
        f->field = F_HOST;
    f->tok_len = 0;
    f->value_bad = false;
}

/* The field line ended: checks what the framing depends on. */
static enum httpframe_status httpframe_field_end(struct httpframe *f)
{
    /* trailing OWS is not part of the value */
    while (f->tok_len > 0 &&
           (f->tok[f->tok_len - 1] == ' ' || f->tok[f->tok_len - 1] == '\t'))
        f->tok_len--;
    if (f->trailer && f->field != F_OTHER)
        return httpframe_bad(f, "Content-Length, Transfer-Encoding and Host "
                                "may not be sent as trailers");
    switch (f->field) {
    case F_CONTENT_LENGTH:
        if (++f->ncl > 1)
            return httpframe_bad(f, "more than one Content-Length");
        if (f->value_bad || f->tok_len == 0)
            return httpframe_bad(f, "Content-Length must be digits only");
        for (int i = 0; i < f->tok_len; i++)
            if (f->tok[i] < '0' || f->tok[i] > '9')
                return httpframe_bad(f, "Content-Length must be digits only");
        f->length = 0;
        for (int i = 0; i < f->tok_len; i++) {
            f->length = f->length * 10 + (uint64_t)(f->tok[i] - '0');
            if (f->length > f->max_body) /* also keeps it from overflowing */
                return httpframe_fail(f, 413, "payload_too_large",
                                      "the body is too large");
        }
        break;
    case F_TRANSFER_ENCODING:
        if (++f->nte > 1)
            return httpframe_bad(f, "more than one Transfer-Encoding");
        if (f->value_bad || !httpframe_tok_is(f, "chunked"))
            return httpframe_bad(f, "the only Transfer-Encoding accepted is "
                                    "chunked");
        break;
    case F_HOST:
        if (++f->nhost > 1)
            return httpframe_bad(f, "more than one Host");
        break;
    default:
        break;
    }
    return HTTPFRAME_MORE;
}

/* The empty line after the fields: decides how the body is framed. */
static enum httpframe_status httpframe_head_end(struct httpframe *f)
{
    if (f->trailer) {
        httpframe_next(f);
        return HTTPFRAME_DONE;
    }
    if (f->minor == 1 && f->nhost != 1)
        return httpframe_bad(f, "an HTTP/1.1 request needs one Host");
    if (f->nte && f->ncl)
        return httpframe_bad(f, "Transfer-Encoding and Content-Length "
                                "together");
    if (f->nte && f->minor == 0)
        return httpframe_bad(f, "Transfer-Encoding in an HTTP/1.0 request");
    bool may_have_body =
        f->method == M_POST || f->method == M_PUT || f->method == M_PATCH;
    if (!may_have_body && (f->nte || f->length > 0))
        return httpframe_bad(f, "this method takes no body");
    if (f->nte) {
        f->body = HTTPFRAME_BODY_CHUNKED;
        f->state = ST_CHUNK_SIZE;
        f->length = 0;
        f->tok_len = 0;
        return HTTPFRAME_HEAD;
    }
    if (f->length > 0) {
        f->body = HTTPFRAME_BODY_LENGTH;
        f->state = ST_BODY;
        f->remaining = f->length;
        return HTTPFRAME_HEAD;
    }
    httpframe_next(f);
    return HTTPFRAME_DONE;
}

/* One byte of a head, chunk-size line or trailer. */
static enum httpframe_status httpframe_byte(struct httpframe *f,
                                            unsigned char c)
{
    switch (f->state) {
    case ST_START:
        if (c == '\r') {
            f->state = ST_LEAD_LF;
            return HTTPFRAME_MORE;
        }
        if (!httpframe_tchar(c))
            return httpframe_bad(f, "malformed request line");
        f->state = ST_METHOD;
        f->tok_len = 0;
        /* fall through: c is the method's first byte */
        /* FALLTHROUGH */
    case ST_METHOD:
        if (c == ' ') {
            f->method = -1;
            for (size_t i = 0; i < NMETHODS; i++)
                if ((size_t)f->tok_len == strlen(httpframe_methods[i]) &&
                    memcmp(f->tok, httpframe_methods[i], (size_t)f->tok_len) ==
                        0)
                    f->method = (int)i;
            if (f->method < 0)
                return httpframe_fail(f, 501, "not_implemented",
                                      "unknown method");
            f->state = ST_TARGET;
            f->tok_len = 0;
            return HTTPFRAME_MORE;
        }
        if (!httpframe_tchar(c))
            return httpframe_bad(f, "malformed request line");
        if (f->tok_len >= 16)
            return httpframe_fail(f, 501, "not_implemented", "unknown method");
        f->tok[f->tok_len++] = (char)c;
        return HTTPFRAME_MORE;
    case ST_LEAD_LF:
        if (c != '\n')
            return httpframe_bad(f, "CR without LF");
        f->lead += 2;
        f->state = ST_START;
        return HTTPFRAME_MORE;
    case ST_TARGET:
        if (c == ' ') {
            if (f->tok_len == 0)
                return httpframe_bad(f, "empty request target");
            f->state = ST_VERSION;
            f->tok_len = 0;
            return HTTPFRAME_MORE;
        }
        if (c < 0x21 || c > 0x7e)
            return httpframe_bad(f, "malformed request target");
        f->tok_len = 1; /* non-empty; the target itself is evhttp's */
        return HTTPFRAME_MORE;
    case ST_VERSION:
        if (c == '\r') {
            if (f->tok_len == 8 && memcmp(f->tok, "HTTP/1.1", 8) == 0)
                f->minor = 1;
            else if (f->tok_len == 8 && memcmp(f->tok, "HTTP/1.0", 8) == 0)
                f->minor = 0;
            else
                return httpframe_bad(f, "the version must be HTTP/1.0 or "
                                        "HTTP/1.1");
            f->state = ST_LINE_LF;
            return HTTPFRAME_MORE;
        }
        if (f->tok_len >= 8 || c < 0x21 || c > 0x7e ||
            (c != "HTTP/1.1"[f->tok_len] && c != "HTTP/1.0"[f->tok_len]))
            return httpframe_bad(f, "the version must be HTTP/1.0 or "
                                    "HTTP/1.1");
        f->tok[f->tok_len++] = (char)c;
        return HTTPFRAME_MORE;
    case ST_LINE_LF:
    case ST_FIELD_LF:
        if (c != '\n')
            return httpframe_bad(f, "CR without LF");
        if (f->state == ST_FIELD_LF) {
            enum httpframe_status st = httpframe_field_end(f);
            if (st != HTTPFRAME_MORE)
                return st;
        }
        f->state = ST_FIELD_START;
        return HTTPFRAME_MORE;
    case ST_FIELD_START:
        if (c == '\r') {
            f->state = ST_END_LF;
            return HTTPFRAME_MORE;
        }
        if (c == ' ' || c == '\t')
            return httpframe_bad(f, "folded or indented field line");
        if (!httpframe_tchar(c))
            return httpframe_bad(f, "malformed field name");
        f->state = ST_NAME;
        f->tok_len = 0;
        /* FALLTHROUGH */
    case ST_NAME:
        if (c == ':') {
            httpframe_name_end(f);
            f->state = ST_VALUE;
            return HTTPFRAME_MORE;
        }
        if (!httpframe_tchar(c))
            return httpframe_bad(f, "malformed field name (no whitespace "
                                    "before the colon)");
        if (f->tok_len < (int)sizeof f->tok)
            f->tok[f->tok_len++] = (char)c;
        else
            f->tok_len = (int)sizeof f->tok; /* too long to be one we read */
        return HTTPFRAME_MORE;
    case ST_VALUE:
        if (c == '\r') {
            f->state = ST_FIELD_LF;
            return HTTPFRAME_MORE;
        }
        if (!httpframe_vchar(c))
            return httpframe_bad(f, "control byte in a field value");
        if (f->field == F_OTHER)
            return HTTPFRAME_MORE;
        if (f->tok_len == 0 && (c == ' ' || c == '\t'))
            return HTTPFRAME_MORE; /* leading OWS */
        if (f->tok_len < (int)sizeof f->tok)
            f->tok[f->tok_len++] = (char)c;
        else
            f->value_bad = true; /* longer than any value we accept */
        return HTTPFRAME_MORE;
    case ST_END_LF:
        if (c != '\n')
            return httpframe_bad(f, "CR without LF");
        return httpframe_head_end(f);
    case ST_CHUNK_SIZE: {
        int d = httpframe_hex(c);
        if (d >= 0) {
            f->length = f->length * 16 + (uint64_t)d;
            f->tok_len = 1;
            /* the data so far and this chunk's, against the limit */
            if (f->length > f->max_body ||
                f->body_len + f->length > f->max_body + f->max_head)
                return httpframe_fail(f, 413, "payload_too_large",
                                      "the body is too large");
            return HTTPFRAME_MORE;
        }
        if (c == ';')
            return httpframe_bad(f, "chunk extensions are not accepted");
        if (f->tok_len == 0 || c != '\r')
            return httpframe_bad(f, "malformed chunk size");
        f->state = ST_CHUNK_LF;
        return HTTPFRAME_MORE;
    }
    case ST_CHUNK_LF:
        if (c != '\n')
            return httpframe_bad(f, "CR without LF");
        if (f->length == 0) {
            f->trailer = true;
            f->state = ST_FIELD_START;
            return HTTPFRAME_MORE;
        }
        f->remaining = f->length;
        f->state = ST_CHUNK_DATA;
        return HTTPFRAME_MORE;
    case ST_DATA_CR:
        if (c != '\r')
            return httpframe_bad(f, "chunk data longer than its size");
        f->state = ST_DATA_LF;
        return HTTPFRAME_MORE;
    case ST_DATA_LF:
        if (c != '\n')
            return httpframe_bad(f, "CR without LF");
        f->state = ST_CHUNK_SIZE;
        f->length = 0;
        f->tok_len = 0;
        return HTTPFRAME_MORE;
    default:
        return HTTPFRAME_ERROR;
    }
}

enum httpframe_status httpframe_feed(struct httpframe *f, const char *p,
                                     size_t n, size_t *used)
{
    size_t i = 0;
    while (i < n) {
        if (f->state == ST_DEAD) {
            *used = i;
            return HTTPFRAME_ERROR;
        }
        if (f->state == ST_BODY || f->state == ST_CHUNK_DATA) {
            uint64_t take = n - i;
            if (take > f->remaining)
                take = f->remaining;
            i += (size_t)take;
            f->remaining -= take;
            if (f->state == ST_CHUNK_DATA) {
                f->body_len += take;
                if (f->remaining == 0)
                    f->state = ST_DATA_CR;
                continue;
            }
            if (f->remaining == 0) {
                httpframe_next(f);
                *used = i;
                return HTTPFRAME_DONE;
            }
            continue;
        }
        unsigned char c = (unsigned char)p[i++];
        if (f->body == HTTPFRAME_BODY_CHUNKED) {
            /* sizes, extensions and trailers: bounded with the body,
             * plus a head's worth for the trailers */
            if (++f->body_len > f->max_body + f->max_head) {
                *used = i;
                return httpframe_fail(f, 413, "payload_too_large",
                                      "the body is too large");
            }
        } else if (++f->head_len > f->max_head) {
            *used = i;
            return httpframe_fail(f, 431, "headers_too_large",
                                  "the request head is too large");
        }
        if (c == '\n' && f->state != ST_LEAD_LF && f->state != ST_LINE_LF &&
            f->state != ST_FIELD_LF && f->state != ST_END_LF &&
            f->state != ST_CHUNK_LF && f->state != ST_DATA_LF) {
            *used = i;
            return httpframe_bad(f, "line ends in LF without CR");
        }
        enum httpframe_status st = httpframe_byte(f, c);
        if (st != HTTPFRAME_MORE) {
            *used = i;
            return st;
        }
    }
    *used = n;
    return f->state == ST_DEAD ? HTTPFRAME_ERROR : HTTPFRAME_MORE;
}
