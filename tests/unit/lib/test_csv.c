/*
 * test_csv.c - the CSV writer cell by cell and row by row.
 *
 * Tables: text cells (bare, quoted, doubled quotes, newlines, blanks at the
 * ends, the formula-injection prefix, Chinese text, NUL refused); integer
 * and money cells (negatives, INT64 extremes); whole rows with the comma
 * and CRLF placement; the BOM; streaming with clear; and a growth run that
 * crosses many reallocations.
 */
#include "lib/csv.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

/* The bytes of one text cell written alone on a fresh buffer. */
static void check_text_cell(const char *in, const char *want)
{
    struct csv_buf b;
    csv_buf_init(&b);
    CHECK_MSG(csv_append_str(&b, in), "append \"%s\"", in);
    CHECK_STR_EQ(b.data ? b.data : "", want);
    CHECK_INT_EQ(b.len, strlen(want));
    csv_buf_cleanup(&b);
}

static void test_text_cells(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* bare */
        {"plain", "plain"},
        {"", ""},
        {"a b", "a b"},
        {"2026-12-03T14:00:00Z", "2026-12-03T14:00:00Z"},
        {"1234.50", "1234.50"},
        {"x=1+2", "x=1+2"}, /* formula characters later on are harmless */
        {"a;b|c'd", "a;b|c'd"},
        {"it's", "it's"},
        /* quoted */
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},
        {"\"\"", "\"\"\"\"\"\""},
        {"line1\nline2", "\"line1\nline2\""},
        {"line1\r\nline2", "\"line1\r\nline2\""},
        {"end\r", "\"end\r\""},
        {" lead", "\" lead\""},
        {"trail ", "\"trail \""},
        {" ", "\" \""},
        {"trail\t", "\"trail\t\""},
        /* formula injection: apostrophe first */
        {"=SUM(A1:A9)", "'=SUM(A1:A9)"},
        {"+86 138 0000 0000", "'+86 138 0000 0000"},
        {"-5", "'-5"},
        {"-", "'-"},
        {"@cmd", "'@cmd"},
        {"=HYPERLINK(\"http://x\",\"y\")",
         "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
        {"=1,2", "\"'=1,2\""},
        {"\tabc", "\"'\tabc\""}, /* tab: prefixed and quoted (blank) */
        {"\rabc", "\"'\rabc\""}, /* CR: prefixed and quoted */
        /* whitespace before a formula character: spreadsheets trim it */
        {" =1", "\"' =1\""},
        {"  +1", "\"'  +1\""},
        {"\n=1", "\"'\n=1\""},
        {"\n\n@x", "\"'\n\n@x\""},
        {"\r\n-1", "\"'\r\n-1\""},
        {" \t =cmd", "\"' \t =cmd\""},
        {"\t", "\"'\t\""}, /* a lone tab: prefixed */
        {"\n", "\"\n\""},  /* a lone LF: nothing follows, no prefix */
        {" a=1", "\" a=1\""},
        {" 5", "\" 5\""},
        {"\n'=1", "\"\n'=1\""},
        {"'=1", "'=1"},
        /* Chinese text, byte for byte */
        {"团购活动", "团购活动"},
        {"经销商，你好", "经销商，你好"}, /* full-width comma: no quoting */
        {"春节特惠, 第二批", "\"春节特惠, 第二批\""},
        {"“引号”", "“引号”"},
        {"-折扣", "'-折扣"},
        {"多行\n标题", "\"多行\n标题\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_text_cell(cases[i].in, cases[i].want);

    /* NULL is an empty cell; explicit lengths; NUL refused, buffer intact */
    struct csv_buf b;
    csv_buf_init(&b);
    CHECK(csv_append_str(&b, NULL));
    CHECK(csv_append_text(&b, NULL, 0));
    CHECK(csv_append_text(&b, "abcdef", 3));
    CHECK_STR_EQ(b.data, ",,abc");
    CHECK(!csv_append_text(&b, "a\0b", 3));
    CHECK(!csv_append_text(&b, "\0", 1));
    CHECK_STR_EQ(b.data, ",,abc");
    CHECK_INT_EQ(b.len, 5);
    csv_buf_cleanup(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && !b.in_row);
}

static void test_money(void)
{
    static const struct {
        int64_t cents;
        const char *want;
    } cases[] = {
        {0, "0.00"},
        {1, "0.01"},
        {5, "0.05"},
        {10, "0.10"},
        {99, "0.99"},
        {100, "1.00"},
        {123450, "1234.50"},
        {123456, "1234.56"},
        {-1, "-0.01"},
        {-5, "-0.05"},
        {-99, "-0.99"},
        {-100, "-1.00"},
        {-123450, "-1234.50"},
        {100000000, "1000000.00"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
        {INT64_MIN + 1, "-92233720368547758.07"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_buf b;
        csv_buf_init(&b);
        CHECK(csv_append_money(&b, cases[i].cents));
        CHECK_STR_EQ(b.data, cases[i].want); /* never prefixed or quoted */
        csv_buf_cleanup(&b);
    }
}

static void test_ints(void)
{
    static const struct {
        int64_t v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {-7, "-7"},
        {1234567890, "1234567890"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_buf b;
        csv_buf_init(&b);
        CHECK(csv_append_int(&b, cases[i].v));
        CHECK_STR_EQ(b.data, cases[i].want);
        csv_buf_cleanup(&b);
    }
}

static void test_rows(void)
{
    struct csv_buf b;
    csv_buf_init(&b);

    /* the settlement export's header and one line */
    static const char *const header[] = {
        "settled_at",     "campaign_id", "campaign_title", "participation_id",
        "customer_id",    "status",      "quantity",       "unit_price",
        "gross",          "forfeited",   "commission",     "manufacturer",
        "distributor_net"};
    CHECK(csv_append_bom(&b));
    CHECK(!csv_append_bom(&b)); /* only first */
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        CHECK(csv_append_str(&b, header[i]));
    CHECK(csv_end_row(&b));
    CHECK(csv_append_str(&b, "2026-12-03T14:00:05Z"));
    CHECK(csv_append_int(&b, 7));
    CHECK(csv_append_str(&b, "=年货节, \"限量\""));
    CHECK(csv_append_int(&b, 1001));
    CHECK(csv_append_int(&b, 42));
    CHECK(csv_append_str(&b, "paid"));
    CHECK(csv_append_int(&b, 2));
    CHECK(csv_append_money(&b, 7900));
    CHECK(csv_append_money(&b, 15800));
    CHECK(csv_append_money(&b, 0));
    CHECK(csv_append_money(&b, 553));
    CHECK(csv_append_money(&b, 16000));
    CHECK(csv_append_money(&b, -753));
    CHECK(csv_end_row(&b));
    CHECK_STR_EQ(b.data,
                 "\xEF\xBB\xBF"
                 "settled_at,campaign_id,campaign_title,participation_id,"
                 "customer_id,status,quantity,unit_price,gross,forfeited,"
                 "commission,manufacturer,distributor_net\r\n"
                 "2026-12-03T14:00:05Z,7,\"'=年货节, \"\"限量\"\"\",1001,42,"
                 "paid,2,79.00,158.00,0.00,5.53,160.00,-7.53\r\n");

    /* empty cells keep their commas; a new row has no leading comma */
    csv_buf_clear(&b);
    CHECK(b.len == 0 && b.data[0] == '\0' && b.cap >= 256);
    csv_buf_cleanup(&b);
    csv_buf_init(&b);
    CHECK(csv_append_str(&b, ""));
    CHECK(csv_append_str(&b, ""));
    CHECK(csv_append_str(&b, ""));
    CHECK(csv_end_row(&b));
    CHECK(csv_append_int(&b, 1));
    CHECK(csv_end_row(&b));
    CHECK(csv_end_row(&b)); /* a row with no cells: an empty line */
    CHECK_STR_EQ(b.data, ",,\r\n1\r\n\r\n");
    CHECK(!csv_append_bom(&b));
    csv_buf_cleanup(&b);
}

static void test_streaming(void)
{
    struct csv_buf b;
    csv_buf_init(&b);
    size_t peak = 0;
    size_t total = 0;

    /* 10,000 rows, handed on after each row: memory stays flat */
    for (int row = 0; row < 10000; row++) {
        CHECK(csv_append_int(&b, row));
        CHECK(csv_append_str(&b, "华东区 经销商"));
        CHECK(csv_append_money(&b, (int64_t)row * 101 - 50000));
        if (row % 3 == 0) {
            csv_buf_clear(&b); /* mid-row clear: the comma still comes */
            CHECK(csv_append_str(&b, "x"));
            CHECK(b.data[0] == ',');
        }
        CHECK(csv_end_row(&b));
        total += b.len;
        peak = b.cap > peak ? b.cap : peak;
        csv_buf_clear(&b);
    }
    CHECK_MSG(peak <= 256, "peak capacity %zu", peak);
    CHECK(total > 10000 * 10);
    csv_buf_cleanup(&b);

    /* one big cell and many cells: growth across reallocations */
    size_t n = 100000;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    if (big) {
        for (size_t i = 0; i < n; i++)
            big[i] = i % 10 == 9 ? '"' : 'a';
        big[n] = '\0';
        csv_buf_init(&b);
        CHECK(csv_append_str(&b, big));
        CHECK_INT_EQ(b.len, n + n / 10 + 2);
        CHECK(b.data[0] == '"' && b.data[b.len - 1] == '"');
        CHECK(b.data[b.len] == '\0' && b.len < b.cap);
        for (int i = 0; i < 20000; i++)
            CHECK(csv_append_money(&b, -i));
        CHECK(csv_end_row(&b));
        CHECK(b.len >= 2 && memcmp(b.data + b.len - 2, "\r\n", 2) == 0);
        CHECK(b.data[b.len] == '\0');
        csv_buf_cleanup(&b);
        free(big);
    }
}

int main(void)
{
    test_text_cells();
    test_money();
    test_ints();
    test_rows();
    test_streaming();
    return unit_summary("csv");
}
