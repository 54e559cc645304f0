/*
 * json.c - strict JSON bodies in, exact JSON out.
 *
 * The parser is a recursive descent over RFC 8259 that builds a cJSON tree
 * with cJSON's public constructors; cJSON_Parse is never used, because it
 * takes duplicate keys, invalid UTF-8 and loses the text of numbers.
 *
 * Invariants of a tree returned by json_parse_strict:
 *  - every string (value or key) is valid UTF-8 without NUL, and no object
 *    holds two members with byte-equal keys;
 *  - containers nest at most JSON_MAX_DEPTH deep, so the recursion of the
 *    parser (and of cJSON_Delete / cJSON_Print over the tree) is bounded;
 *  - every number node has `valuedouble` = strtod(literal) (inf for 1e999)
 *    and `valuestring` = the literal exactly as written. cJSON_Delete frees
 *    `valuestring` of any node not flagged cJSON_IsReference (checked in
 *    cJSON 1.7.15), so the literal is allocated with cJSON_malloc to match
 *    whatever hooks cJSON uses. cJSON_Print ignores `valuestring` for
 *    numbers and prints `valuedouble` (inf as null).
 *
 * How it works: the whole input is first checked as UTF-8 (so string bytes
 * can be copied as they are). Strings and number literals are decoded into
 * one scratch buffer as long as the input, at the offset where the token
 * starts: a decoded token is never longer than its source (plus one NUL
 * byte, hence len + 1), and tokens do not overlap, so a key stays valid
 * while its value is parsed without any per-token allocation. Duplicate
 * keys are found once an object is closed, by sorting its keys (n log n,
 * so a 64 KiB object of thousands of keys stays cheap).
 *
 * All allocations go through cJSON's hooks (cJSON_malloc / cJSON_free) so a
 * test can fail any one of them; every error path frees what it made.
 */
#include "lib/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key_ref {
    const char *key; /* the member's cJSON string, owned by the tree */
    size_t offset;   /* where its literal starts in the input */
};

struct parser {
    const unsigned char *buf;
    size_t len;
    size_t pos;
    char *scratch; /* len + 1 bytes, see the top comment */
    struct json_parse_error *err;
};

static bool parser_fail(struct parser *ps, enum json_parse_status status,
                        size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool parser_fail(struct parser *ps, enum json_parse_status status,
                        size_t offset, const char *fmt, ...)
{
    va_list ap;

    if (ps->err->status != JSON_PARSE_OK)
        return false;
    ps->err->status = status;
    ps->err->offset = offset;
    va_start(ap, fmt);
    vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
    va_end(ap);
    return false;
}

static bool parser_nomem(struct parser *ps)
{
    return parser_fail(ps, JSON_PARSE_NOMEM, ps->pos, "out of memory");
}

/*
 * Copies at most `max` bytes of the valid UTF-8 string `s` into `dst` for a
 * message: cut on a character boundary (with "..." when cut), quotes,
 * backslashes and control characters shown as '?'.
 */
static void excerpt(char *dst, size_t dstsize, const char *s, size_t max)
{
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)s;

    if (max + 4 > dstsize)
        max = dstsize - 4;
    while (u[n] != '\0' && n < max)
        n++;
    if (u[n] != '\0') {
        while (n > 0 && (u[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        dst[i] =
            (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) ? '?' : (char)c;
    }
    if (u[n] != '\0') {
        memcpy(dst + n, "...", 4);
    } else {
        dst[n] = '\0';
    }
}

/* Describes the byte at `pos` for a syntax message. */
static void describe_byte(const struct parser *ps, size_t pos, char *dst,
                          size_t dstsize)
{
    if (pos >= ps->len) {
        snprintf(dst, dstsize, "end of input");
    } else if (ps->buf[pos] > 0x20 && ps->buf[pos] < 0x7F) {
        snprintf(dst, dstsize, "'%c'", ps->buf[pos]);
    } else {
        snprintf(dst, dstsize, "byte 0x%02X", ps->buf[pos]);
    }
}

static bool parser_unexpected(struct parser *ps, const char *expected)
{
    char what[24];

    describe_byte(ps, ps->pos, what, sizeof(what));
    return parser_fail(ps, JSON_PARSE_SYNTAX, ps->pos,
                       "expected %s at byte %zu, found %s", expected, ps->pos,
                       what);
}

/* Offset of the first invalid UTF-8 sequence in buf[0..len), or len. */
static size_t utf8_invalid_at(const unsigned char *buf, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = buf[i];
        unsigned char lo = 0x80, hi = 0xBF;
        size_t need;

        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* beyond U+10FFFF */
        } else {
            return i; /* continuation, overlong C0/C1, or F5..FF */
        }
        if (len - i <= need)
            return i;
        if (buf[i + 1] < lo || buf[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++) {
            if ((buf[i + k] & 0xC0) != 0x80)
                return i;
        }
        i += need + 1;
    }
    return len;
}

static void skip_ws(struct parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->buf[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->pos++;
    }
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits after "\u" at ps->pos; advances past them. */
static bool read_hex4(struct parser *ps, unsigned *out)
{
    unsigned v = 0;

    if (ps->len - ps->pos < 4)
        return parser_fail(ps, JSON_PARSE_SYNTAX, ps->pos,
                           "truncated \\u escape at byte %zu", ps->pos);
    for (int i = 0; i < 4; i++) {
        int h = hex_value(ps->buf[ps->pos + (size_t)i]);
        if (h < 0)
            return parser_fail(ps, JSON_PARSE_SYNTAX, ps->pos + (size_t)i,
                               "invalid \\u escape at byte %zu", ps->pos);
        v = v * 16 + (unsigned)h;
    }
    ps->pos += 4;
    *out = v;
    return true;
}

static char *put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | (cp >> 6));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xE0 | (cp >> 12));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xF0 | (cp >> 18));
        *out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

