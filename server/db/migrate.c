/*
 * migrate.c - see migrate.h. Blocking libpq on purpose: this is a command
 * that runs to completion, never code on the server's loop.
 */
#include "db/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* The advisory lock key: "gbmigrat" as an integer. */
#define MIGRATE_LOCK_KEY "7450088366512939380"

static int migrate_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* A migration's name: NNN_anything.sql, NNN its version. */
static bool migrate_migration_name_ok(const char *nm)
{
    size_t len = strlen(nm);
    return len >= 8 && nm[0] >= '0' && nm[0] <= '9' && nm[1] >= '0' &&
           nm[1] <= '9' && nm[2] >= '0' && nm[2] <= '9' && nm[3] == '_';
}

/* A function file's name: [a-z0-9_]+.sql, so that it needs no quoting in
 * the array literal of /readyz and sorts the same in every locale. */
static bool migrate_function_name_ok(const char *nm)
{
    size_t len = strlen(nm);
    if (len < 5 || len >= 200 || strcmp(nm + len - 4, ".sql") != 0)
        return false;
    for (size_t i = 0; i + 4 < len; i++) {
        char ch = nm[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

/* The .sql files of dir, unsorted: each name must pass name_ok (else the
 * scan fails naming the file and what was expected). version is the NNN of
 * a migration, 0 for a function file. */
static bool migrate_scan_dir(const char *dir, bool functions,
                             struct migration **out, int *n, char *err,
                             size_t errlen)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return false;
    }
    struct migration *list = NULL;
    int count = 0, cap = 0;
    struct dirent *e;
    bool ok = true;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (len < 4 || strcmp(nm + len - 4, ".sql") != 0)
            continue;
        if (functions ? !migrate_function_name_ok(nm)
                      : !migrate_migration_name_ok(nm)) {
            snprintf(err, errlen, "%s/%s: expected %s", dir, nm,
                     functions ? "[a-z0-9_]+.sql" : "NNN_name.sql");
            ok = false;
            break;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct migration *grown = realloc(list, (size_t)cap * sizeof *list);
            if (grown == NULL) {
                snprintf(err, errlen, "out of memory");
                ok = false;
                break;
            }
            list = grown;
        }
        struct migration *m = &list[count++];
        m->version = functions ? 0
                               : (nm[0] - '0') * 100 + (nm[1] - '0') * 10 +
                                     (nm[2] - '0');
        m->pending = false;
        snprintf(m->name, sizeof m->name, "%s", nm);
        snprintf(m->path, sizeof m->path, "%s/%s", dir, nm);
    }
    closedir(d);
    if (!ok) {
        free(list);
        return false;
    }
    *out = list;
    *n = count;
    return true;
}

bool migrate_scan(const char *dir, struct migration **out, int *n, char *err,
                  size_t errlen)
{
    if (!migrate_scan_dir(dir, false, out, n, err, errlen))
        return false;
    struct migration *list = *out;
    int count = *n;
    if (count > 0)
        qsort(list, (size_t)count, sizeof *list, migrate_cmp);
    for (int i = 1; i < count; i++) {
        if (list[i].version == list[i - 1].version) {
            snprintf(err, errlen, "%s and %s share version %03d",
                     list[i - 1].name, list[i].name, list[i].version);
            free(list);
            *out = NULL;
            *n = 0;
            return false;
        }
    }
    return true;
}

static char *migrate_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (cap - used < 4096) {
            cap = cap ? cap * 2 : 16384;
            char *g = realloc(buf, cap + 1);
            if (g == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
        }
        size_t r = fread(buf + used, 1, cap - used, f);
        used += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[used] = '\0';
    *len = used;
    return buf;
}

static void migrate_sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool migrate_exec(PGconn *pg, const char *sql, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        log_error("migrate: %s: %s", what, PQerrorMessage(pg));
    PQclear(res);
    return ok;
}

static int migrate_name_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return strcmp(x->name, y->name);
}

bool migrate_scan_functions(const char *dir, struct migration **out, int *n,
                            char *err, size_t errlen)
{
    char fdir[CONFIG_STR_MAX + 16];
    snprintf(fdir, sizeof fdir, "%s/functions", dir);
    if (!migrate_scan_dir(fdir, true, out, n, err, errlen))
        return false;
    if (*n > 0)
        qsort(*out, (size_t)*n, sizeof **out, migrate_name_cmp);
    return true;
}

/* Reads a file and its SHA-256 (hex); NULL when it cannot be read. */
static char *migrate_load(const struct migration *m, size_t *len, char sha[65])
{
    char *sql = migrate_read_file(m->path, len);
    if (sql == NULL)
        log_error("migrate: cannot read %s", m->path);
    else
        migrate_sha256_hex(sql, *len, sha);
    return sql;
}

