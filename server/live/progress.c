/*
 * progress.c - the campaign list and the cursor of a many-campaign stream
 * (progress.h).
 */
#include "live/progress.h"

#include <stdio.h>
#include <string.h>

/* 2^53: the largest id a client can hold exactly (router.c's bound). */
#define PROGRESS_ID_MAX 9007199254740992LL

/* Parses s[0..len) as an id; false for anything else. */
static bool progress_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 16 || s[0] == '0')
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > PROGRESS_ID_MAX)
        return false;
    *out = v;
    return true;
}

enum progress_ids progress_ids_parse(const char *text, int64_t *ids, int max,
                                     int *n)
{
    *n = 0;
    if (text == NULL || *text == '\0')
        return PROGRESS_IDS_MALFORMED;
    int entries = 0;
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, ",");
        int64_t id;
        if (!progress_id(p, len, &id))
            return PROGRESS_IDS_MALFORMED;
        if (++entries > max)
            return PROGRESS_IDS_TOO_MANY;
        /* insertion into the sorted prefix, a repeat dropped */
        int at = *n;
        while (at > 0 && ids[at - 1] > id)
            at--;
        if (at == 0 || ids[at - 1] != id) {
            memmove(&ids[at + 1], &ids[at], (size_t)(*n - at) * sizeof *ids);
            ids[at] = id;
            (*n)++;
        }
        if (p[len] == '\0')
            return PROGRESS_IDS_OK;
        p += len + 1;
    }
}

uint32_t progress_tag(const int64_t *ids, int n)
{
    /* FNV-1a over the ids' eight bytes each, little end first */
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) {
        uint64_t v = (uint64_t)ids[i];
        for (int b = 0; b < 8; b++) {
            h ^= (uint32_t)(v & 0xff);
            h *= 16777619u;
            v >>= 8;
        }
    }
    return h;
}

/* Writes v's decimal digits at buf[at...]: the new end, or 0 when they
 * and a NUL after them would pass cap. */
static size_t progress_put_u64(char *buf, size_t cap, size_t at, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (at + n >= cap)
        return 0;
    while (n > 0)
        buf[at++] = digits[--n];
    return at;
}

/* By hand rather than with snprintf: a stream of 20 campaigns formats one
 * cursor per event it is sent, and 21 snprintf calls were most of what
 * such an event cost beyond one of a single campaign. */
size_t progress_cursor_format(char *buf, size_t cap, uint32_t tag,
                              const int64_t *seqs, int n)
{
    static const char hex[] = "0123456789abcdef";
    if (cap < 10)
        return 0;
    for (int i = 0; i < 8; i++)
        buf[i] = hex[(tag >> (28 - 4 * i)) & 0xf];
    buf[8] = ':';
    size_t at = 9;
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            if (at + 1 >= cap)
                return 0;
            buf[at++] = ',';
        }
        if (seqs[i] >= 0 &&
            (at = progress_put_u64(buf, cap, at, (uint64_t)seqs[i])) == 0)
            return 0;
    }
    buf[at] = '\0';
    return at;
}

/* Parses s[0..len) as a SEQ: empty (-1) or digits within int64. */
static bool progress_seq(const char *s, size_t len, int64_t *out)
{
    if (len == 0) {
        *out = -1;
        return true;
    }
    if (len > 19)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool progress_cursor_parse(const char *text, uint32_t tag, int64_t *seqs, int n)
{
    char want[10];
    snprintf(want, sizeof want, "%08x:", (unsigned)tag);
    if (text == NULL || n < 1 || strncmp(text, want, 9) != 0)
        return false;
    const char *p = text + 9;
    for (int i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        if (!progress_seq(p, len, &seqs[i]))
            return false;
        bool last = i == n - 1;
        if (last != (p[len] == '\0'))
            return false; /* fewer or more SEQs than campaigns */
        p += len + (last ? 0 : 1);
    }
    return true;
}
