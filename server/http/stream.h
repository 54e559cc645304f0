/*
 * stream.h - streaming replies.
 *
 * For bodies too large to hold (the CSV exports) and for live streams
 * (SSE): the headers go out first, then chunks (chunked transfer encoding;
 * HTTP/1.0 clients get a body ended by closing the connection), then the end.
 *
 * Backpressure: stream_chunk's callback runs once the chunk has been
 * written to the socket; produce the next chunk only then, and memory
 * stays at one chunk however long the body.
 *
 * Each function returns false when the client has gone: the context has
 * then been freed (its cleanup hook run, its database borrow rolled back
 * and released); return without touching it. A client that leaves while
 * the handler waits (for the database or for a flush) is noticed through
 * the connection's close callback, which frees the context the same way:
 * the pending callback is then never called. The access log says "client
 * gone" and the metrics count the stream's status.
 *
 * The status is sent with the headers: an error after stream_start can
 * only end the stream early, stream_end(r, false), which closes the
 * connection without the terminating chunk so that the client sees a
 * truncated (incomplete) body rather than a short but well-formed one.
 */
#ifndef GROUPBUYD_STREAM_H
#define GROUPBUYD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

/* Sends the status and headers (Content-Type, X-Request-Id, no-store, and
 * whatever req_add_header added). */
bool stream_start(struct req *r, int status, const char *content_type)
    __attribute__((warn_unused_result));
/* Sends data[0..len) (len > 0) as the next chunk; flushed(r) is called
 * once it has been written out. For HEAD, which has no body, it ends the
 * reply instead and returns false. Without flushed, while nothing of the
 * connection waits to go out, the chunk goes straight to the socket (one
 * writev, no buffer, no event), the cheap path for a small event sent to
 * many streams; what the socket does not take waits in the buffer. */
bool stream_chunk(struct req *r, const char *data, size_t len,
                  void (*flushed)(struct req *r))
    __attribute__((warn_unused_result));
/* Ends the stream: complete sends the terminating chunk; !complete cuts
 * the connection (on the next loop turn) so the body reads as truncated.
 * Logs, counts and frees the context like every reply. */
void stream_end(struct req *r, bool complete);
/* Bytes of the stream handed to the connection and not yet taken by the
 * kernel: a client that stops reading makes it grow (the caller bounds it). */
size_t stream_pending(struct req *r);
/* What the client has taken of the connection: *acked, the bytes its TCP
 * acknowledged so far (it only grows), and *untaken, those written and
 * not yet acknowledged (stream_pending and what the kernel holds). A
 * client that stops reading fills its receive window, then nothing more
 * is acknowledged while *untaken stays above zero. false when the socket
 * cannot tell (not TCP). */
bool stream_taken(struct req *r, uint64_t *acked, size_t *untaken)
    __attribute__((warn_unused_result));
/* A started stream has no read timeout, and is cut when it has written
 * nothing for secs (http_timeout_s unless set here): a stream that idles
 * longer between writes sets more. */
void stream_write_timeout(struct req *r, int secs);
/* Caps the kernel's send buffer of the stream's socket (SO_SNDBUF), which
 * Linux otherwise grows to megabytes for a client that reads nothing: a
 * long-lived stream of small events needs little, and the bound on what
 * a stalled client holds (stream_pending) is then reached. */
void stream_send_buffer(struct req *r, int bytes);

#endif
