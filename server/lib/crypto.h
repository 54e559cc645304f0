/*
 * crypto.h - passwords, session tokens, webhook signatures, random ids.
 *
 * Passwords are stored as PBKDF2-HMAC-SHA256 in a self-describing string
 *
 *     pbkdf2-sha256$ITERATIONS$SALT$HASH
 *
 * with SALT (16 random bytes) and HASH (32 bytes) in standard base64 without
 * padding (the PHC string alphabet), e.g. 89 characters at 600000 iterations.
 * Because the string names its own parameters, the iteration count can be
 * raised in the configuration: old rows still verify, and verify reports
 * needs_rehash so the login path can store a fresh hash. Parsing is strict
 * (canonical decimal, canonical base64, bounded lengths) and the iteration
 * count must lie in [CRYPTO_PBKDF2_MIN_ITERATIONS,
 * CRYPTO_PBKDF2_MAX_ITERATIONS], so a corrupt or hostile row cannot make one
 * verify run for minutes. One hash or verify at the default count costs
 * 0.2-0.3 s of CPU (measured on the dev box): call it through the workpool,
 * never on the loop.
 *
 * Session tokens are 32 random bytes in base64url without padding (43
 * characters). The database keeps only their SHA-256, so a leaked table
 * does not log anyone in.
 *
 * Webhooks carry "X-Signature: t=UNIX_SECONDS,v1=HEX", HEX being
 * HMAC-SHA256(secret, t + "." + raw body) as in API.md.
 *
 * Every function is thread-safe and keeps no state of its own (OpenSSL 3
 * locks its own). Secret comparisons are constant-time (CRYPTO_memcmp).
 * This header includes no OpenSSL header.
 */
#ifndef GROUPBUYD_CRYPTO_H
#define GROUPBUYD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_PBKDF2_DEFAULT_ITERATIONS 600000
#define CRYPTO_PBKDF2_MIN_ITERATIONS     1000
#define CRYPTO_PBKDF2_MAX_ITERATIONS     10000000
#define CRYPTO_PBKDF2_SALT_LEN           16
#define CRYPTO_PBKDF2_HASH_LEN           32
/* Buffer size for crypto_password_hash(), NUL included, with room to spare. */
#define CRYPTO_PASSWORD_ENCODED_MAX 128

#define CRYPTO_SHA256_LEN                32
#define CRYPTO_TOKEN_LEN                 43 /* 32 bytes, base64url, unpadded */
#define CRYPTO_REQUEST_ID_LEN            16 /* hex of 8 bytes */
#define CRYPTO_WEBHOOK_TOLERANCE_SECONDS 300

/*
 * Raw PBKDF2-HMAC-SHA256 of pw (len bytes, may hold NUL) with salt, writing
 * outlen bytes. iterations >= 1; no upper bound here (for test vectors).
 */
bool crypto_pbkdf2_sha256(const char *pw, size_t len, const unsigned char *salt,
                          size_t saltlen, int iterations, unsigned char *out,
                          size_t outlen) __attribute__((warn_unused_result));

/*
 * Hashes pw (len bytes) with a fresh random salt and writes the encoded
 * string, NUL-terminated, to out (outlen >= CRYPTO_PASSWORD_ENCODED_MAX is
 * always enough). false when iterations is outside the MIN..MAX bounds, out
 * is too small, or OpenSSL fails; out then holds "".
 */
bool crypto_password_hash(const char *pw, size_t len, int iterations, char *out,
                          size_t outlen) __attribute__((warn_unused_result));

/*
 * true when pw (len bytes) matches the encoded string. false for a wrong
 * password and for any malformed or out-of-bounds encoding (encoded may be
 * NULL). When it returns true and needs_rehash is not NULL, *needs_rehash
 * says whether the row should be rewritten with crypto_password_hash(): its
 * iteration count is below current_iterations or its salt or hash length is
 * not the current one. *needs_rehash is false whenever it returns false.
 */
bool crypto_password_verify(const char *pw, size_t len, const char *encoded,
                            bool *needs_rehash, int current_iterations)
    __attribute__((warn_unused_result));

/*
 * Spends the time of one verify at current_iterations against a fixed
 * encoding no password matches, through the same parse, derive and compare
 * steps, so "no such login" costs what "wrong password" costs.
 */
void crypto_password_verify_dummy(const char *pw, size_t len,
                                  int current_iterations);

