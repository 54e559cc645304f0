-- Identity: the representations of distributors, staff and customers, and
-- the session lookup of every authenticated request (server/auth.c).

CREATE OR REPLACE FUNCTION gb_distributor_json(d distributors) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', d.id, 'name', d.name,
                                   'commission_bp', d.commission_bp,
                                   'currency', d.currency,
                                   'created_at', gb_ts(d.created_at)) $$;

CREATE OR REPLACE FUNCTION gb_staff_json(s staff) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', s.id, 'login', s.login, 'role', s.role,
                                   'distributor_id', s.distributor_id,
                                   'created_at', gb_ts(s.created_at)) $$;

CREATE OR REPLACE FUNCTION gb_customer_json(c customers) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', c.id, 'login', c.login,
                                   'display_name', c.display_name,
                                   'created_at', gb_ts(c.created_at)) $$;

-- The session lookup, planned once per connection. As a prepared statement
-- with an array parameter PostgreSQL planned it again at every execution (a
-- custom plan, which knows the array's length, always looks cheaper than
-- the generic one); under the join load that planning, with the join
-- reads' (functions/join.sql), was 7 % of all the machine's CPU. As a
-- function with one generic plan and no sequential scan (every access is by
-- key; join.sql says why a plan made once must not depend on the
-- statistics of the moment) it is planned once per connection.
--
-- One row per live session among p_tokens (SHA-256 in hex), with the
-- token's 1-based position.
CREATE OR REPLACE FUNCTION gb_sessions_lookup(p_tokens text[])
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

