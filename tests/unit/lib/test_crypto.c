/*
 * test_crypto.c - crypto.c against published vectors and hostile input.
 *
 * PBKDF2-HMAC-SHA256 vectors (RFC 7914 section 11 and the widely published
 * "password"/"salt" set) and the RFC 4231 HMAC-SHA256 vectors; the stored
 * encodings and webhook signatures used below were computed independently
 * with python3 hashlib/hmac. Password hashing runs at 1000 iterations so the
 * whole file stays well under a second.
 */
#include "lib/crypto.h"
#include "unit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Hex of a byte string, for comparing with CHECK_STR_EQ. */
static const char *hex(const unsigned char *b, size_t n)
{
    static char buf[2 * 128 + 1];

    if (n > 128)
        return "(too long)";
    crypto_hex_encode(b, n, buf);
    return buf;
}

/* Decodes a hex literal of a test table; aborts on a typo in the table. */
static size_t unhex(const char *h, unsigned char *out, size_t max)
{
    size_t n = strlen(h) / 2;

    if (n > max || !crypto_hex_decode(h, strlen(h), out, n)) {
        fprintf(stderr, "bad hex in table: %s\n", h);
        exit(2);
    }
    return n;
}

static void test_pbkdf2_vectors(void)
{
    static const struct {
        const char *pw, *salt;
        int iterations;
        size_t dklen;
        const char *want;
    } v[] = {
        {"password", "salt", 1, 32,
         "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
        {"password", "salt", 2, 32,
         "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
        {"password", "salt", 4096, 32,
         "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
        {"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt",
         4096, 40,
         "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c6355"
         "18c7dac47e9"},
        /* RFC 7914 section 11 */
        {"passwd", "salt", 1, 64,
         "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9"
         "cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
    };
    unsigned char out[64];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK(crypto_pbkdf2_sha256(
            v[i].pw, strlen(v[i].pw), (const unsigned char *)v[i].salt,
            strlen(v[i].salt), v[i].iterations, out, v[i].dklen));
        CHECK_STR_EQ(hex(out, v[i].dklen), v[i].want);
    }
    CHECK(!crypto_pbkdf2_sha256("p", 1, (const unsigned char *)"s", 1, 0, out,
                                32));
    CHECK(!crypto_pbkdf2_sha256("p", 1, (const unsigned char *)"s", 1, 1, out,
                                0));
}

/* Computed with python3 hashlib.pbkdf2_hmac("sha256", b"correct horse", ...) */
#define PW "correct horse"
#define GOOD1000                                 \
    "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$" \
    "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M"
#define GOOD2000                                 \
    "pbkdf2-sha256$2000$MDEyMzQ1Njc4OWFiY2RlZg$" \
    "MGoh2Ym969nMJuWoRTjFXPmoi5ptqegZ9PzZ3FTIVOM"
#define SALT8                         \
    "pbkdf2-sha256$1000$OGJ5dGVzYWw$" \
    "2FQxalFx74CHfkE+fnQKKUArdSQkLSlGVugcqjyXxuk"
#define HASH64                                                           \
    "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"                         \
    "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4NQEC0GVAwWLSUGWbcye1xU+d" \
    "O7fZFld1DsscNlAN1uxw"

static void test_password_roundtrip(void)
{
    char enc[CRYPTO_PASSWORD_ENCODED_MAX], enc2[CRYPTO_PASSWORD_ENCODED_MAX];
    bool rehash = true;

    CHECK(crypto_password_hash(PW, strlen(PW), 1000, enc, sizeof enc));
    CHECK(strncmp(enc, "pbkdf2-sha256$1000$", 19) == 0);
    CHECK_INT_EQ(strlen(enc), 19 + 22 + 1 + 43);
    CHECK(crypto_password_verify(PW, strlen(PW), enc, &rehash, 1000));
    CHECK(!rehash);
    CHECK(crypto_password_verify(PW, strlen(PW), enc, &rehash, 999));
    CHECK(!rehash); /* above current: no downgrade */
    CHECK(crypto_password_verify(PW, strlen(PW), enc, &rehash, 1001));
    CHECK(rehash);
    CHECK(crypto_password_verify(PW, strlen(PW), enc, NULL, 1000));

    /* Fresh salt each time. */
    CHECK(crypto_password_hash(PW, strlen(PW), 1000, enc2, sizeof enc2));
    CHECK(strcmp(enc, enc2) != 0);

    /* Wrong passwords, including prefixes and embedded NUL. */
    rehash = true;
    CHECK(!crypto_password_verify("correct hors", 12, enc, &rehash, 1000));
    CHECK(!rehash);
    CHECK(!crypto_password_verify("correct horse ", 14, enc, &rehash, 2000));
    CHECK(!rehash);
    CHECK(!crypto_password_verify("", 0, enc, NULL, 1000));
    CHECK(crypto_password_hash("a\0b", 3, 1000, enc, sizeof enc));
    CHECK(crypto_password_verify("a\0b", 3, enc, NULL, 1000));
    CHECK(!crypto_password_verify("a\0c", 3, enc, NULL, 1000));
    CHECK(!crypto_password_verify("a", 1, enc, NULL, 1000));

    /* Empty password hashes and verifies like any other. */
    CHECK(crypto_password_hash("", 0, 1000, enc, sizeof enc));
    CHECK(crypto_password_verify("", 0, enc, NULL, 1000));
    CHECK(!crypto_password_verify("x", 1, enc, NULL, 1000));

    /* Bounds on the count and on the output buffer. */
    CHECK(!crypto_password_hash(PW, strlen(PW), 999, enc, sizeof enc));
    CHECK_STR_EQ(enc, "");
    CHECK(!crypto_password_hash(PW, strlen(PW), 10000001, enc, sizeof enc));
    CHECK(!crypto_password_hash(PW, strlen(PW), 1000, enc, 85));
    CHECK_STR_EQ(enc, "");
    CHECK(crypto_password_hash(PW, strlen(PW), 1000, enc, 86));
}

static void test_password_known_encodings(void)
{
    static const struct {
        const char *encoded;
        int current;
        bool want_rehash;
    } v[] = {
        {GOOD1000, 1000, false}, {GOOD1000, 600000, true},
        {GOOD2000, 1000, false}, {GOOD2000, 2000, false},
        {SALT8, 1000, true},  /* 8-byte salt: accepted, upgraded */
        {HASH64, 1000, true}, /* 64-byte hash: accepted, upgraded */
    };

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        bool rehash = !v[i].want_rehash;
        CHECK_MSG(crypto_password_verify(PW, strlen(PW), v[i].encoded, &rehash,
                                         v[i].current),
                  "case %zu", i);
        CHECK_MSG(rehash == v[i].want_rehash, "case %zu", i);
        CHECK_MSG(!crypto_password_verify("wrong", 5, v[i].encoded, NULL,
                                          v[i].current),
                  "case %zu", i);
    }
}

static void test_password_malformed(void)
{
    static const char *const bad[] = {
        "",
        "pbkdf2-sha256$",
        "pbkdf2-sha256$1000$",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$",
        "pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "PBKDF2-SHA256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        " pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        /* iteration count: leading zero, sign, space, exponent, bounds */
        "pbkdf2-sha256$01000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$+1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$ 1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$1e3$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$999$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$10000001$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$999999999999$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$-1$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        /* salt: padding, stray low bits, bad character, url alphabet, short */
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZh$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2Rl*g$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2Rl-g$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$1000$MDEyMzQ1Ng$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        "pbkdf2-sha256$1000$$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
        /* hash: 4k+1 length, stray bits, padding, extra field, space, short */
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4MA",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4N",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M=",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M$",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M ",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$cBg8D2DungRB9k76",
        /* a well-formed hash that is not this password's */
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4Q",
        /* the right hash under the wrong count */
        "pbkdf2-sha256$1001$MDEyMzQ1Njc4OWFiY2RlZg$"
        "cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M",
    };
    char longer[700];
    bool rehash;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rehash = true;
        CHECK_MSG(
            !crypto_password_verify(PW, strlen(PW), bad[i], &rehash, 1000),
            "accepted \"%s\"", bad[i]);
        CHECK(!rehash);
    }
    CHECK(!crypto_password_verify(PW, strlen(PW), NULL, &rehash, 1000));

    /* A hash field longer than any acceptable one. */
    memset(longer, 'A', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, GOOD1000, strlen(GOOD1000));
    CHECK(!crypto_password_verify(PW, strlen(PW), longer, NULL, 1000));
}

static double seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The dummy must really derive: its time tracks a real verify's. The best
 * of three runs each keeps a busy machine from failing the test.
 */
static void test_password_dummy(void)
{
    enum { ITER = 20000 };
    char enc[CRYPTO_PASSWORD_ENCODED_MAX];
    double t0, t, real = 1e9, dummy = 1e9;

    CHECK(crypto_password_hash(PW, strlen(PW), ITER, enc, sizeof enc));
    for (int i = 0; i < 3; i++) {
        t0 = seconds_now();
        CHECK(!crypto_password_verify("nope", 4, enc, NULL, ITER));
        t = seconds_now() - t0;
        real = t < real ? t : real;
        t0 = seconds_now();
        crypto_password_verify_dummy("nope", 4, ITER);
        t = seconds_now() - t0;
        dummy = t < dummy ? t : dummy;
    }
    CHECK_MSG(dummy > real * 0.4 && dummy < real * 2.5,
              "real %.4f s, dummy %.4f s", real, dummy);
    /* Out-of-range counts are clamped, not skipped or unbounded. */
    crypto_password_verify_dummy("nope", 4, 0);
}

static bool token_alphabet_ok(const char *t)
{
    for (; *t; t++)
        if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') ||
              (*t >= '0' && *t <= '9') || *t == '-' || *t == '_'))
            return false;
    return true;
}

