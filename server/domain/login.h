/*
 * login.h - one spelling per login. Pure: no I/O.
 *
 * A login is an e-mail address or a mainland China mobile number. Phone
 * numbers lose spaces, hyphens, dots and parentheses and an optional +86,
 * 0086 or 86 prefix, must then be 11 digits 1[3-9]xxxxxxxxx, and are
 * written "+86" followed by the 11 digits: "+86 138-0013-8000" and
 * "13800138000" are both "+8613800138000". E-mail addresses are trimmed and
 * lower-cased (the domain is case-insensitive, and no mail provider we
 * serve distinguishes case in the local part) and must look like
 * local@domain.tld.
 */
#ifndef GROUPBUYD_LOGIN_H
#define GROUPBUYD_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#define LOGIN_MAX 254

enum login_kind { LOGIN_INVALID, LOGIN_EMAIL, LOGIN_PHONE };

/* Writes the normal form of in (NUL-terminated) to out[LOGIN_MAX + 1] and
 * returns its kind; LOGIN_INVALID leaves out empty. */
enum login_kind login_normalize(const char *in, char out[LOGIN_MAX + 1]);

#endif
