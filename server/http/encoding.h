/*
 * encoding.h - content negotiation of Accept-Encoding (RFC 9110, 12.5.3),
 * for the one coding the server sends: gzip. Pure.
 */
#ifndef GROUPBUYD_ENCODING_H
#define GROUPBUYD_ENCODING_H

#include <stdbool.h>

/* Whether a response may be sent gzip-coded to a request with this
 * Accept-Encoding (NULL: the header is absent, so identity only). gzip (or
 * x-gzip, its old name) with a weight above 0 says yes; gzip;q=0 says no,
 * whatever else the list holds; otherwise "*" with a weight above 0 says
 * yes. An element whose weight does not parse counts as refused. */
bool encoding_accepts_gzip(const char *accept_encoding);

#endif
