/*
 * login.c - see login.h. Works on bytes: any byte outside the rules makes
 * the login invalid, so no Unicode look-alike can create a second spelling.
 */
#include "domain/login.h"

#include <string.h>

static bool login_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static enum login_kind login_phone(const char *s, size_t n,
                                   char out[LOGIN_MAX + 1])
{
    char digits[32];
    size_t d = 0;
    bool plus = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (d >= sizeof digits - 1)
                return LOGIN_INVALID;
            digits[d++] = c;
        } else if (c == '+' && d == 0 && !plus) {
            plus = true;
        } else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.') {
            continue;
        } else {
            return LOGIN_INVALID;
        }
    }
    digits[d] = '\0';
    const char *num = digits;
    if (plus) {
        if (d != 13 || strncmp(digits, "86", 2) != 0)
            return LOGIN_INVALID;
        num += 2;
    } else if (d == 15 && strncmp(digits, "0086", 4) == 0) {
        num += 4;
    } else if (d == 13 && strncmp(digits, "86", 2) == 0) {
        num += 2;
    } else if (d != 11) {
        return LOGIN_INVALID;
    }
    if (strlen(num) != 11 || num[0] != '1' || num[1] < '3' || num[1] > '9')
        return LOGIN_INVALID;
    memcpy(out, "+86", 3);
    memcpy(out + 3, num, 12);
    return LOGIN_PHONE;
}

static bool login_local_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+/=?^_`{|}~-.", c) != NULL;
}

static bool login_domain_valid(const char *d, size_t n)
{
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && d[i] != '.') {
            char c = d[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || d[start] == '-' || d[i - 1] == '-')
            return false;
        labels++;
        if (i == n) {
            /* the top-level label: letters only, two or more */
            if (len < 2)
                return false;
            for (size_t k = start; k < i; k++)
                if (d[k] < 'a' || d[k] > 'z')
                    return false;
        }
        start = i + 1;
    }
    return labels >= 2;
}

static enum login_kind login_email(const char *s, size_t n,
                                   char out[LOGIN_MAX + 1])
{
    if (n > LOGIN_MAX)
        return LOGIN_INVALID;
    char buf[LOGIN_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    buf[n] = '\0';
    const char *at = strchr(buf, '@');
    if (at == NULL || strchr(at + 1, '@') != NULL)
        return LOGIN_INVALID;
    size_t local = (size_t)(at - buf);
    if (local == 0 || local > 64 || buf[0] == '.' || buf[local - 1] == '.')
        return LOGIN_INVALID;
    for (size_t i = 0; i < local; i++) {
        if (!login_local_char(buf[i]))
            return LOGIN_INVALID;
        if (buf[i] == '.' && buf[i + 1] == '.')
            return LOGIN_INVALID;
    }
    if (!login_domain_valid(at + 1, n - local - 1))
        return LOGIN_INVALID;
    memcpy(out, buf, n + 1);
    return LOGIN_EMAIL;
}

enum login_kind login_normalize(const char *in, char out[LOGIN_MAX + 1])
{
    out[0] = '\0';
    size_t n = strlen(in);
    while (n > 0 && login_is_space(*in)) {
        in++;
        n--;
    }
    while (n > 0 && login_is_space(in[n - 1]))
        n--;
    if (n == 0 || n > LOGIN_MAX)
        return LOGIN_INVALID;
    enum login_kind k =
        memchr(in, '@', n) ? login_email(in, n, out) : login_phone(in, n, out);
    if (k == LOGIN_INVALID)
        out[0] = '\0';
    return k;
}
