/*
 * migrate.h - the schema: numbered migrations and function files.
 *
 * schema/NNN_name.sql are the migrations (tables, indexes, constraints),
 * applied once each in version order and recorded with their SHA-256 in
 * schema_migrations; an applied file that changed is refused.
 * schema/functions/NAME.sql hold the functions and triggers, written as
 * CREATE OR REPLACE; a file is applied again whenever its content differs
 * from the SHA-256 recorded in schema_functions.
 *
 * `groupbuyd migrate` runs before the server (it may block: it is not on
 * the event loop). Under a session advisory lock, so two runs never
 * interleave, it applies in ONE transaction the pending migrations, then
 * the changed function files in name order (function bodies are checked
 * at the end, once every file is in), so the database never holds new
 * tables with old functions or half a change. Running it twice is a no-op.
 */
#ifndef GROUPBUYD_MIGRATE_H
#define GROUPBUYD_MIGRATE_H

#include <stdbool.h>

#include "config/config.h"

struct migration {
    int version;    /* NNN of a migration; 0 for a function file */
    char name[256]; /* file name */
    char path[CONFIG_STR_MAX + 256];
    bool pending; /* applied by this run (migrate_run) */
};

/* Lists the migrations of dir sorted by version. Caller frees *out. */
bool migrate_scan(const char *dir, struct migration **out, int *n, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/* Lists the function files of dir/functions sorted by name. Caller frees
 * *out. */
bool migrate_scan_functions(const char *dir, struct migration **out, int *n,
                            char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The function files of dir/functions as a PostgreSQL text[] literal of
 * "name:sha256" items, what /readyz compares with schema_functions. NULL on
 * failure, with err set. Caller frees. */
char *migrate_functions_param(const char *dir, char *err, size_t errlen);

/* Applies what is pending; returns the process exit status. */
int migrate_run(const struct config *cfg);

#endif
