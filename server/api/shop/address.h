/*
 * address.h - the delivery address a shopper gives, read alike by the join
 * and by the order's address route.
 */
#ifndef GROUPBUYD_ADDRESS_H
#define GROUPBUYD_ADDRESS_H

#include "lib/json.h"

struct req;

/* Reads a delivery address {name, phone, region, line} (all required,
 * printable text) and answers it as canonical JSON text in r's arena, or
 * NULL after failing jf naming "address". */
const char *address_read(struct req *r, struct jfields *jf, const cJSON *obj);

#endif