/* Decodes the escape after a backslash (ps->pos is on the letter). */
static bool parse_escape(struct parser *ps, char **outp)
{
    size_t at = ps->pos - 1; /* the backslash */
    unsigned cp, lo;

    if (ps->pos >= ps->len)
        return parser_fail(ps, JSON_PARSE_SYNTAX, at,
                           "unterminated string at byte %zu", at);
    switch (ps->buf[ps->pos++]) {
    case '"':
        *(*outp)++ = '"';
        return true;
    case '\\':
        *(*outp)++ = '\\';
        return true;
    case '/':
        *(*outp)++ = '/';
        return true;
    case 'b':
        *(*outp)++ = '\b';
        return true;
    case 'f':
        *(*outp)++ = '\f';
        return true;
    case 'n':
        *(*outp)++ = '\n';
        return true;
    case 'r':
        *(*outp)++ = '\r';
        return true;
    case 't':
        *(*outp)++ = '\t';
        return true;
    case 'u':
        break;
    default:
        return parser_fail(ps, JSON_PARSE_SYNTAX, at,
                           "invalid escape at byte %zu", at);
    }
    if (!read_hex4(ps, &cp))
        return false;
    if (cp == 0)
        return parser_fail(ps, JSON_PARSE_NUL, at,
                           "a string holds NUL (\\u0000) at byte %zu", at);
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return parser_fail(ps, JSON_PARSE_UTF8, at,
                           "lone surrogate escape at byte %zu", at);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->len - ps->pos < 2 || ps->buf[ps->pos] != '\\' ||
            ps->buf[ps->pos + 1] != 'u')
            return parser_fail(ps, JSON_PARSE_UTF8, at,
                               "lone surrogate escape at byte %zu", at);
        ps->pos += 2;
        if (!read_hex4(ps, &lo))
            return false;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return parser_fail(ps, JSON_PARSE_UTF8, at,
                               "lone surrogate escape at byte %zu", at);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    *outp = put_utf8(*outp, cp);
    return true;
}

/*
 * Decodes the string literal at ps->pos (on the opening quote) into the
 * scratch buffer at the same offset; returns the NUL-terminated text or
 * NULL.
 */
