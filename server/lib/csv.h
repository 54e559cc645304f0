/*
 * csv.h - RFC 4180 CSV writer into a growable buffer, safe for spreadsheets.
 *
 * The caller appends cells left to right and ends each row; the writer puts
 * the commas, the quoting and the CRLF. A row goes out as
 *
 *   cell *("," cell) CRLF
 *
 * Text cells (csv_append_text) are copied byte for byte (UTF-8 such as
 * Chinese passes untouched, nothing is validated or transcoded), with two
 * defences:
 *
 * - Quoting: a cell holding a comma, a double quote, CR or LF, or beginning
 *   or ending with a space or tab, is enclosed in double quotes and each
 *   double quote inside is doubled. Other cells go out bare.
 * - Formula injection (OWASP "CSV Injection"): a text cell whose first byte
 *   is tab or CR, or whose first byte after leading whitespace (space, tab,
 *   CR, LF) is =, +, - or @, gets a leading apostrophe (before the
 *   whitespace), so that Excel, LibreOffice and Numbers, which trim the
 *   whitespace, show it as text instead of evaluating it.
 *   "-5" as text thus becomes '-5; numbers and money must be written with
 *   csv_append_int and csv_append_money, which never get the apostrophe.
 *
 * Money cells (csv_append_money) are money_format's text form (money.h):
 * decimal major units with exactly two decimals and a leading minus when
 * negative: 123450 -> 1234.50, -5 -> -0.05, 0 -> 0.00.
 *
 * Streaming: the buffer holds whatever has not been handed on yet. After a
 * row (or any time) the caller may send data[0..len) and csv_buf_clear():
 * memory then stays at the size of the largest chunk, not of the file. The
 * position in the row survives a clear, so the next cell still gets its
 * comma.
 *
 * Buffer invariants: data is NULL (nothing written yet) or holds cap bytes
 * with len < cap and data[len] == '\0', so data is also a C string when no
 * cell held a NUL (text cells refuse NUL bytes: no database text has them
 * and many CSV readers stop at them). Every append either succeeds whole or
 * returns false and leaves the buffer exactly as it was (allocation failure,
 * size overflow, or a refused cell). A row of one empty cell is an empty
 * line, which some readers skip; our exports never write one.
 *
 * The module is pure: no I/O; it allocates with malloc/realloc only.
 */
#ifndef GROUPBUYD_CSV_H
#define GROUPBUYD_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct csv_buf {
    char *data;  /* owned; NULL until the first append */
    size_t len;  /* bytes written and not yet cleared */
    size_t cap;  /* bytes allocated (0 while data is NULL) */
    bool in_row; /* a cell has been written in the current row */
};

/* An empty buffer, at the start of a row; allocates nothing. */
void csv_buf_init(struct csv_buf *buf);

/* Frees the memory; the buffer is then as after csv_buf_init. */
void csv_buf_cleanup(struct csv_buf *buf);

/* Forgets the bytes written (len = 0), keeps the memory and the position
 * in the row. For streaming, after the caller has sent data[0..len). */
void csv_buf_clear(struct csv_buf *buf);

/* Appends the UTF-8 byte order mark EF BB BF, for spreadsheet programs that
 * otherwise read the file as a legacy code page. Only as the very first
 * bytes: false when len > 0 or a row is open. */
bool csv_append_bom(struct csv_buf *buf) __attribute__((warn_unused_result));

/* Appends the text cell text[0..len), quoted and prefixed as described
 * above. text may be NULL when len == 0 (an empty cell). False when the
 * text holds a NUL byte or memory runs out. */
bool csv_append_text(struct csv_buf *buf, const char *text, size_t len)
    __attribute__((warn_unused_result));

/* csv_append_text of a NUL-terminated string; NULL is an empty cell. */
bool csv_append_str(struct csv_buf *buf, const char *text)
    __attribute__((warn_unused_result));

/* Appends an integer cell in decimal ("-42", "0"): never quoted, never
 * prefixed. */
bool csv_append_int(struct csv_buf *buf, int64_t value)
    __attribute__((warn_unused_result));

/* Appends a money cell: cents as major units with two decimals
 * ("1234.50", "-0.05"), in money_format's text form. */
bool csv_append_money(struct csv_buf *buf, int64_t cents)
    __attribute__((warn_unused_result));

/* Ends the row with CRLF; the next cell starts a new row. */
bool csv_end_row(struct csv_buf *buf) __attribute__((warn_unused_result));

#endif
