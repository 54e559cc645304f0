/*
 * migrate.c - see migrate.h. Blocking libpq on purpose: this is a command
 * that runs to completion, never code on the server's loop.
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The advisory lock key: "gbmigrat" as an integer. */
#define MIGRATE_LOCK_KEY "7450088366512939380"

static int migrate_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

bool migrate_scan(const char *dir, struct migration **out, int *n, char *err,
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
        if (len < 8 || strcmp(nm + len - 4, ".sql") != 0)
            continue;
        if (!(nm[0] >= '0' && nm[0] <= '9' && nm[1] >= '0' && nm[1] <= '9' &&
              nm[2] >= '0' && nm[2] <= '9' && nm[3] == '_')) {
            snprintf(err, errlen, "%s/%s: expected NNN_name.sql", dir, nm);
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
        m->version = (nm[0] - '0') * 100 + (nm[1] - '0') * 10 + (nm[2] - '0');
        snprintf(m->name, sizeof m->name, "%s", nm);
        snprintf(m->path, sizeof m->path, "%s/%s", dir, nm);
    }
    closedir(d);
    if (ok && count > 0) {
        qsort(list, (size_t)count, sizeof *list, migrate_cmp);
        for (int i = 1; i < count; i++) {
            if (list[i].version == list[i - 1].version) {
                snprintf(err, errlen, "%s and %s share version %03d",
                         list[i - 1].name, list[i].name, list[i].version);
                ok = false;
            }
        }
    }
    if (!ok) {
        free(list);
        return false;
    }
    *out = list;
    *n = count;
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

int migrate_run(const struct config *cfg)
{
    char err[512];
    struct migration *list = NULL;
    int n = 0;
    int status = 1;
    PGconn *pg = NULL;
    if (!migrate_scan(cfg->schema_dir, &list, &n, err, sizeof err)) {
        log_error("migrate: %s", err);
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
                      "bookkeeping table"))
        goto done;

    int applied = 0;
    for (int i = 0; i < n; i++) {
        struct migration *m = &list[i];
        size_t len = 0;
        char *sql = migrate_read_file(m->path, &len);
        if (sql == NULL) {
            log_error("migrate: cannot read %s", m->path);
            goto done;
        }
        char sha[65];
        migrate_sha256_hex(sql, len, sha);
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
            goto done;
        }
        if (PQntuples(res) == 1) {
            bool same = strcmp(PQgetvalue(res, 0, 0), sha) == 0;
            PQclear(res);
            free(sql);
            if (!same) {
                log_error("migrate: %s was changed after it was applied; "
                          "add a new migration instead",
                          m->name);
                goto done;
            }
            continue;
        }
        PQclear(res);
        bool ok = migrate_exec(pg, "BEGIN", "begin") &&
                  migrate_exec(pg, sql, m->name);
        free(sql);
        if (ok) {
            const char *p3[] = {version, m->name, sha};
            res = PQexecParams(pg,
                               "INSERT INTO schema_migrations (version, name, "
                               "sha256) VALUES ($1, $2, $3)",
                               3, NULL, p3, NULL, NULL, 0);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok)
                log_error("migrate: recording %s: %s", m->name,
                          PQerrorMessage(pg));
            PQclear(res);
        }
        if (!ok || !migrate_exec(pg, "COMMIT", "commit")) {
            migrate_exec(pg, "ROLLBACK", "rollback");
            log_error("migrate: %s failed; nothing of it was applied", m->name);
            goto done;
        }
        log_info("migrate: applied %s", m->name);
        applied++;
    }
    log_info("migrate: %d applied, %d already there", applied, n - applied);
    status = 0;
done:
    if (pg)
        PQfinish(pg);
    free(list);
    return status;
}
