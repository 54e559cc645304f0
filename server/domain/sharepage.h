/*
 * sharepage.h - the page of a share link (GET /s/{code}): a small HTML
 * document with the <title> and Open Graph tags a chat app reads to show
 * the offer (the product, the price now, the next tier, how many are still
 * needed), which sends a browser on to the campaign in the shopper app with
 * the share code, to be carried into the join.
 *
 * Every value from the database or the request is escaped (lib/html.h),
 * in element text and in attribute values alike; the page holds no inline
 * script or style (the Content-Security-Policy forbids them): a module of
 * the web app (/shop/share.js) moves the browser on, and a plain link does
 * it without script. Pure: the caller reads the campaign and writes the
 * reply.
 */
#ifndef GROUPBUYD_SHAREPAGE_H
#define GROUPBUYD_SHAREPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The campaign as the page shows it (its public view). */
struct sharepage {
    const char *code; /* the share code: CRYPTO_CODE_ALPHABET only */
    int64_t campaign_id;
    const char *title;   /* as stored: escaped here */
    const char *status;  /* public status: scheduled, open, succeeded... */
    bool per_unit;       /* tier_basis quantity: tiers count units */
    int64_t price_cents; /* current unit price (< 0: unknown) */
    bool has_next;       /* a cheaper tier is ahead */
    int64_t next_price_cents, next_needed;
    int64_t participants, min_participants;
    const char *public_url; /* origin for og:url ("https://x"), "" = none */
};

/* The offer in one line of Chinese, e.g. "现价 ¥89.00 · 再 38 人享 ¥79.00 ·
 * 还差 5 人成团" (not escaped). Like snprintf: writes at most len bytes with
 * the NUL, returns the length it needed. */
size_t sharepage_description(const struct sharepage *p, char *out, size_t len);

/* The whole page. Like snprintf: writes at most len bytes with the NUL,
 * returns the length it needed (call again with that + 1). */
size_t sharepage_html(const struct sharepage *p, char *out, size_t len);

/* The page of an unknown code (served with 404). */
extern const char sharepage_not_found[];

#endif
