/*
 * unit.h - the smallest table-driven test harness that does the job.
 *
 * Each tests/unit/test_<module>.c defines main(), runs its cases through
 * CHECK* macros and ends with `return unit_summary("module");`, which prints
 * "test_<module>: N passed, N failed" and returns the exit status. A failed
 * check prints file:line and the expression, and the test goes on, so one run
 * shows every failure of a table.
 */
#ifndef GROUPBUYD_UNIT_H
#define GROUPBUYD_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_passed;
static int unit_failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            unit_passed++;                                                   \
        } else {                                                             \
            unit_failed++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (cond) {                                                          \
            unit_passed++;                                                   \
        } else {                                                             \
            unit_failed++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define CHECK_INT_EQ(got, want)                                            \
    do {                                                                   \
        long long unit_g_ = (long long)(got), unit_w_ = (long long)(want); \
        CHECK_MSG(unit_g_ == unit_w_, "got %lld, want %lld", unit_g_,      \
                  unit_w_);                                                \
    } while (0)

#define CHECK_STR_EQ(got, want)                                            \
    do {                                                                   \
        const char *unit_g_ = (got), *unit_w_ = (want);                    \
        CHECK_MSG(unit_g_ &&unit_w_ &&strcmp(unit_g_, unit_w_) == 0,       \
                  "got \"%s\", want \"%s\"", unit_g_ ? unit_g_ : "(null)", \
                  unit_w_ ? unit_w_ : "(null)");                           \
    } while (0)

static inline int unit_summary(const char *module)
{
    printf("test_%s: %d passed, %d failed\n", module, unit_passed, unit_failed);
    return unit_failed == 0 ? 0 : 1;
}

#endif
