/*
 * html.h - text into HTML: the one escaper of the server's own pages (the
 * share link's page, api/shop/shares.c through domain/sharepage.h).
 *
 * Escapes the five characters that can end or open markup or an
 * attribute value (& < > " '), so the result is safe as element text and
 * inside a double- or single-quoted attribute value alike; every other
 * byte is copied as it is (valid UTF-8 in, valid UTF-8 out). Not for
 * unquoted attributes, URLs' schemes, scripts or styles: the pages put
 * text nowhere else.
 */
#ifndef GROUPBUYD_HTML_H
#define GROUPBUYD_HTML_H

#include <stddef.h>

/* The escaped length of s (NUL excluded). */
size_t html_escaped_len(const char *s);

/* Writes s escaped and a NUL into out, which holds html_escaped_len(s) + 1
 * bytes; returns out. */
char *html_escape_into(const char *s, char *out);

/* s escaped, malloc'd (the caller frees it); NULL when out of memory. */
char *html_escape(const char *s);

#endif
