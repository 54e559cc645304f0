/*
 * test_json.c - the strict parser, integer reading, field readers and
 * output helpers of server/lib/json.c.
 *
 * Every parse input is copied into a heap buffer of exactly its length, so
 * AddressSanitizer catches any read past the end (the parser must never
 * expect a NUL terminator). A failing-allocator pass walks every
 * allocation of a parse and of the output helpers to prove the error paths
 * free what they made.
 */
#include "lib/json.h"
#include "unit.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* Parses s[0..len) from an exact-size heap copy. */
static cJSON *parse_n(const char *s, size_t len, struct json_parse_error *err)
{
    char *copy = malloc(len ? len : 1);
    cJSON *root;

    if (copy == NULL)
        abort();
    memcpy(copy, s, len);
    root = json_parse_strict(copy, len, err);
    free(copy);
    return root;
}

static cJSON *parse(const char *s, struct json_parse_error *err)
{
    return parse_n(s, strlen(s), err);
}

struct parse_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    enum json_parse_status want;
};

#define OK     JSON_PARSE_OK
#define SYNTAX JSON_PARSE_SYNTAX
#define DUP    JSON_PARSE_DUPLICATE
#define UTF8   JSON_PARSE_UTF8
#define NUL    JSON_PARSE_NUL
#define TRAIL  JSON_PARSE_TRAILING

