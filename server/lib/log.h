/*
 * log.h - one line per event on stderr, with a level filter.
 *
 * Lines are "2026-11-26T19:52:57.123Z LEVEL message". The access log is the
 * same stream at level info. Logging never allocates and never fails the
 * caller.
 */
#ifndef GROUPBUYD_LOG_H
#define GROUPBUYD_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parses "debug", "info", "warn", "error". */
bool log_level_parse(const char *s, enum log_level *out)
    __attribute__((warn_unused_result));
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Prints the message and exits 1. Only before the event loop runs. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
