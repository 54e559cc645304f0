/*
 * test_html.c - the escaper of the server's own pages: each special
 * character, text around it, Chinese text untouched, and the length agreed
 * with what is written.
 */
#include "lib/html.h"
#include "unit.h"

#include <stdlib.h>

static void test_escape(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"plain", "plain"},
        {"&", "&amp;"},
        {"<", "&lt;"},
        {">", "&gt;"},
        {"\"", "&quot;"},
        {"'", "&#39;"},
        {"a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&#39;f"},
        {"\"><script>alert(1)</script>",
         "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"&amp;", "&amp;amp;"}, /* text, not markup: escaped again */
        {"五常大米 5kg ¥89", "五常大米 5kg ¥89"},
        {"line\nbreak\ttab", "line\nbreak\ttab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = html_escape(cases[i].in);
        CHECK_STR_EQ(got, cases[i].want);
        CHECK_INT_EQ(html_escaped_len(cases[i].in), strlen(cases[i].want));
        free(got);
    }
}

int main(void)
{
    test_escape();
    return unit_summary("html");
}