static const struct parse_case parse_cases[] = {
    /* accepted */
    {"{}", 0, OK},
    {"[]", 0, OK},
    {"0", 0, OK},
    {"-0", 0, OK},
    {"1.5e10", 0, OK},
    {"-1.25E-3", 0, OK},
    {"1e+2", 0, OK},
    {"1e999", 0, OK},
    {"-1e999", 0, OK},
    {"\"a\"", 0, OK},
    {"true", 0, OK},
    {"false", 0, OK},
    {"null", 0, OK},
    {" \t\n\r{\"a\":[1,2,{\"b\":null}]} \n\r\t", 0, OK},
    {"{\"login\":\"ann\",\"password\":\"x\"}", 0, OK},
    {"{\"a\":1,\"A\":2}", 0, OK},
    {"{\"a\":{\"a\":1}}", 0, OK},
    {"[{\"a\":1},{\"a\":2}]", 0, OK},
    {"{\"\":1}", 0, OK},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0, OK},
    {"\"\\u00e9\\ud83d\\ude00\"", 0, OK},
    {"\"\\ud800\\udc00\\udbff\\udfff\"", 0, OK},
    {"\"\\u0001\"", 0, OK},
    {"\"\xc2\x80\"", 0, OK},         /* U+0080 */
    {"\"\xdf\xbf\"", 0, OK},         /* U+07FF */
    {"\"\xe0\xa0\x80\"", 0, OK},     /* U+0800 */
    {"\"\xed\x9f\xbf\"", 0, OK},     /* U+D7FF */
    {"\"\xee\x80\x80\"", 0, OK},     /* U+E000 */
    {"\"\xef\xbf\xbf\"", 0, OK},     /* U+FFFF */
    {"\"\xf0\x90\x80\x80\"", 0, OK}, /* U+10000 */
    {"\"\xf4\x8f\xbf\xbf\"", 0, OK}, /* U+10FFFF */
    {"\"\x7f\"", 0, OK},             /* DEL is not a control char */
    /* syntax */
    {"", 0, SYNTAX},
    {" \n\t\r", 0, SYNTAX},
    {"{", 0, SYNTAX},
    {"[", 0, SYNTAX},
    {"[1,]", 0, SYNTAX},
    {"[,1]", 0, SYNTAX},
    {"{\"a\":1,}", 0, SYNTAX},
    {"{,}", 0, SYNTAX},
    {"[1 2]", 0, SYNTAX},
    {"{\"a\" 1}", 0, SYNTAX},
    {"{\"a\":}", 0, SYNTAX},
    {"{\"a\"}", 0, SYNTAX},
    {"{a:1}", 0, SYNTAX},
    {"{1:1}", 0, SYNTAX},
    {"'a'", 0, SYNTAX},
    {"01", 0, SYNTAX},
    {"-01", 0, SYNTAX},
    {"00", 0, SYNTAX},
    {"+1", 0, SYNTAX},
    {".5", 0, SYNTAX},
    {"1.", 0, SYNTAX},
    {"1.e5", 0, SYNTAX},
    {"1e", 0, SYNTAX},
    {"1e+", 0, SYNTAX},
    {"-", 0, SYNTAX},
    {"--1", 0, SYNTAX},
    {"NaN", 0, SYNTAX},
    {"Infinity", 0, SYNTAX},
    {"-Infinity", 0, SYNTAX},
    {"tru", 0, SYNTAX},
    {"nul", 0, SYNTAX},
    {"True", 0, SYNTAX},
    {"\"abc", 0, SYNTAX},
    {"\"abc\\", 0, SYNTAX},
    {"\"\\x\"", 0, SYNTAX},
    {"\"\\u12\"", 0, SYNTAX},
    {"\"\\u12", 0, SYNTAX},
    {"\"\\u12g4\"", 0, SYNTAX},
    {"\"a\tb\"", 0, SYNTAX},
    {"\"a\nb\"", 0, SYNTAX},
    {"\"\x1f\"", 0, SYNTAX},
    {"\xef\xbb\xbf{}", 0, SYNTAX}, /* a BOM is not whitespace */
    {"\0", 1, SYNTAX},
    {"[1,\0]", 5, SYNTAX},
    /* trailing */
    {"{} x", 0, TRAIL},
    {"1 2", 0, TRAIL},
    {"[] []", 0, TRAIL},
    {"truex", 0, TRAIL},
    {"0x10", 0, TRAIL},
    {"{\"a\":1}}", 0, TRAIL},
    {"[1]]", 0, TRAIL},
    {"{}\0", 3, TRAIL},
    {"\"a\"\"b\"", 0, TRAIL},
    /* invalid UTF-8 */
    {"\"\xc0\xaf\"", 0, UTF8},                 /* overlong '/' */
    {"\"\xc1\xbf\"", 0, UTF8},                 /* overlong */
    {"\"\xe0\x80\xaf\"", 0, UTF8},             /* overlong, 3 bytes */
    {"\"\xe0\x9f\xbf\"", 0, UTF8},             /* overlong U+07FF */
    {"\"\xf0\x80\x80\xaf\"", 0, UTF8},         /* overlong, 4 bytes */
    {"\"\xf0\x8f\xbf\xbf\"", 0, UTF8},         /* overlong U+FFFF */
    {"\"\xed\xa0\x80\"", 0, UTF8},             /* U+D800 in UTF-8 */
    {"\"\xed\xbf\xbf\"", 0, UTF8},             /* U+DFFF in UTF-8 */
    {"\"\xed\xa0\xbd\xed\xb8\x80\"", 0, UTF8}, /* CESU-8 pair */
    {"\"\xf4\x90\x80\x80\"", 0, UTF8},         /* U+110000 */
    {"\"\xf5\x80\x80\x80\"", 0, UTF8},
    {"\"\xf8\x88\x80\x80\x80\"", 0, UTF8}, /* 5-byte form */
    {"\"\xc3\"", 0, UTF8},                 /* truncated */
    {"\"\xe2\x82\"", 0, UTF8},             /* truncated */
    {"\"\xf0\x9f\x98\"", 0, UTF8},         /* truncated */
    {"\"\xe2\x82", 0, UTF8},               /* truncated at end of input */
    {"\"\xc3", 0, UTF8},
    {"\"\x80\"", 0, UTF8},         /* lone continuation */
    {"\"\xc3\xa9\xa9\"", 0, UTF8}, /* extra continuation */
    {"\"\xfe\"", 0, UTF8},
    {"\xff", 0, UTF8},
    {"[1,\xff]", 0, UTF8}, /* outside a string too */
    {"{\"\xc0\x80\":1}", 0, UTF8},
    {"\"\\ud800\"", 0, UTF8}, /* lone surrogate escapes */
    {"\"\\udc00\"", 0, UTF8},
    {"\"\\udfff\\ud800\"", 0, UTF8},
    {"\"\\ud800\\u0041\"", 0, UTF8},
    {"\"\\ud800\\ud800\"", 0, UTF8},
    {"\"\\ud800x\"", 0, UTF8},
    {"\"\\ud800\\n\"", 0, UTF8},
    {"\"\\ud800", 0, UTF8},
    /* NUL */
    {"\"\\u0000\"", 0, NUL},
    {"\"a\\u0000b\"", 0, NUL},
    {"{\"a\\u0000b\":1}", 0, NUL},
    {"\"a\0b\"", 5, NUL},
    {"{\"a\0\":1}", 8, NUL},
    /* duplicate keys */
    {"{\"a\":1,\"a\":2}", 0, DUP},
    {"{\"a\":1,\"\\u0061\":2}", 0, DUP},
    {"{\"\\/\":1,\"/\":2}", 0, DUP},
    {"{\"a\":1,\"b\":2,\"a\":3}", 0, DUP},
    {"{\"x\":{\"k\":1,\"k\":{}}}", 0, DUP},
    {"[{\"k\":1},{\"k\":1,\"k\":1}]", 0, DUP},
    {"{\"\xc3\xa9\":1,\"\\u00e9\":2}", 0, DUP},
    {"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 0, DUP},
    {"{\"\":1,\"\":2}", 0, DUP},
    {"{\"a\":null,\"a\":null}", 0, DUP},
};

static void test_parse_table(void)
{
    size_t n = sizeof(parse_cases) / sizeof(parse_cases[0]);

    for (size_t i = 0; i < n; i++) {
        const struct parse_case *c = &parse_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        struct json_parse_error err;
        cJSON *root = parse_n(c->in, len, &err);

        CHECK_MSG(err.status == c->want, "case %zu (%s): status %d, want %d", i,
                  c->in, (int)err.status, (int)c->want);
        CHECK_MSG((root != NULL) == (c->want == OK), "case %zu (%s)", i, c->in);
        if (c->want != OK)
            CHECK_MSG(err.message[0] != '\0' && err.offset <= len,
                      "case %zu: message/offset", i);
        cJSON_Delete(root);
    }
}

struct offset_case {
    const char *in;
    enum json_parse_status want;
    size_t offset;
    const char *message;
};

