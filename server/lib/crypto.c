/*
 * crypto.c - passwords, session tokens, webhook signatures, random ids.
 *
 * Thin, strict wrappers over OpenSSL 3's non-deprecated calls:
 * PKCS5_PBKDF2_HMAC (which, unlike the raw EVP_KDF "PBKDF2", applies no
 * SP 800-132 floor, so the RFC vectors at one iteration can be checked),
 * EVP_MAC "HMAC", EVP_Digest, RAND_bytes and CRYPTO_memcmp. Nothing here
 * keeps state between calls, so any thread may call anything.
 *
 * Parsing of stored hashes and webhook headers accepts one spelling of each
 * value only: decimal without sign or leading zero, base64 without padding
 * whose unused low bits are zero, hex of the exact length. Whatever is not
 * that is refused, never repaired, so a row or a header that passes means
 * exactly one thing. Lengths are bounded before any loop runs over input.
 *
 * Derived keys and random token bytes are wiped (OPENSSL_cleanse) before
 * their stack frames return.
 */
#include "lib/crypto.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#define PBKDF2_PREFIX     "pbkdf2-sha256$"
#define PBKDF2_PREFIX_LEN (sizeof PBKDF2_PREFIX - 1)
/* What verify accepts from a stored row; hash writes the CRYPTO_ lengths. */
#define PBKDF2_SALT_MIN  8
#define PBKDF2_SALT_MAX  64
#define PBKDF2_HASH_MIN  16
#define PBKDF2_HASH_MAX  64
#define ENCODED_MAX_SCAN 512 /* longer than any acceptable encoding */
#define ITER_DIGITS_MAX  8   /* CRYPTO_PBKDF2_MAX_ITERATIONS has 8 digits */

#define WEBHOOK_HEADER_MAX 1024
#define WEBHOOK_T_DIGITS   12 /* up to year 33658; fits int64 easily */
#define WEBHOOK_V1_MAX     8

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Length of the unpadded base64 of n bytes. */
#define B64_LEN(n) ((n) / 3 * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/* Unpadded base64 of in[0..n) with `alphabet` into out, NUL-terminated. */
static void b64_encode(const char *alphabet, const unsigned char *in, size_t n,
                       char *out)
{
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 |
                          (unsigned long)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[v >> 18 & 63];
        *out++ = alphabet[v >> 12 & 63];
        *out++ = alphabet[v >> 6 & 63];
        *out++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        *out++ = alphabet[v >> 18 & 63];
        *out++ = alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1]
                                                           << 8;
        *out++ = alphabet[v >> 18 & 63];
        *out++ = alphabet[v >> 12 & 63];
        *out++ = alphabet[v >> 6 & 63];
    }
    *out = '\0';
}

static int b64_value(const char *alphabet, char c)
{
    for (int i = 0; i < 64; i++)
        if (alphabet[i] == c)
            return i;
    return -1;
}

/*
 * Strict unpadded base64 of in[0..n) into out (room for outmax bytes);
 * *outlen gets the decoded length. Refuses a length of 4k+1, characters
 * outside `alphabet` and non-zero unused bits in the last character.
 */
