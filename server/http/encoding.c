/*
 * encoding.c - Accept-Encoding, element by element: a coding token, then
 * parameters after ";", of which only q matters (RFC 9110: a qvalue is 0
 * to 1 with at most three decimals; tokens and "q" are case-insensitive).
 */
#include "http/encoding.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define Q_REFUSED (-1)

static bool encoding_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The weight of the qvalue s[0..n) in thousandths, or Q_REFUSED when it
 * is not one. */
static int encoding_qvalue(const char *s, size_t n)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return Q_REFUSED;
    int q = (s[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (s[1] != '.' || n > 5)
        return Q_REFUSED;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return Q_REFUSED;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? Q_REFUSED : q;
}

/* The weight of the parameters p[0..n) (";q=0.5" and any others). */
static int encoding_weight(const char *p, size_t n)
{
    int q = 1000;
    size_t i = 0;
    while (i < n) {
        if (p[i] != ';')
            return Q_REFUSED;
        i++;
        while (i < n && encoding_ows(p[i]))
            i++;
        size_t start = i;
        while (i < n && p[i] != ';')
            i++;
        size_t end = i;
        while (end > start && encoding_ows(p[end - 1]))
            end--;
        if (end - start >= 2 && (p[start] == 'q' || p[start] == 'Q') &&
            p[start + 1] == '=')
            q = encoding_qvalue(p + start + 2, end - start - 2);
        if (q == Q_REFUSED)
            return Q_REFUSED;
    }
    return q;
}

static bool encoding_is(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

bool encoding_accepts_gzip(const char *h)
{
    if (h == NULL)
        return false;
    int gzip = Q_REFUSED - 1, star = Q_REFUSED - 1; /* not listed */
    const char *s = h;
    while (*s) {
        while (*s == ',' || encoding_ows(*s))
            s++;
        if (*s == '\0')
            break;
        size_t len = 0;
        while (s[len] && s[len] != ',')
            len++;
        size_t tok = 0;
        while (tok < len && s[tok] != ';' && !encoding_ows(s[tok]))
            tok++;
        size_t par = tok;
        while (par < len && encoding_ows(s[par]))
            par++;
        size_t end = len;
        while (end > par && encoding_ows(s[end - 1]))
            end--;
        int q = encoding_weight(s + par, end - par);
        if (encoding_is(s, tok, "gzip") || encoding_is(s, tok, "x-gzip"))
            gzip = q > gzip ? q : gzip;
        else if (encoding_is(s, tok, "*"))
            star = q > star ? q : star;
        s += len;
    }
    if (gzip >= Q_REFUSED)
        return gzip > 0;
    return star > 0;
}