char *migrate_functions_param(const char *dir, char *err, size_t errlen)
{
    struct migration *list = NULL;
    int n = 0;
    if (!migrate_scan_functions(dir, &list, &n, err, errlen))
        return NULL;
    /* {"name:sha",...}: each item at most name + 64 + 4 quoting bytes */
    size_t cap = 3 + (size_t)n * (sizeof list->name + 70);
    char *s = malloc(cap);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        free(list);
        return NULL;
    }
    size_t used = 0;
    s[used++] = '{';
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        char *sql = migrate_read_file(list[i].path, &len);
        if (sql == NULL) {
            snprintf(err, errlen, "cannot read %s", list[i].path);
            free(s);
            free(list);
            return NULL;
        }
        char sha[65];
        migrate_sha256_hex(sql, len, sha);
        free(sql);
        used += (size_t)snprintf(s + used, cap - used, "%s\"%s:%s\"",
                                 i ? "," : "", list[i].name, sha);
    }
    snprintf(s + used, cap - used, "}");
    free(list);
    return s;
}

/* Runs a statement with parameters that returns no rows. */
static bool migrate_command(PGconn *pg, const char *sql, int n,
                            const char *const *params, const char *what)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        log_error("migrate: %s: %s", what, PQerrorMessage(pg));
    PQclear(res);
    return ok;
}

/* The pending migrations, in version order, inside the open transaction.
 * Counts what it applied into *applied; false (logged) on any failure. */
static bool migrate_apply_migrations(PGconn *pg, struct migration *list, int n,
                                     int *applied)
{
    for (int i = 0; i < n; i++) {
        struct migration *m = &list[i];
        size_t len = 0;
        char sha[65];
        char *sql = migrate_load(m, &len, sha);
        if (sql == NULL)
            return false;
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *p1[] = {version};
        PGresult *res = PQexecParams(
            pg, "SELECT sha256 FROM schema_migrations WHERE version = $1", 1,
            NULL, p1, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            log_error("migrate: %s", PQerrorMessage(pg));
            PQclear(res);
            free(sql);
            return false;
        }
        if (PQntuples(res) == 1) {
            bool same = strcmp(PQgetvalue(res, 0, 0), sha) == 0;
            PQclear(res);
            free(sql);
            if (!same) {
                log_error("migrate: %s was changed after it was applied; "
                          "add a new migration instead",
                          m->name);
                return false;
            }
            continue;
        }
        PQclear(res);
        bool ok = migrate_exec(pg, sql, m->name);
        free(sql);
        const char *p3[] = {version, m->name, sha};
        if (!ok || !migrate_command(pg,
                                    "INSERT INTO schema_migrations (version, "
                                    "name, sha256) VALUES ($1, $2, $3)",
                                    3, p3, m->name)) {
            log_error("migrate: %s failed", m->name);
            return false;
        }
        m->pending = true;
        (*applied)++;
    }
    return true;
}

/* The function files whose content differs from the recorded one, in name
 * order, inside the open transaction; then forgets files no longer
 * shipped. Bodies are not checked while the files go in (a function may
 * call one of a later file); migrate_validate checks them all after. */
static bool migrate_apply_functions(PGconn *pg, struct migration *list, int n,
                                    int *applied)
{
    if (!migrate_exec(pg, "SET LOCAL check_function_bodies = off", "settings"))
        return false;
    for (int i = 0; i < n; i++) {
        struct migration *m = &list[i];
        size_t len = 0;
        char sha[65];
        char *sql = migrate_load(m, &len, sha);
        if (sql == NULL)
            return false;
        const char *p2[] = {m->name, sha};
        PGresult *res = PQexecParams(pg,
                                     "SELECT 1 FROM schema_functions WHERE "
                                     "name = $1 AND sha256 = $2",
                                     2, NULL, p2, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            log_error("migrate: %s", PQerrorMessage(pg));
            PQclear(res);
            free(sql);
            return false;
        }
        bool same = PQntuples(res) == 1;
        PQclear(res);
        if (same) {
            free(sql);
            continue;
        }
        bool ok = migrate_exec(pg, sql, m->name);
        free(sql);
        if (!ok ||
            !migrate_command(pg,
                             "INSERT INTO schema_functions (name, sha256) "
                             "VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
                             "SET sha256 = EXCLUDED.sha256, applied_at = "
                             "now()",
                             2, p2, m->name)) {
            log_error("migrate: functions/%s failed", m->name);
            return false;
        }
        m->pending = true;
        (*applied)++;
    }
    /* A file taken out of the set: its functions stay until a file or a
     * migration drops them (schema/README), but it is no longer tracked. */
    size_t cap = 3 + (size_t)n * (sizeof list->name + 3);
    char *names = malloc(cap);
    if (names == NULL) {
        log_error("migrate: out of memory");
        return false;
    }
    size_t used = 0;
    names[used++] = '{';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(names + used, cap - used, "%s\"%s\"",
                                 i ? "," : "", list[i].name);
    snprintf(names + used, cap - used, "}");
    const char *p1[] = {names};
    bool ok = migrate_command(
        pg, "DELETE FROM schema_functions WHERE name <> ALL ($1::text[])", 1,
        p1, "forgetting removed function files");
    free(names);
    return ok;
}