/* Writes a fresh session token: CRYPTO_TOKEN_LEN base64url chars and NUL. */
bool crypto_token_new(char out[static CRYPTO_TOKEN_LEN + 1])
    __attribute__((warn_unused_result));

/*
 * true when token (len bytes) has the shape of crypto_token_new()'s output:
 * exactly CRYPTO_TOKEN_LEN characters of [A-Za-z0-9_-], canonical (the last
 * character carries no stray bits). Lets a handler refuse junk before the
 * database.
 */
bool crypto_token_is_wellformed(const char *token, size_t len);

/* SHA-256 of token (len bytes): what the sessions table stores. */
bool crypto_token_hash(const char *token, size_t len,
                       unsigned char out[static CRYPTO_SHA256_LEN])
    __attribute__((warn_unused_result));

/*
 * Constant-time equality of two secrets of any lengths (their SHA-256 are
 * compared), e.g. a bearer token against GROUPBUYD_PLATFORM_TOKEN. Time does
 * not depend on where they differ nor, beyond hashing, on their lengths.
 */
bool crypto_secret_equal(const void *a, size_t alen, const void *b,
                         size_t blen);

/* Lower-case hex of len bytes into out (2 * len + 1 bytes, NUL-terminated). */
void crypto_hex_encode(const unsigned char *in, size_t len, char *out);

/*
 * Decodes exactly 2 * outlen hex digits (either case) from hex, which must be
 * that long (hexlen == 2 * outlen). false on any other character or length.
 */
bool crypto_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
                       size_t outlen) __attribute__((warn_unused_result));

/* HMAC-SHA256 of data (len bytes) under key (keylen bytes, may be 0). */
bool crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
                        size_t len, unsigned char out[static CRYPTO_SHA256_LEN])
    __attribute__((warn_unused_result));

enum crypto_webhook_result {
    CRYPTO_WEBHOOK_OK,            /* a v1 matches and t is within tolerance */
    CRYPTO_WEBHOOK_MALFORMED,     /* header missing or not in the grammar */
    CRYPTO_WEBHOOK_BAD_SIGNATURE, /* well-formed, no v1 matches */
    CRYPTO_WEBHOOK_STALE,         /* signature good, t too far from now */
};

/*
 * Checks a webhook's X-Signature header against the raw body and the
 * secret. The header grammar, strictly, with no spaces:
 *
 *     item ("," item)*      item = "t=" 1*12DIGIT | "v1=" 64HEXDIG
 *
 * with exactly one t, one to eight v1 (several while a secret rotates; the
 * message passes if any matches), anything else MALFORMED (as is a NULL or
 * over-long header). The MAC is over t's digits exactly as sent, ".", and
 * the body. The signature is checked before the time, so STALE means an
 * authentic but old (or replayed, or early) message: |now - t| >
 * CRYPTO_WEBHOOK_TOLERANCE_SECONDS. All but OK answer 401.
 */
enum crypto_webhook_result
crypto_webhook_verify(const char *header, const void *body, size_t body_len,
                      const void *secret, size_t secret_len, int64_t now);

/* A printable name for a result, for logs: "ok", "malformed", ... */
const char *crypto_webhook_result_name(enum crypto_webhook_result r);

/* Writes 2 * nbytes random lower-case hex characters and NUL to out. */
bool crypto_random_hex(char *out, size_t nbytes)
    __attribute__((warn_unused_result));

/*
 * Short codes for links people type or read aloud (share links): letters
 * of CRYPTO_CODE_ALPHABET, 32 of them (a-z and 2-9 without 0, 1, l, o,
 * which read alike), 5 random bits each.
 */
#define CRYPTO_CODE_ALPHABET "abcdefghijkmnpqrstuvwxyz23456789"
#define CRYPTO_CODE_LEN      12 /* 60 bits */

/* Writes len random characters of CRYPTO_CODE_ALPHABET and NUL to out
 * (len + 1 bytes). */
bool crypto_random_code(char *out, size_t len)
    __attribute__((warn_unused_result));

/* true when s (len bytes) could be such a code: min..max characters of
 * CRYPTO_CODE_ALPHABET. */
bool crypto_code_is_wellformed(const char *s, size_t len, size_t min,
                               size_t max);

/* A request id: CRYPTO_REQUEST_ID_LEN random hex characters and NUL. */
bool crypto_request_id_new(char out[static CRYPTO_REQUEST_ID_LEN + 1])
    __attribute__((warn_unused_result));

#endif