static void test_tokens(void)
{
    enum { N = 200 };
    static char tokens[N][CRYPTO_TOKEN_LEN + 1];
    int dups = 0, bad = 0;

    for (int i = 0; i < N; i++) {
        CHECK(crypto_token_new(tokens[i]));
        if (strlen(tokens[i]) != CRYPTO_TOKEN_LEN ||
            !token_alphabet_ok(tokens[i]) ||
            !crypto_token_is_wellformed(tokens[i], strlen(tokens[i])))
            bad++;
        for (int j = 0; j < i; j++)
            if (strcmp(tokens[i], tokens[j]) == 0)
                dups++;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(dups, 0);

    static const struct {
        const char *token;
        bool ok;
    } shape[] = {
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},
        {"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzw", true},
        {"-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_4", true},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", false}, /* stray bits */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},  /* 42 */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false}, /* 44 */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A", false},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/A", false},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false},
        {"AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++)
        CHECK_MSG(crypto_token_is_wellformed(
                      shape[i].token, strlen(shape[i].token)) == shape[i].ok,
                  "\"%s\"", shape[i].token);
    CHECK(!crypto_token_is_wellformed(NULL, 43));
    /* 43 bytes with a NUL inside */
    CHECK(!crypto_token_is_wellformed(
        "AAAAAAAAAAAAAAAAAAAAA\0AAAAAAAAAAAAAAAAAAAAA", 43));
}

static void test_token_hash(void)
{
    unsigned char h[CRYPTO_SHA256_LEN];

    CHECK(crypto_token_hash("abc", 3, h));
    CHECK_STR_EQ(
        hex(h, sizeof h),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(crypto_token_hash("", 0, h));
    CHECK_STR_EQ(
        hex(h, sizeof h),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(crypto_token_hash(NULL, 0, h));
    CHECK_STR_EQ(
        hex(h, sizeof h),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hex(void)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    unsigned char back[6];
    char h[13];

    crypto_hex_encode(bytes, sizeof bytes, h);
    CHECK_STR_EQ(h, "00017f80abff");
    CHECK(crypto_hex_decode(h, 12, back, 6));
    CHECK(memcmp(back, bytes, 6) == 0);
    CHECK(crypto_hex_decode("00017F80ABFF", 12, back, 6));
    CHECK(memcmp(back, bytes, 6) == 0);
    CHECK(!crypto_hex_decode("00017f80abf", 11, back, 6));
    CHECK(!crypto_hex_decode("00017f80abfg", 12, back, 6));
    CHECK(!crypto_hex_decode("00017f80ab f", 12, back, 6));
    CHECK(!crypto_hex_decode("0x017f80abff", 12, back, 6));
    crypto_hex_encode(bytes, 0, h);
    CHECK_STR_EQ(h, "");
}

static void test_hmac_vectors(void)
{
    /* RFC 4231 test cases 1, 2, 3, 4, 6, 7 (5 is truncated output); then
     * empty keys, from python3 hmac. */
    static const struct {
        const char *key_hex, *data_hex, *data_text;
        const char *want;
    } v[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", NULL, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", NULL, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddddddddddddddddddddddd",
         NULL,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819",
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
         NULL,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {NULL, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {NULL, NULL,
         "This is a test using a larger than block-size key and a larger "
         "than block-size data. The key needs to be hashed before being used "
         "by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
        {"", NULL, "",
         "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
        {"", NULL, "abc",
         "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351"},
    };
    unsigned char key[131], data[64], out[CRYPTO_SHA256_LEN];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t keylen, datalen;
        const void *d;

        if (v[i].key_hex) {
            keylen = unhex(v[i].key_hex, key, sizeof key);
        } else { /* cases 6 and 7: 131 bytes of 0xaa */
            memset(key, 0xaa, 131);
            keylen = 131;
        }
        if (v[i].data_hex) {
            datalen = unhex(v[i].data_hex, data, sizeof data);
            d = data;
        } else {
            datalen = strlen(v[i].data_text);
            d = v[i].data_text;
        }
        CHECK_MSG(crypto_hmac_sha256(key, keylen, d, datalen, out), "case %zu",
                  i);
        CHECK_STR_EQ(hex(out, sizeof out), v[i].want);
    }
    CHECK(crypto_hmac_sha256(NULL, 0, NULL, 0, out));
    CHECK_STR_EQ(
        hex(out, sizeof out),
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_secret_equal(void)
{
    CHECK(crypto_secret_equal("platform-secret", 15, "platform-secret", 15));
    CHECK(!crypto_secret_equal("platform-secret", 15, "platform-secreT", 15));
    CHECK(!crypto_secret_equal("platform-secret", 15, "platform-secre", 14));
    CHECK(!crypto_secret_equal("platform-secret", 15, "", 0));
    CHECK(crypto_secret_equal("", 0, NULL, 0));
    CHECK(!crypto_secret_equal("a\0b", 3, "a\0c", 3));
}

/* HMAC-SHA256("whsec_test", "1700000000." BODY), from python3 hmac. */
#define WH_SECRET "whsec_test"
#define WH_BODY                                                        \
    "{\"payment_id\":1,\"status\":\"succeeded\",\"amount_cents\":500," \
    "\"provider_ref\":\"x\"}"
#define WH_T 1700000000
#define WH_SIG \
    "d5bedbd66a3ca7102fe8cb06459faa03468bb86f8861f84c05418d2e1bc3cb1b"
#define WH_SIGUC \
    "D5BEDBD66A3CA7102FE8CB06459FAA03468BB86F8861F84C05418D2E1BC3CB1B"
#define WH_WRONG \
    "d5bedbd66a3ca7102fe8cb06459faa03468bb86f8861f84c05418d2e1bc3cb1c"
#define WH_GOOD "t=1700000000,v1=" WH_SIG

static void test_webhook(void)
{
    static const struct {
        const char *header;
        long long now_delta; /* now = WH_T + now_delta */
        enum crypto_webhook_result want;
    } v[] = {
        {WH_GOOD, 0, CRYPTO_WEBHOOK_OK},
        {WH_GOOD, 300, CRYPTO_WEBHOOK_OK},
        {WH_GOOD, -300, CRYPTO_WEBHOOK_OK},
        {WH_GOOD, 301, CRYPTO_WEBHOOK_STALE},  /* old */
        {WH_GOOD, -301, CRYPTO_WEBHOOK_STALE}, /* from the future */
        {WH_GOOD, -1700000000, CRYPTO_WEBHOOK_STALE},
        {"t=1700000000,v1=" WH_SIGUC, 0, CRYPTO_WEBHOOK_OK},
        {"v1=" WH_SIG ",t=1700000000", 0, CRYPTO_WEBHOOK_OK},
        {"t=1700000000,v1=" WH_WRONG ",v1=" WH_SIG, 0, CRYPTO_WEBHOOK_OK},
        {"t=1700000000,v1=" WH_WRONG, 0, CRYPTO_WEBHOOK_BAD_SIGNATURE},
        {"t=1700000000,v1=" WH_WRONG, 5000, CRYPTO_WEBHOOK_BAD_SIGNATURE},
        {"t=1700000001,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_BAD_SIGNATURE},
        /* t is signed as sent: a leading zero changes the message */
        {"t=01700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_BAD_SIGNATURE},
        {"", 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000", 0, CRYPTO_WEBHOOK_MALFORMED},
        {"v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=abc,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=-1700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=+1700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000.5,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1234567890123,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000 ,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000, v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {" t=1700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000;v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,v1=" WH_SIG ",", 0, CRYPTO_WEBHOOK_MALFORMED},
        {",t=1700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,t=1700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,v1="
         "d5bedbd66a3ca7102fe8cb06459faa03468bb86f8861f84c05418d2e1bc3cb1",
         0, CRYPTO_WEBHOOK_MALFORMED}, /* 63 hex */
        {"t=1700000000,v1=" WH_SIG "0", 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,v1="
         "g5bedbd66a3ca7102fe8cb06459faa03468bb86f8861f84c05418d2e1bc3cb1b",
         0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,v1=" WH_SIG ",v0=abc", 0, CRYPTO_WEBHOOK_MALFORMED},
        {"T=1700000000,v1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,V1=" WH_SIG, 0, CRYPTO_WEBHOOK_MALFORMED},
        {"t=1700000000,v1=" WH_WRONG ",v1=" WH_WRONG ",v1=" WH_WRONG
         ",v1=" WH_WRONG ",v1=" WH_WRONG ",v1=" WH_WRONG ",v1=" WH_WRONG
         ",v1=" WH_WRONG ",v1=" WH_SIG,
         0, CRYPTO_WEBHOOK_MALFORMED}, /* nine v1 */
    };
    static const char body[] = WH_BODY;
    const size_t blen = sizeof body - 1;
    char longer[1100];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        enum crypto_webhook_result r =
            crypto_webhook_verify(v[i].header, body, blen, WH_SECRET, 10,
                                  (int64_t)WH_T + v[i].now_delta);
        CHECK_MSG(r == v[i].want, "case %zu \"%s\": got %s, want %s", i,
                  v[i].header, crypto_webhook_result_name(r),
                  crypto_webhook_result_name(v[i].want));
    }

    /* The body and the secret are both under the MAC. */
    CHECK_INT_EQ(
        crypto_webhook_verify(WH_GOOD, body, blen - 1, WH_SECRET, 10, WH_T),
        CRYPTO_WEBHOOK_BAD_SIGNATURE);
    CHECK_INT_EQ(
        crypto_webhook_verify(WH_GOOD, body, blen, "whsec_tesT", 10, WH_T),
        CRYPTO_WEBHOOK_BAD_SIGNATURE);
    CHECK_INT_EQ(crypto_webhook_verify(WH_GOOD, "", 0, WH_SECRET, 10, WH_T),
                 CRYPTO_WEBHOOK_BAD_SIGNATURE);
    CHECK_INT_EQ(crypto_webhook_verify(NULL, body, blen, WH_SECRET, 10, WH_T),
                 CRYPTO_WEBHOOK_MALFORMED);

    /* A signature we make ourselves over an empty body. */
    {
        unsigned char mac[CRYPTO_SHA256_LEN];
        char header[100] = "t=42,v1=";
        CHECK(crypto_hmac_sha256("k", 1, "42.", 3, mac));
        crypto_hex_encode(mac, sizeof mac, header + strlen(header));
        CHECK_INT_EQ(crypto_webhook_verify(header, NULL, 0, "k", 1, 42),
                     CRYPTO_WEBHOOK_OK);
    }

    /* Over-long header: refused before any MAC. */
    memset(longer, 'A', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, WH_GOOD ",v1=", strlen(WH_GOOD ",v1="));
    CHECK_INT_EQ(crypto_webhook_verify(longer, body, blen, WH_SECRET, 10, WH_T),
                 CRYPTO_WEBHOOK_MALFORMED);

    CHECK_STR_EQ(crypto_webhook_result_name(CRYPTO_WEBHOOK_OK), "ok");
    CHECK_STR_EQ(crypto_webhook_result_name(CRYPTO_WEBHOOK_MALFORMED),
                 "malformed");
    CHECK_STR_EQ(crypto_webhook_result_name(CRYPTO_WEBHOOK_BAD_SIGNATURE),
                 "bad_signature");
    CHECK_STR_EQ(crypto_webhook_result_name(CRYPTO_WEBHOOK_STALE), "stale");
}

static bool lower_hex_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static void test_random_hex(void)
{
    char a[CRYPTO_REQUEST_ID_LEN + 1], b[CRYPTO_REQUEST_ID_LEN + 1];
    char big[2 * 40 + 1];

    CHECK(crypto_request_id_new(a));
    CHECK(crypto_request_id_new(b));
    CHECK_INT_EQ(strlen(a), 16);
    CHECK(lower_hex_ok(a));
    CHECK(strcmp(a, b) != 0);
    CHECK(crypto_random_hex(big, 40)); /* more than one internal chunk */
    CHECK_INT_EQ(strlen(big), 80);
    CHECK(lower_hex_ok(big));
    CHECK(strncmp(big, big + 64, 16) != 0);
    CHECK(crypto_random_hex(big, 0));
    CHECK_STR_EQ(big, "");
}

/* Share codes: the alphabet only, every letter of it in a long draw (5
 * bits each, no bias to notice in 32,000 letters), and the shape check. */
static void test_random_code(void)
{
    static char big[32001];
    char a[CRYPTO_CODE_LEN + 1], b[CRYPTO_CODE_LEN + 1];
    CHECK(crypto_random_code(a, CRYPTO_CODE_LEN));
    CHECK(crypto_random_code(b, CRYPTO_CODE_LEN));
    CHECK_INT_EQ(strlen(a), CRYPTO_CODE_LEN);
    CHECK(strcmp(a, b) != 0);
    CHECK(crypto_code_is_wellformed(a, strlen(a), 8, 32));
    CHECK(crypto_random_code(big, sizeof big - 1));
    int counts[256] = {0};
    for (size_t i = 0; i < sizeof big - 1; i++)
        counts[(unsigned char)big[i]]++;
    int seen = 0, outside = 0;
    for (int c = 0; c < 256; c++) {
        if (counts[c] == 0)
            continue;
        if (strchr(CRYPTO_CODE_ALPHABET, c) == NULL || c == 0)
            outside++;
        else
            seen++;
        /* 1,000 expected per letter: 700 is more than 9 sigma off */
        CHECK_MSG(counts[c] > 700 && counts[c] < 1300, "'%c' drawn %d times", c,
                  counts[c]);
    }
    CHECK_INT_EQ(seen, 32);
    CHECK_INT_EQ(outside, 0);

    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"abcdefgh", true},
        {"23456789", true},
        {"abcdefg", false},   /* too short */
        {"abcdefgho", false}, /* o reads as 0 */
        {"abcdefgh1", false},
        {"abcdefghl", false},
        {"abcdefgh0", false},
        {"ABCDEFGH", false},
        {"abcd efgh", false},
        {"abcd\"efgh", false},
        {"abcd<efgh", false},
        {"abcdefghijkmnpqrstuvwxyz23456789", true},
        {"abcdefghijkmnpqrstuvwxyz234567892", false}, /* 33 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(crypto_code_is_wellformed(cases[i].s, strlen(cases[i].s), 8,
                                            32) == cases[i].ok,
                  "\"%s\"", cases[i].s);
    CHECK(!crypto_code_is_wellformed("abcd\0efgh", 9, 8, 32));
    CHECK(!crypto_code_is_wellformed(NULL, 0, 0, 32));
}

/* Hashing runs on worker threads: several at once must agree. */
static void *hash_thread(void *arg)
{
    int *failures = arg;
    char enc[CRYPTO_PASSWORD_ENCODED_MAX], tok[CRYPTO_TOKEN_LEN + 1];

    for (int i = 0; i < 10; i++) {
        char pw[16];
        int n = snprintf(pw, sizeof pw, "pw-%d", i);
        if (!crypto_password_hash(pw, (size_t)n, 1000, enc, sizeof enc) ||
            !crypto_password_verify(pw, (size_t)n, enc, NULL, 1000) ||
            crypto_password_verify("x", 1, enc, NULL, 1000) ||
            !crypto_token_new(tok) ||
            crypto_webhook_verify(WH_GOOD, WH_BODY, sizeof WH_BODY - 1,
                                  WH_SECRET, 10, WH_T) != CRYPTO_WEBHOOK_OK)
            (*failures)++;
    }
    return NULL;
}

static void test_threads(void)
{
    enum { T = 4 };
    pthread_t th[T];
    int failures[T] = {0};

    for (int i = 0; i < T; i++)
        CHECK(pthread_create(&th[i], NULL, hash_thread, &failures[i]) == 0);
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(failures[i], 0);
    }
}

int main(void)
{
    test_pbkdf2_vectors();
    test_password_roundtrip();
    test_password_known_encodings();
    test_password_malformed();
    test_password_dummy();
    test_tokens();
    test_token_hash();
    test_hex();
    test_hmac_vectors();
    test_secret_equal();
    test_webhook();
    test_random_hex();
    test_random_code();
    test_threads();
    return unit_summary("crypto");
}