/* Checks the body of every SQL and PL/pgSQL function of the schema with
 * its language's validator, as CREATE FUNCTION does with
 * check_function_bodies on: a function file with a syntax error, or a
 * migration that dropped a column a SQL function reads, fails here, in
 * this transaction, instead of at the first call in production. */
static bool migrate_validate(PGconn *pg)
{
    if (!migrate_exec(pg, "SET LOCAL check_function_bodies = on", "settings"))
        return false;
    PGresult *fns =
        PQexec(pg, "SELECT p.oid, p.oid::regprocedure, l.lanname"
                   " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                   " WHERE p.pronamespace = to_regnamespace(current_schema())"
                   " AND l.lanname IN ('sql', 'plpgsql') ORDER BY 2");
    if (PQresultStatus(fns) != PGRES_TUPLES_OK) {
        log_error("migrate: listing the functions: %s", PQerrorMessage(pg));
        PQclear(fns);
        return false;
    }
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(fns); i++) {
        const char *p1[] = {PQgetvalue(fns, i, 0)};
        bool sql = strcmp(PQgetvalue(fns, i, 2), "sql") == 0;
        char what[300];
        snprintf(what, sizeof what, "function %s", PQgetvalue(fns, i, 1));
        /* one function per statement, so the error names it */
        ok = migrate_command(pg,
                             sql ? "SELECT fmgr_sql_validator($1::oid)"
                                 : "SELECT plpgsql_validator($1::oid)",
                             1, p1, what);
    }
    PQclear(fns);
    return ok;
}

int migrate_run(const struct config *cfg)
{
    char err[512];
    struct migration *list = NULL, *funcs = NULL;
    int n = 0, nfuncs = 0;
    int status = 1;
    PGconn *pg = NULL;
    if (!migrate_scan(cfg->schema_dir, &list, &n, err, sizeof err) ||
        !migrate_scan_functions(cfg->schema_dir, &funcs, &nfuncs, err,
                                sizeof err)) {
        log_error("migrate: %s", err);
        free(list);
        return 1;
    }
    const char *keys[] = {"dbname", "application_name", "client_encoding",
                          NULL};
    const char *vals[] = {cfg->database_url, "groupbuyd-migrate", "UTF8", NULL};
    pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        log_error("migrate: cannot connect: %s", PQerrorMessage(pg));
        goto done;
    }
    if (!migrate_exec(pg, "SET client_min_messages = warning", "settings") ||
        !migrate_exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                      "lock") ||
        !migrate_exec(pg,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version integer PRIMARY KEY,"
                      " name text NOT NULL,"
                      " sha256 text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      "bookkeeping table") ||
        !migrate_exec(pg,
                      "CREATE TABLE IF NOT EXISTS schema_functions ("
                      " name text PRIMARY KEY,"
                      " sha256 text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      "bookkeeping table"))
        goto done;

    int applied = 0, fapplied = 0;
    if (!migrate_exec(pg, "BEGIN", "begin"))
        goto done;
    bool ok = migrate_apply_migrations(pg, list, n, &applied) &&
              migrate_apply_functions(pg, funcs, nfuncs, &fapplied) &&
              (applied + fapplied == 0 || migrate_validate(pg));
    if (!ok || !migrate_exec(pg, "COMMIT", "commit")) {
        migrate_exec(pg, "ROLLBACK", "rollback");
        log_error("migrate: failed; nothing of this run was applied");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (list[i].pending)
            log_info("migrate: applied %s", list[i].name);
    for (int i = 0; i < nfuncs; i++)
        if (funcs[i].pending)
            log_info("migrate: applied functions/%s", funcs[i].name);
    log_info("migrate: %d applied, %d already there; function files: %d "
             "applied, %d unchanged",
             applied, n - applied, fapplied, nfuncs - fapplied);
    status = 0;
done:
    if (pg)
        PQfinish(pg);
    free(list);
    free(funcs);
    return status;
}
