/* test_login.c - the normal forms of logins, table-driven. */
#include <stdio.h>

#include "domain/login.h"
#include "unit.h"

struct login_case {
    const char *in;
    enum login_kind kind;
    const char *out;
};

static const struct login_case cases[] = {
    {"13800138000", LOGIN_PHONE, "+8613800138000"},
    {"+86 138-0013-8000", LOGIN_PHONE, "+8613800138000"},
    {"+8613800138000", LOGIN_PHONE, "+8613800138000"},
    {"0086 138 0013 8000", LOGIN_PHONE, "+8613800138000"},
    {"8613800138000", LOGIN_PHONE, "+8613800138000"},
    {"(138) 0013.8000", LOGIN_PHONE, "+8613800138000"},
    {"  13912345678 \t", LOGIN_PHONE, "+8613912345678"},
    {"19912345678", LOGIN_PHONE, "+8619912345678"},
    {"12800138000", LOGIN_INVALID, ""}, /* 12x is no mobile prefix */
    {"23800138000", LOGIN_INVALID, ""},
    {"1380013800", LOGIN_INVALID, ""},   /* 10 digits */
    {"138001380000", LOGIN_INVALID, ""}, /* 12 digits */
    {"+1 13800138000", LOGIN_INVALID, ""},
    {"+86+13800138000", LOGIN_INVALID, ""},
    {"138 0013 800O", LOGIN_INVALID, ""},          /* letter O */
    {"1380013800\xef\xbc\x90", LOGIN_INVALID, ""}, /* full-width 0 */
    {"", LOGIN_INVALID, ""},
    {"   ", LOGIN_INVALID, ""},
    {"Alice@Example.COM", LOGIN_EMAIL, "alice@example.com"},
    {" bob.smith+tag@mail.example.cn ", LOGIN_EMAIL,
     "bob.smith+tag@mail.example.cn"},
    {"a@b.co", LOGIN_EMAIL, "a@b.co"},
    {"a@b", LOGIN_INVALID, ""},
    {"a@b.c", LOGIN_INVALID, ""},
    {"a@b.c1", LOGIN_INVALID, ""},
    {"@example.com", LOGIN_INVALID, ""},
    {"a@@example.com", LOGIN_INVALID, ""},
    {"a@b@example.com", LOGIN_INVALID, ""},
    {".a@example.com", LOGIN_INVALID, ""},
    {"a.@example.com", LOGIN_INVALID, ""},
    {"a..b@example.com", LOGIN_INVALID, ""},
    {"a b@example.com", LOGIN_INVALID, ""},
    {"a@-example.com", LOGIN_INVALID, ""},
    {"a@example-.com", LOGIN_INVALID, ""},
    {"a@exa_mple.com", LOGIN_INVALID, ""},
    {"a@example..com", LOGIN_INVALID, ""},
    {"\xe5\xbc\xa0@example.com", LOGIN_INVALID, ""},
    {"a@\xe4\xbe\x8b\xe5\xad\x90.com", LOGIN_INVALID, ""},
    {"a\"b@example.com", LOGIN_INVALID, ""},
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[LOGIN_MAX + 1];
        enum login_kind k = login_normalize(cases[i].in, out);
        CHECK_MSG(k == cases[i].kind, "case %zu \"%s\": kind %d, want %d", i,
                  cases[i].in, (int)k, (int)cases[i].kind);
        CHECK_STR_EQ(out, cases[i].out);
    }
    /* length limits: a 64-character local part is fine, 65 is not */
    char in[400], out[LOGIN_MAX + 1];
    memset(in, 'a', 64);
    snprintf(in + 64, sizeof in - 64, "@example.com");
    CHECK(login_normalize(in, out) == LOGIN_EMAIL);
    memset(in, 'a', 65);
    snprintf(in + 65, sizeof in - 65, "@example.com");
    CHECK(login_normalize(in, out) == LOGIN_INVALID);
    /* 255 bytes overall is refused even when each label is fine */
    size_t n = 0;
    n += (size_t)snprintf(in, sizeof in, "a@");
    while (n < 250)
        n += (size_t)snprintf(in + n, sizeof in - n, "abcdefghi.");
    snprintf(in + n, sizeof in - n, "com");
    CHECK(login_normalize(in, out) == LOGIN_INVALID);
    return unit_summary("login");
}
