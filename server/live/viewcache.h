/*
 * viewcache.h - the in-memory cache of public campaign views
 * (GET /v1/campaigns/{id}); the design is at the top of viewcache.c.
 *
 * The handler's part: viewcache_lookup; on VIEWCACHE_MISS it sends the
 * query, calls viewcache_sent once it is submitted, and in the query's
 * callback calls viewcache_done (which stores the view and answers the
 * requests that waited for it) before answering its own request. The
 * cache keeps its handle on the query in r->state meanwhile.
 */
#ifndef GROUPBUYD_VIEWCACHE_H
#define GROUPBUYD_VIEWCACHE_H

#include <stddef.h>
#include <stdint.h>

struct req;
struct db_result;

enum viewcache_result {
    VIEWCACHE_HIT,    /* *text, *len: the reply to send */
    VIEWCACHE_JOINED, /* r waits for a query in flight, which answers it */
    VIEWCACHE_MISS,   /* r sends the query */
};

/* Looks campaign id up for r (always a miss with the cache off). */
enum viewcache_result viewcache_lookup(struct req *r, int64_t id,
                                       const char **text, size_t *len);

/* r's query (after VIEWCACHE_MISS) has been submitted. */
void viewcache_sent(struct req *r);

typedef void viewcache_answer_fn(struct req *r, const struct db_result *res,
                                 const char *text);

/* r's query returned res, and the reply is text when 200 (else NULL):
 * stores it when it may, and answers each request that waited for it with
 * answer(). r itself is left to the caller. */
void viewcache_done(struct req *r, const struct db_result *res,
                    const char *text, viewcache_answer_fn *answer);

/* Drops campaign id's entry at once (id <= 0: every entry). */
void viewcache_forget(int64_t id);

/* The transport's after-reply hook: a write request that has answered
 * drops its campaign's entry (routes under campaigns/{id}) or every
 * entry, before any later request is read. */
void viewcache_note_write(struct req *r);

/* Requests waiting for another request's query (VIEWCACHE_JOINED), for
 * /metrics. */
int viewcache_waiting(void);

/* Frees it all (at exit). */
void viewcache_free(void);

#endif