static const struct offset_case offset_cases[] = {
    {"{\"a\":1,\"a\":2}", DUP, 7, "duplicate key \"a\" at byte 7"},
    {"{\"b\":1,\"a\":2,\"b\":3,\"a\":4}", DUP, 13,
     "duplicate key \"b\" at byte 13"},
    {"{\"a\\\"\":1,\"a\\\"\":2}", DUP, 9, "duplicate key \"a?\" at byte 9"},
    {"{} x", TRAIL, 3, "unexpected data after the JSON value at byte 3"},
    {"[1,\xff]", UTF8, 3, "invalid UTF-8 at byte 3"},
    {"\"ab\\u0000\"", NUL, 3, "a string holds NUL (\\u0000) at byte 3"},
    {"[1,]", SYNTAX, 3, "expected a JSON value at byte 3, found ']'"},
    {"[1", SYNTAX, 2, "expected ',' or ']' at byte 2, found end of input"},
    {"", SYNTAX, 0, "the body is empty"},
    {"\"x\\ud800\"", UTF8, 2, "lone surrogate escape at byte 2"},
};

static void test_parse_offsets(void)
{
    size_t n = sizeof(offset_cases) / sizeof(offset_cases[0]);

    for (size_t i = 0; i < n; i++) {
        const struct offset_case *c = &offset_cases[i];
        struct json_parse_error err;
        cJSON *root = parse(c->in, &err);

        CHECK(root == NULL);
        CHECK_INT_EQ(err.status, c->want);
        CHECK_INT_EQ(err.offset, c->offset);
        CHECK_STR_EQ(err.message, c->message);
        cJSON_Delete(root);
    }
    /* err may be NULL */
    CHECK(json_parse_strict("x", 1, NULL) == NULL);
    CHECK(json_parse_strict(NULL, 0, NULL) == NULL);
}

/* `depth` nested arrays, or objects {"a":...}, around 1. */
static char *nested(int depth, bool objects)
{
    char *s = malloc((size_t)depth * 6 + 2);
    size_t n = 0;

    if (s == NULL)
        abort();
    for (int i = 0; i < depth; i++) {
        if (objects) {
            memcpy(s + n, "{\"a\":", 5);
            n += 5;
        } else {
            s[n++] = '[';
        }
    }
    s[n++] = '1';
    for (int i = 0; i < depth; i++)
        s[n++] = objects ? '}' : ']';
    s[n] = '\0';
    return s;
}

static void test_depth(void)
{
    static const struct {
        int depth;
        bool objects;
        enum json_parse_status want;
    } cases[] = {
        {1, false, OK},
        {31, false, OK},
        {32, false, OK},
        {33, false, JSON_PARSE_DEPTH},
        {1000, false, JSON_PARSE_DEPTH},
        {32, true, OK},
        {33, true, JSON_PARSE_DEPTH},
        {5000, true, JSON_PARSE_DEPTH},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = nested(cases[i].depth, cases[i].objects);
        struct json_parse_error err;
        cJSON *root = parse(s, &err);

        CHECK_MSG(err.status == cases[i].want, "depth %d objects %d: %d",
                  cases[i].depth, cases[i].objects, (int)err.status);
        if (root != NULL) {
            char *out = cJSON_PrintUnformatted(root);
            CHECK_STR_EQ(out, s);
            cJSON_free(out);
        }
        cJSON_Delete(root);
        free(s);
    }
    {
        /* unclosed at 32 is a syntax error, at 33 a depth error */
        struct json_parse_error err;
        char s[40];
        memset(s, '[', 33);
        cJSON_Delete(parse_n(s, 32, &err));
        CHECK_INT_EQ(err.status, SYNTAX);
        cJSON_Delete(parse_n(s, 33, &err));
        CHECK_INT_EQ(err.status, JSON_PARSE_DEPTH);
        CHECK_INT_EQ(err.offset, 32);
    }
}

/* A ~64 KiB object with thousands of distinct keys, then a duplicate. */
static void test_many_keys(void)
{
    enum { KEYS = 6000 };
    size_t cap = 16 * KEYS + 64, n = 0;
    char *s = malloc(cap);
    struct json_parse_error err;
    cJSON *root;

    if (s == NULL)
        abort();
    s[n++] = '{';
    for (int i = 0; i < KEYS; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s\"k%d\":%d", i ? "," : "",
                              (i * 7919) % KEYS, i);
    s[n++] = '}';
    root = parse_n(s, n, &err);
    CHECK_INT_EQ(err.status, OK);
    CHECK_INT_EQ(cJSON_GetArraySize(root), KEYS);
    cJSON_Delete(root);

    n--; /* reopen and repeat the first key */
    n += (size_t)snprintf(s + n, cap - n, ",\"k0\":1}");
    root = parse_n(s, n, &err);
    CHECK(root == NULL);
    CHECK_INT_EQ(err.status, DUP);
    CHECK_INT_EQ(err.offset, n - 7);
    free(s);
}

