/* test_dbline.c - db_one_line: libpq's multi-line messages as one log
 * line, table-driven. */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "unit.h"

struct line_case {
    const char *in;
    size_t len; /* output buffer */
    const char *want;
};

static const struct line_case cases[] = {
    {"", 64, ""},
    {"connection lost", 64, "connection lost"},
    {"connection lost\n", 64, "connection lost"},
    {"server closed the connection unexpectedly\n\tThis probably means the "
     "server terminated abnormally\n\tbefore or while processing the "
     "request.\n",
     256,
     "server closed the connection unexpectedly This probably means the "
     "server terminated abnormally before or while processing the request."},
    {"  leading  and   inner \r\n blanks  ", 64, "leading and inner blanks"},
    {"\n\n\t", 64, ""},
    /* cut to the buffer, never past it, never a trailing blank */
    {"abcdef", 4, "abc"},
    {"ab cdef", 4, "ab"},
    {"ab  cd", 5, "ab c"},
    {"x", 1, ""},
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        db_one_line(out, cases[i].len, cases[i].in);
        CHECK_MSG(strcmp(out, cases[i].want) == 0, "case %zu: \"%s\"", i, out);
    }
    return unit_summary("dbline");
}
