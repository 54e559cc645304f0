/*
 * webhook_rules.h - the pure rules of outbound webhooks: which addresses a
 * delivery may reach (the SSRF guard), which hosts the allow-list names,
 * which event patterns an endpoint may subscribe to, and the retry
 * schedule. No I/O: the callers resolve names and send requests.
 */
#ifndef GROUPBUYD_WEBHOOK_RULES_H
#define GROUPBUYD_WEBHOOK_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why an address is refused, or WEBHOOK_ADDR_PUBLIC. */
enum webhook_addr_class {
    WEBHOOK_ADDR_PUBLIC = 0,
    WEBHOOK_ADDR_LOOPBACK,
    WEBHOOK_ADDR_PRIVATE,     /* RFC 1918, fc00::/7, 100.64/10, ... */
    WEBHOOK_ADDR_LINK_LOCAL,  /* 169.254/16 (cloud metadata), fe80::/10 */
    WEBHOOK_ADDR_MULTICAST,   /* 224/4, ff00::/8, 255.255.255.255 */
    WEBHOOK_ADDR_UNSPECIFIED, /* 0.0.0.0/8, :: */
    WEBHOOK_ADDR_RESERVED,    /* documentation, benchmarking, 240/4,
                               * tunnels: Teredo, the 6to4 relay */
};

/* Classifies an IPv4 address (4 bytes, network order) or an IPv6 address
 * (16 bytes). IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16) IPv6 addresses are classified by the IPv4 address they
 * carry, so that ::ffff:127.0.0.1 is loopback. */
enum webhook_addr_class webhook_addr_classify(const uint8_t *addr, size_t len);

/* A sentence naming the class ("a loopback address"). */
const char *webhook_addr_class_name(enum webhook_addr_class c);

/* True when host (a URL's host, brackets removed for IPv6) is in the
 * comma-separated list (entries trimmed, compared case-insensitively). */
bool webhook_host_allowed(const char *allow_list, const char *host);

/* True when pattern is an event type of API.md, a family "prefix.*" of
 * them, or "*". */
bool webhook_event_pattern_valid(const char *pattern);

/* True when an event of type kind matches pattern ("*", "family.*" or the
 * exact type). */
bool webhook_event_matches(const char *pattern, const char *kind);

/* The delay before the next try after `attempts` failed tries (1 = the
 * first failed): base_ms * 2^(attempts-1), at most WEBHOOK_BACKOFF_CAP_MS,
 * times a jitter factor from 0.8 to 1.2 taken from u in [0, 1). */
#define WEBHOOK_BACKOFF_CAP_MS (3600LL * 1000)
int64_t webhook_backoff_ms(int attempts, int64_t base_ms, double u);

#endif
