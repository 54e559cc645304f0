/*
 * webhook_target.h - where a webhook URL may lead: the URL is parsed
 * (libcurl's URL parser, the one that will send), its scheme and host
 * checked against the allow-list, an internationalised host turned into
 * its ASCII (punycode) form, the host resolved on the event loop (evdns,
 * /etc/hosts included) and every address it resolves to checked
 * (webhook_rules.h). The answer names the URL to send (curl's own
 * rendering, with the ASCII host: libcurl then converts nothing, in any
 * locale), the host as libcurl connects to it, and one checked address,
 * which the sender pins the connection to, so that no second lookup can
 * lead elsewhere (DNS rebinding).
 *
 * A refused address, a name that does not resolve and a failed lookup
 * all answer the one sentence WEBHOOK_TARGET_REFUSED: the answer must not
 * tell what, or whether, a name resolves to through the server's resolver.
 */
#ifndef GROUPBUYD_WEBHOOK_TARGET_H
#define GROUPBUYD_WEBHOOK_TARGET_H

#include <stdbool.h>
#include <stddef.h>

struct evdns_base;
struct webhook_lookup;

#define WEBHOOK_TARGET_REFUSED "url: the address of this host is not allowed"
#define WEBHOOK_TARGET_URL_MAX 4096

struct webhook_target {
    char url[WEBHOOK_TARGET_URL_MAX]; /* as sent: curl's, host in ASCII */
    char host[256];                   /* ASCII, lower case, brackets removed */
    int port;
    bool literal;  /* host is an address: curl looks nothing up */
    char addr[64]; /* the checked address, numeric */
};

/* Checks what needs no lookup: an absolute http(s) URL without user
 * info, with a host (an internationalised one in its ASCII form); http
 * only to an allow-listed host. Fills t but for addr. On refusal writes a
 * sentence to err and returns false. */
bool webhook_url_check(const char *url, const char *allow_list,
                       struct webhook_target *t, char *err, size_t errlen);

/* error: NULL when target is good, else a sentence for a 400 or a
 * delivery's last_error. Called exactly once, unless cancelled. */
typedef void webhook_target_cb(void *arg, const struct webhook_target *target,
                               const char *error);

/* Starts the whole check (webhook_url_check, then the lookup). cb may run
 * before this returns (a numeric host, a refusal). Returns a handle while
 * a lookup is pending (cancel it with webhook_lookup_cancel, after which
 * cb will not run), else NULL. */
struct webhook_lookup *webhook_target_check(struct evdns_base *dns,
                                            const char *url,
                                            const char *allow_list,
                                            webhook_target_cb *cb, void *arg);
void webhook_lookup_cancel(struct webhook_lookup *l);

#endif
