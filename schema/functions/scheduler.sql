-- The scheduler's containment of failures (server/engine/scheduler.c):
-- every due function (functions/transitions.sql, functions/settle.sql)
-- claims its rows by due time, leaving out those in backoff, and hands them
-- to gb_due_run, which moves them and answers one row per row claimed:
--
--   o_id        the campaign or participation
--   o_done      it moved now (false: nothing to do, e.g. another process
--               moved it first)
--   o_error     NULL, or 'SQLSTATE: message' when its transition raised
--   o_attempts  failures in a row so far, o_retry_s the seconds until the
--               next attempt (NULL unless it failed)
--
-- A failed row's work is rolled back alone (a sub-transaction); the
-- transaction of the step, and every other row's transition in it, goes
-- on and commits. Exactly-once is unchanged: a transition still runs
-- under its row locks with its precondition re-checked, in the step's one
-- transaction, and the backoff row commits with it (or, after a crash,
-- not at all: the row is then simply due again).
--
-- Backoff (table scheduler_backoff, schema/003_scheduler_backoff.sql):
-- 1 s after the first failure, doubling, at most an hour. A row that
-- moves, or that is no longer due (cancelled, moved by staff), is
-- forgotten. Rows in backoff do not count as due work in gb_next_due until
-- their next attempt.


-- Whether (p_kind, p_id) waits for its next attempt.
CREATE OR REPLACE FUNCTION gb_due_held(p_kind text, p_id bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM scheduler_backoff b
                    WHERE b.kind = p_kind AND b.id = p_id
                      AND b.next_attempt_at > now())
$$;


-- Records a failure of (p_kind, p_id) and schedules its next attempt;
-- answers the failures in a row and the seconds until that attempt.
CREATE OR REPLACE FUNCTION gb_due_failed(p_kind text, p_id bigint, p_error text,
                                         OUT attempts integer,
                                         OUT retry_s double precision)
    LANGUAGE sql AS $$
    INSERT INTO scheduler_backoff AS b (kind, id, attempts, next_attempt_at,
                                        last_error)
    VALUES (p_kind, p_id, 1, now() + interval '1 second', p_error)
    ON CONFLICT (kind, id) DO UPDATE
       SET attempts = b.attempts + 1,
           next_attempt_at = now() + make_interval(
               secs => least(2 ^ least(b.attempts, 12), 3600)),
           last_error = EXCLUDED.last_error, last_failed_at = now()
    RETURNING b.attempts, extract(epoch FROM b.next_attempt_at - now())::float8
$$;


-- Runs the transition p_fn (a function of an array of ids that answers
-- the ids it moved) over the rows p_ids, which the caller has claimed and
-- locked. With p_whole_first, all of them in one go first (a batch of
-- 200 deposit expiries is one statement); if that raises, and always
-- without it, one by one, each in a sub-transaction of its own, so that a
-- failing row is rolled back alone and put in backoff. Answers one row
-- per id (see the header).
CREATE OR REPLACE FUNCTION gb_due_run(p_kind text, p_fn regproc, p_ids bigint[],
                                      p_whole_first boolean)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text,
                   o_attempts integer, o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_call text := format('SELECT %s($1)', p_fn);
    v_done bigint[];
    v_ok boolean := false;
    v_id bigint;
BEGIN
    IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
        RETURN;
    END IF;
    IF p_whole_first THEN
        BEGIN
            EXECUTE v_call INTO v_done USING p_ids;
            v_ok := true;
        EXCEPTION WHEN OTHERS THEN
            v_ok := false;
        END;
        IF v_ok THEN
            v_done := coalesce(v_done, '{}');
            DELETE FROM scheduler_backoff b
             WHERE b.kind = p_kind AND b.id = ANY (v_done);
            RETURN QUERY
                SELECT u.id, u.id = ANY (v_done), NULL::text, NULL::integer,
                       NULL::double precision
                  FROM unnest(p_ids) u (id);
            RETURN;
        END IF;
    END IF;
    FOREACH v_id IN ARRAY p_ids LOOP
        o_id := v_id;
        o_error := NULL;
        o_attempts := NULL;
        o_retry_s := NULL;
        BEGIN
            EXECUTE v_call INTO v_done USING ARRAY[v_id];
            o_done := v_id = ANY (coalesce(v_done, '{}'));
            IF o_done THEN
                DELETE FROM scheduler_backoff b
                 WHERE b.kind = p_kind AND b.id = v_id;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            o_done := false;
            o_error := SQLSTATE || ': ' || SQLERRM;
            SELECT f.attempts, f.retry_s INTO o_attempts, o_retry_s
              FROM gb_due_failed(p_kind, v_id, o_error) f;
        END;
        RETURN NEXT;
    END LOOP;
END $$;