static bool b64_decode(const char *alphabet, const char *in, size_t n,
                       unsigned char *out, size_t outmax, size_t *outlen)
{
    size_t len = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    unsigned long acc = 0;
    int bits = 0;
    size_t o = 0;

    if (n % 4 == 1 || len > outmax)
        return false;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(alphabet, in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6 | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    if (bits > 0 && (acc & ((1UL << bits) - 1)) != 0)
        return false;
    *outlen = o;
    return true;
}

bool crypto_pbkdf2_sha256(const char *pw, size_t len, const unsigned char *salt,
                          size_t saltlen, int iterations, unsigned char *out,
                          size_t outlen)
{
    if (iterations < 1 || len > INT_MAX || saltlen > INT_MAX ||
        outlen > INT_MAX || outlen == 0)
        return false;
    return PKCS5_PBKDF2_HMAC(len ? pw : "", (int)len, salt, (int)saltlen,
                             iterations, EVP_sha256(), (int)outlen, out) == 1;
}

bool crypto_password_hash(const char *pw, size_t len, int iterations, char *out,
                          size_t outlen)
{
    unsigned char salt[CRYPTO_PBKDF2_SALT_LEN];
    unsigned char dk[CRYPTO_PBKDF2_HASH_LEN];
    char salt64[B64_LEN(CRYPTO_PBKDF2_SALT_LEN) + 1];
    char dk64[B64_LEN(CRYPTO_PBKDF2_HASH_LEN) + 1];
    bool ok = false;
    int n;

    if (outlen > 0)
        out[0] = '\0';
    if (iterations < CRYPTO_PBKDF2_MIN_ITERATIONS ||
        iterations > CRYPTO_PBKDF2_MAX_ITERATIONS)
        return false;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return false;
    if (!crypto_pbkdf2_sha256(pw, len, salt, sizeof salt, iterations, dk,
                              sizeof dk))
        goto done;
    b64_encode(b64_std, salt, sizeof salt, salt64);
    b64_encode(b64_std, dk, sizeof dk, dk64);
    n = snprintf(out, outlen, PBKDF2_PREFIX "%d$%s$%s", iterations, salt64,
                 dk64);
    ok = n > 0 && (size_t)n < outlen;
    if (!ok && outlen > 0)
        out[0] = '\0';
done:
    OPENSSL_cleanse(dk, sizeof dk);
    OPENSSL_cleanse(dk64, sizeof dk64);
    return ok;
}

struct pbkdf2_encoding {
    int iterations;
    unsigned char salt[PBKDF2_SALT_MAX];
    size_t saltlen;
    unsigned char hash[PBKDF2_HASH_MAX];
    size_t hashlen;
};

/* Strictly parses "pbkdf2-sha256$ITER$SALT$HASH" into *e. */
static bool pbkdf2_parse(const char *s, struct pbkdf2_encoding *e)
{
    size_t n = strnlen(s, ENCODED_MAX_SCAN);
    const char *p, *end = s + n, *dollar;
    long iter = 0;

    if (n == ENCODED_MAX_SCAN || n < PBKDF2_PREFIX_LEN ||
        memcmp(s, PBKDF2_PREFIX, PBKDF2_PREFIX_LEN) != 0)
        return false;
    p = s + PBKDF2_PREFIX_LEN;

    dollar = memchr(p, '$', (size_t)(end - p));
    if (!dollar || dollar == p || dollar - p > ITER_DIGITS_MAX || *p == '0')
        return false;
    for (; p < dollar; p++) {
        if (*p < '0' || *p > '9')
            return false;
        iter = iter * 10 + (*p - '0');
    }
    if (iter < CRYPTO_PBKDF2_MIN_ITERATIONS ||
        iter > CRYPTO_PBKDF2_MAX_ITERATIONS)
        return false;
    e->iterations = (int)iter;
    p = dollar + 1;

    dollar = memchr(p, '$', (size_t)(end - p));
    if (!dollar ||
        !b64_decode(b64_std, p, (size_t)(dollar - p), e->salt, sizeof e->salt,
                    &e->saltlen) ||
        e->saltlen < PBKDF2_SALT_MIN)
        return false;
    p = dollar + 1;

    if (!b64_decode(b64_std, p, (size_t)(end - p), e->hash, sizeof e->hash,
                    &e->hashlen) ||
        e->hashlen < PBKDF2_HASH_MIN)
        return false;
    return true;
}

bool crypto_password_verify(const char *pw, size_t len, const char *encoded,
                            bool *needs_rehash, int current_iterations)
{
    struct pbkdf2_encoding e;
    unsigned char dk[PBKDF2_HASH_MAX];
    bool ok;

    if (needs_rehash)
        *needs_rehash = false;
    if (!encoded || !pbkdf2_parse(encoded, &e))
        return false;
    ok = crypto_pbkdf2_sha256(pw, len, e.salt, e.saltlen, e.iterations, dk,
                              e.hashlen) &&
         CRYPTO_memcmp(dk, e.hash, e.hashlen) == 0;
    OPENSSL_cleanse(dk, sizeof dk);
    if (ok && needs_rehash)
        *needs_rehash = e.iterations < current_iterations ||
                        e.saltlen != CRYPTO_PBKDF2_SALT_LEN ||
                        e.hashlen != CRYPTO_PBKDF2_HASH_LEN;
    return ok;
}

void crypto_password_verify_dummy(const char *pw, size_t len,
                                  int current_iterations)
{
    /* A salt and hash of the current lengths that no password produces. */
    static const char salt_hash[] =
        "Z3JvdXBidXlkLWR1bW15AA$"
        "ZHVtbXkgdmVyaWZ5OiBubyBwYXNzd29yZCBtYXRjaCE";
    char encoded[CRYPTO_PASSWORD_ENCODED_MAX];
    bool rehash, matched;

    if (current_iterations < CRYPTO_PBKDF2_MIN_ITERATIONS)
        current_iterations = CRYPTO_PBKDF2_MIN_ITERATIONS;
    if (current_iterations > CRYPTO_PBKDF2_MAX_ITERATIONS)
        current_iterations = CRYPTO_PBKDF2_MAX_ITERATIONS;
    snprintf(encoded, sizeof encoded, PBKDF2_PREFIX "%d$%s", current_iterations,
             salt_hash);
    matched =
        crypto_password_verify(pw, len, encoded, &rehash, current_iterations);
    (void)matched; /* false but for a 2^-256 chance; either way unused */
}

bool crypto_token_new(char out[static CRYPTO_TOKEN_LEN + 1])
{
    unsigned char raw[32];

    if (RAND_bytes(raw, sizeof raw) != 1) {
        out[0] = '\0';
        return false;
    }
    b64_encode(b64_url, raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return true;
}

bool crypto_token_is_wellformed(const char *token, size_t len)
{
    unsigned char raw[32];
    size_t rawlen;
    bool ok;

    if (!token || len != CRYPTO_TOKEN_LEN)
        return false;
    ok = b64_decode(b64_url, token, len, raw, sizeof raw, &rawlen) &&
         rawlen == sizeof raw;
    OPENSSL_cleanse(raw, sizeof raw);
    return ok;
}

bool crypto_token_hash(const char *token, size_t len,
                       unsigned char out[static CRYPTO_SHA256_LEN])
{
    unsigned int outlen = 0;

    return EVP_Digest(len ? token : "", len, out, &outlen, EVP_sha256(),
                      NULL) == 1 &&
           outlen == CRYPTO_SHA256_LEN;
}

bool crypto_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    unsigned char ha[CRYPTO_SHA256_LEN], hb[CRYPTO_SHA256_LEN];
    unsigned int la = 0, lb = 0;
    bool ok;

    ok = EVP_Digest(alen ? a : "", alen, ha, &la, EVP_sha256(), NULL) == 1 &&
         EVP_Digest(blen ? b : "", blen, hb, &lb, EVP_sha256(), NULL) == 1 &&
         la == CRYPTO_SHA256_LEN && lb == CRYPTO_SHA256_LEN;
    /* Equal digests of unequal lengths is a SHA-256 collision: not a case. */
    ok = ok && CRYPTO_memcmp(ha, hb, CRYPTO_SHA256_LEN) == 0;
    OPENSSL_cleanse(ha, sizeof ha);
    OPENSSL_cleanse(hb, sizeof hb);
    return ok;
}

void crypto_hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool crypto_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
                       size_t outlen)
{
    if (hexlen != 2 * outlen)
        return false;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

struct mac_part {
    const void *data;
    size_t len;
};

/* HMAC-SHA256 under key over the concatenation of parts[0..nparts). */
static bool hmac_sha256_parts(const void *key, size_t keylen,
                              const struct mac_part *parts, size_t nparts,
                              unsigned char out[CRYPTO_SHA256_LEN])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    size_t outlen = 0;
    bool ok = false;

    /* A non-NULL key even when empty: NULL would mean "keep the old key". */
    if (!ctx ||
        !EVP_MAC_init(ctx, keylen ? key : (const void *)"", keylen, params))
        goto done;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len > 0 &&
            !EVP_MAC_update(ctx, parts[i].data, parts[i].len))
            goto done;
    ok = EVP_MAC_final(ctx, out, &outlen, CRYPTO_SHA256_LEN) &&
         outlen == CRYPTO_SHA256_LEN;
done:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok;
}

bool crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
                        size_t len, unsigned char out[static CRYPTO_SHA256_LEN])
{
    struct mac_part part = {data, len};

    return hmac_sha256_parts(key, keylen, &part, 1, out);
}

struct webhook_header {
    const char *t; /* the digits as sent */
    size_t tlen;
    int64_t tvalue;
    const char *v1[WEBHOOK_V1_MAX]; /* each 64 hex digits */
    size_t nv1;
};

/* Strictly parses "t=DIGITS,v1=HEX[,v1=HEX...]" (any order) into *h. */
static bool webhook_header_parse(const char *s, struct webhook_header *h)
{
    size_t n = strnlen(s, WEBHOOK_HEADER_MAX + 1);
    const char *p = s, *end = s + n;

    memset(h, 0, sizeof *h);
    if (n == 0 || n > WEBHOOK_HEADER_MAX)
        return false;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        size_t len = (size_t)(item_end - p);

        if (len > 2 && memcmp(p, "t=", 2) == 0) {
            if (h->t || len - 2 > WEBHOOK_T_DIGITS)
                return false;
            h->t = p + 2;
            h->tlen = len - 2;
            for (size_t i = 0; i < h->tlen; i++) {
                if (h->t[i] < '0' || h->t[i] > '9')
                    return false;
                h->tvalue = h->tvalue * 10 + (h->t[i] - '0');
            }
        } else if (len == 3 + 2 * CRYPTO_SHA256_LEN &&
                   memcmp(p, "v1=", 3) == 0) {
            if (h->nv1 == WEBHOOK_V1_MAX)
                return false;
            for (size_t i = 3; i < len; i++)
                if (hex_value(p[i]) < 0)
                    return false;
            h->v1[h->nv1++] = p + 3;
        } else {
            return false;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return h->t != NULL && h->nv1 > 0;
}

enum crypto_webhook_result
crypto_webhook_verify(const char *header, const void *body, size_t body_len,
                      const void *secret, size_t secret_len, int64_t now)
{
    struct webhook_header h;
    unsigned char want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
    int match = 0;

    if (!header || !webhook_header_parse(header, &h))
        return CRYPTO_WEBHOOK_MALFORMED;

    struct mac_part parts[] = {{h.t, h.tlen}, {".", 1}, {body, body_len}};
    if (!hmac_sha256_parts(secret, secret_len, parts, 3, want))
        return CRYPTO_WEBHOOK_BAD_SIGNATURE;
    /* Every v1 is compared, matching or not: no early exit. */
    for (size_t i = 0; i < h.nv1; i++) {
        if (!crypto_hex_decode(h.v1[i], 2 * CRYPTO_SHA256_LEN, got, sizeof got))
            return CRYPTO_WEBHOOK_MALFORMED; /* checked by the parser */
        match |= CRYPTO_memcmp(want, got, sizeof want) == 0;
    }
    OPENSSL_cleanse(want, sizeof want);
    if (!match)
        return CRYPTO_WEBHOOK_BAD_SIGNATURE;
    if (now - h.tvalue > CRYPTO_WEBHOOK_TOLERANCE_SECONDS ||
        h.tvalue - now > CRYPTO_WEBHOOK_TOLERANCE_SECONDS)
        return CRYPTO_WEBHOOK_STALE;
    return CRYPTO_WEBHOOK_OK;
}

const char *crypto_webhook_result_name(enum crypto_webhook_result r)
{
    switch (r) {
    case CRYPTO_WEBHOOK_OK:
        return "ok";
    case CRYPTO_WEBHOOK_MALFORMED:
        return "malformed";
    case CRYPTO_WEBHOOK_BAD_SIGNATURE:
        return "bad_signature";
    case CRYPTO_WEBHOOK_STALE:
        return "stale";
    }
    return "unknown";
}

bool crypto_random_hex(char *out, size_t nbytes)
{
    unsigned char buf[32];

    for (size_t done = 0; done < nbytes;) {
        size_t chunk = nbytes - done < sizeof buf ? nbytes - done : sizeof buf;
        if (RAND_bytes(buf, (int)chunk) != 1) {
            out[0] = '\0';
            return false;
        }
        crypto_hex_encode(buf, chunk, out + 2 * done);
        done += chunk;
    }
    out[2 * nbytes] = '\0';
    return true;
}

bool crypto_random_code(char *out, size_t len)
{
    static const char alphabet[] = CRYPTO_CODE_ALPHABET;
    _Static_assert(sizeof alphabet - 1 == 32, "32 letters: 5 bits each");
    unsigned char buf[32];

    for (size_t done = 0; done < len;) {
        size_t chunk = len - done < sizeof buf ? len - done : sizeof buf;
        if (RAND_bytes(buf, (int)chunk) != 1) {
            out[0] = '\0';
            return false;
        }
        /* 256 is a multiple of 32: the low 5 bits are uniform */
        for (size_t i = 0; i < chunk; i++)
            out[done + i] = alphabet[buf[i] & 31];
        done += chunk;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    out[len] = '\0';
    return true;
}

bool crypto_code_is_wellformed(const char *s, size_t len, size_t min,
                               size_t max)
{
    if (s == NULL || len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || strchr(CRYPTO_CODE_ALPHABET, s[i]) == NULL)
            return false;
    return true;
}

bool crypto_request_id_new(char out[static CRYPTO_REQUEST_ID_LEN + 1])
{
    return crypto_random_hex(out, CRYPTO_REQUEST_ID_LEN / 2);
}
