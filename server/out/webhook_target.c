/*
 * webhook_target.c - the URL check and the checked lookup of a webhook's
 * host (webhook_target.h).
 */
#include "out/webhook_target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "domain/webhook_rules.h"
#include "lib/log.h"

struct webhook_lookup {
    struct evdns_getaddrinfo_request *req;
    webhook_target_cb *cb;
    void *arg;
    bool allowed; /* host allow-listed: internal addresses accepted */
    bool cancelled;
    struct webhook_target t;
};

/* The ASCII form of a host with bytes beyond ASCII (UTF-8, as JSON
 * brought it): IDNA 2008 with the UTS 46 mapping, as libcurl does it, but
 * from UTF-8 whatever the locale. Lower case either way. NULL when it is
 * not a domain name; free() the answer. */
static char *ascii_host(const char *host)
{
    bool plain = true;
    for (const unsigned char *c = (const unsigned char *)host; *c; c++)
        plain = plain && *c < 0x80;
    if (plain) {
        char *out = strdup(host);
        for (char *c = out; c && *c; c++)
            *c = (char)tolower((unsigned char)*c);
        return out;
    }
    uint8_t *out = NULL;
    if (idn2_lookup_u8((const uint8_t *)host, &out,
                       IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
        idn2_free(out);
        return NULL;
    }
    char *copy = strdup((const char *)out);
    idn2_free(out);
    return copy;
}

/* Parses url into u, and reads its scheme, host and port. */
static bool url_parts(CURLU *u, const char *url, char **scheme, char **host,
                      char **port)
{
    return curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) ==
               CURLUE_OK;
}

bool webhook_url_check(const char *url, const char *allow_list,
                       struct webhook_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    CURLU *u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "url cannot be checked now");
        return false;
    }
    char *scheme = NULL, *h = NULL, *p = NULL, *user = NULL, *pass = NULL;
    char *ascii = NULL, *sent = NULL;
    bool ok = false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        snprintf(err, errlen,
                 "url must be an absolute http:// or https:// URL");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        snprintf(err, errlen, "url must not hold user information");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
        snprintf(err, errlen, "url must name a host");
        goto done;
    }
    char *zone = NULL;
    if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
        curl_free(zone);
        snprintf(err, errlen, "url must not name an IPv6 zone");
        goto done;
    }
    if (h[0] != '[') {
        /* a name (or IPv4): the form libcurl will connect to, and the URL
         * with it, which curl parses again as it sends (so that a name
         * that maps to an address, "①②⑦.0.0.1", is that address) */
        ascii = ascii_host(h);
        if (ascii == NULL) {
            snprintf(err, errlen, "url's host is not a valid domain name");
            goto done;
        }
        if (curl_url_set(u, CURLUPART_HOST, ascii, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &sent, 0) != CURLUE_OK) {
            snprintf(err, errlen, "url's host is not a valid domain name");
            goto done;
        }
    } else if (curl_url_get(u, CURLUPART_URL, &sent, 0) != CURLUE_OK) {
        snprintf(err, errlen, "url must name a host");
        goto done;
    }
    curl_free(h);
    h = NULL;
    if (strlen(sent) >= sizeof t->url) {
        snprintf(err, errlen, "url is too long");
        goto done;
    }
    snprintf(t->url, sizeof t->url, "%s", sent);
    curl_free(sent);
    sent = NULL;
    /* the URL as curl will read it: the host it connects to, and the URL
     * in curl's own rendering of it */
    if (!url_parts(u, t->url, &scheme, &h, &p) ||
        curl_url_get(u, CURLUPART_URL, &sent, 0) != CURLUE_OK ||
        strlen(sent) >= sizeof t->url) {
        snprintf(err, errlen, "url must name a host");
        goto done;
    }
    snprintf(t->url, sizeof t->url, "%s", sent);
    size_t n = strlen(h);
    const char *bare = h;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        bare = h + 1;
        if (strchr(bare, '%')) {
            snprintf(err, errlen, "url must not name an IPv6 zone");
            goto done;
        }
        t->literal = true;
    } else {
        struct in_addr v4;
        t->literal = inet_pton(AF_INET, bare, &v4) == 1;
    }
    if (strlen(bare) >= sizeof t->host || *bare == '\0') {
        snprintf(err, errlen, "url's host is too long");
        goto done;
    }
    for (size_t i = 0; bare[i]; i++)
        t->host[i] = (char)tolower((unsigned char)bare[i]);
    bool allowed = webhook_host_allowed(allow_list, t->host);
    if (strcasecmp(scheme, "https") != 0 &&
        !(strcasecmp(scheme, "http") == 0 && allowed)) {
        snprintf(err, errlen,
                 "url must be https://, or http:// to a host in "
                 "webhooks.allow_hosts");
        goto done;
    }
    t->port = atoi(p);
    ok = t->port > 0 && t->port <= 65535;
    if (!ok)
        snprintf(err, errlen, "url's port is out of range");
done:
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_free(user);
    curl_free(pass);
    curl_free(sent);
    free(ascii);
    curl_url_cleanup(u);
    return ok;
}

/* Checks every address of the answer; keeps the first. The refusal says
 * no more than WEBHOOK_TARGET_REFUSED; the server's log says why. */
static bool check_addresses(struct webhook_lookup *l,
                            const struct evutil_addrinfo *ai)
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
            log_info("webhooks: %s resolves to %s, %s: refused", l->t.host,
                     text, webhook_addr_class_name(c));
            return false;
        }
        if (l->t.addr[0] == '\0')
            snprintf(l->t.addr, sizeof l->t.addr, "%s", text);
    }
    if (l->t.addr[0] == '\0')
        log_info("webhooks: %s has no address", l->t.host);
    return l->t.addr[0] != '\0';
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
    bool good;
    if (result != 0) {
        log_info("webhooks: %s cannot be resolved: %s", l->t.host,
                 evutil_gai_strerror(result));
        good = false;
    } else {
        good = check_addresses(l, res);
    }
    if (res)
        evutil_freeaddrinfo(res);
    l->cb(l->arg, good ? &l->t : NULL, good ? NULL : WEBHOOK_TARGET_REFUSED);
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
    if (!webhook_url_check(url, allow_list, &l->t, err, sizeof err)) {
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
