/*
 * migrate.h - schema migrations: schema/NNN_name.sql applied in order.
 *
 * `groupbuyd migrate` runs before the server (it may block: it is not on
 * the event loop). It takes a session advisory lock so two runs never
 * interleave, applies each pending file in its own transaction, records
 * version, name and SHA-256 in schema_migrations, and refuses to go on when
 * an applied file has changed since.
 */
#ifndef GROUPBUYD_MIGRATE_H
#define GROUPBUYD_MIGRATE_H

#include <stdbool.h>

#include "config.h"

struct migration {
    int version;
    char name[256]; /* file name */
    char path[CONFIG_STR_MAX + 256];
};

/* Lists the migrations of dir sorted by version. Caller frees *out. */
bool migrate_scan(const char *dir, struct migration **out, int *n, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/* Applies what is pending; returns the process exit status. */
int migrate_run(const struct config *cfg);

#endif
