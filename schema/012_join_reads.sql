-- The session lookup, planned once per connection.
--
-- The session lookup (server/auth.c) and the batch's read of its campaign
-- and customers (server/joinbatch.c; now gb_join_batch_reads, schema/013)
-- were prepared statements with array parameters; PostgreSQL planned them
-- again at every execution (a custom plan, which knows the array's
-- length, always looks cheaper than the generic one), and under the join
-- load that planning was 7 % of all the machine's CPU. As functions with
-- one generic plan and no sequential scan (every access is by key: see
-- schema/011 for why a plan made once must not depend on the statistics
-- of the moment), they are planned once per connection. Same rows, same
-- order as the statements they replace.

-- One row per live session among p_tokens (SHA-256 in hex), with the
-- token's 1-based position.
CREATE FUNCTION gb_sessions_lookup(p_tokens text[])
    RETURNS TABLE (ord bigint, staff_id bigint, customer_id bigint,
                   distributor_id bigint, role text, ms_left bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
    AS $$
BEGIN
    RETURN QUERY
    SELECT u.ord, s.staff_id, s.customer_id, st.distributor_id, st.role,
           floor(extract(epoch FROM s.expires_at - now()) * 1000)::bigint
      FROM unnest(p_tokens) WITH ORDINALITY u (h, ord)
     CROSS JOIN LATERAL (
           SELECT * FROM sessions x
            WHERE x.token_sha256 = decode(u.h, 'hex') AND x.revoked_at IS NULL
              AND x.expires_at > now() LIMIT 1) s
      LEFT JOIN staff st ON st.id = s.staff_id;
END $$;
