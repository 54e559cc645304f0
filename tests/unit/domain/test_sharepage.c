/*
 * test_sharepage.c - a share link's page: the offer's line for each state
 * of a campaign (open with a next tier and people still needed, threshold
 * reached, last tier, counted in units, scheduled, closed), the page's tags
 * with every value escaped so that a hostile title cannot leave its
 * attribute or element, og:url with and without an origin, and the
 * snprintf-like sizes.
 */
#include "domain/sharepage.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static struct sharepage base(void)
{
    struct sharepage p = {.code = "abcdefgh2345",
                          .campaign_id = 7,
                          .title = "五常大米 5kg",
                          .status = "open",
                          .per_unit = false,
                          .price_cents = 8900,
                          .has_next = true,
                          .next_price_cents = 7900,
                          .next_needed = 38,
                          .participants = 12,
                          .min_participants = 17,
                          .public_url = ""};
    return p;
}

static void test_description(void)
{
    struct sharepage p;
    char buf[256];

    p = base();
    sharepage_description(&p, buf, sizeof buf);
    CHECK_STR_EQ(buf, "现价 ¥89.00 · 再 38 人享 ¥79.00 · 还差 5 人成团");

    p = base();
    p.participants = 17; /* threshold reached */
    sharepage_description(&p, buf, sizeof buf);
    CHECK_STR_EQ(buf, "现价 ¥89.00 · 再 38 人享 ¥79.00 · 已成团");

    p = base();
    p.has_next = false; /* the last tier */
    p.participants = 40;
    sharepage_description(&p, buf, sizeof buf);
    CHECK_STR_EQ(buf, "现价 ¥89.00 · 已成团");

    p = base();
    p.per_unit = true;
    p.next_needed = 5;
    sharepage_description(&p, buf, sizeof buf);
    CHECK_STR_EQ(buf, "现价 ¥89.00 · 再 5 件享 ¥79.00 · 还差 5 人成团");

    p = base();
    p.status = "scheduled";
    p.participants = 0;
    p.min_participants = 1;
    sharepage_description(&p, buf, sizeof buf);
    CHECK_STR_EQ(buf,
                 "即将开始 · 现价 ¥89.00 · 再 38 人享 ¥79.00 · 还差 1 人成团");

    static const char *const closed[] = {"succeeded", "failed", "cancelled"};
    for (size_t i = 0; i < 3; i++) {
        p = base();
        p.status = closed[i];
        sharepage_description(&p, buf, sizeof buf);
        CHECK_STR_EQ(buf, "已结束");
    }

    /* like snprintf: the length needed, what fits written and ended */
    p = base();
    size_t need = sharepage_description(&p, NULL, 0);
    CHECK_INT_EQ(need,
                 strlen("现价 ¥89.00 · 再 38 人享 ¥79.00 · 还差 5 人成团"));
    char small[8];
    CHECK_INT_EQ(sharepage_description(&p, small, sizeof small), need);
    CHECK(strlen(small) < sizeof small);
}

/* The page of p, malloc'd. */
static char *page_of(const struct sharepage *p)
{
    size_t need = sharepage_html(p, NULL, 0);
    char *out = malloc(need + 1);
    CHECK_INT_EQ(sharepage_html(p, out, need + 1), need);
    CHECK_INT_EQ(strlen(out), need);
    return out;
}

static void test_page(void)
{
    struct sharepage p = base();
    char *html = page_of(&p);
    CHECK(strstr(html, "<title>五常大米 5kg</title>") != NULL);
    CHECK(
        strstr(html, "<meta property=\"og:title\" content=\"五常大米 5kg\">") !=
        NULL);
    CHECK(strstr(html,
                 "<meta property=\"og:description\" content=\"现价 ¥89.00 · 再 "
                 "38 人享 ¥79.00 · 还差 5 人成团\">") != NULL);
    CHECK(strstr(html,
                 "<meta property=\"og:url\" content=\"/s/abcdefgh2345\">") !=
          NULL);
    CHECK(strstr(html, "<meta property=\"og:type\" content=\"website\">") !=
          NULL);
    CHECK(strstr(html, "href=\"/?share=abcdefgh2345#/c/7\"") != NULL);
    CHECK(strstr(html, "<script type=\"module\" src=\"/shop/share.js\">") !=
          NULL);
    /* no inline script, no inline style */
    CHECK(strstr(html, "<script>") == NULL);
    CHECK(strstr(html, "style=") == NULL);
    free(html);

    p.public_url = "https://tuan.example.com";
    html = page_of(&p);
    CHECK(strstr(html, "content=\"https://tuan.example.com/s/abcdefgh2345\"") !=
          NULL);
    free(html);
}

/* A title made to break out of the tags stays text. */
static void test_hostile_title(void)
{
    struct sharepage p = base();
    p.title = "\"><script>alert('x')</script><meta property=\"og:title\" "
              "content=\"fake & co";
    char *html = page_of(&p);
    CHECK(strstr(html, "<script>alert") == NULL);
    CHECK(strstr(html, "content=\"fake") == NULL);
    CHECK(strstr(html,
                 "<title>&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script"
                 "&gt;&lt;meta property=&quot;og:title&quot; "
                 "content=&quot;fake &amp; co</title>") != NULL);
    /* exactly the page's own tags: one og:title, one <title>, one <meta
     * per property (the hostile one is &lt;meta property=&quot;...) */
    size_t n = 0, metas = 0;
    for (const char *s = html; (s = strstr(s, "property=\"og:title\"")); s++)
        n++;
    for (const char *s = html; (s = strstr(s, "<meta ")) != NULL; s++)
        metas++;
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(metas, 8); /* charset, viewport, description, 5 og: */
    CHECK(strstr(html, "<title>") == strstr(html, "<title>&quot;"));
    free(html);
}

static void test_not_found(void)
{
    CHECK(strstr(sharepage_not_found, "<title>") != NULL);
    CHECK(strstr(sharepage_not_found, "<script") == NULL);
}

int main(void)
{
    test_description();
    test_page();
    test_hostile_title();
    test_not_found();
    return unit_summary("sharepage");
}
