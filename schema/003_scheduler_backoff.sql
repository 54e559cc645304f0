-- Due work that failed, so that it cannot starve the rest (issue 17).
--
-- The scheduler claims due rows oldest due time first. A row whose
-- transition raises (a bigint overflow in an amount, a constraint, a bug)
-- is rolled back alone, recorded here, and not claimed again before
-- next_attempt_at: 1 s after its first failure, then twice as long after
-- each further one, at most an hour. The other rows of the round still
-- run. A row that later moves, or is no longer due, is forgotten
-- (functions/scheduler.sql). kind is the scheduler step (server/
-- scheduler.c): open and close and settle are campaign ids, expire and
-- default participation ids.
CREATE TABLE scheduler_backoff (
    kind            text NOT NULL CHECK (kind IN
                      ('open', 'close', 'expire', 'default', 'settle')),
    id              bigint NOT NULL,
    attempts        integer NOT NULL CHECK (attempts >= 1),
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
CREATE INDEX scheduler_backoff_next ON scheduler_backoff (next_attempt_at);

-- Settlement is claimed by due time too: a succeeded campaign is due from
-- its close on (once no balance is outstanding).
CREATE INDEX campaigns_due_settle ON campaigns (closed_at, id) WHERE status = 'succeeded';