static const char *parse_string(struct parser *ps)
{
    size_t start = ps->pos;
    char *text = ps->scratch + start;
    char *out = text;

    ps->pos++;
    for (;;) {
        unsigned char c;

        if (ps->pos >= ps->len) {
            parser_fail(ps, JSON_PARSE_SYNTAX, start,
                        "unterminated string at byte %zu", start);
            return NULL;
        }
        c = ps->buf[ps->pos];
        if (c == '"') {
            ps->pos++;
            *out = '\0';
            return text;
        } else if (c == '\\') {
            ps->pos++;
            if (!parse_escape(ps, &out))
                return NULL;
        } else if (c == 0) {
            parser_fail(ps, JSON_PARSE_NUL, ps->pos,
                        "a string holds NUL at byte %zu", ps->pos);
            return NULL;
        } else if (c < 0x20) {
            parser_fail(ps, JSON_PARSE_SYNTAX, ps->pos,
                        "unescaped control character in a string at byte %zu",
                        ps->pos);
            return NULL;
        } else {
            *out++ = (char)c; /* UTF-8 was checked up front */
            ps->pos++;
        }
    }
}

static bool is_digit_at(const struct parser *ps, size_t pos)
{
    return pos < ps->len && ps->buf[pos] >= '0' && ps->buf[pos] <= '9';
}

static void skip_digits(struct parser *ps)
{
    while (is_digit_at(ps, ps->pos))
        ps->pos++;
}

static cJSON *parse_number(struct parser *ps)
{
    size_t start = ps->pos, n;
    char *text = ps->scratch + start;
    char *literal;
    cJSON *item;

    if (ps->buf[ps->pos] == '-')
        ps->pos++;
    if (!is_digit_at(ps, ps->pos)) {
        parser_fail(ps, JSON_PARSE_SYNTAX, start, "invalid number at byte %zu",
                    start);
        return NULL;
    }
    if (ps->buf[ps->pos] == '0') {
        ps->pos++;
        if (is_digit_at(ps, ps->pos)) {
            parser_fail(ps, JSON_PARSE_SYNTAX, start,
                        "number with a leading zero at byte %zu", start);
            return NULL;
        }
    } else {
        skip_digits(ps);
    }
    if (ps->pos < ps->len && ps->buf[ps->pos] == '.') {
        ps->pos++;
        if (!is_digit_at(ps, ps->pos)) {
            parser_fail(ps, JSON_PARSE_SYNTAX, start,
                        "invalid number at byte %zu", start);
            return NULL;
        }
        skip_digits(ps);
    }
    if (ps->pos < ps->len &&
        (ps->buf[ps->pos] == 'e' || ps->buf[ps->pos] == 'E')) {
        ps->pos++;
        if (ps->pos < ps->len &&
            (ps->buf[ps->pos] == '+' || ps->buf[ps->pos] == '-'))
            ps->pos++;
        if (!is_digit_at(ps, ps->pos)) {
            parser_fail(ps, JSON_PARSE_SYNTAX, start,
                        "invalid number at byte %zu", start);
            return NULL;
        }
        skip_digits(ps);
    }
    n = ps->pos - start;
    memcpy(text, ps->buf + start, n);
    text[n] = '\0';

    literal = cJSON_malloc(n + 1);
    if (literal == NULL) {
        parser_nomem(ps);
        return NULL;
    }
    memcpy(literal, text, n + 1);
    /* The grammar above is a subset of strtod's; inf on overflow is fine. */
    item = cJSON_CreateNumber(strtod(text, NULL));
    if (item == NULL) {
        cJSON_free(literal);
        parser_nomem(ps);
        return NULL;
    }
    item->valuestring = literal;
    return item;
}

static cJSON *parse_word(struct parser *ps, const char *word, cJSON *item)
{
    size_t n = strlen(word);

    if (ps->len - ps->pos < n || memcmp(ps->buf + ps->pos, word, n) != 0) {
        cJSON_Delete(item);
        parser_unexpected(ps, "a JSON value");
        return NULL;
    }
    if (item == NULL) {
        parser_nomem(ps);
        return NULL;
    }
    ps->pos += n;
    return item;
}

static cJSON *parse_value(struct parser *ps, int depth);

