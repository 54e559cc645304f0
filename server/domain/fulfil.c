/*
 * fulfil.c - pickup codes from random bytes and masked contacts (see
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

void fulfil_mask_contact(const char *contact, char *out, size_t outlen)
{
    /* A mainland mobile in E.164 (+86 and 11 digits, the login's normal
     * form) reads as the 11 digits leaders know: 139****0001. */
    if (strncmp(contact, "+86", 3) == 0 && strlen(contact + 3) == 11 &&
        strspn(contact + 3, "0123456789") == 11)
        contact += 3;
    size_t len = strlen(contact);
    const char *at = strchr(contact, '@');
    if (at != NULL && at != contact)
        snprintf(out, outlen, "%c***%s", contact[0], at);
    else if (at != NULL || len < 8)
        snprintf(out, outlen, "****");
    else
        snprintf(out, outlen, "%.3s****%s", contact, contact + len - 4);
}
