/*
 * test_webhook_rules.c - webhook_rules.h: the SSRF address classes (a
 * table of addresses in text form, parsed with inet_pton), the
 * allow-list, the event patterns and the retry schedule.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "domain/webhook_rules.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct addr_case {
    const char *text;
    enum webhook_addr_class want;
};

static const struct addr_case addr_cases[] = {
    {"93.184.216.34", WEBHOOK_ADDR_PUBLIC},
    {"8.8.8.8", WEBHOOK_ADDR_PUBLIC},
    {"127.0.0.1", WEBHOOK_ADDR_LOOPBACK},
    {"127.255.255.254", WEBHOOK_ADDR_LOOPBACK},
    {"10.0.0.1", WEBHOOK_ADDR_PRIVATE},
    {"172.16.0.1", WEBHOOK_ADDR_PRIVATE},
    {"172.31.255.255", WEBHOOK_ADDR_PRIVATE},
    {"172.32.0.1", WEBHOOK_ADDR_PUBLIC},
    {"172.15.255.255", WEBHOOK_ADDR_PUBLIC},
    {"192.168.1.1", WEBHOOK_ADDR_PRIVATE},
    {"100.64.0.1", WEBHOOK_ADDR_PRIVATE},
    {"100.128.0.1", WEBHOOK_ADDR_PUBLIC},
    {"169.254.169.254", WEBHOOK_ADDR_LINK_LOCAL},
    {"224.0.0.1", WEBHOOK_ADDR_MULTICAST},
    {"239.255.255.250", WEBHOOK_ADDR_MULTICAST},
    {"255.255.255.255", WEBHOOK_ADDR_MULTICAST},
    {"0.0.0.0", WEBHOOK_ADDR_UNSPECIFIED},
    {"0.1.2.3", WEBHOOK_ADDR_UNSPECIFIED},
    {"240.0.0.1", WEBHOOK_ADDR_RESERVED},
    {"192.0.2.10", WEBHOOK_ADDR_RESERVED},
    {"198.18.0.1", WEBHOOK_ADDR_RESERVED},
    {"192.88.99.1", WEBHOOK_ADDR_RESERVED}, /* the 6to4 relay anycast */
    {"192.88.99.255", WEBHOOK_ADDR_RESERVED},
    {"192.88.98.1", WEBHOOK_ADDR_PUBLIC},
    {"192.88.100.1", WEBHOOK_ADDR_PUBLIC},
    {"::", WEBHOOK_ADDR_UNSPECIFIED},
    {"::1", WEBHOOK_ADDR_LOOPBACK},
    {"::ffff:127.0.0.1", WEBHOOK_ADDR_LOOPBACK},
    {"::ffff:10.0.0.1", WEBHOOK_ADDR_PRIVATE},
    {"::ffff:169.254.169.254", WEBHOOK_ADDR_LINK_LOCAL},
    {"::ffff:93.184.216.34", WEBHOOK_ADDR_PUBLIC},
    {"64:ff9b::7f00:1", WEBHOOK_ADDR_LOOPBACK},
    {"2002:7f00:1::1", WEBHOOK_ADDR_LOOPBACK},
    {"2002:5db8:d822::1", WEBHOOK_ADDR_PUBLIC},
    {"fe80::1", WEBHOOK_ADDR_LINK_LOCAL},
    {"fec0::1", WEBHOOK_ADDR_PRIVATE},
    {"fc00::1", WEBHOOK_ADDR_PRIVATE},
    {"fd12:3456::1", WEBHOOK_ADDR_PRIVATE},
    {"ff02::1", WEBHOOK_ADDR_MULTICAST},
    {"2001:db8::1", WEBHOOK_ADDR_RESERVED},
    /* Teredo: the server at 65.54.227.120, the client 192.0.2.45 hidden
     * (inverted) in the last 32 bits; and a Teredo address hiding
     * 127.0.0.1 */
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", WEBHOOK_ADDR_RESERVED},
    {"2001::ffff:ffff:80ff:fffe", WEBHOOK_ADDR_RESERVED},
    {"2001:0:ffff::1", WEBHOOK_ADDR_RESERVED},
    {"2001:200::1", WEBHOOK_ADDR_PUBLIC}, /* past 2001::/23 */
    {"2001:2::1", WEBHOOK_ADDR_RESERVED}, /* benchmarking 2001:2::/48 */
    {"2001:2:1::1", WEBHOOK_ADDR_PUBLIC},
    {"2001:4860:4860::8888", WEBHOOK_ADDR_PUBLIC},
    {"2002:c058:6301::1", WEBHOOK_ADDR_RESERVED}, /* 6to4 of 192.88.99.1 */
    {"2606:4700:4700::1111", WEBHOOK_ADDR_PUBLIC},
    {"2a00:1450:4001::200e", WEBHOOK_ADDR_PUBLIC},
    {"4000::1", WEBHOOK_ADDR_RESERVED},
};

