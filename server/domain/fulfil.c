/*
 * fulfil.c - pickup codes from random bytes (see
 * fulfil.h). Rejection sampling, not `sample % 10^6`: 2^32 is not a
 * multiple of 10^6, so the modulo would make the codes below 967296
 * slightly likelier than the others.
 */
#include "domain/fulfil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FULFIL_CODE_SPACE 1000000u
#define FULFIL_SAMPLE_LIMIT \
    (UINT32_MAX / FULFIL_CODE_SPACE * FULFIL_CODE_SPACE) /* 4294000000 */

bool fulfil_code_from_bytes(const unsigned char *bytes, size_t n,
                            char out[FULFIL_CODE_LEN + 1])
{
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t v = (uint32_t)bytes[i] << 24 | (uint32_t)bytes[i + 1] << 16 |
                     (uint32_t)bytes[i + 2] << 8 | (uint32_t)bytes[i + 3];
        if (v >= FULFIL_SAMPLE_LIMIT)
            continue;
        snprintf(out, FULFIL_CODE_LEN + 1, "%06u",
                 (unsigned)(v % FULFIL_CODE_SPACE));
        return true;
    }
    return false;
}
