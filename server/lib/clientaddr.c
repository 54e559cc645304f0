/*
 * clientaddr.c - see clientaddr.h. inet_pton does the address grammar; this
 * file adds the ranges and the reading of X-Forwarded-For.
 */
#include "lib/clientaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char clientaddr_v4_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                       0, 0, 0, 0, 0xff, 0xff};

bool clientaddr_parse(const char *text, unsigned char out[16])
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        memcpy(out, clientaddr_v4_prefix, 12);
        memcpy(out + 12, &a4, 4);
        return true;
    }
    if (inet_pton(AF_INET6, text, &a6) == 1) {
        memcpy(out, &a6, 16);
        return true;
    }
    return false;
}

/* Copies the n bytes at s, without surrounding blanks, into buf[size]. */
static bool clientaddr_token(const char *s, size_t n, char *buf, size_t size)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= size)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

static bool clientaddr_parse_net(const char *text, struct clientaddr_net *net)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    if (!clientaddr_parse(buf, net->addr))
        return false;
    bool v4 = memcmp(net->addr, clientaddr_v4_prefix, 12) == 0 &&
              strchr(buf, ':') == NULL;
    int max = v4 ? 32 : 128;
    int bits = max;
    if (slash != NULL) {
        const char *d = slash + 1;
        if (*d == '\0' || strlen(d) > 3 || (d[0] == '0' && d[1] != '\0'))
            return false;
        bits = 0;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return false;
            bits = bits * 10 + (*d - '0');
        }
        if (bits > max)
            return false;
    }
    net->bits = v4 ? 96 + bits : bits;
    return true;
}

bool clientaddr_parse_proxies(const char *list, struct clientaddr_proxies *out)
{
    out->n = 0;
    const char *s = list;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return true;
    for (;;) {
        size_t n = strcspn(s, ",");
        char tok[64];
        if (out->n == CLIENTADDR_MAX_PROXIES ||
            !clientaddr_token(s, n, tok, sizeof tok) ||
            !clientaddr_parse_net(tok, &out->net[out->n]))
            return false;
        out->n++;
        if (s[n] == '\0')
            return true;
        s += n + 1;
    }
}

static bool clientaddr_in(const struct clientaddr_net *net,
                          const unsigned char addr[16])
{
    int full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (addr[full] & mask);
}

bool clientaddr_trusted(const struct clientaddr_proxies *p,
                        const unsigned char addr[16])
{
    for (int i = 0; i < p->n; i++)
        if (clientaddr_in(&p->net[i], addr))
            return true;
    return false;
}

bool clientaddr_resolve(const struct clientaddr_proxies *p, const char *peer,
                        const char *xff, unsigned char out[16])
{
    if (peer == NULL || !clientaddr_parse(peer, out))
        return false;
    if (xff == NULL || !clientaddr_trusted(p, out))
        return true;
    /* Right to left: each hop we trust vouches for the entry before it. */
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char tok[64];
        unsigned char hop[16];
        if (!clientaddr_token(xff + start, end - start, tok, sizeof tok) ||
            !clientaddr_parse(tok, hop))
            return true; /* unreadable: stay with the last trusted hop */
        memcpy(out, hop, 16);
        if (!clientaddr_trusted(p, hop))
            return true;
        end = start > 0 ? start - 1 : 0;
    }
    return true;
}

void clientaddr_limit_key(const unsigned char addr[16], unsigned char key[16])
{
    memcpy(key, addr, 16);
    if (memcmp(addr, clientaddr_v4_prefix, 12) != 0)
        memset(key + 8, 0, 8);
}
