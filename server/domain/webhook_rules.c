/*
 * webhook_rules.c - the SSRF address classes, the allow-list, the event
 * patterns and the retry schedule of outbound webhooks (webhook_rules.h).
 *
 * The address check is written from the IANA special-purpose registries:
 * everything that is not globally reachable unicast is refused, because a
 * delivery to it would reach the server's own network (a database, a
 * cloud metadata service at 169.254.169.254) on a distributor's say-so.
 */
#include "domain/webhook_rules.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static enum webhook_addr_class classify_v4(const uint8_t *a)
{
    uint8_t b0 = a[0], b1 = a[1], b2 = a[2];
    if (b0 == 0)
        return WEBHOOK_ADDR_UNSPECIFIED; /* 0.0.0.0/8: "this network" */
    if (b0 == 127)
        return WEBHOOK_ADDR_LOOPBACK;
    if (b0 == 10 || (b0 == 172 && (b1 & 0xf0) == 16) ||
        (b0 == 192 && b1 == 168))
        return WEBHOOK_ADDR_PRIVATE;
    if (b0 == 100 && (b1 & 0xc0) == 64)
        return WEBHOOK_ADDR_PRIVATE; /* 100.64/10: carrier-grade NAT */
    if (b0 == 169 && b1 == 254)
        return WEBHOOK_ADDR_LINK_LOCAL;
    if (b0 == 255 && b1 == 255 && b2 == 255 && a[3] == 255)
        return WEBHOOK_ADDR_MULTICAST; /* limited broadcast */
    if ((b0 & 0xf0) == 224)
        return WEBHOOK_ADDR_MULTICAST;
    if ((b0 & 0xf0) == 240)
        return WEBHOOK_ADDR_RESERVED;
    if (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2))
        return WEBHOOK_ADDR_RESERVED; /* IETF protocol, TEST-NET-1 */
    if (b0 == 192 && b1 == 88 && b2 == 99)
        return WEBHOOK_ADDR_RESERVED; /* 6to4 relay anycast: a tunnel */
    if (b0 == 198 && (b1 == 18 || b1 == 19))
        return WEBHOOK_ADDR_RESERVED; /* benchmarking */
    if ((b0 == 198 && b1 == 51 && b2 == 100) ||
        (b0 == 203 && b1 == 0 && b2 == 113))
        return WEBHOOK_ADDR_RESERVED; /* TEST-NET-2, -3 */
    return WEBHOOK_ADDR_PUBLIC;
}

static bool all_zero(const uint8_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != 0)
            return false;
    return true;
}

static enum webhook_addr_class classify_v6(const uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0,
                                      0, 0,    0,    0,    0, 0};
    if (all_zero(a, 16))
        return WEBHOOK_ADDR_UNSPECIFIED;
    if (all_zero(a, 15) && a[15] == 1)
        return WEBHOOK_ADDR_LOOPBACK;
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 ||
        all_zero(a, 12))
        return classify_v4(a + 12); /* ::ffff:a.b.c.d, 64:ff9b::, ::a.b.c.d */
    if (a[0] == 0x20 && a[1] == 0x02)
        return classify_v4(a + 2); /* 6to4 carries the IPv4 address */
    if (a[0] == 0xff)
        return WEBHOOK_ADDR_MULTICAST;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return WEBHOOK_ADDR_LINK_LOCAL;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return WEBHOOK_ADDR_PRIVATE; /* deprecated site-local fec0::/10 */
    if ((a[0] & 0xfe) == 0xfc)
        return WEBHOOK_ADDR_PRIVATE; /* unique local fc00::/7 */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return WEBHOOK_ADDR_RESERVED; /* documentation 2001:db8::/32 */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
        return WEBHOOK_ADDR_RESERVED; /* Teredo 2001::/32: a tunnel to an
                                       * IPv4 host it hides (obfuscated) */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0x02 &&
        a[4] == 0 && a[5] == 0)
        return WEBHOOK_ADDR_RESERVED; /* benchmarking 2001:2::/48 */
    if (a[0] == 0x01 && all_zero(a + 1, 7))
        return WEBHOOK_ADDR_RESERVED; /* discard-only 100::/64 */
    if ((a[0] & 0xe0) != 0x20)
        return WEBHOOK_ADDR_RESERVED; /* outside global unicast 2000::/3 */
    return WEBHOOK_ADDR_PUBLIC;
}

