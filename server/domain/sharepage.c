/*
 * sharepage.c - the page of a share link (see sharepage.h).
 */
#include "domain/sharepage.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/html.h"
#include "lib/money.h"

/* Appends to a buffer of cap bytes like snprintf does: counts everything,
 * writes what fits, always NUL-terminated when cap > 0. */
struct sp_out {
    char *buf;
    size_t cap, len;
};

static void sp_raw(struct sp_out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len + n < o->cap) {
        memcpy(o->buf + o->len, s, n);
        o->buf[o->len + n] = '\0';
    } else if (o->cap > 0 && o->len < o->cap) {
        o->buf[o->len] = '\0'; /* what fitted stays terminated */
    }
    o->len += n;
}

static void sp_text(struct sp_out *o, const char *s)
{
    size_t n = html_escaped_len(s);
    if (o->len + n < o->cap)
        html_escape_into(s, o->buf + o->len);
    else if (o->cap > 0 && o->len < o->cap)
        o->buf[o->len] = '\0';
    o->len += n;
}

static void sp_int(struct sp_out *o, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    sp_raw(o, b);
}

static void sp_money(struct sp_out *o, int64_t cents)
{
    char b[MONEY_FMT_MAX];
    money_format(cents, b);
    sp_raw(o, "¥");
    sp_raw(o, b);
}

static void sp_description(struct sp_out *o, const struct sharepage *p)
{
    bool open = strcmp(p->status, "open") == 0;
    if (!open && strcmp(p->status, "scheduled") != 0) {
        sp_raw(o, "已结束");
        return;
    }
    if (!open)
        sp_raw(o, "即将开始 · ");
    if (p->price_cents >= 0) {
        sp_raw(o, "现价 ");
        sp_money(o, p->price_cents);
    }
    if (p->has_next) {
        sp_raw(o, " · 再 ");
        sp_int(o, p->next_needed);
        sp_raw(o, p->per_unit ? " 件享 " : " 人享 ");
        sp_money(o, p->next_price_cents);
    }
    if (p->participants < p->min_participants) {
        sp_raw(o, " · 还差 ");
        sp_int(o, p->min_participants - p->participants);
        sp_raw(o, " 人成团");
    } else {
        sp_raw(o, " · 已成团");
    }
}

size_t sharepage_description(const struct sharepage *p, char *out, size_t len)
{
    struct sp_out o = {out, len, 0};
    if (len > 0)
        out[0] = '\0';
    sp_description(&o, p);
    return o.len;
}

size_t sharepage_html(const struct sharepage *p, char *out, size_t len)
{
    char desc[512];
    sharepage_description(p, desc, sizeof desc); /* short: no title in it */
    struct sp_out o = {out, len, 0};
    if (len > 0)
        out[0] = '\0';
    sp_raw(&o, "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n"
               "<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, "
               "initial-scale=1\">\n<title>");
    sp_text(&o, p->title);
    sp_raw(&o, "</title>\n<meta name=\"description\" content=\"");
    sp_text(&o, desc);
    sp_raw(&o, "\">\n<meta property=\"og:type\" content=\"website\">\n"
               "<meta property=\"og:site_name\" content=\"团购\">\n"
               "<meta property=\"og:title\" content=\"");
    sp_text(&o, p->title);
    sp_raw(&o, "\">\n<meta property=\"og:description\" content=\"");
    sp_text(&o, desc);
    sp_raw(&o, "\">\n<meta property=\"og:url\" content=\"");
    sp_text(&o, p->public_url);
    sp_raw(&o, "/s/");
    sp_text(&o, p->code);
    sp_raw(&o, "\">\n<link rel=\"stylesheet\" href=\"/lib/style.css\">\n"
               "<script type=\"module\" src=\"/shop/share.js\"></script>\n"
               "</head>\n<body>\n<main class=\"share-landing\" "
               "data-campaign-id=\"");
    sp_int(&o, p->campaign_id);
    sp_raw(&o, "\" data-share-code=\"");
    sp_text(&o, p->code);
    sp_raw(&o, "\">\n<h1>");
    sp_text(&o, p->title);
    sp_raw(&o, "</h1>\n<p>");
    sp_text(&o, desc);
    sp_raw(&o, "</p>\n<p><a class=\"button\" href=\"/?share=");
    sp_text(&o, p->code);
    sp_raw(&o, "#/c/");
    sp_int(&o, p->campaign_id);
    sp_raw(&o, "\">打开团购</a></p>\n"
               "</main>\n</body>\n</html>\n");
    return o.len;
}

const char sharepage_not_found[] =
    "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>链接无效</title>\n"
    "<link rel=\"stylesheet\" href=\"/lib/style.css\">\n</head>\n<body>\n"
    "<main class=\"share-landing\">\n<h1>链接无效</h1>\n"
    "<p>This share link does not exist.</p>\n"
    "<p><a class=\"button\" href=\"/\">首页</a></p>\n"
    "</main>\n</body>\n</html>\n";