static cJSON *parse_array(struct parser *ps, int depth)
{
    cJSON *array;

    if (depth > JSON_MAX_DEPTH) {
        parser_fail(ps, JSON_PARSE_DEPTH, ps->pos,
                    "nesting deeper than %d levels at byte %zu", JSON_MAX_DEPTH,
                    ps->pos);
        return NULL;
    }
    array = cJSON_CreateArray();
    if (array == NULL) {
        parser_nomem(ps);
        return NULL;
    }
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->buf[ps->pos] == ']') {
        ps->pos++;
        return array;
    }
    for (;;) {
        cJSON *item = parse_value(ps, depth);

        if (item == NULL)
            goto fail;
        if (!cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            parser_nomem(ps);
            goto fail;
        }
        skip_ws(ps);
        if (ps->pos < ps->len && ps->buf[ps->pos] == ',') {
            ps->pos++;
        } else if (ps->pos < ps->len && ps->buf[ps->pos] == ']') {
            ps->pos++;
            return array;
        } else {
            parser_unexpected(ps, "',' or ']'");
            goto fail;
        }
    }
fail:
    cJSON_Delete(array);
    return NULL;
}

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Fails with JSON_PARSE_DUPLICATE on the first repeated key of keys[0..n)
 * in input order; sorts keys. */
static bool check_duplicates(struct parser *ps, struct key_ref *keys, size_t n)
{
    const struct key_ref *dup = NULL;
    char shown[48];

    if (n < 2)
        return true;
    qsort(keys, n, sizeof(*keys), key_ref_cmp);
    for (size_t i = 1; i < n; i++) {
        /* After a sort by (key, offset), keys[i] repeats keys[i - 1]. */
        if (strcmp(keys[i].key, keys[i - 1].key) == 0 &&
            (dup == NULL || keys[i].offset < dup->offset))
            dup = &keys[i];
    }
    if (dup == NULL)
        return true;
    excerpt(shown, sizeof(shown), dup->key, 40);
    return parser_fail(ps, JSON_PARSE_DUPLICATE, dup->offset,
                       "duplicate key \"%s\" at byte %zu", shown, dup->offset);
}

/* Appends to a growing key_ref vector (cJSON hooks have no realloc). */
static bool keys_push(struct key_ref **keys, size_t *n, size_t *cap,
                      struct key_ref ref)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct key_ref *grown;

        if (ncap > SIZE_MAX / sizeof(**keys))
            return false;
        grown = cJSON_malloc(ncap * sizeof(**keys));
        if (grown == NULL)
            return false;
        if (*n > 0)
            memcpy(grown, *keys, *n * sizeof(**keys));
        cJSON_free(*keys);
        *keys = grown;
        *cap = ncap;
    }
    (*keys)[(*n)++] = ref;
    return true;
}

static cJSON *parse_object(struct parser *ps, int depth)
{
    cJSON *object;
    struct key_ref *keys = NULL;
    size_t nkeys = 0, capkeys = 0;

    if (depth > JSON_MAX_DEPTH) {
        parser_fail(ps, JSON_PARSE_DEPTH, ps->pos,
                    "nesting deeper than %d levels at byte %zu", JSON_MAX_DEPTH,
                    ps->pos);
        return NULL;
    }
    object = cJSON_CreateObject();
    if (object == NULL) {
        parser_nomem(ps);
        return NULL;
    }
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->buf[ps->pos] == '}') {
        ps->pos++;
        return object;
    }
    for (;;) {
        size_t key_at;
        const char *key;
        cJSON *item;

        skip_ws(ps);
        if (ps->pos >= ps->len || ps->buf[ps->pos] != '"') {
            parser_unexpected(ps, "a string key");
            goto fail;
        }
        key_at = ps->pos;
        key = parse_string(ps);
        if (key == NULL)
            goto fail;
        skip_ws(ps);
        if (ps->pos >= ps->len || ps->buf[ps->pos] != ':') {
            parser_unexpected(ps, "':'");
            goto fail;
        }
        ps->pos++;
        item = parse_value(ps, depth);
        if (item == NULL)
            goto fail;
        if (!cJSON_AddItemToObject(object, key, item)) {
            cJSON_Delete(item);
            parser_nomem(ps);
            goto fail;
        }
        /* item->string is now cJSON's copy of the key, owned by the tree. */
        if (!keys_push(&keys, &nkeys, &capkeys,
                       (struct key_ref){item->string, key_at})) {
            parser_nomem(ps);
            goto fail;
        }
        skip_ws(ps);
        if (ps->pos < ps->len && ps->buf[ps->pos] == ',') {
            ps->pos++;
        } else if (ps->pos < ps->len && ps->buf[ps->pos] == '}') {
            ps->pos++;
            break;
        } else {
            parser_unexpected(ps, "',' or '}'");
            goto fail;
        }
    }
    if (!check_duplicates(ps, keys, nkeys))
        goto fail;
    cJSON_free(keys);
    return object;
