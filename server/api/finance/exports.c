/*
 * exports.c - finance exports as streamed CSV (API.md, Settlements and
 * exports).
 *
 * One export holds one borrowed database connection for its whole life,
 * in a REPEATABLE READ READ ONLY transaction, so that the file is one
 * consistent snapshot however long the download takes. A cursor walks the
 * tenant's settlement lines in file order and is read FETCH_ROWS at a time:
 *
 *   acquire -> BEGIN -> DECLARE -> FETCH -> (headers, first chunk) -> flushed
 *     -> FETCH -> chunk -> flushed -> ... -> last FETCH (short) -> COMMIT
 *     -> end
 *
 * The next FETCH is sent only when the previous chunk has been written to
 * the socket (stream_chunk's callback), so a slow reader slows the
 * cursor down instead of filling memory: the server holds at most one
 * batch (its PGresult and its CSV text) per export, whatever the number of
 * rows. The headers go out with the first batch, so that errors before it
 * still get their status (500, 503); after it a failure can only cut the
 * body short (stream_end(r, false): the client sees an incomplete
 * chunked body), and a client that leaves frees the context through
 * http.c, which rolls the transaction back and returns the connection.
 *
 * Cells: times as the JSON gives them (gb_ts, RFC 3339 UTC), ids and
 * quantities as integers, money as decimal major units from integer cents
 * (csv_append_money), text (campaign title, status) through csv_append_text
 * with its quoting and formula-injection apostrophe.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/finance/finance.h"
#include "api/finance/period.h"
#include "db/db.h"
#include "engine/auth.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/stream.h"
#include "lib/csv.h"
#include "lib/log.h"
#include "lib/rfc3339.h"

#define FETCH_ROWS      1000
#define FETCH_ROWS_TEXT "1000" /* the same, for the FETCH statement */

static struct db_stmt begin_stmt =
    DB_STMT(NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0);
static struct db_stmt commit_stmt = DB_STMT(NULL, "COMMIT", 0);
/* $1 distributor, $2 from (inclusive) or NULL, $3 to (exclusive) or NULL.
 * The settlements of the period come first (materialized), so that the
 * time text and the title are made once per settlement, not once per line:
 * that halves the database's time per row at a million lines. */
static struct db_stmt declare_stmt = DB_STMT(
    "exports_settlements_declare",
    "DECLARE gb_export NO SCROLL CURSOR FOR "
    "WITH s AS MATERIALIZED ("
    " SELECT s.campaign_id, s.settled_at, gb_ts(s.settled_at) AS settled,"
    "        c.title"
    "   FROM settlements s JOIN campaigns c ON c.id = s.campaign_id"
    "  WHERE s.distributor_id = $1::bigint"
    "    AND ($2::timestamptz IS NULL OR s.settled_at >= $2::timestamptz)"
    "    AND ($3::timestamptz IS NULL OR s.settled_at < $3::timestamptz)) "
    "SELECT x.settled, x.campaign_id, x.title, x.participation_id, "
    "x.customer_id, x.status, x.quantity, x.unit_price_cents, x.gross_cents, "
    "x.forfeited_cents, x.commission_cents, x.manufacturer_cents, "
    "x.distributor_net_cents, x.leader_commission_cents FROM ("
    " SELECT s.settled_at AS t, 0 AS kind, l.participation_id AS k, "
    " s.settled, l.campaign_id, s.title, l.participation_id, "
    " l.customer_id, l.status, l.quantity, l.unit_price_cents, l.gross_cents, "
    " l.forfeited_cents, l.commission_cents, l.manufacturer_cents, "
    " l.distributor_net_cents, l.leader_commission_cents "
    " FROM s JOIN settlement_lines l ON l.campaign_id = s.campaign_id "
    " WHERE l.distributor_id = $1::bigint "
    " UNION ALL"
    /* adjustments (after-sales refunds approved after settlement) are
     * dated at their approval: a period holds those made in it */
    " SELECT a.adjusted_at, 1, a.id, gb_ts(a.adjusted_at), a.campaign_id, "
    " c.title, a.participation_id, a.customer_id, 'adjustment', "
    " a.returned_quantity, a.unit_price_cents, a.gross_cents, 0::bigint, "
    " a.commission_cents, a.manufacturer_cents, a.distributor_net_cents, "
    " a.leader_commission_cents "
    " FROM settlement_adjustments a JOIN campaigns c ON c.id = a.campaign_id "
    " WHERE a.distributor_id = $1::bigint"
    "   AND ($2::timestamptz IS NULL OR a.adjusted_at >= $2::timestamptz)"
    "   AND ($3::timestamptz IS NULL OR a.adjusted_at < $3::timestamptz)"
    ") x ORDER BY x.t, x.campaign_id, x.kind, x.k",
    3);
