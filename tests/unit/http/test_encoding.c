/* test_encoding.c - Accept-Encoding and gzip, table-driven. */
#include <stddef.h>

#include "http/encoding.h"
#include "unit.h"

static const struct {
    const char *header; /* NULL: absent */
    bool gzip;
} cases[] = {
    {NULL, false},
    {"", false},
    {"gzip", true},
    {"GZIP", true},
    {"x-gzip", true},
    {"gzip, deflate, br", true},
    {"br, gzip", true},
    {"deflate, br", false},
    {"identity", false},
    {"gzip;q=0", false},
    {"gzip;q=0.000", false},
    {"gzip;q=0.001", true},
    {"gzip; q=0.5", true},
    {"gzip ;Q=1", true},
    {"gzip;q=1.000", true},
    {"gzip;q=1.001", false}, /* not a qvalue: refused */
    {"gzip;q=2", false},
    {"gzip;q=", false},
    {"gzip;q=.5", false},
    {"gzip;q=0.5555", false},
    {"gzip;q=abc", false},
    {"gzip;level=1", true}, /* another parameter does not weigh */
    {"*", true},
    {"*;q=0", false},
    {"*, gzip;q=0", false}, /* named beats "*" */
    {"gzip;q=0, *", false},
    {"gzip;q=0, gzip", true}, /* the best weight of the name */
    {"identity;q=1, *;q=0", false},
    {"br;q=1, *;q=0.1", true},
    {" , ,gzip , ", true},
    {"gzipx", false},
    {"gzi", false},
    {"deflate;q=0.5, gzip;q=0.4", true},
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(encoding_accepts_gzip(cases[i].header) == cases[i].gzip,
                  "\"%s\": want %s",
                  cases[i].header ? cases[i].header : "(absent)",
                  cases[i].gzip ? "gzip" : "identity");
    return unit_summary("encoding");
}
