/* test_clientaddr.c - trusted-proxy lists and who the client is,
 * table-driven. */
#include <stdio.h>

#include "lib/clientaddr.h"
#include "unit.h"

struct list_case {
    const char *list;
    bool ok;
    int n;
};

static const struct list_case lists[] = {
    {"", true, 0},
    {"  ", true, 0},
    {"127.0.0.1", true, 1},
    {"10.0.0.0/8, 192.168.0.0/16 ,::1", true, 3},
    {"2001:db8::/32", true, 1},
    {"0.0.0.0/0", true, 1},
    {"10.0.0.0/33", false, 0},       /* too long for IPv4 */
    {"2001:db8::/129", false, 0},    /* too long for IPv6 */
    {"10.0.0.0/", false, 0},         /* empty prefix */
    {"10.0.0.0/08", false, 0},       /* not canonical */
    {"10.0.0.0/8x", false, 0},       /* junk */
    {"10.0.0.1,", false, 0},         /* empty entry */
    {",10.0.0.1", false, 0},         /* empty entry */
    {"proxy.example.com", false, 0}, /* names are not resolved */
    {"10.0.0.256", false, 0},
};

struct resolve_case {
    const char *proxies;
    const char *peer;
    const char *xff;
    const char *want; /* NULL: unresolved */
};

static const struct resolve_case resolves[] = {
    /* no proxies: the peer, whatever the header says */
    {"", "198.51.100.7", "203.0.113.1", "198.51.100.7"},
    {"", "198.51.100.7", NULL, "198.51.100.7"},
    /* an untrusted peer's header is ignored */
    {"10.0.0.0/8", "198.51.100.7", "203.0.113.1", "198.51.100.7"},
    /* a trusted proxy: the right-most untrusted entry */
    {"10.0.0.0/8", "10.1.2.3", "203.0.113.1", "203.0.113.1"},
    {"10.0.0.0/8", "10.1.2.3", "1.1.1.1, 203.0.113.1", "203.0.113.1"},
    {"10.0.0.0/8", "10.1.2.3", "1.1.1.1, 203.0.113.1, 10.9.9.9", "203.0.113.1"},
    /* a spoofed left part does not help the client */
    {"10.0.0.0/8", "10.1.2.3", "10.0.0.5, 203.0.113.9", "203.0.113.9"},
    /* every hop trusted: the left-most */
    {"10.0.0.0/8", "10.1.2.3", "10.0.0.5", "10.0.0.5"},
    /* no or unreadable header: the last trusted hop */
    {"10.0.0.0/8", "10.1.2.3", NULL, "10.1.2.3"},
    {"10.0.0.0/8", "10.1.2.3", "garbage", "10.1.2.3"},
    {"10.0.0.0/8", "10.1.2.3", "1.1.1.1, unknown", "10.1.2.3"},
    {"10.0.0.0/8", "10.1.2.3", "", "10.1.2.3"},
    /* IPv6 on both sides */
    {"::1", "::1", "2001:db8::5", "2001:db8::5"},
    {"127.0.0.1", "::1", "2001:db8::5", "::1"},
    /* no peer */
    {"", NULL, NULL, NULL},
    {"", "nonsense", NULL, NULL},
};

static void check_resolve(const struct resolve_case *c)
{
    struct clientaddr_proxies p;
    CHECK(clientaddr_parse_proxies(c->proxies, &p));
    unsigned char got[16], want[16];
    bool ok = clientaddr_resolve(&p, c->peer, c->xff, got);
    if (c->want == NULL) {
        CHECK_MSG(!ok, "peer %s", c->peer ? c->peer : "(null)");
        return;
    }
    CHECK(clientaddr_parse(c->want, want));
    CHECK_MSG(ok && memcmp(got, want, 16) == 0, "peer %s xff %s: want %s",
              c->peer, c->xff ? c->xff : "(null)", c->want);
}

static void check_limit_keys(void)
{
    unsigned char a[16], b[16], ka[16], kb[16];
    /* one /64: one key */
    CHECK(clientaddr_parse("2001:db8:1:2::1", a));
    CHECK(clientaddr_parse("2001:db8:1:2:ffff::9", b));
    clientaddr_limit_key(a, ka);
    clientaddr_limit_key(b, kb);
    CHECK(memcmp(ka, kb, 16) == 0);
    /* another /64: another key */
    CHECK(clientaddr_parse("2001:db8:1:3::1", b));
    clientaddr_limit_key(b, kb);
    CHECK(memcmp(ka, kb, 16) != 0);
    /* IPv4: every address its own */
    CHECK(clientaddr_parse("192.0.2.1", a));
    CHECK(clientaddr_parse("192.0.2.2", b));
    clientaddr_limit_key(a, ka);
    clientaddr_limit_key(b, kb);
    CHECK(memcmp(ka, kb, 16) != 0);
}

static void check_ranges(void)
{
    struct clientaddr_proxies p;
    unsigned char a[16];
    CHECK(clientaddr_parse_proxies("192.168.4.0/22, 2001:db8::/33", &p));
    CHECK(clientaddr_parse("192.168.7.255", a) && clientaddr_trusted(&p, a));
    CHECK(clientaddr_parse("192.168.8.0", a) && !clientaddr_trusted(&p, a));
    CHECK(clientaddr_parse("2001:db8:7fff::1", a) && clientaddr_trusted(&p, a));
    CHECK(clientaddr_parse("2001:db8:8000::1", a) &&
          !clientaddr_trusted(&p, a));
    /* an IPv4 range holds its IPv4-mapped IPv6 spelling too */
    CHECK(clientaddr_parse("::ffff:192.168.5.1", a) &&
          clientaddr_trusted(&p, a));
    /* a list at the maximum, and one past it */
    char buf[1024] = "";
    for (int i = 0; i < CLIENTADDR_MAX_PROXIES; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s10.0.0.%d",
                 i ? "," : "", i);
    CHECK(clientaddr_parse_proxies(buf, &p) && p.n == CLIENTADDR_MAX_PROXIES);
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ",10.0.1.1");
    CHECK(!clientaddr_parse_proxies(buf, &p));
}

int main(void)
{
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        struct clientaddr_proxies p;
        bool ok = clientaddr_parse_proxies(lists[i].list, &p);
        CHECK_MSG(ok == lists[i].ok, "\"%s\"", lists[i].list);
        if (ok && lists[i].ok)
            CHECK_INT_EQ(p.n, lists[i].n);
    }
    for (size_t i = 0; i < sizeof resolves / sizeof resolves[0]; i++)
        check_resolve(&resolves[i]);
    check_limit_keys();
    check_ranges();
    return unit_summary("clientaddr");
}
