/*
 * test_fulfil.c - fulfil.h: pickup codes by rejection sampling (tables of
 * byte strings at and around the rejection limit, then uniformity on the
 * function itself: every sample from the limit up rejected, samples below
 * it mapped mod 10^6, and codes on both sides of 967296 with exactly 4294
 * samples each).
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

/* One 32-bit sample through the function: true and its code when kept. */
static bool one_sample(uint32_t v, char out[FULFIL_CODE_LEN + 1])
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return fulfil_code_from_bytes(b, 4, out);
}

/* Uniform, shown on the function itself: every sample from 4294000000
 * (the largest multiple of 10^6 under 2^32) up is rejected, all 967296 of
 * them; below it a sample gives its value mod 10^6 (a stride through the
 * range); so each code has exactly 4294 samples, counted whole for codes
 * on both sides of 967296, where a plain modulo would give 4295. */
static void test_uniform(void)
{
    char out[FULFIL_CODE_LEN + 1];
    unsigned long kept_above = 0, wrong_below = 0;
    for (uint64_t v = 4294000000u; v <= UINT32_MAX; v++)
        kept_above += one_sample((uint32_t)v, out);
    CHECK_MSG(kept_above == 0, "%lu samples at or above the limit kept",
              kept_above);
    for (uint64_t v = 0; v < 4294000000u; v += 9973) {
        char want[FULFIL_CODE_LEN + 1];
        snprintf(want, sizeof want, "%06u", (unsigned)(v % 1000000u));
        if (!one_sample((uint32_t)v, out) || strcmp(out, want) != 0)
            wrong_below++;
    }
    CHECK_MSG(wrong_below == 0, "%lu samples below the limit not mod 10^6",
              wrong_below);
    static const uint32_t codes[] = {0, 1, 42, 967295, 967296, 999999};
    for (size_t i = 0; i < N_ELEMS(codes); i++) {
        char want[FULFIL_CODE_LEN + 1];
        snprintf(want, sizeof want, "%06u", (unsigned)codes[i]);
        unsigned n = 0;
        for (uint64_t v = codes[i]; v <= UINT32_MAX; v += 1000000u)
            n += one_sample((uint32_t)v, out) && strcmp(out, want) == 0;
        CHECK_MSG(n == 4294, "code %s: %u samples", want, n);
    }
}

int main(void)
{
    test_codes();
    test_uniform();
    return unit_summary("fulfil");
}