fail:
    cJSON_free(keys);
    cJSON_Delete(object);
    return NULL;
}

/* `depth` is the number of containers around the value. */
static cJSON *parse_value(struct parser *ps, int depth)
{
    const char *s;
    cJSON *item;

    skip_ws(ps);
    if (ps->pos >= ps->len) {
        parser_unexpected(ps, "a JSON value");
        return NULL;
    }
    switch (ps->buf[ps->pos]) {
    case '{':
        return parse_object(ps, depth + 1);
    case '[':
        return parse_array(ps, depth + 1);
    case '"':
        s = parse_string(ps);
        if (s == NULL)
            return NULL;
        item = cJSON_CreateString(s);
        if (item == NULL)
            parser_nomem(ps);
        return item;
    case 't':
        return parse_word(ps, "true", cJSON_CreateTrue());
    case 'f':
        return parse_word(ps, "false", cJSON_CreateFalse());
    case 'n':
        return parse_word(ps, "null", cJSON_CreateNull());
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(ps);
    default:
        parser_unexpected(ps, "a JSON value");
        return NULL;
    }
}

/*
 * Parses buf[0..len) strictly (see json.h). The caller owns the returned
 * tree; on NULL, *err (when err is not NULL) says what and where.
 */
cJSON *json_parse_strict(const char *buf, size_t len,
                         struct json_parse_error *err)
{
    struct json_parse_error local;
    struct parser ps = {(const unsigned char *)buf, len, 0, NULL, NULL};
    cJSON *root = NULL;
    size_t bad;

    if (err == NULL)
        err = &local;
    memset(err, 0, sizeof(*err));
    ps.err = err;
    if (buf == NULL)
        len = ps.len = 0;

    bad = utf8_invalid_at(ps.buf, len);
    if (bad < len) {
        parser_fail(&ps, JSON_PARSE_UTF8, bad, "invalid UTF-8 at byte %zu",
                    bad);
        return NULL;
    }
    skip_ws(&ps);
    if (ps.pos >= len) {
        parser_fail(&ps, JSON_PARSE_SYNTAX, ps.pos, "the body is empty");
        return NULL;
    }
    if (len == SIZE_MAX) {
        parser_nomem(&ps);
        return NULL;
    }
    ps.scratch = cJSON_malloc(len + 1);
    if (ps.scratch == NULL) {
        parser_nomem(&ps);
        return NULL;
    }
    root = parse_value(&ps, 0);
    if (root != NULL) {
        skip_ws(&ps);
        if (ps.pos < len) {
            parser_fail(&ps, JSON_PARSE_TRAILING, ps.pos,
                        "unexpected data after the JSON value at byte %zu",
                        ps.pos);
            cJSON_Delete(root);
            root = NULL;
        }
    }
    cJSON_free(ps.scratch);
    return root;
}

/* Case-sensitive lookup of `key` in object `obj`; NULL when obj is not an
 * object or has no such member. */
const cJSON *json_get(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj) || key == NULL)
        return NULL;
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        if (c->string != NULL && strcmp(c->string, key) == 0)
            return c;
    }
    return NULL;
}

/* Reads -?(0|[1-9][0-9]*) with magnitude <= 2^53 from `s`. */
static bool int_literal(const char *s, int64_t *out)
{
    bool neg = false;
    uint64_t mag = 0;
    int digits = 0;

    if (*s == '-') {
        neg = true;
        s++;
    }
    if (*s == '0' && s[1] != '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || ++digits > 16)
            return false;
        mag = mag * 10 + (uint64_t)(*s - '0');
    }
    if (digits == 0 || mag > (uint64_t)JSON_MAX_SAFE_INT)
        return false;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return true;
}

/*
 * Integer value of a number node, read from its literal text (see json.h).
 * A number node without literal text (built by hand, not parsed) is read
 * from valuedouble, which must then be integral and within +-2^53.
 */
