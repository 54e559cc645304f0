-- Identity: the representations of distributors, staff and customers, the
-- session lookup of every authenticated request (server/engine/auth.c),
-- and the writes of accounts, logins and sessions, and of a customer's VIP
-- level.

CREATE OR REPLACE FUNCTION gb_distributor_json(d distributors) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', d.id, 'name', d.name,
                                   'commission_bp', d.commission_bp,
                                   'currency', d.currency,
                                   'created_at', gb_ts(d.created_at)) $$;

-- A row whose login is held by another distributor's staff shows the
-- login it was asked for (login_elsewhere; migration 005).
CREATE OR REPLACE FUNCTION gb_staff_json(s staff) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', s.id,
                                   'login', coalesce(s.login, s.login_elsewhere),
                                   'role', s.role,
                                   'distributor_id', s.distributor_id,
                                   'created_at', gb_ts(s.created_at)) $$;

CREATE OR REPLACE FUNCTION gb_customer_json(c customers) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', c.id, 'login', c.login,
                                   'display_name', c.display_name,
                                   'created_at', gb_ts(c.created_at)) $$;

-- The session lookup, planned once per connection: one generic plan and no
-- sequential scan (every access is by key; functions/join.sql says why a
-- plan made once must not depend on the statistics of the moment). A
-- prepared statement with an array parameter would be planned again at
-- every execution, a custom plan always looking cheaper.
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

-- The login throttle, taken before any hashing (api/identity/sessions.c).
-- gb_login_begin serialises the attempts of one (realm, login) on an
-- advisory lock, counts the rows of the last minute and, under 10, inserts
-- the attempt's own row (its slot) in the same transaction; at 10 it
-- answers retry (seconds) and no slot. A row of login_failures is thus an
-- attempt that failed or is still being checked: a success deletes its own
-- slot and nothing else, so failures made in the same minute by other
-- attempts keep counting; a failure leaves its slot as the failure; a slot
-- whose process died mid-check counts as a failure until it ages out. The
-- two-integer advisory lock lives in another key space than the one-bigint
-- locks of engine/idem.c and db/migrate.c; 1819240308 is a fixed class, the
-- second key a hash of realm and login (a collision only makes two logins
-- wait for each other's few microseconds).
CREATE OR REPLACE FUNCTION gb_login_begin(p_realm text, p_login text,
                               OUT slot bigint, OUT retry integer)
    LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    oldest timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(1819240308, hashtext(p_realm || ' ' || p_login));
    -- Each statement of a plpgsql function reads a fresh snapshot: this one
    -- sees every slot committed by the attempts that held the lock before.
    SELECT count(*), min(x.failed_at) INTO n, oldest
      FROM (SELECT f.failed_at FROM login_failures f
             WHERE f.realm = p_realm AND f.login = p_login
               AND f.failed_at > now() - interval '1 minute'
             ORDER BY f.failed_at DESC LIMIT 10) x;
    IF n >= 10 THEN
        retry := greatest(1, ceil(extract(epoch FROM
                     oldest + interval '1 minute' - now())))::integer;
        RETURN;
    END IF;
    -- Rows past the window count for nothing; the scheduler's housekeeping
    -- (functions/housekeeping.sql, gb_purge_due) removes them in batches.
    INSERT INTO login_failures (realm, login) VALUES (p_realm, p_login)
        RETURNING id INTO slot;
END $$;

-- A login's success (the password verified, after gb_login_begin gave the
-- attempt its slot p_slot): the session of token SHA-256 p_token_sha256
-- (hex) for p_ttl_s seconds, the stored hash replaced by p_rehash when
-- given (it used fewer iterations than configured), and the attempt's own
-- slot deleted (the failures of other attempts keep counting). One row:
-- the session's expiry and the account as the login answers it.
CREATE OR REPLACE FUNCTION gb_login_succeed(p_realm text, p_slot bigint,
                                 p_account_id bigint, p_token_sha256 text,
                                 p_ttl_s integer, p_rehash text)
    RETURNS TABLE (expires_at text, account json)
    LANGUAGE plpgsql AS $$
DECLARE
    v_expires timestamptz := now() + make_interval(secs => p_ttl_s);
BEGIN
    DELETE FROM login_failures f WHERE f.id = p_slot;
    IF p_realm = 'staff' THEN
        INSERT INTO sessions (token_sha256, staff_id, expires_at)
        VALUES (decode(p_token_sha256, 'hex'), p_account_id, v_expires);
        IF p_rehash IS NOT NULL THEN
            UPDATE staff s SET password_hash = p_rehash WHERE s.id = p_account_id;
        END IF;
        RETURN QUERY
        SELECT gb_ts(v_expires),
               json_build_object('id', s.id, 'login', s.login, 'role', s.role,
                                 'distributor_id', s.distributor_id)
          FROM staff s WHERE s.id = p_account_id;
    ELSE
        INSERT INTO sessions (token_sha256, customer_id, expires_at)
        VALUES (decode(p_token_sha256, 'hex'), p_account_id, v_expires);
        IF p_rehash IS NOT NULL THEN
            UPDATE customers c SET password_hash = p_rehash
             WHERE c.id = p_account_id;
        END IF;
        RETURN QUERY
        SELECT gb_ts(v_expires), gb_customer_json(c)
          FROM customers c WHERE c.id = p_account_id;
    END IF;
END $$;