static struct db_stmt fetch_stmt = DB_STMT(
    "exports_settlements_fetch", "FETCH " FETCH_ROWS_TEXT " FROM gb_export", 0);

/* The header row, in the order of the statement's columns. */
static const char *const export_columns[] = {
    "settled_at",      "campaign_id",      "campaign_title", "participation_id",
    "customer_id",     "status",           "quantity",       "unit_price",
    "gross",           "forfeited",        "commission",     "manufacturer",
    "distributor_net", "leader_commission"};

enum export_col {
    COL_SETTLED_AT,
    COL_CAMPAIGN_ID,
    COL_TITLE,
    COL_PARTICIPATION_ID,
    COL_CUSTOMER_ID,
    COL_STATUS,
    COL_QUANTITY,
    COL_UNIT_PRICE,
    COL_GROSS,
    COL_FORFEITED,
    COL_COMMISSION,
    COL_MANUFACTURER,
    COL_DISTRIBUTOR_NET,
    COL_LEADER_COMMISSION, /* last, so older readers keep theirs */
    COL_COUNT
};

struct export_state {
    struct csv_buf buf; /* the batch being sent; cleared after each chunk */
    const char *params[3];
    const char *filename;
    bool bom;
    bool started; /* headers sent */
    bool last;    /* the last FETCH came back short: no more rows */
    uint64_t rows;
};

/* ---- the period ------------------------------------------------------ */

/* Reads ?name= through period_bound (as the list does):
 * *param is the statement parameter (UTC) and *stamp the file-name part
 * (20261201T000000Z), or fallback when absent. Replies 400 and returns
 * false when malformed. */
static bool exports_period_bound(struct req *r, const char *name,
                                 const char *fallback, const char **param,
                                 const char **stamp)
{
    int64_t us;
    *stamp = fallback;
    if (!period_bound(r, name, param, &us))
        return false;
    if (*param == NULL)
        return true;
    struct rfc3339_fields f;
    rfc3339_fields(us, &f);
    *stamp =
        req_printf(r, "%04lld%02lld%02lldT%02lld%02lld%02lldZ",
                   (long long)f.year, (long long)f.month, (long long)f.day,
                   (long long)f.hour, (long long)f.minute, (long long)f.second);
    return true;
}

/* ---- the stream -------------------------------------------------------- */

static void exports_fetched_cb(const struct db_result *res, void *arg);
static void exports_committed_cb(const struct db_result *res, void *arg);

static void exports_cleanup(struct req *r)
{
    struct export_state *st = r->state;
    csv_buf_cleanup(&st->buf);
}

/* Fails the export: an error status while nothing was sent, else a
 * truncated body. */
static void exports_fail(struct req *r, const struct db_result *res,
                         const char *what)
{
    struct export_state *st = r->state;
    if (!st->started) {
        if (res) {
            req_reply_db_error(r, res);
        } else {
            struct db_result unavailable = {.status = DB_UNAVAILABLE};
            req_reply_db_error(r, &unavailable);
        }
        return;
    }
    log_error("request %s: export cut short after %llu rows: %s: %s", r->id,
              (unsigned long long)st->rows, what,
              res && res->message ? res->message : "");
    stream_end(r, false);
}

static void exports_fetch(struct req *r)
{
    if (!db_conn_query(r->conn, &fetch_stmt, NULL, exports_fetched_cb, r))
        exports_fail(r, NULL, "FETCH not sent");
}

static void exports_finish(struct req *r)
{
    if (!db_conn_query(r->conn, &commit_stmt, NULL, exports_committed_cb, r))
        exports_fail(r, NULL, "COMMIT not sent");
}

static void exports_flushed(struct req *r)
{
    struct export_state *st = r->state;
    if (st->last)
        exports_finish(r);
    else
        exports_fetch(r);
}

