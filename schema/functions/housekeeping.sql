-- Housekeeping: rows past their use are deleted by the scheduler, a small
-- batch per pass (server/engine/scheduler.c, step "purge"), so that no pass
-- holds long locks or writes a burst of WAL:
--   login failures older than an hour (the throttle looks back one
--     minute; the margin leaves room for a longer window without losing
--     what it needs),
--   idempotency keys older than 24 h (docs/api.md: a key answers again within
--     24 h),
--   webhook deliveries delivered more than 30 days ago, with their
--     attempts (failed and pending ones stay: staff still act on them).
-- Rows another transaction holds are skipped (SKIP LOCKED) and taken on a
-- later pass.

-- Deletes up to p_limit rows in all, one answer row per row deleted, in
-- the columns every due function answers (functions/scheduler.sql).
CREATE OR REPLACE FUNCTION gb_purge_due(p_limit int)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text, o_attempts integer,
                   o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_left int := p_limit;
    v_n int;
BEGIN
    RETURN QUERY
        DELETE FROM login_failures f
         WHERE f.id IN (SELECT x.id FROM login_failures x
                         WHERE x.failed_at < now() - interval '1 hour'
                         ORDER BY x.failed_at LIMIT v_left
                           FOR UPDATE SKIP LOCKED)
        RETURNING f.id, true, NULL::text, 1, 0::double precision;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_left := v_left - v_n;
    IF v_left <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        DELETE FROM idempotency_keys k
         WHERE k.ctid IN (SELECT x.ctid FROM idempotency_keys x
                           WHERE x.created_at < now() - interval '24 hours'
                           ORDER BY x.created_at LIMIT v_left
                             FOR UPDATE SKIP LOCKED)
        RETURNING 0::bigint, true, NULL::text, 1, 0::double precision;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_left := v_left - v_n;
    IF v_left <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        DELETE FROM webhook_deliveries d
         WHERE d.id IN (SELECT x.id FROM webhook_deliveries x
                         WHERE x.status = 'delivered'
                           AND x.delivered_at < now() - interval '30 days'
                         ORDER BY x.delivered_at LIMIT v_left
                           FOR UPDATE SKIP LOCKED)
        RETURNING d.id, true, NULL::text, 1, 0::double precision;
END $$;
