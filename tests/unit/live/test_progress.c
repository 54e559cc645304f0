/*
 * test_progress.c - progress.h: the id list of a many-campaign stream
 * (sorted, repeats dropped, bounds) and its cursor (the round trip, the
 * tag of another list, malformed text, the longest cursor).
 */
#include <stdint.h>
#include <string.h>

#include "live/progress.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct ids_case {
    const char *text;
    int max;
    enum progress_ids want;
    int n;
    int64_t ids[6];
};

static const struct ids_case ids_cases[] = {
    {"7", 50, PROGRESS_IDS_OK, 1, {7}},
    {"7,9,12", 50, PROGRESS_IDS_OK, 3, {7, 9, 12}},
    {"12,7,9", 50, PROGRESS_IDS_OK, 3, {7, 9, 12}},
    {"9,9,7,9", 50, PROGRESS_IDS_OK, 2, {7, 9}},
    {"9007199254740992", 50, PROGRESS_IDS_OK, 1, {9007199254740992LL}},
    {"1,2,3", 3, PROGRESS_IDS_OK, 3, {1, 2, 3}},
    {"1,2,3,4", 3, PROGRESS_IDS_TOO_MANY, 0, {0}},
    {"1,1,1,1", 3, PROGRESS_IDS_TOO_MANY, 0, {0}}, /* entries, not ids */
    {"", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"7,", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {",7", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"7,,9", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"0", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"07", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"-7", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"7 ", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {" 7", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"7;9", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"abc", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"9007199254740993", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
    {"12345678901234567", 50, PROGRESS_IDS_MALFORMED, 0, {0}},
};

static void test_ids(void)
{
    for (size_t i = 0; i < N_ELEMS(ids_cases); i++) {
        const struct ids_case *c = &ids_cases[i];
        int64_t ids[PROGRESS_MAX_IDS];
        int n = -1;
        enum progress_ids got = progress_ids_parse(c->text, ids, c->max, &n);
        CHECK_MSG(got == c->want, "\"%s\": got %d, want %d", c->text, got,
                  c->want);
        if (got != PROGRESS_IDS_OK || c->want != PROGRESS_IDS_OK)
            continue;
        CHECK_INT_EQ(n, c->n);
        for (int k = 0; k < n && k < c->n; k++)
            CHECK_INT_EQ(ids[k], c->ids[k]);
    }
    int n;
    int64_t ids[1];
    CHECK(progress_ids_parse(NULL, ids, 1, &n) == PROGRESS_IDS_MALFORMED);
}

/* Fifty ids, the API's bound: accepted; fifty-one: refused. */
static void test_ids_bound(void)
{
    char text[PROGRESS_MAX_IDS * 4 + 8] = "";
    for (int i = 1; i <= PROGRESS_MAX_IDS; i++) {
        char one[8];
        snprintf(one, sizeof one, i > 1 ? ",%d" : "%d", i);
        strcat(text, one);
    }
    int64_t ids[PROGRESS_MAX_IDS];
    int n;
    CHECK(progress_ids_parse(text, ids, PROGRESS_MAX_IDS, &n) ==
          PROGRESS_IDS_OK);
    CHECK_INT_EQ(n, PROGRESS_MAX_IDS);
    strcat(text, ",51");
    CHECK(progress_ids_parse(text, ids, PROGRESS_MAX_IDS, &n) ==
          PROGRESS_IDS_TOO_MANY);
}

static void test_tag(void)
{
    const int64_t a[] = {7, 9, 12}, b[] = {7, 9, 13}, c[] = {7, 9};
    CHECK(progress_tag(a, 3) == progress_tag(a, 3));
    CHECK(progress_tag(a, 3) != progress_tag(b, 3));
    CHECK(progress_tag(a, 3) != progress_tag(c, 2));
}

static void test_cursor_round_trip(void)
{
    const int64_t seqs[] = {3, -1, 0, 1234567, INT64_MAX};
    char buf[PROGRESS_CURSOR_MAX];
    size_t len = progress_cursor_format(buf, sizeof buf, 0xabc, seqs, 5);
    CHECK_STR_EQ(buf, "00000abc:3,,0,1234567,9223372036854775807");
    CHECK_INT_EQ(len, strlen(buf));
    int64_t back[5];
    CHECK(progress_cursor_parse(buf, 0xabc, back, 5));
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(back[i], seqs[i]);
    /* another list: its tag, or its length */
    CHECK(!progress_cursor_parse(buf, 0xabd, back, 5));
    CHECK(!progress_cursor_parse(buf, 0xabc, back, 4));
    CHECK(!progress_cursor_parse(buf, 0xabc, back, 6));
    /* one campaign, none sent yet */
    const int64_t none[] = {-1};
    progress_cursor_format(buf, sizeof buf, 1, none, 1);
    CHECK_STR_EQ(buf, "00000001:");
    CHECK(progress_cursor_parse(buf, 1, back, 1) && back[0] == -1);
}

static void test_cursor_malformed(void)
{
    static const char *const bad[] = {
        "",
        "12",
        "00000abc",
        "00000abc;1,2",
        "00000ABC:1,2", /* the tag is written in lower case */
        "00000abc:1,x",
        "00000abc:1,-2",
        "00000abc:1, 2",
        "00000abc:1,9223372036854775808",
        "00000abc:1,2,",
        "00000abc:1,2\n",
    };
    int64_t seqs[2];
    for (size_t i = 0; i < N_ELEMS(bad); i++)
        CHECK_MSG(!progress_cursor_parse(bad[i], 0xabc, seqs, 2), "\"%s\"",
                  bad[i]);
    CHECK(!progress_cursor_parse(NULL, 0xabc, seqs, 2));
    CHECK(progress_cursor_parse("00000abc:1,2", 0xabc, seqs, 2));
}

/* At every capacity the cursor is whole, with its NUL, or refused (0):
 * never cut short. */
static void test_cursor_every_capacity(void)
{
    const int64_t seqs[] = {42, -1, 7};
    const char *want = "deadbeef:42,,7";
    size_t len = strlen(want);
    for (size_t cap = 0; cap <= len + 2; cap++) {
        char buf[32];
        memset(buf, 'x', sizeof buf);
        size_t got = progress_cursor_format(buf, cap, 0xdeadbeef, seqs, 3);
        if (cap <= len) {
            CHECK_MSG(got == 0, "cap %zu", cap);
        } else {
            CHECK_MSG(got == len, "cap %zu", cap);
            CHECK_STR_EQ(buf, want);
        }
        for (size_t i = cap; i < sizeof buf; i++)
            CHECK_MSG(buf[i] == 'x', "cap %zu: byte %zu written", cap, i);
    }
}

/* The longest cursor fits PROGRESS_CURSOR_MAX; one byte less does not. */
static void test_cursor_longest(void)
{
    int64_t seqs[PROGRESS_MAX_IDS];
    for (int i = 0; i < PROGRESS_MAX_IDS; i++)
        seqs[i] = INT64_MAX;
    char buf[PROGRESS_CURSOR_MAX];
    size_t len = progress_cursor_format(buf, sizeof buf, UINT32_MAX, seqs,
                                        PROGRESS_MAX_IDS);
    CHECK_INT_EQ(len, PROGRESS_CURSOR_MAX - 1);
    CHECK_INT_EQ(progress_cursor_format(buf, sizeof buf - 1, UINT32_MAX, seqs,
                                        PROGRESS_MAX_IDS),
                 0);
    int64_t back[PROGRESS_MAX_IDS];
    CHECK(progress_cursor_parse(buf, UINT32_MAX, back, PROGRESS_MAX_IDS));
}

int main(void)
{
    test_ids();
    test_ids_bound();
    test_tag();
    test_cursor_round_trip();
    test_cursor_malformed();
    test_cursor_every_capacity();
    test_cursor_longest();
    return unit_summary("progress");
}
