/*
 * html.c - text into HTML (see html.h).
 */
#include "lib/html.h"

#include <stdlib.h>
#include <string.h>

/* The entity of c, or NULL when c goes as it is. */
static const char *html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

size_t html_escaped_len(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        const char *e = html_entity(*s);
        n += e ? strlen(e) : 1;
    }
    return n;
}

char *html_escape_into(const char *s, char *out)
{
    char *p = out;
    for (; *s != '\0'; s++) {
        const char *e = html_entity(*s);
        if (e == NULL) {
            *p++ = *s;
            continue;
        }
        size_t n = strlen(e);
        memcpy(p, e, n);
        p += n;
    }
    *p = '\0';
    return out;
}

char *html_escape(const char *s)
{
    char *out = malloc(html_escaped_len(s) + 1);
    return out ? html_escape_into(s, out) : NULL;
}