static void test_numbers(void)
{
    struct json_parse_error err;
    cJSON *root =
        parse("[1.50, -0, 1e2, 12345678901234567890, 1e999, -7]", &err);
    static const char *const literals[] = {
        "1.50", "-0", "1e2", "12345678901234567890", "1e999", "-7"};
    const cJSON *c;
    size_t i = 0;
    char *out;

    CHECK(root != NULL);
    if (root == NULL)
        return;
    for (c = root->child; c != NULL; c = c->next, i++) {
        CHECK(cJSON_IsNumber(c));
        CHECK_STR_EQ(c->valuestring, literals[i]);
    }
    CHECK_INT_EQ(i, 6);
    CHECK(root->child->valuedouble == 1.5);
    CHECK(isinf(cJSON_GetArrayItem(root, 4)->valuedouble));
    out = cJSON_PrintUnformatted(root);
    CHECK_STR_EQ(out, "[1.5,-0,100,1.2345678901234567e+19,null,-7]");
    cJSON_free(out);
    cJSON_Delete(root);

    /* cJSON_Duplicate copies the literal too */
    root = parse("{\"n\":42}", &err);
    if (root != NULL) {
        cJSON *dup = cJSON_Duplicate(root, true);
        int64_t v = 0;
        CHECK(dup != NULL && json_item_int(json_get(dup, "n"), 0, 100, &v));
        CHECK_INT_EQ(v, 42);
        cJSON_Delete(dup);
    }
    cJSON_Delete(root);
}

struct int_case {
    const char *literal;
    int64_t min, max;
    bool ok;
    int64_t want;
};

#define SAFE JSON_MAX_SAFE_INT

static const struct int_case int_cases[] = {
    {"0", -SAFE, SAFE, true, 0},
    {"-0", -SAFE, SAFE, true, 0},
    {"7", -SAFE, SAFE, true, 7},
    {"-7", -SAFE, SAFE, true, -7},
    {"9007199254740992", INT64_MIN, INT64_MAX, true, SAFE},
    {"-9007199254740992", INT64_MIN, INT64_MAX, true, -SAFE},
    {"9007199254740993", INT64_MIN, INT64_MAX, false, 0},
    {"-9007199254740993", INT64_MIN, INT64_MAX, false, 0},
    {"9999999999999999", INT64_MIN, INT64_MAX, false, 0},
    {"10000000000000000", INT64_MIN, INT64_MAX, false, 0},
    {"12345678901234567890", INT64_MIN, INT64_MAX, false, 0},
    {"1.0", INT64_MIN, INT64_MAX, false, 0},
    {"1.5", INT64_MIN, INT64_MAX, false, 0},
    {"1e2", INT64_MIN, INT64_MAX, false, 0},
    {"1E2", INT64_MIN, INT64_MAX, false, 0},
    {"0e0", INT64_MIN, INT64_MAX, false, 0},
    {"1e999", INT64_MIN, INT64_MAX, false, 0},
    {"-1e999", INT64_MIN, INT64_MAX, false, 0},
    {"1", 1, 500, true, 1},
    {"500", 1, 500, true, 500},
    {"0", 1, 500, false, 0},
    {"501", 1, 500, false, 0},
    {"-1", 0, 10, false, 0},
    {"5", 6, 4, false, 0},
};

static void test_item_int(void)
{
    size_t n = sizeof(int_cases) / sizeof(int_cases[0]);

    for (size_t i = 0; i < n; i++) {
        const struct int_case *c = &int_cases[i];
        cJSON *root = parse(c->literal, NULL);
        int64_t v = -12345;
        bool ok;

        CHECK_MSG(root != NULL, "%s", c->literal);
        ok = json_item_int(root, c->min, c->max, &v);
        CHECK_MSG(ok == c->ok, "%s: got %d", c->literal, ok);
        CHECK_INT_EQ(v, c->ok ? c->want : -12345);
        cJSON_Delete(root);
    }

    /* hand-made nodes: bad literal text, no literal, not a number */
    {
        static const char *const bad[] = {"01", "+1",  "",    "-",
                                          "1 ", "0x1", "--1", "-01"};
        int64_t v = 0;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            cJSON *num = cJSON_CreateNumber(1);
            num->valuestring = cJSON_malloc(strlen(bad[i]) + 1);
            strcpy(num->valuestring, bad[i]);
            CHECK_MSG(!json_item_int(num, INT64_MIN, INT64_MAX, &v), "%s",
                      bad[i]);
            cJSON_Delete(num);
        }
    }
    {
        static const struct {
            double d;
            bool ok;
        } plain[] = {{42, true},       {-42, true},
                     {1.5, false},     {9007199254740992.0, true},
                     {1e300, false},   {-1e300, false},
                     {INFINITY, false}};
        for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
            cJSON *num = cJSON_CreateNumber(plain[i].d);
            int64_t v = 0;
            CHECK_MSG(json_item_int(num, INT64_MIN, INT64_MAX, &v) ==
                          plain[i].ok,
                      "%g", plain[i].d);
            if (plain[i].ok)
                CHECK(v == (int64_t)plain[i].d);
            cJSON_Delete(num);
        }
    }
    {
        cJSON *s = cJSON_CreateString("5");
        int64_t v = 0;
        CHECK(!json_item_int(s, 0, 10, &v));
        CHECK(!json_item_int(NULL, 0, 10, &v));
        cJSON_Delete(s);
    }
}

