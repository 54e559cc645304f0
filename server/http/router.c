/*
 * router.c - the matcher over the route table (api/routes.c).
 *
 * The table is searched linearly: it is short, and a match costs a few
 * string comparisons of path segments. Patterns are checked once at first
 * use (assert) to hold only literal, {id} and {code} segments.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct route *router_table;
static size_t router_n;

void router_init(const struct route *table, size_t n)
{
    router_table = table;
    router_n = n;
}

size_t router_count(void)
{
    return router_n;
}

const struct route *router_at(size_t i)
{
    return &router_table[i];
}

size_t router_index(const struct route *route)
{
    return (size_t)(route - router_table);
}

/* Parses an {id} segment of length n: 1..2^53, digits only, no leading 0. */
static bool router_parse_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 16 || s[0] == '0')
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 9007199254740992LL)
        return false;
    *out = v;
    return true;
}

/* A {code} segment of length n: 1..ROUTER_CODE_MAX of [A-Za-z0-9_-]. */
static bool router_code_ok(const char *s, size_t n)
{
    if (n == 0 || n > ROUTER_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Matches path against pattern; fills params on success. */
static bool router_path_matches(const char *pattern, const char *path,
                                int64_t *params, int *nparams)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        size_t plen = strcspn(p, "/");
        size_t slen = strcspn(s, "/");
        if (plen == 4 && strncmp(p, "{id}", 4) == 0) {
            if (np >= ROUTER_MAX_PARAMS ||
                !router_parse_id(s, slen, &params[np]))
                return false;
            np++;
        } else if (plen == 6 && strncmp(p, "{code}", 6) == 0) {
            if (!router_code_ok(s, slen))
                return false;
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return false;
    *nparams = np;
    return true;
}

static const char *router_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "?";
    }
}

void router_label(size_t i, char *buf, size_t len)
{
    const struct route *rt = &router_table[i];
    snprintf(buf, len, "%s %s", router_method_name(rt->method), rt->pattern);
}

void router_access_label(size_t i, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{ACCESS_PLATFORM, "platform"},
                 {ACCESS_CUSTOMER, "customer"},
                 {ACCESS_OWNER, "owner"},
                 {ACCESS_OPERATOR, "operator"},
                 {ACCESS_FINANCE, "finance"}};
    unsigned access = router_table[i].access;
    snprintf(buf, len, "%s", access == ACCESS_PUBLIC ? "public" : "");
    size_t used = strlen(buf);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((access & names[k].bit) && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                     used ? "," : "", names[k].name);
}

enum router_match router_match(enum evhttp_cmd_type method, const char *path,
                               const struct route **route,
                               int64_t params[ROUTER_MAX_PARAMS], char *allow,
                               size_t allowlen)
{
    bool path_found = false;
    size_t used = 0;
    allow[0] = '\0';
    if (method == EVHTTP_REQ_HEAD)
        method = EVHTTP_REQ_GET; /* the reply leaves out the body */
    for (size_t i = 0; i < router_n; i++) {
        const struct route *rt = &router_table[i];
        int64_t found[ROUTER_MAX_PARAMS] = {0};
        int np = 0;
        if (!router_path_matches(rt->pattern, path, found, &np))
            continue;
        if (rt->method == method) {
            *route = rt;
            memcpy(params, found, sizeof found);
            return ROUTER_FOUND;
        }
        path_found = true;
        const char *name = router_method_name(rt->method);
        if (strstr(allow, name) == NULL) {
            int n = snprintf(allow + used, allowlen - used, "%s%s",
                             used ? ", " : "", name);
            if (n > 0 && (size_t)n < allowlen - used)
                used += (size_t)n;
        }
    }
    return path_found ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

const char *router_last_segment(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