static int64_t exports_int(PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Appends one CSV row per result row; false on a refused cell or memory. */
static bool exports_rows(struct csv_buf *b, PGresult *res, int n)
{
    for (int i = 0; i < n; i++) {
        bool ok =
            csv_append_str(b, PQgetvalue(res, i, COL_SETTLED_AT)) &&
            csv_append_int(b, exports_int(res, i, COL_CAMPAIGN_ID)) &&
            csv_append_text(b, PQgetvalue(res, i, COL_TITLE),
                            (size_t)PQgetlength(res, i, COL_TITLE)) &&
            csv_append_int(b, exports_int(res, i, COL_PARTICIPATION_ID)) &&
            csv_append_int(b, exports_int(res, i, COL_CUSTOMER_ID)) &&
            csv_append_str(b, PQgetvalue(res, i, COL_STATUS)) &&
            csv_append_int(b, exports_int(res, i, COL_QUANTITY));
        for (int c = COL_UNIT_PRICE; ok && c <= COL_LEADER_COMMISSION; c++)
            ok = csv_append_money(b, exports_int(res, i, c));
        if (!ok || !csv_end_row(b))
            return false;
    }
    return true;
}

static void exports_fetched_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct export_state *st = r->state;
    if (res->status != DB_OK) {
        exports_fail(r, res, "FETCH");
        return;
    }
    if (PQnfields(res->res) != COL_COUNT) {
        log_error("request %s: export: %d columns", r->id, PQnfields(res->res));
        exports_fail(r, NULL, "unexpected columns");
        return;
    }
    int n = PQntuples(res->res);
    if (!st->started) {
        req_add_header(
            r, "Content-Disposition",
            req_printf(r, "attachment; filename=\"%s\"", st->filename));
        if (!stream_start(r, 200, "text/csv; charset=utf-8"))
            return;
        st->started = true;
        bool ok = !st->bom || csv_append_bom(&st->buf);
        for (size_t i = 0; ok && i < COL_COUNT; i++)
            ok = csv_append_str(&st->buf, export_columns[i]);
        if (!ok || !csv_end_row(&st->buf)) {
            exports_fail(r, NULL, "out of memory");
            return;
        }
    }
    if (!exports_rows(&st->buf, res->res, n)) {
        exports_fail(r, NULL, "a cell was refused or memory ran out");
        return;
    }
    st->rows += (uint64_t)n;
    st->last = n < FETCH_ROWS;
    if (st->buf.len == 0) {
        exports_flushed(r); /* an empty last batch: nothing to send */
        return;
    }
    if (!stream_chunk(r, st->buf.data, st->buf.len, exports_flushed))
        return;
    csv_buf_clear(&st->buf);
}

static void exports_committed_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK)
        log_warn("request %s: export: COMMIT failed: %s", r->id, res->message);
    stream_end(r, true);
}

static void exports_declared_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        exports_fail(r, res, "DECLARE");
        return;
    }
    exports_fetch(r);
}

static void exports_begun_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct export_state *st = r->state;
    if (res->status != DB_OK) {
        exports_fail(r, res, "BEGIN");
        return;
    }
    if (!db_conn_query(r->conn, &declare_stmt, st->params, exports_declared_cb,
                       r))
        exports_fail(r, NULL, "DECLARE not sent");
}

static void exports_acquired_cb(struct db_conn *conn, void *arg)
{
    struct req *r = arg;
    r->job = NULL;
    if (conn == NULL) {
        exports_fail(r, NULL, "no connection");
        return;
    }
    r->conn = conn;
    if (!db_conn_query(conn, &begin_stmt, NULL, exports_begun_cb, r))
        exports_fail(r, NULL, "BEGIN not sent");
}

/* GET /v1/admin/exports/settlements.csv?from=&to=&bom=1 -> 200 text/csv
 * (streamed) | 400 invalid_field */
void exports_settlements(struct req *r)
{
    const char *from, *to, *from_stamp, *to_stamp;
    if (!exports_period_bound(r, "from", "beginning", &from, &from_stamp) ||
        !exports_period_bound(r, "to", "now", &to, &to_stamp))
        return;
    const char *bom = req_query(r, "bom");
    if (bom && strcmp(bom, "0") != 0 && strcmp(bom, "1") != 0) {
        req_reply_error(r, 400, "invalid_field", "bom", "bom must be 0 or 1.");
        return;
    }
    struct export_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    csv_buf_init(&st->buf);
    st->bom = bom && strcmp(bom, "1") == 0;
    st->params[0] = req_tenant_param(r);
    st->params[1] = from;
    st->params[2] = to;
    st->filename = req_printf(r, "settlements-%s-%s.csv", from_stamp, to_stamp);
    r->state = st;
    r->cleanup = exports_cleanup;
    /* Lag-tolerant: settled lines, read on the replica when there is one
     * (API.md: exports may lag the primary by the replication delay). */
    r->job = db_acquire(db_pool_for_read(r->srv->db, r->srv->db_read),
                        exports_acquired_cb, r);
    if (r->job == NULL)
        exports_fail(r, NULL, "pool full");
}
