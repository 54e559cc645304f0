/*
 * clientaddr.h - which client is asking: the socket peer, or behind
 * configured proxies the address they forwarded. Pure: no I/O.
 *
 * Without trusted proxies (the default) the client is the socket peer and
 * X-Forwarded-For is ignored: anyone can write that header. With
 * http_trusted_proxies set (addresses or CIDR ranges, comma-separated), a
 * request whose peer is one of them is attributed to the right-most entry
 * of X-Forwarded-For that is not itself a trusted proxy: every proxy
 * appends the address it received from, so entries to the left of the
 * first untrusted one were written by the client and prove nothing. A
 * missing or malformed header from a trusted proxy leaves the proxy as the
 * client (the safe side: one bucket for everything it cannot attribute).
 *
 * Addresses are kept as 16 bytes, IPv4 as IPv4-mapped IPv6. For limits an
 * IPv6 client is its /64, the block one subscriber normally holds, so a
 * host cannot walk its own prefix to escape a per-address limit.
 */
#ifndef GROUPBUYD_CLIENTADDR_H
#define GROUPBUYD_CLIENTADDR_H

#include <stdbool.h>

#define CLIENTADDR_MAX_PROXIES 32

struct clientaddr_net {
    unsigned char addr[16];
    int bits; /* prefix length over the 16 bytes (IPv4: 96 + its own) */
};

struct clientaddr_proxies {
    int n;
    struct clientaddr_net net[CLIENTADDR_MAX_PROXIES];
};

/* Parses one address, IPv4 dotted or IPv6 text, into 16 bytes. */
bool clientaddr_parse(const char *text, unsigned char out[16])
    __attribute__((warn_unused_result));

/* Parses "" (none) or a comma-separated list of addresses and CIDR ranges
 * ("10.0.0.0/8, ::1, 192.0.2.7"); false on any malformed entry, a prefix
 * too long for its family, or more than CLIENTADDR_MAX_PROXIES entries. */
bool clientaddr_parse_proxies(const char *list, struct clientaddr_proxies *out)
    __attribute__((warn_unused_result));

/* Whether addr lies in one of the trusted ranges. */
bool clientaddr_trusted(const struct clientaddr_proxies *p,
                        const unsigned char addr[16]);

/* The client of a request whose socket peer is `peer` (text; NULL or
 * malformed: false) and whose X-Forwarded-For is `xff` (may be NULL),
 * as described at the top. */
bool clientaddr_resolve(const struct clientaddr_proxies *p, const char *peer,
                        const char *xff, unsigned char out[16])
    __attribute__((warn_unused_result));

/* The key a per-client limit counts under: the address itself for IPv4,
 * its /64 for IPv6 (the rest zeroed). */
void clientaddr_limit_key(const unsigned char addr[16], unsigned char key[16]);

#endif
