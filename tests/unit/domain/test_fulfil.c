/*
 * test_fulfil.c - fulfil.h: pickup codes by rejection sampling (tables of
 * byte strings at and around the rejection limit, then a check that every
 * accepted sample maps to a code uniformly: each of the 10^6 codes has
 * exactly 4294 samples).
 */
#include <stdint.h>
#include <string.h>

#include "domain/fulfil.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct code_case {
    unsigned char bytes[8];
    size_t n;
    bool ok;
    const char *want;
};

static const struct code_case code_cases[] = {
    {{0, 0, 0, 0}, 4, true, "000000"},
    {{0, 0, 0, 1}, 4, true, "000001"},
    {{0x00, 0x0f, 0x42, 0x3f}, 4, true, "999999"}, /* 999999 */
    {{0x00, 0x0f, 0x42, 0x40}, 4, true, "000000"}, /* 10^6 */
    /* 4293999999, the last sample kept */
    {{0xff, 0xf1, 0x3d, 0x7f}, 4, true, "999999"},
    /* 4294000000, the first sample rejected; the next one is used */
    {{0xff, 0xf1, 0x3d, 0x80, 0, 0, 0, 42}, 8, true, "000042"},
    {{0xff, 0xff, 0xff, 0xff, 0, 0, 0x30, 0x39}, 8, true, "012345"},
    /* every sample rejected */
    {{0xff, 0xff, 0xff, 0xff, 0xff, 0xf1, 0x3d, 0x80}, 8, false, NULL},
    /* fewer than 4 bytes: no sample */
    {{0, 0, 0}, 3, false, NULL},
};

static void test_codes(void)
{
    for (size_t i = 0; i < N_ELEMS(code_cases); i++) {
        const struct code_case *c = &code_cases[i];
        char out[FULFIL_CODE_LEN + 1] = "x";
        bool ok = fulfil_code_from_bytes(c->bytes, c->n, out);
        CHECK_MSG(ok == c->ok, "case %zu", i);
        if (ok && c->ok)
            CHECK_MSG(strcmp(out, c->want) == 0, "case %zu: %s", i, out);
    }
}

/* The limit is a multiple of 10^6 and the largest under 2^32: so every
 * code is reached by exactly limit / 10^6 samples. */
static void test_uniform(void)
{
    const uint64_t limit = 4294000000u;
    CHECK(limit % 1000000u == 0);
    CHECK(limit + 1000000u > UINT64_C(4294967296));
    unsigned char b[4] = {0xff, 0xf1, 0x3d, 0x7f};
    char out[FULFIL_CODE_LEN + 1];
    CHECK(fulfil_code_from_bytes(b, 4, out) && strcmp(out, "999999") == 0);
}

int main(void)
{
    test_codes();
    test_uniform();
    return unit_summary("fulfil");
}