enum webhook_addr_class webhook_addr_classify(const uint8_t *addr, size_t len)
{
    if (len == 4)
        return classify_v4(addr);
    if (len == 16)
        return classify_v6(addr);
    return WEBHOOK_ADDR_RESERVED;
}

const char *webhook_addr_class_name(enum webhook_addr_class c)
{
    switch (c) {
    case WEBHOOK_ADDR_PUBLIC:
        return "a public address";
    case WEBHOOK_ADDR_LOOPBACK:
        return "a loopback address";
    case WEBHOOK_ADDR_PRIVATE:
        return "a private address";
    case WEBHOOK_ADDR_LINK_LOCAL:
        return "a link-local address";
    case WEBHOOK_ADDR_MULTICAST:
        return "a multicast or broadcast address";
    case WEBHOOK_ADDR_UNSPECIFIED:
        return "an unspecified address";
    case WEBHOOK_ADDR_RESERVED:
        return "a reserved address";
    }
    return "a reserved address";
}

bool webhook_host_allowed(const char *allow_list, const char *host)
{
    if (allow_list == NULL || host == NULL || *host == '\0')
        return false;
    size_t hlen = strlen(host);
    const char *p = allow_list;
    while (*p) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *s = p, *e = end;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        /* "[::1]" in the list names the same host as "::1" */
        if (e - s >= 2 && *s == '[' && e[-1] == ']') {
            s++;
            e--;
        }
        if ((size_t)(e - s) == hlen && strncasecmp(s, host, hlen) == 0)
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

/* The event types of API.md. */
static const char *const event_types[] = {"campaign.published",
                                          "campaign.opened",
                                          "campaign.tier_reached",
                                          "campaign.threshold_reached",
                                          "campaign.succeeded",
                                          "campaign.failed",
                                          "campaign.cancelled",
                                          "campaign.settled",
                                          "campaign.invitation",
                                          "participation.created",
                                          "participation.activated",
                                          "participation.expired",
                                          "participation.withdrawn",
                                          "participation.balance_due",
                                          "participation.paid",
                                          "participation.defaulted",
                                          "participation.refunded",
                                          "participation.voided",
                                          "order.shipped",
                                          "order.ready_for_pickup",
                                          "order.picked_up",
                                          "order.delivered",
                                          "after_sales.requested",
                                          "after_sales.approved",
                                          "after_sales.rejected",
                                          "refund.issued",
                                          "share.joined",
                                          "waitlist.promoted",
                                          "waitlist.expired",
                                          "question.asked",
                                          "question.answered",
                                          "complaint.opened",
                                          "complaint.replied",
                                          "complaint.resolved",
                                          NULL};

bool webhook_event_pattern_valid(const char *pattern)
{
    if (pattern == NULL)
        return false;
    if (strcmp(pattern, "*") == 0)
        return true;
    size_t n = strlen(pattern);
    bool family = n > 2 && strcmp(pattern + n - 2, ".*") == 0;
    for (const char *const *t = event_types; *t; t++) {
        if (!family && strcmp(*t, pattern) == 0)
            return true;
        /* "campaign.*" names a family when some type starts "campaign." */
        if (family && strncmp(*t, pattern, n - 1) == 0)
            return true;
    }
    return false;
}

bool webhook_event_matches(const char *pattern, const char *kind)
{
    if (strcmp(pattern, "*") == 0)
        return true;
    size_t n = strlen(pattern);
    if (n > 2 && strcmp(pattern + n - 2, ".*") == 0)
        return strncmp(kind, pattern, n - 1) == 0;
    return strcmp(pattern, kind) == 0;
}

int64_t webhook_backoff_ms(int attempts, int64_t base_ms, double u)
{
    if (attempts < 1)
        attempts = 1;
    if (base_ms < 1)
        base_ms = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempts && d < WEBHOOK_BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > WEBHOOK_BACKOFF_CAP_MS)
        d = WEBHOOK_BACKOFF_CAP_MS;
    if (!(u >= 0.0 && u < 1.0))
        u = 0.5;
    return (int64_t)((double)d * (0.8 + 0.4 * u));
}