static void test_utf8_length(void)
{
    static const struct {
        const char *s;
        size_t want;
    } cases[] = {
        {"", 0},
        {"abc", 3},
        {"\xc3\xa9", 1},
        {"\xe2\x82\xac", 1},
        {"\xf0\x9f\x98\x80", 1},
        {"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 4},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_INT_EQ(json_utf8_length(cases[i].s), cases[i].want);
}

static const char body[] =
    "{\"quantity\":5,\"name\":\"Zo\xc3\xa9\",\"active\":true,"
    "\"items\":[1,2,3],\"addr\":{\"city\":\"x\"},\"note\":null,"
    "\"empty\":\"\",\"price\":1.0,\"text\":\"12\"}";

static void test_jfields_only(void)
{
    static const char *const all[] = {"quantity", "name", "active", "items",
                                      "addr",     "note", "empty",  "price",
                                      "text",     NULL};
    static const char *const some[] = {"quantity", "name", "active", "items",
                                       NULL};
    static const char *const none[] = {NULL};
    cJSON *root = parse(body, NULL);
    struct jfields jf;

    jfields_init(&jf, root);
    CHECK(jfields_ok(&jf));
    CHECK(jfields_only(&jf, all));
    CHECK(jfields_ok(&jf));

    jfields_init(&jf, root);
    CHECK(!jfields_only(&jf, some));
    CHECK_STR_EQ(jf.field, "addr");
    CHECK_STR_EQ(jf.message, "unknown field \"addr\"");

    jfields_init(&jf, root);
    CHECK(!jfields_only(&jf, none));
    CHECK_STR_EQ(jf.field, "quantity");
    cJSON_Delete(root);

    root = parse("{\"ro\\\"le\":1}", NULL);
    jfields_init(&jf, root);
    CHECK(!jfields_only(&jf, some));
    CHECK_STR_EQ(jf.field, "ro\"le");
    CHECK_STR_EQ(jf.message, "unknown field \"ro?le\"");
    cJSON_Delete(root);

    root = parse("{}", NULL);
    jfields_init(&jf, root);
    CHECK(jfields_only(&jf, none));
    cJSON_Delete(root);
}

struct int_field_case {
    const char *key;
    bool required;
    int64_t min, max;
    bool ok, present;
    int64_t want;
    const char *message;
};

static const struct int_field_case int_field_cases[] = {
    {"quantity", true, 1, 500, true, true, 5, NULL},
    {"quantity", false, 1, 500, true, true, 5, NULL},
    {"quantity", true, 6, 500, false, false, 0,
     "\"quantity\" must be an integer between 6 and 500"},
    {"missing", true, 1, 500, false, false, 0, "\"missing\" is required"},
    {"missing", false, 1, 500, true, false, -1, NULL},
    {"note", false, 1, 500, true, false, -1, NULL},
    {"note", true, 1, 500, false, false, 0, "\"note\" is required"},
    {"name", true, 1, 500, false, false, 0,
     "\"name\" must be an integer between 1 and 500"},
    {"text", true, 1, 500, false, false, 0,
     "\"text\" must be an integer between 1 and 500"},
    {"price", true, 0, 10, false, false, 0,
     "\"price\" must be an integer between 0 and 10"},
    {"active", false, 0, 10, false, false, 0,
     "\"active\" must be an integer between 0 and 10"},
    {"quantity", true, INT64_MIN, INT64_MAX, true, true, 5, NULL},
    {"name", true, INT64_MIN, INT64_MAX, false, false, 0,
     "\"name\" must be an integer between -9007199254740992 and "
     "9007199254740992"},
};

static void test_jfields_int(void)
{
    cJSON *root = parse(body, NULL);

    for (size_t i = 0; i < sizeof(int_field_cases) / sizeof(int_field_cases[0]);
         i++) {
        const struct int_field_case *c = &int_field_cases[i];
        struct jfields jf;
        int64_t v = -1;
        bool present = !c->present;
        bool ok;

        jfields_init(&jf, root);
        ok =
            jfields_int(&jf, c->key, c->required, c->min, c->max, &v, &present);
        CHECK_MSG(ok == c->ok, "case %zu", i);
        CHECK_MSG(jfields_ok(&jf) == c->ok, "case %zu", i);
        if (c->ok) {
            CHECK_MSG(present == c->present, "case %zu", i);
            CHECK_INT_EQ(v, c->want);
            CHECK(jf.field == NULL);
        } else {
            CHECK_STR_EQ(jf.field, c->key);
            CHECK_STR_EQ(jf.message, c->message);
            CHECK_INT_EQ(v, -1);
        }
        /* present may be NULL */
        jfields_init(&jf, root);
        CHECK(jfields_int(&jf, c->key, c->required, c->min, c->max, &v, NULL) ==
              c->ok);
    }
    cJSON_Delete(root);
}

struct str_field_case {
    const char *key;
    bool required;
    size_t min, max;
    bool ok, present;
    const char *want;
    const char *message;
};

static const struct str_field_case str_field_cases[] = {
    {"name", true, 1, 64, true, true, "Zo\xc3\xa9", NULL},
    {"name", true, 3, 3, true, true, "Zo\xc3\xa9", NULL}, /* 3 chars, 4 bytes */
    {"name", true, 1, 2, false, false, NULL,
     "\"name\" must be a string of 1 to 2 characters"},
    {"name", true, 4, 64, false, false, NULL,
     "\"name\" must be a string of 4 to 64 characters"},
    {"name", true, 2, 2, false, false, NULL,
     "\"name\" must be a string of 2 characters"},
    {"empty", false, 0, 10, true, true, "", NULL},
    {"empty", true, 1, 64, false, false, NULL,
     "\"empty\" must be a string of 1 to 64 characters"},
    {"quantity", true, 0, 64, false, false, NULL,
     "\"quantity\" must be a string of at most 64 characters"},
    {"items", true, 1, 64, false, false, NULL,
     "\"items\" must be a string of 1 to 64 characters"},
    {"missing", true, 1, 64, false, false, NULL, "\"missing\" is required"},
    {"missing", false, 1, 64, true, false, NULL, NULL},
    {"note", false, 1, 64, true, false, NULL, NULL},
    {"note", true, 1, 64, false, false, NULL, "\"note\" is required"},
};

static void test_jfields_str(void)
{
    cJSON *root = parse(body, NULL);

    for (size_t i = 0; i < sizeof(str_field_cases) / sizeof(str_field_cases[0]);
         i++) {
        const struct str_field_case *c = &str_field_cases[i];
        struct jfields jf;
        const char *v = NULL;
        bool present = !c->present;
        bool ok;

        jfields_init(&jf, root);
        ok =
            jfields_str(&jf, c->key, c->required, c->min, c->max, &v, &present);
        CHECK_MSG(ok == c->ok, "case %zu", i);
        if (c->ok) {
            CHECK_MSG(present == c->present, "case %zu", i);
            if (c->want != NULL)
                CHECK_STR_EQ(v, c->want);
            else
                CHECK(v == NULL);
        } else {
            CHECK_STR_EQ(jf.field, c->key);
            CHECK_STR_EQ(jf.message, c->message);
            CHECK(v == NULL);
        }
    }
    cJSON_Delete(root);
}

static void test_jfields_bool_array_object(void)
{
    cJSON *root = parse(body, NULL);
    struct jfields jf;
    bool b = false, present = false;
    const cJSON *node;

    /* bool */
    jfields_init(&jf, root);
    CHECK(jfields_bool(&jf, "active", true, &b, &present));
    CHECK(b && present);
    b = false;
    CHECK(jfields_bool(&jf, "missing", false, &b, &present));
    CHECK(!b && !present);
    CHECK(jfields_bool(&jf, "note", false, &b, NULL));
    CHECK(!jfields_bool(&jf, "quantity", false, &b, &present));
    CHECK_STR_EQ(jf.field, "quantity");
    CHECK_STR_EQ(jf.message, "\"quantity\" must be true or false");
    jfields_init(&jf, root);
    CHECK(!jfields_bool(&jf, "missing", true, &b, NULL));
    CHECK_STR_EQ(jf.message, "\"missing\" is required");

    /* array */
    jfields_init(&jf, root);
    node = jfields_array(&jf, "items", true, 1, 3);
    CHECK(cJSON_IsArray(node) && jfields_ok(&jf));
    CHECK(jfields_array(&jf, "missing", false, 1, 3) == NULL);
    CHECK(jfields_ok(&jf));
    CHECK(jfields_array(&jf, "note", false, 1, 3) == NULL);
    CHECK(jfields_ok(&jf));
    CHECK(jfields_array(&jf, "items", true, 4, 10) == NULL);
    CHECK_STR_EQ(jf.field, "items");
    CHECK_STR_EQ(jf.message, "\"items\" must be an array of 4 to 10 items");
    jfields_init(&jf, root);
    CHECK(jfields_array(&jf, "items", true, 0, 2) == NULL);
    CHECK_STR_EQ(jf.message, "\"items\" must be an array of at most 2 items");
    jfields_init(&jf, root);
    CHECK(jfields_array(&jf, "addr", true, 0, 2) == NULL);
    CHECK_STR_EQ(jf.field, "addr");
    jfields_init(&jf, root);
    CHECK(jfields_array(&jf, "missing", true, 0, 2) == NULL);
    CHECK_STR_EQ(jf.message, "\"missing\" is required");

    /* object */
    jfields_init(&jf, root);
    node = jfields_object(&jf, "addr", true);
    CHECK(cJSON_IsObject(node) && jfields_ok(&jf));
    CHECK(json_get(node, "city") != NULL);
    CHECK(jfields_object(&jf, "missing", false) == NULL && jfields_ok(&jf));
    CHECK(jfields_object(&jf, "items", false) == NULL);
    CHECK_STR_EQ(jf.field, "items");
    CHECK_STR_EQ(jf.message, "\"items\" must be an object");
    jfields_init(&jf, root);
    CHECK(jfields_object(&jf, "note", true) == NULL);
    CHECK_STR_EQ(jf.message, "\"note\" is required");
    cJSON_Delete(root);
}

static void test_jfields_sticky(void)
{
    cJSON *root = parse(body, NULL);
    cJSON *array = parse("[1]", NULL);
    struct jfields jf;
    int64_t v = -1;
    const char *s = NULL;
    bool b = false;
    static const char *const none[] = {NULL};

    /* the first failure is kept, later readers do nothing */
    jfields_init(&jf, root);
    CHECK(!jfields_int(&jf, "missing", true, 0, 1, &v, NULL));
    CHECK(!jfields_int(&jf, "quantity", true, 1, 500, &v, NULL));
    CHECK_INT_EQ(v, -1);
    CHECK(!jfields_str(&jf, "name", true, 1, 64, &s, NULL));
    CHECK(s == NULL);
    CHECK(!jfields_bool(&jf, "active", true, &b, NULL));
    CHECK(!b);
    CHECK(jfields_array(&jf, "items", true, 0, 10) == NULL);
    CHECK(jfields_object(&jf, "addr", true) == NULL);
    CHECK(!jfields_only(&jf, none));
    jfields_fail(&jf, "other", "other %d", 1);
    CHECK_STR_EQ(jf.field, "missing");
    CHECK_STR_EQ(jf.message, "\"missing\" is required");

    /* a caller's cross-field rule, with or without a field */
    jfields_init(&jf, root);
    jfields_fail(&jf, "quantity", "\"%s\" must be at most %d", "quantity", 3);
    CHECK(!jfields_ok(&jf));
    CHECK_STR_EQ(jf.field, "quantity");
    CHECK_STR_EQ(jf.message, "\"quantity\" must be at most 3");
    jfields_init(&jf, root);
    jfields_fail(&jf, NULL, "the dates are out of order");
    CHECK(!jfields_ok(&jf));
    CHECK_STR_EQ(jf.field, "");

    /* a body that is not an object */
    jfields_init(&jf, array);
    CHECK(!jfields_ok(&jf));
    CHECK_STR_EQ(jf.field, "");
    CHECK_STR_EQ(jf.message, "the body must be a JSON object");
    CHECK(!jfields_only(&jf, none));
    jfields_init(&jf, NULL);
    CHECK(!jfields_ok(&jf));
    CHECK(!jfields_int(&jf, "quantity", false, 0, 1, &v, NULL));
    cJSON_Delete(array);
    cJSON_Delete(root);
}

static void test_json_get(void)
{
    cJSON *root = parse("{\"a\":1,\"A\":2,\"ab\":3}", NULL);
    int64_t v = 0;

    CHECK(json_item_int(json_get(root, "a"), 0, 9, &v) && v == 1);
    CHECK(json_item_int(json_get(root, "A"), 0, 9, &v) && v == 2);
    CHECK(json_item_int(json_get(root, "ab"), 0, 9, &v) && v == 3);
    CHECK(json_get(root, "b") == NULL);
    CHECK(json_get(root, "") == NULL);
    CHECK(json_get(root, NULL) == NULL);
    CHECK(json_get(NULL, "a") == NULL);
    CHECK(json_get(root->child, "a") == NULL);
    cJSON_Delete(root);
}

/* An object PostgreSQL printed, parsed, a member added, printed again:
 * its numbers come out as written (cJSON alone prints them from doubles:
 * 1e+15, 0.30000000000000004), nested ones too, and the added member as
 * cJSON prints it. */
static void test_print_exact(void)
{
    static const char text[] =
        "{\"id\": 9007199254740993, \"big\": 1000000000000000,"
        " \"p\": {\"q\": [0.3, -0, 1E2, 12345678901234567890]},"
        " \"s\": \"1.50\", \"n\": null, \"t\": true}";
    cJSON *tree = json_parse_strict(text, strlen(text), NULL);
    CHECK(tree != NULL);
    CHECK(cJSON_AddItemToObject(tree, "score", cJSON_CreateNumber(75)));
    CHECK(cJSON_AddItemToObject(tree, "f", cJSON_CreateRaw("0.1")));
    char *out = json_print_exact(tree);
    CHECK_STR_EQ(out, "{\"id\":9007199254740993,\"big\":1000000000000000,"
                      "\"p\":{\"q\":[0.3,-0,1E2,12345678901234567890]},"
                      "\"s\":\"1.50\",\"n\":null,\"t\":true,"
                      "\"score\":75,\"f\":0.1}");
    cJSON_free(out);
    cJSON_Delete(tree);
    CHECK(json_print_exact(NULL) == NULL);
}

static void test_output(void)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    cJSON *raw = json_int(-42);
    char *out;

    CHECK(json_add_int(obj, "max", INT64_MAX));
    CHECK(json_add_int(obj, "min", INT64_MIN));
    CHECK(json_add_int(obj, "zero", 0));
    CHECK(json_add_int(obj, "big", JSON_MAX_SAFE_INT + 1));
    CHECK(json_add_str(obj, "s", "a\"b\\\n\xc3\xa9"));
    CHECK(json_add_str(obj, "n", NULL));
    CHECK(raw != NULL && cJSON_AddItemToArray(arr, raw));
    CHECK(cJSON_AddItemToObject(obj, "list", arr));
    out = cJSON_PrintUnformatted(obj);
    CHECK_STR_EQ(out, "{\"max\":9223372036854775807,"
                      "\"min\":-9223372036854775808,\"zero\":0,"
                      "\"big\":9007199254740993,"
                      "\"s\":\"a\\\"b\\\\\\n\xc3\xa9\",\"n\":null,"
                      "\"list\":[-42]}");
    /* the output parses again, and integers come back exactly */
    if (out != NULL) {
        cJSON *back = json_parse_strict(out, strlen(out), NULL);
        int64_t v = 0;
        CHECK(back != NULL);
        CHECK(json_item_int(json_get(back, "big"), INT64_MIN, INT64_MAX, &v) ==
              false);
        CHECK(json_item_int(json_get(back, "zero"), 0, 0, &v) && v == 0);
        cJSON_Delete(back);
    }
    cJSON_free(out);
    cJSON_Delete(obj);

    /* adding to nothing fails without leaking */
    CHECK(!json_add_int(NULL, "a", 1));
    CHECK(!json_add_str(NULL, "a", "x"));
    CHECK(!json_add_str(NULL, "a", NULL));
}

static void test_round_trip(void)
{
    static const char *const docs[] = {
        "{\"campaign\":{\"title\":\"Caf\\u00e9 \\ud83d\\ude00\","
        "\"price_cents\":1999,\"tiers\":[{\"min\":10,\"price_cents\":1500}],"
        "\"tags\":[],\"open\":true,\"note\":null,\"ratio\":0.125}}",
        "[\"\\u0001\\u001f\\\"\\\\\",-0,1e-320,1e308,1e999]",
        "\"\xf4\x8f\xbf\xbf\"",
    };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        cJSON *a = parse(docs[i], NULL), *b;
        char *pa, *pb;

        CHECK_MSG(a != NULL, "doc %zu", i);
        if (a == NULL)
            continue;
        pa = cJSON_PrintUnformatted(a);
        b = pa ? json_parse_strict(pa, strlen(pa), NULL) : NULL;
        CHECK_MSG(b != NULL, "doc %zu: %s", i, pa ? pa : "(null)");
        pb = b ? cJSON_PrintUnformatted(b) : NULL;
        CHECK_STR_EQ(pb, pa);
        cJSON_free(pa);
        cJSON_free(pb);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
}

/* An allocator for cJSON's hooks that fails the n-th call from now. */
static long alloc_countdown = -1;

static void *failing_malloc(size_t size)
{
    if (alloc_countdown == 0)
        return NULL;
    if (alloc_countdown > 0)
        alloc_countdown--;
    return malloc(size);
}

static void test_alloc_failures(void)
{
    cJSON_Hooks hooks = {failing_malloc, free};
    size_t len;
    char doc[2048];
    int passes = 0;
    bool done = false;

    len = (size_t)snprintf(doc, sizeof(doc), "%s",
                           "{\"a\":[1,2.5,\"x\",true,false,null,{\"b\":{}}],"
                           "\"c\":\"\\u00e9\"");
    for (int i = 0; i < 40; i++)
        len +=
            (size_t)snprintf(doc + len, sizeof(doc) - len, ",\"k%d\":%d", i, i);
    len += (size_t)snprintf(doc + len, sizeof(doc) - len, "}");

    cJSON_InitHooks(&hooks);
    for (long n = 0; !done && n < 100000; n++) {
        struct json_parse_error err;
        cJSON *root;

        alloc_countdown = n;
        root = json_parse_strict(doc, len, &err);
        if (root != NULL) {
            done = true;
            CHECK_INT_EQ(err.status, OK);
        } else {
            CHECK_INT_EQ(err.status, JSON_PARSE_NOMEM);
            passes++;
        }
        cJSON_Delete(root);
    }
    CHECK(done);
    CHECK(passes > 50);

    for (long n = 0; n < 3; n++) {
        cJSON *obj;
        alloc_countdown = -1;
        obj = cJSON_CreateObject();
        alloc_countdown = n;
        (void)json_add_int(obj, "a", 1);
        alloc_countdown = n;
        (void)json_add_str(obj, "b", "x");
        alloc_countdown = n;
        (void)json_add_str(obj, "c", NULL);
        alloc_countdown = n;
        cJSON_Delete(json_int(5));
        alloc_countdown = -1;
        cJSON_Delete(obj);
    }
    alloc_countdown = -1;
    cJSON_InitHooks(NULL);
}

int main(void)
{
    test_parse_table();
    test_parse_offsets();
    test_depth();
    test_many_keys();
    test_numbers();
    test_item_int();
    test_utf8_length();
    test_jfields_only();
    test_jfields_int();
    test_jfields_str();
    test_jfields_bool_array_object();
    test_jfields_sticky();
    test_json_get();
    test_output();
    test_print_exact();
    test_round_trip();
    test_alloc_failures();
    /* json_printable: control characters refused, tab/CR/LF only with
     * multiline, C1 controls (U+0080..U+009F) refused, other UTF-8 kept */
    static const struct {
        const char *s;
        bool multiline, ok;
    } printable[] = {
        {"plain title", false, true},
        {"\xe4\xba\x94\xe5\xb8\xb8\xe5\xa4\xa7\xe7\xb1\xb3", false, true},
        {"caf\xc3\xa9 \xc2\xa0nbsp", false, true},
        {"", false, true},
        {"line\nbreak", false, false},
        {"line\nbreak\r\n\ttab", true, true},
        {"bell\x07", true, false},
        {"del\x7f", true, false},
        {"c1\xc2\x85", true, false},
        {"c1\xc2\x9f", false, false},
        {"esc\x1b[31m", false, false},
    };
    for (size_t i = 0; i < sizeof printable / sizeof printable[0]; i++)
        CHECK_MSG(json_printable(printable[i].s, printable[i].multiline) ==
                      printable[i].ok,
                  "printable case %zu", i);
    return unit_summary("json");
}
