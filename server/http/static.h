/*
 * static.h - the web app's files (web/), read once at start and served
 * from memory: GET / is the shopper app, GET /admin/ the staff app.
 */
#ifndef GROUPBUYD_STATIC_H
#define GROUPBUYD_STATIC_H

#include <stdbool.h>
#include <stddef.h>

struct req;

/* Reads every regular file under root (symlinks only when they resolve
 * inside root; dot-files skipped) into memory. A missing root is not an
 * error: the process then serves the API only, and says so in the log.
 * false (with err) when root exists but cannot be read whole or passes the
 * size limits. Call once, before the loop. */
bool static_load(const char *root, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Number of files loaded (for the start-up log and the tests). */
size_t static_count(void);

/* Answers a GET or HEAD no route matched: the file, 304 Not Modified, or
 * 404 not_found for anything else (including every path that could
 * leave web/: "..", dot segments, percent-encoding, NUL, over-long). */
void static_serve(struct req *r);

/* The headers of an HTML page the server builds itself (a share link's,
 * api/shop/shares.c): revalidated on every load, with the same
 * Content-Security-Policy, framing and sniffing refusals as the app's
 * pages. */
void static_html_headers(struct req *r);

/* Frees the files. */
void static_free(void);

#endif
