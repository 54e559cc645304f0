/*
 * test_webhook_target.c - webhook_url_check (webhook_target.h): the URL
 * as it will be sent and the host as libcurl connects to it, for names,
 * internationalised names (in the C locale and in a UTF-8 one: the answer
 * must not depend on it), IPv4 and IPv6 literals; and the refusals. Also
 * outhttp's error classes (outhttp.h), which the delivery log shows
 * instead of curl's words.
 */
#include <curl/curl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "out/outhttp.h"
#include "out/webhook_target.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct url_case {
    const char *url, *allow;
    bool ok;
    const char *host, *sent; /* when ok */
    bool literal;
    int port;
};

static const struct url_case url_cases[] = {
    {"https://hooks.example.com/x?y=1", "", true, "hooks.example.com",
     "https://hooks.example.com/x?y=1", false, 443},
    {"https://Hooks.EXAMPLE.com:8443/", "", true, "hooks.example.com",
     "https://hooks.example.com:8443/", false, 8443},
    /* internationalised: punycode, lower case */
    {"https://bücher.example/h", "", true, "xn--bcher-kva.example",
     "https://xn--bcher-kva.example/h", false, 443},
    {"https://例子.测试/", "", true, "xn--fsqu00a.xn--0zwm56d",
     "https://xn--fsqu00a.xn--0zwm56d/", false, 443},
    /* UTS 46 maps full-width letters to ASCII: the name is "localhost",
     * which the allow-list and the address check must see as such */
    {"http://ｌｏｃａｌｈｏｓｔ:9000/h", "localhost", true, "localhost",
     "http://localhost:9000/h", false, 9000},
    {"http://ｌｏｃａｌｈｏｓｔ:9000/h", "", false, NULL, NULL, false, 0},
    /* a name that maps to an address is that address */
    {"https://①②⑦.0.0.1/", "", true, "127.0.0.1", "https://127.0.0.1/", true,
     443},
    {"https://0x7f.1/", "", true, "127.0.0.1", "https://127.0.0.1/", true, 443},
    /* IPv6 literals: the host without brackets, nothing to pin */
    {"https://[2606:4700:4700::1111]/h", "", true, "2606:4700:4700::1111",
     "https://[2606:4700:4700::1111]/h", true, 443},
    {"http://[::1]:8080/h", "::1", true, "::1", "http://[::1]:8080/h", true,
     8080},
    {"https://[::FFFF:7f00:1]/", "", true, "::ffff:7f00:1",
     "https://[::FFFF:7f00:1]/", true, 443},
    {"https://[fe80::1%25eth0]/", "", false, NULL, NULL, false, 0},
    /* refusals that need no lookup */
    {"http://example.com/", "", false, NULL, NULL, false, 0},
    {"ftp://example.com/", "", false, NULL, NULL, false, 0},
    {"https://user:pw@example.com/", "", false, NULL, NULL, false, 0},
    {"//example.com/", "", false, NULL, NULL, false, 0},
    {"https://xn--zz.example/", "", true, "xn--zz.example",
     "https://xn--zz.example/", false, 443},
    {"https://a\xe2\x80\x8d"
     "b.example/",
     "", false, NULL, NULL, false, 0},
    {"https://example.com:0/", "", false, NULL, NULL, false, 0},
};

static void test_urls(const char *locale)
{
    for (size_t i = 0; i < N_ELEMS(url_cases); i++) {
        const struct url_case *c = &url_cases[i];
        struct webhook_target t;
        char err[256] = "";
        bool ok = webhook_url_check(c->url, c->allow, &t, err, sizeof err);
        CHECK_MSG(ok == c->ok, "%s (%s): %s", c->url, locale, err);
        if (!ok || !c->ok) {
            CHECK_MSG(ok || err[0] != '\0', "%s: no reason", c->url);
            continue;
        }
        CHECK_MSG(strcmp(t.host, c->host) == 0, "%s (%s): host %s", c->url,
                  locale, t.host);
        CHECK_MSG(strcmp(t.url, c->sent) == 0, "%s (%s): sent %s", c->url,
                  locale, t.url);
        CHECK_MSG(t.literal == c->literal, "%s: literal %d", c->url, t.literal);
        CHECK_MSG(t.port == c->port, "%s: port %d", c->url, t.port);
    }
}

struct class_case {
    CURLcode code;
    enum outhttp_error want;
    const char *text;
};

static const struct class_case class_cases[] = {
    {CURLE_OK, OUTHTTP_OK, "ok"},
    {CURLE_OPERATION_TIMEDOUT, OUTHTTP_TIMEOUT, "timeout"},
    {CURLE_COULDNT_CONNECT, OUTHTTP_REFUSED, "connection refused"},
    {CURLE_PEER_FAILED_VERIFICATION, OUTHTTP_TLS, "TLS failure"},
    {CURLE_SSL_CONNECT_ERROR, OUTHTTP_TLS, "TLS failure"},
    {CURLE_WRITE_ERROR, OUTHTTP_TOO_LARGE, "response too large"},
    {CURLE_RECV_ERROR, OUTHTTP_FAILED, "connection failed"},
    {CURLE_GOT_NOTHING, OUTHTTP_FAILED, "connection failed"},
    {CURLE_UNSUPPORTED_PROTOCOL, OUTHTTP_FAILED, "connection failed"},
    {CURLE_WEIRD_SERVER_REPLY, OUTHTTP_FAILED, "connection failed"},
};

static void test_error_classes(void)
{
    for (size_t i = 0; i < N_ELEMS(class_cases); i++) {
        const struct class_case *c = &class_cases[i];
        enum outhttp_error got = outhttp_error_class(c->code);
        CHECK_MSG(got == c->want, "curl code %d: %d", c->code, got);
        CHECK_MSG(strcmp(outhttp_error_text(got), c->text) == 0,
                  "curl code %d: %s", c->code, outhttp_error_text(got));
    }
    CHECK(strcmp(outhttp_error_text(OUTHTTP_ADDRESS), "address not allowed") ==
          0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_urls("C");
    if (setlocale(LC_ALL, "C.UTF-8") != NULL)
        test_urls("C.UTF-8");
    else
        CHECK_MSG(false, "no C.UTF-8 locale to test under");
    setlocale(LC_ALL, "C");
    test_error_classes();
    curl_global_cleanup();
    return unit_summary("webhook_target");
}