bool json_item_int(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;

    if (!cJSON_IsNumber(item))
        return false;
    if (item->valuestring != NULL) {
        if (!int_literal(item->valuestring, &v))
            return false;
    } else {
        double d = item->valuedouble;
        if (!(d >= -(double)JSON_MAX_SAFE_INT &&
              d <= (double)JSON_MAX_SAFE_INT) ||
            d != (double)(int64_t)d)
            return false;
        v = (int64_t)d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool json_utf8_valid(const char *s)
{
    size_t len = strlen(s);
    return utf8_invalid_at((const unsigned char *)s, len) == len;
}

/* Code points of the valid UTF-8 string `s`: bytes that start a
 * character. */
size_t json_utf8_length(const char *s)
{
    size_t n = 0;

    for (const unsigned char *u = (const unsigned char *)s; *u != '\0'; u++) {
        if ((*u & 0xC0) != 0x80)
            n++;
    }
    return n;
}

/*
 * Starts reading the members of `obj`. When obj is not an object the
 * failure is recorded at once with field "" (no single field at fault).
 */
void jfields_init(struct jfields *jf, const cJSON *obj)
{
    jf->obj = obj;
    jf->field = NULL;
    jf->message[0] = '\0';
    if (!cJSON_IsObject(obj))
        jfields_fail(jf, NULL, "the body must be a JSON object");
}

/*
 * Records the first failure; later calls do nothing. A NULL `field` (a
 * rule over several fields) is stored as "" so jfields_ok turns false.
 */
void jfields_fail(struct jfields *jf, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (!jfields_ok(jf))
        return;
    jf->field = field != NULL ? field : "";
    va_start(ap, fmt);
    vsnprintf(jf->message, sizeof(jf->message), fmt, ap);
    va_end(ap);
}

/* Refuses the first member whose name is not in `allowed` (NULL-ended);
 * the failing field is that member's name, owned by the tree. */
bool jfields_only(struct jfields *jf, const char *const allowed[])
{
    char shown[72];

    if (!jfields_ok(jf))
        return false;
    for (const cJSON *c = jf->obj->child; c != NULL; c = c->next) {
        bool known = false;

        if (c->string == NULL)
            continue;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], c->string) == 0;
        if (!known) {
            excerpt(shown, sizeof(shown), c->string, 64);
            jfields_fail(jf, c->string, "unknown field \"%s\"", shown);
            return false;
        }
    }
    return true;
}

/*
 * Common start of every reader: the member `key`, or NULL with *done set.
 * *done is true when the reader must return now (failure, or an optional
 * member missing or null); *ok is then its verdict.
 */
static const cJSON *jfields_lookup(struct jfields *jf, const char *key,
                                   bool required, bool *present, bool *done,
                                   bool *ok)
{
    const cJSON *item;

    *done = true;
    *ok = false;
    if (present != NULL)
        *present = false;
    if (!jfields_ok(jf))
        return NULL;
    item = json_get(jf->obj, key);
    if (item == NULL || cJSON_IsNull(item)) {
        if (required) {
            jfields_fail(jf, key, "\"%s\" is required", key);
            return NULL;
        }
        *ok = true;
        return NULL;
    }
    *done = false;
    return item;
}

/* Reads integer member `key` within [min, max] (and +-2^53). */
bool jfields_int(struct jfields *jf, const char *key, bool required,
                 int64_t min, int64_t max, int64_t *out, bool *present)
{
    bool done, ok;
    const cJSON *item = jfields_lookup(jf, key, required, present, &done, &ok);
    int64_t v;

    if (done)
        return ok;
    if (!json_item_int(item, min, max, &v)) {
        int64_t lo = min < -JSON_MAX_SAFE_INT ? -JSON_MAX_SAFE_INT : min;
        int64_t hi = max > JSON_MAX_SAFE_INT ? JSON_MAX_SAFE_INT : max;
        jfields_fail(jf, key,
                     "\"%s\" must be an integer between %" PRId64
                     " and %" PRId64,
                     key, lo, hi);
        return false;
    }
    *out = v;
    if (present != NULL)
        *present = true;
    return true;
}

/* Reads string member `key` of min_chars..max_chars code points; *out
 * borrows the tree's text. */
