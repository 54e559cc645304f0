/*
 * csv.c - RFC 4180 cells and rows into a csv_buf (money cells in
 * money_format's text form).
 *
 * Every append first measures the exact number of bytes it will write,
 * reserves them (plus the NUL kept after len), and only then writes; so a
 * failed append has changed nothing, and the writing loops need no bounds
 * checks of their own. Growth doubles the capacity (amortised O(1) per
 * byte) with every size computation checked for overflow.
 */
#include "lib/csv.h"
#include "lib/money.h"

#include <stdlib.h>
#include <string.h>

#define CSV_MIN_CAP 256

void csv_buf_init(struct csv_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->in_row = false;
}

void csv_buf_cleanup(struct csv_buf *buf)
{
    free(buf->data);
    csv_buf_init(buf);
}

void csv_buf_clear(struct csv_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

/* Ensures room for `extra` more bytes plus the trailing NUL. */
static bool csv_reserve(struct csv_buf *buf, size_t extra)
{
    size_t need, cap;

    if (__builtin_add_overflow(buf->len, extra, &need) ||
        __builtin_add_overflow(need, 1, &need))
        return false;
    if (need <= buf->cap)
        return true;
    cap = buf->cap < CSV_MIN_CAP ? CSV_MIN_CAP : buf->cap;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap))
            return false;
    }
    char *data = realloc(buf->data, cap);
    if (!data)
        return false;
    buf->data = data;
    buf->cap = cap;
    return true;
}

/* Copies n bytes to the end; room must have been reserved. */
static void csv_put(struct csv_buf *buf, const char *bytes, size_t n)
{
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
}

/* Closes an append: NUL after the bytes, now inside a row. */
static void csv_done_cell(struct csv_buf *buf)
{
    buf->data[buf->len] = '\0';
    buf->in_row = true;
}

bool csv_append_bom(struct csv_buf *buf)
{
    static const char bom[] = "\xEF\xBB\xBF";

    if (buf->len > 0 || buf->in_row || !csv_reserve(buf, 3))
        return false;
    csv_put(buf, bom, 3);
    buf->data[buf->len] = '\0';
    return true;
}

/* Whether a text cell needs the apostrophe (OWASP "CSV Injection"): it
 * begins with tab or CR, or its first byte after any leading blanks
 * (space, tab, CR, LF) is =, +, - or @. Spreadsheets trim leading
 * whitespace before deciding that a cell is a formula, so " =1" and
 * "\n=1" are as dangerous as "=1". */
static bool csv_starts_formula(const unsigned char *u, size_t len)
{
    size_t i = 0;

    if (u[0] == '\t' || u[0] == '\r')
        return true;
    while (i < len &&
           (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' || u[i] == '\n'))
        i++;
    return i < len &&
           (u[i] == '=' || u[i] == '+' || u[i] == '-' || u[i] == '@');
}

static bool csv_is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

bool csv_append_text(struct csv_buf *buf, const char *text, size_t len)
{
    size_t quotes = 0, size = len;
    bool quote = false, prefix = false;

    if (len > 0) {
        const unsigned char *u = (const unsigned char *)text;
        if (memchr(text, '\0', len))
            return false;
        prefix = csv_starts_formula(u, len);
        quote = csv_is_blank(u[0]) || csv_is_blank(u[len - 1]);
        for (size_t i = 0; i < len; i++) {
            if (u[i] == '"')
                quotes++;
            else if (u[i] == ',' || u[i] == '\r' || u[i] == '\n')
                quote = true;
        }
        quote = quote || quotes > 0;
    }
    /* len + doubled quotes + enclosing quotes + apostrophe + comma */
    if (__builtin_add_overflow(size, quotes, &size) ||
        __builtin_add_overflow(size, 4, &size) || !csv_reserve(buf, size))
        return false;
    if (buf->in_row)
        csv_put(buf, ",", 1);
    if (quote)
        csv_put(buf, "\"", 1);
    if (prefix)
        csv_put(buf, "'", 1);
    if (quotes == 0) {
        if (len > 0)
            csv_put(buf, text, len);
    } else {
        for (size_t i = 0; i < len; i++) {
            if (text[i] == '"')
                csv_put(buf, "\"", 1);
            csv_put(buf, &text[i], 1);
        }
    }
    if (quote)
        csv_put(buf, "\"", 1);
    csv_done_cell(buf);
    return true;
}

bool csv_append_str(struct csv_buf *buf, const char *text)
{
    return csv_append_text(buf, text, text ? strlen(text) : 0);
}

/* Writes the decimal digits of v backwards ending at end; returns the
 * start. */
static char *csv_digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return end;
}

/* |v| without overflow for INT64_MIN. */
static uint64_t csv_magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Appends an already formatted, never-quoted cell. */
static bool csv_append_plain(struct csv_buf *buf, const char *s, size_t n)
{
    if (!csv_reserve(buf, n + 1))
        return false;
    if (buf->in_row)
        csv_put(buf, ",", 1);
    csv_put(buf, s, n);
    csv_done_cell(buf);
    return true;
}

bool csv_append_int(struct csv_buf *buf, int64_t value)
{
    char tmp[24]; /* "-9223372036854775808" is 20 */
    char *end = tmp + sizeof tmp;
    char *s = csv_digits(csv_magnitude(value), end);

    if (value < 0)
        *--s = '-';
    return csv_append_plain(buf, s, (size_t)(end - s));
}

bool csv_append_money(struct csv_buf *buf, int64_t cents)
{
    char tmp[MONEY_FMT_MAX];
    size_t n = money_format(cents, tmp);

    return csv_append_plain(buf, tmp, n);
}

bool csv_end_row(struct csv_buf *buf)
{
    if (!csv_reserve(buf, 2))
        return false;
    csv_put(buf, "\r\n", 2);
    buf->data[buf->len] = '\0';
    buf->in_row = false;
    return true;
}
