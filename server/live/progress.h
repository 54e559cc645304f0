/*
 * progress.h - the campaign list of a stream that follows several
 * campaigns' progress (GET /v1/campaigns/events?ids=...) and the cursor
 * that its events carry as their id. Pure: no I/O, no allocation.
 *
 * The list is kept sorted and without repeats, so that one set of
 * campaigns has one cursor however the client spelled it. The cursor is
 * "TAG:SEQ,SEQ,..." with TAG eight hex digits of a hash of the list and
 * one SEQ per campaign, in list order: the change counter of the last
 * state of that campaign the client was sent (campaigns.change_seq),
 * empty for none yet. A reconnection that presents it is sent the
 * campaigns whose counter has passed their SEQ, and nothing for the rest;
 * a cursor of another list (its tag or its length differs) or a malformed
 * one is ignored, as the single stream ignores a malformed Last-Event-ID.
 */
#ifndef GROUPBUYD_PROGRESS_H
#define GROUPBUYD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* API.md: 1 to 50 campaigns on one stream. */
#define PROGRESS_MAX_IDS 50
/* The longest cursor with its NUL: the tag, the colon, and each SEQ (at
 * most 19 digits) with the comma after it (the NUL after the last). */
#define PROGRESS_CURSOR_MAX (8 + 1 + PROGRESS_MAX_IDS * 20)

enum progress_ids {
    PROGRESS_IDS_OK,
    PROGRESS_IDS_MALFORMED, /* empty, or an entry that is not an id */
    PROGRESS_IDS_TOO_MANY,  /* more than max entries */
};

/* Parses "7,9,12" (ids as the router takes them: 1..2^53, digits, no
 * leading zero) into ids[0..*n) ascending without repeats; at most max
 * entries as written (repeats count). */
enum progress_ids progress_ids_parse(const char *text, int64_t *ids, int max,
                                     int *n);

/* The tag of a list (ascending, without repeats). */
uint32_t progress_tag(const int64_t *ids, int n);

/* Writes the cursor of seqs[0..n) (-1: none yet) under tag into
 * buf[0..cap); its length, or 0 when it does not fit. */
size_t progress_cursor_format(char *buf, size_t cap, uint32_t tag,
                              const int64_t *seqs, int n);

/* Reads a cursor of n campaigns under tag into seqs[0..n) (-1 for an
 * empty SEQ); false, seqs unspecified, when text is not one. */
bool progress_cursor_parse(const char *text, uint32_t tag, int64_t *seqs,
                           int n);

#endif