static void test_addresses(void)
{
    for (size_t i = 0; i < N_ELEMS(addr_cases); i++) {
        const struct addr_case *c = &addr_cases[i];
        uint8_t buf[16];
        size_t len = strchr(c->text, ':') ? 16 : 4;
        int ok = inet_pton(len == 16 ? AF_INET6 : AF_INET, c->text, buf);
        CHECK_MSG(ok == 1, "%s does not parse", c->text);
        enum webhook_addr_class got = webhook_addr_classify(buf, len);
        CHECK_MSG(got == c->want, "%s: got %d (%s), want %d", c->text, got,
                  webhook_addr_class_name(got), c->want);
    }
    uint8_t odd[5] = {1, 2, 3, 4, 5};
    CHECK(webhook_addr_classify(odd, 5) == WEBHOOK_ADDR_RESERVED);
}

struct allow_case {
    const char *list, *host;
    bool want;
};

static const struct allow_case allow_cases[] = {
    {"127.0.0.1", "127.0.0.1", true},
    {"", "127.0.0.1", false},
    {NULL, "127.0.0.1", false},
    {"hooks.internal, 127.0.0.1", "127.0.0.1", true},
    {"hooks.internal , erp.local", "ERP.local", true},
    {"hooks.internal", "hooks.internal.evil.com", false},
    {"hooks.internal", "hooks.interna", false},
    {"[::1]", "::1", true},
    {"::1", "::1", true},
    {"127.0.0.1", "127.0.0.10", false},
    {",,", "", false},
    {"a,,b", "b", true},
};

static void test_allow_list(void)
{
    for (size_t i = 0; i < N_ELEMS(allow_cases); i++) {
        const struct allow_case *c = &allow_cases[i];
        CHECK_MSG(webhook_host_allowed(c->list, c->host) == c->want,
                  "list '%s' host '%s'", c->list ? c->list : "(null)", c->host);
    }
}

struct pattern_case {
    const char *pattern;
    bool valid;
};

static const struct pattern_case pattern_cases[] = {
    {"*", true},
    {"participation.*", true},
    {"campaign.*", true},
    {"order.*", true},
    {"after_sales.*", true},
    {"refund.*", true},
    {"campaign.succeeded", true},
    {"refund.issued", true},
    {"participation.voided", true},
    {"share.joined", true},
    {"share.*", true},
    {"waitlist.*", true},
    {"waitlist.promoted", true},
    {"waitlist.expired", true},
    {"waitlist.left", false},
    {"question.asked", true},
    {"question.answered", true},
    {"complaint.*", true},
    {"complaint.opened", true},
    {"complaint.replied", true},
    {"complaint.resolved", true},
    {"participation", false},
    {"participation.", false},
    {"payment.*", false},
    {"campaign.succeede", false},
    {".*", false},
    {"", false},
    {"campaign.**", false},
};

struct match_case {
    const char *pattern, *kind;
    bool want;
};

static const struct match_case match_cases[] = {
    {"*", "order.shipped", true},
    {"participation.*", "participation.paid", true},
    {"participation.*", "campaign.succeeded", false},
    {"campaign.succeeded", "campaign.succeeded", true},
    {"campaign.succeeded", "campaign.settled", false},
    {"campaign.*", "campaign.invitation", true},
};

static void test_patterns(void)
{
    for (size_t i = 0; i < N_ELEMS(pattern_cases); i++)
        CHECK_MSG(webhook_event_pattern_valid(pattern_cases[i].pattern) ==
                      pattern_cases[i].valid,
                  "pattern '%s'", pattern_cases[i].pattern);
    CHECK(!webhook_event_pattern_valid(NULL));
    for (size_t i = 0; i < N_ELEMS(match_cases); i++)
        CHECK_MSG(webhook_event_matches(match_cases[i].pattern,
                                        match_cases[i].kind) ==
                      match_cases[i].want,
                  "'%s' ~ '%s'", match_cases[i].pattern, match_cases[i].kind);
}

struct backoff_case {
    int attempts;
    int64_t base_ms;
    double u;
    int64_t want;
};

static const struct backoff_case backoff_cases[] = {
    {1, 10000, 0.5, 10000}, /* first retry after about 10 s */
    {1, 10000, 0.0, 8000},  /* jitter: 0.8 .. 1.2 */
    {1, 10000, 0.999999, 11999},
    {2, 10000, 0.5, 20000},
    {5, 10000, 0.5, 160000},
    {9, 10000, 0.5, 2560000},
    {10, 10000, 0.5, 3600000}, /* capped at one hour */
    {60, 10000, 0.5, 3600000},
    {1000, 10000, 0.5, 3600000},
    {0, 10000, 0.5, 10000},
    {3, 50, 0.5, 200}, /* tests run with a small base */
    {1, 10000, -1.0, 10000},
};

static void test_backoff(void)
{
    for (size_t i = 0; i < N_ELEMS(backoff_cases); i++) {
        const struct backoff_case *c = &backoff_cases[i];
        int64_t got = webhook_backoff_ms(c->attempts, c->base_ms, c->u);
        CHECK_MSG(got == c->want, "attempts %d base %" PRId64 " u %g: %" PRId64,
                  c->attempts, c->base_ms, c->u, got);
    }
    /* within 24 h at a base of 10 s: about 30 tries */
    int64_t t = 0;
    int tries = 0;
    while (t < 86400LL * 1000) {
        tries++;
        t += webhook_backoff_ms(tries, 10000, 0.5);
    }
    CHECK_MSG(tries >= 25 && tries <= 35, "tries in 24 h: %d", tries);
}

int main(void)
{
    test_addresses();
    test_allow_list();
    test_patterns();
    test_backoff();
    return unit_summary("webhook_rules");
}
