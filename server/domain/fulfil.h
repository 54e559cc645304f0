/*
 * fulfil.h - the pure rules of fulfilment: turning random bytes
 * into a pickup code without modulo bias. No I/O: the bytes come from the
 * caller (OpenSSL's RAND_bytes in api/admin/fulfilment.c). A customer's
 * contact on the leader's pickup list is masked by the rule every staff
 * view shares (gb_customer_masked, schema/functions/customers.sql).
 */
#ifndef GROUPBUYD_FULFIL_H
#define GROUPBUYD_FULFIL_H

#include <stdbool.h>
#include <stddef.h>

#define FULFIL_CODE_LEN 6
/* Random bytes the caller draws for one code: eight 32-bit samples, each
 * rejected with probability 967296 / 2^32 (2.3e-4), so that all eight fail
 * about once in 10^29 draws. */
#define FULFIL_CODE_BYTES 32

/* Writes a code of FULFIL_CODE_LEN decimal digits (and a NUL) to out from
 * the first 32-bit big-endian sample of bytes (n a multiple of 4) below
 * 4294000000, the largest multiple of 10^6 under 2^32: every code is then
 * equally likely. False when no sample qualifies (draw again). */
bool fulfil_code_from_bytes(const unsigned char *bytes, size_t n,
                            char out[FULFIL_CODE_LEN + 1]);

#endif