-- Logging out: the session of token SHA-256 p_token_sha256 (hex) ends now.
CREATE OR REPLACE FUNCTION gb_session_revoke(p_token_sha256 text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions s SET revoked_at = now()
     WHERE s.token_sha256 = decode(p_token_sha256, 'hex') AND s.revoked_at IS NULL;
END $$;

-- A shopper's registration; answers the customer's JSON. A login taken is
-- unique_violation.
CREATE OR REPLACE FUNCTION gb_customer_create(p_login text, p_hash text,
                                   p_display_name text) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    c customers;
BEGIN
    INSERT INTO customers (login, password_hash, display_name)
    VALUES (p_login, p_hash, p_display_name) RETURNING * INTO c;
    RETURN gb_customer_json(c);
END $$;

-- Whether a distributor's staff see a customer: only one who has taken
-- part in one of its campaigns (any other id is not found to them, so a
-- distributor cannot probe the platform's customers by id).
CREATE OR REPLACE FUNCTION gb_customer_visible(p_distributor_id bigint,
                                    p_customer_id bigint) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT EXISTS (SELECT 1 FROM participations p
                          WHERE p.distributor_id = p_distributor_id
                            AND p.customer_id = p_customer_id) $$;

-- A distributor sets a customer's VIP level (its prior for the customer's
-- score in its joins), with its audit line (the level before, 0 when none
-- was set, and after). False when the customer is not visible to it.
CREATE OR REPLACE FUNCTION gb_customer_vip_set(p_distributor_id bigint,
                                    p_customer_id bigint, p_level integer,
                                    p_staff_id bigint, p_request_id text)
    RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    v_old integer;
BEGIN
    IF NOT gb_customer_visible(p_distributor_id, p_customer_id) THEN
        RETURN false;
    END IF;
    SELECT v.vip_level INTO v_old FROM customer_vip v
     WHERE v.distributor_id = p_distributor_id AND v.customer_id = p_customer_id;
    INSERT INTO customer_vip (distributor_id, customer_id, vip_level)
    VALUES (p_distributor_id, p_customer_id, p_level)
    ON CONFLICT (distributor_id, customer_id) DO UPDATE
       SET vip_level = EXCLUDED.vip_level, updated_at = now();
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'update', 'customer_vip',
                     p_customer_id,
                     jsonb_build_object('vip_level', coalesce(v_old, 0)),
                     jsonb_build_object('vip_level', p_level), p_request_id);
    RETURN true;
END $$;

-- Creating staff and distributors (server/engine/account.c): one place that
-- inserts staff, with its audit entry. An owner asking for a login held by
-- another distributor's staff gets the same answer as for a free one (a
-- row holding it in login_elsewhere: docs/decisions.md, "Staff logins held
-- by another distributor"); a login of its own distributor is 409 duplicate.
-- Creates a staff member and its audit entry (by p_actor_staff, or the
-- platform when NULL); answers its JSON, or NULL when the distributor
-- already has that login. A login held by another distributor's staff:
-- with p_elsewhere a row that never logs in (an owner adding staff),
-- without it unique_violation (the platform creating an owner, which may
-- know).
DROP FUNCTION IF EXISTS gb_staff_create(bigint, text, text, text, boolean, text, bigint,
                                        text);
CREATE OR REPLACE FUNCTION gb_staff_create(p_distributor bigint, p_login text,
                                p_hash text, p_role text, p_elsewhere boolean,
                                p_actor_staff bigint, p_request text) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    s staff;
BEGIN
    INSERT INTO staff (distributor_id, login, password_hash, role)
    VALUES (p_distributor, p_login, p_hash, p_role)
    ON CONFLICT DO NOTHING RETURNING * INTO s;
    IF s.id IS NULL THEN
        -- A fresh snapshot: sees the row of any conflicting insert that
        -- committed while this one waited for it.
        IF EXISTS (SELECT 1 FROM staff t
                    WHERE t.distributor_id = p_distributor
                      AND coalesce(t.login, t.login_elsewhere) = p_login) THEN
            RETURN NULL;
        END IF;
        IF NOT p_elsewhere THEN
            RAISE unique_violation USING MESSAGE = 'staff login taken';
        END IF;
        INSERT INTO staff (distributor_id, login_elsewhere, password_hash, role)
        VALUES (p_distributor, p_login, p_hash, p_role)
        ON CONFLICT DO NOTHING RETURNING * INTO s;
        IF s.id IS NULL THEN
            RETURN NULL; -- the distributor took it meanwhile
        END IF;
    END IF;
    PERFORM gb_audit(p_distributor, p_actor_staff, 'create', 'staff', s.id, NULL,
                     gb_staff_json(s)::jsonb, p_request);
    RETURN gb_staff_json(s);
END $$;

-- A distributor with its owner: {distributor, owner}; unique_violation
-- when the owner's login is held by any staff.
CREATE OR REPLACE FUNCTION gb_distributor_create(p_name text, p_commission_bp integer,
                                      p_currency text, p_login text,
                                      p_hash text, p_request text)
    RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    d distributors;
    owner json;
BEGIN
    INSERT INTO distributors (name, commission_bp, currency)
    VALUES (p_name, p_commission_bp, p_currency) RETURNING * INTO d;
    PERFORM gb_audit(d.id, NULL, 'create', 'distributor', d.id, NULL,
                     gb_distributor_json(d)::jsonb, p_request);
    owner := gb_staff_create(d.id, p_login, p_hash, 'owner', false, NULL,
                             p_request);
    RETURN json_build_object('distributor', gb_distributor_json(d),
                             'owner', owner);
END $$;