bool jfields_str(struct jfields *jf, const char *key, bool required,
                 size_t min_chars, size_t max_chars, const char **out,
                 bool *present)
{
    bool done, ok;
    const cJSON *item = jfields_lookup(jf, key, required, present, &done, &ok);
    size_t n;

    if (done)
        return ok;
    n = cJSON_IsString(item) && item->valuestring != NULL
            ? json_utf8_length(item->valuestring)
            : 0;
    if (!cJSON_IsString(item) || item->valuestring == NULL || n < min_chars ||
        n > max_chars) {
        if (min_chars == max_chars)
            jfields_fail(jf, key, "\"%s\" must be a string of %zu characters",
                         key, min_chars);
        else if (min_chars == 0)
            jfields_fail(jf, key,
                         "\"%s\" must be a string of at most %zu characters",
                         key, max_chars);
        else
            jfields_fail(jf, key,
                         "\"%s\" must be a string of %zu to %zu characters",
                         key, min_chars, max_chars);
        return false;
    }
    *out = item->valuestring;
    if (present != NULL)
        *present = true;
    return true;
}

/* Reads boolean member `key`. */
bool jfields_bool(struct jfields *jf, const char *key, bool required, bool *out,
                  bool *present)
{
    bool done, ok;
    const cJSON *item = jfields_lookup(jf, key, required, present, &done, &ok);

    if (done)
        return ok;
    if (!cJSON_IsBool(item)) {
        jfields_fail(jf, key, "\"%s\" must be true or false", key);
        return false;
    }
    *out = cJSON_IsTrue(item);
    if (present != NULL)
        *present = true;
    return true;
}

/* Returns array member `key` of min_items..max_items elements, or NULL. */
const cJSON *jfields_array(struct jfields *jf, const char *key, bool required,
                           size_t min_items, size_t max_items)
{
    bool done, ok;
    const cJSON *item = jfields_lookup(jf, key, required, NULL, &done, &ok);
    size_t n = 0;

    if (done)
        return NULL;
    if (cJSON_IsArray(item)) {
        for (const cJSON *c = item->child; c != NULL; c = c->next)
            n++;
    }
    if (!cJSON_IsArray(item) || n < min_items || n > max_items) {
        if (min_items == 0)
            jfields_fail(jf, key,
                         "\"%s\" must be an array of at most %zu items", key,
                         max_items);
        else
            jfields_fail(jf, key, "\"%s\" must be an array of %zu to %zu items",
                         key, min_items, max_items);
        return NULL;
    }
    return item;
}

/* Returns object member `key`, or NULL. */
const cJSON *jfields_object(struct jfields *jf, const char *key, bool required)
{
    bool done, ok;
    const cJSON *item = jfields_lookup(jf, key, required, NULL, &done, &ok);

    if (done)
        return NULL;
    if (!cJSON_IsObject(item)) {
        jfields_fail(jf, key, "\"%s\" must be an object", key);
        return NULL;
    }
    return item;
}

/* A raw node holding the decimal text of `v`, or NULL. */
cJSON *json_int(int64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRId64, v);
    return cJSON_CreateRaw(text);
}

static bool add_or_free(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL)
        return false;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

/* Adds `key`: v as an exact integer literal. */
bool json_add_int(cJSON *obj, const char *key, int64_t v)
{
    return add_or_free(obj, key, json_int(v));
}

/* Adds `key`: the string s, or null when s is NULL. */
bool json_add_str(cJSON *obj, const char *key, const char *s)
{
    return add_or_free(obj, key,
                       s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull());
}

/* Number nodes with their literal become raw nodes, the whole tree down
 * (nesting is bounded by JSON_MAX_DEPTH for a parsed tree). */
static void json_numbers_raw(cJSON *node)
{
    for (; node != NULL; node = node->next) {
        if (cJSON_IsNumber(node) && node->valuestring != NULL)
            node->type = cJSON_Raw | (node->type & ~0xFF);
        json_numbers_raw(node->child);
    }
}

char *json_print_exact(cJSON *tree)
{
    if (tree == NULL)
        return NULL;
    json_numbers_raw(tree);
    return cJSON_PrintUnformatted(tree);
}

bool json_printable(const char *s, bool multiline)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (multiline && (*p == '\n' || *p == '\r' || *p == '\t'))
            continue;
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return false;
    }
    return true;
}
