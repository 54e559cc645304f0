/*
 * webhook_target.c - the URL check and the checked lookup of a webhook's
 * host (webhook_target.h).
 */
#include "out/webhook_target.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "domain/webhook_rules.h"

struct webhook_lookup {
    struct evdns_getaddrinfo_request *req;
    webhook_target_cb *cb;
    void *arg;
    bool allowed; /* host allow-listed: internal addresses accepted */
    bool cancelled;
    struct webhook_target t;
};

bool webhook_url_check(const char *url, const char *allow_list, char *host,
                       size_t hostlen, int *port, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "url cannot be checked now");
        return false;
    }
    char *scheme = NULL, *h = NULL, *p = NULL, *user = NULL, *pass = NULL;
    bool ok = false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        snprintf(err, errlen,
                 "url must be an absolute http:// or https:// URL");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "url must name a host");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        snprintf(err, errlen, "url must not hold user information");
        goto done;
    }
    size_t n = strlen(h);
    const char *bare = h;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        bare = h + 1;
        char *zone = strchr(h, '%');
        if (zone) {
            snprintf(err, errlen, "url must not name an IPv6 zone");
            goto done;
        }
    }
    if (strlen(bare) >= hostlen || *bare == '\0') {
        snprintf(err, errlen, "url's host is too long");
        goto done;
    }
    bool allowed = webhook_host_allowed(allow_list, bare);
    if (strcasecmp(scheme, "https") != 0 &&
        !(strcasecmp(scheme, "http") == 0 && allowed)) {
        snprintf(err, errlen,
                 "url must be https://, or http:// to a host in "
                 "webhooks.allow_hosts");
        goto done;
    }
    snprintf(host, hostlen, "%s", bare);
    *port = atoi(p);
    ok = *port > 0 && *port <= 65535;
    if (!ok)
        snprintf(err, errlen, "url's port is out of range");
done:
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return ok;
}

/* Checks every address of the answer; keeps the first. */
static const char *check_addresses(struct webhook_lookup *l,
                                   const struct evutil_addrinfo *ai, char *err,
                                   size_t errlen)
{
    l->t.addr[0] = '\0';
    for (; ai; ai = ai->ai_next) {
        const uint8_t *bytes;
        size_t len;
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *sa = (const void *)ai->ai_addr;
            bytes = (const uint8_t *)&sa->sin_addr;
            len = 4;
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *sa = (const void *)ai->ai_addr;
            bytes = sa->sin6_addr.s6_addr;
            len = 16;
        } else {
            continue;
        }
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(ai->ai_family, bytes, text, sizeof text) == NULL)
            continue;
        enum webhook_addr_class c = webhook_addr_classify(bytes, len);
        if (c != WEBHOOK_ADDR_PUBLIC && !l->allowed) {
            snprintf(err, errlen,
                     "url's host %s resolves to %s (%s); only hosts in "
                     "webhooks.allow_hosts may",
                     l->t.host, text, webhook_addr_class_name(c));
            return err;
        }
        if (l->t.addr[0] == '\0')
            snprintf(l->t.addr, sizeof l->t.addr, "%s", text);
    }
    if (l->t.addr[0] == '\0') {
        snprintf(err, errlen, "url's host %s has no address", l->t.host);
        return err;
    }
    return NULL;
}

static void lookup_done(int result, struct evutil_addrinfo *res, void *arg)
{
    struct webhook_lookup *l = arg;
    if (result == EVUTIL_EAI_CANCEL || l->cancelled) {
        if (res)
            evutil_freeaddrinfo(res);
        free(l);
        return;
    }
    char err[512];
    const char *error;
    if (result != 0) {
        snprintf(err, sizeof err, "url's host %s cannot be resolved: %s",
                 l->t.host, evutil_gai_strerror(result));
        error = err;
    } else {
        error = check_addresses(l, res, err, sizeof err);
    }
    if (res)
        evutil_freeaddrinfo(res);
    l->cb(l->arg, error ? NULL : &l->t, error);
    free(l);
}

struct webhook_lookup *webhook_target_check(struct evdns_base *dns,
                                            const char *url,
                                            const char *allow_list,
                                            webhook_target_cb *cb, void *arg)
{
    struct webhook_lookup *l = calloc(1, sizeof *l);
    char err[512];
    if (l == NULL) {
        cb(arg, NULL, "out of memory");
        return NULL;
    }
    if (!webhook_url_check(url, allow_list, l->t.host, sizeof l->t.host,
                           &l->t.port, err, sizeof err)) {
        free(l);
        cb(arg, NULL, err);
        return NULL;
    }
    l->cb = cb;
    l->arg = arg;
    l->allowed = webhook_host_allowed(allow_list, l->t.host);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* lookup_done frees l, possibly before this returns (a numeric host
     * answers at once): req is only kept when the lookup is pending */
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(dns, l->t.host, NULL, &hints, lookup_done, l);
    if (req == NULL)
        return NULL;
    l->req = req;
    return l;
}

void webhook_lookup_cancel(struct webhook_lookup *l)
{
    if (l == NULL)
        return;
    l->cancelled = true;
    evdns_getaddrinfo_cancel(l->req);
}
