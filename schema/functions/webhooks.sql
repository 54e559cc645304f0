-- Outbound webhooks: the fan-out of the outbox to endpoints, the claim of
-- due deliveries by a relay process, and the record of an attempt
-- (server/out/webhook_relay.c); the endpoint representation and the
-- owner's writes of endpoints, each with its audit line
-- (api/admin/webhooks.c).
--
-- No statement here waits on the network: the relay claims (one short
-- transaction), sends with no transaction open, and records (another).
-- A claim leases its rows (lease_until); a process killed mid-request
-- leaves a lease that expires, and the delivery is claimed again.
--
-- Order: a delivery is claimable only when no earlier delivery (lower id)
-- to the same endpoint is still pending for the same participation, or,
-- for the same campaign, when either of the two is a campaign-level event.
-- Delivery ids follow the fan-out, which follows the feed's (xact_id, id)
-- order, so that is the order the events happened in.


-- The endpoint object (no secret).
CREATE OR REPLACE FUNCTION gb_webhook_endpoint_json(w webhook_endpoints) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', w.id, 'url', w.url, 'events', w.events,
                             'description', w.description, 'enabled', w.enabled,
                             'failing_since', gb_ts(w.failing_since),
                             'created_at', gb_ts(w.created_at),
                             'updated_at', gb_ts(w.updated_at))
$$;

-- A new endpoint of the distributor, with its audit line (without the
-- secret); answers its JSON with the secret, which no other answer shows,
-- or NULL when the distributor has p_max_endpoints already (counted under
-- a lock of the distributor's endpoints, so parallel creates cannot pass
-- it). p_events is a JSON array of event patterns (checked by the caller);
-- p_host the URL's host as the relay connects to it (ASCII, lower case).
DROP FUNCTION IF EXISTS gb_webhook_endpoint_create(bigint, text, jsonb, text, text, bigint, text);
CREATE OR REPLACE FUNCTION gb_webhook_endpoint_create(p_distributor_id bigint, p_url text,
                                           p_host text, p_events jsonb, p_description text,
                                           p_secret text, p_staff_id bigint,
                                           p_request_id text, p_max_endpoints int)
    RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    w webhook_endpoints;
BEGIN
    -- two integers, a class of its own (see gb_login_begin)
    PERFORM pg_advisory_xact_lock(1885957493, (p_distributor_id % 2147483647)::int);
    IF (SELECT count(*) FROM webhook_endpoints x
         WHERE x.distributor_id = p_distributor_id) >= p_max_endpoints THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_endpoints (distributor_id, url, host, events, description, secret)
    VALUES (p_distributor_id, p_url, p_host,
            ARRAY(SELECT jsonb_array_elements_text(p_events)),
            coalesce(p_description, ''), p_secret)
    RETURNING * INTO w;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'create', 'webhook_endpoint', w.id,
                     NULL, gb_webhook_endpoint_json(w)::jsonb, p_request_id);
    RETURN (gb_webhook_endpoint_json(w)::jsonb
            || jsonb_build_object('secret', w.secret))::json;
END $$;

-- An owner's edit of an endpoint: each argument that is not NULL replaces
-- its field (p_host goes with p_url); with its audit line (before and
-- after). Answers the endpoint's JSON, or no row when the distributor has
-- no such endpoint.
DROP FUNCTION IF EXISTS gb_webhook_endpoint_update(bigint, bigint, text, jsonb, text, boolean,
                                                   bigint, text);
CREATE OR REPLACE FUNCTION gb_webhook_endpoint_update(p_distributor_id bigint,
                                           p_endpoint_id bigint, p_url text, p_host text,
                                           p_events jsonb, p_description text,
                                           p_enabled boolean, p_staff_id bigint,
                                           p_request_id text) RETURNS SETOF json
    LANGUAGE plpgsql AS $$
DECLARE
    v_before webhook_endpoints;
    w webhook_endpoints;
BEGIN
    SELECT * INTO v_before FROM webhook_endpoints x
     WHERE x.distributor_id = p_distributor_id AND x.id = p_endpoint_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE webhook_endpoints x
       SET url = coalesce(p_url, x.url),
           host = CASE WHEN p_url IS NULL THEN x.host ELSE p_host END,
           events = CASE WHEN p_events IS NULL THEN x.events
                         ELSE ARRAY(SELECT jsonb_array_elements_text(p_events)) END,
           description = coalesce(p_description, x.description),
           enabled = coalesce(p_enabled, x.enabled),
           updated_at = now()
     WHERE x.id = v_before.id
    RETURNING * INTO w;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'update', 'webhook_endpoint', w.id,
                     gb_webhook_endpoint_json(v_before)::jsonb,
                     gb_webhook_endpoint_json(w)::jsonb, p_request_id);
    RETURN NEXT gb_webhook_endpoint_json(w);
END $$;

-- An owner deletes an endpoint (its deliveries, pending ones included, go
-- with it), with its audit line (before: the endpoint). False when the
-- distributor has no such endpoint.
CREATE OR REPLACE FUNCTION gb_webhook_endpoint_delete(p_distributor_id bigint,
                                           p_endpoint_id bigint, p_staff_id bigint,
                                           p_request_id text) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    w webhook_endpoints;
BEGIN
    DELETE FROM webhook_endpoints x
     WHERE x.distributor_id = p_distributor_id AND x.id = p_endpoint_id
    RETURNING * INTO w;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'delete', 'webhook_endpoint', w.id,
                     gb_webhook_endpoint_json(w)::jsonb, NULL, p_request_id);
    RETURN true;
END $$;

-- A delivery as the deliveries list shows it.
CREATE OR REPLACE FUNCTION gb_webhook_delivery_json(d webhook_deliveries, p_type text)
    RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', d.id, 'event_id', d.event_id, 'event_type', p_type,
                             'status', d.status, 'attempts', d.attempts,
                             'last_status_code', d.last_status_code,
                             'last_error', d.last_error,
                             'next_attempt_at', CASE WHEN d.status = 'pending'
                                                     THEN gb_ts(d.next_attempt_at) END,
                             'delivered_at', gb_ts(d.delivered_at),
                             'created_at', gb_ts(d.created_at))
$$;

-- Whether an event type matches an endpoint's patterns ("*", "family.*",
-- or the type); server/domain/webhook_rules.c validates the patterns.
CREATE OR REPLACE FUNCTION gb_webhook_matches(p_patterns text[], p_kind text)
    RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(p_patterns) p
                    WHERE p = '*' OR p = p_kind
                       OR (right(p, 2) = '.*' AND starts_with(p_kind, left(p, -1))))
$$;

-- Fans out up to p_limit outbox rows per enabled endpoint (endpoints that
-- another process is fanning out are skipped): one delivery per matching
-- event, the endpoint's cursor moved past every row looked at. Only rows
-- below the horizon of finished transactions (functions/feed.sql says
-- why) are taken, so none is skipped. Answers the deliveries made.
CREATE OR REPLACE FUNCTION gb_webhook_fanout(p_limit int) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
    e record;
    v_last_xact xid8;
    v_last_id bigint;
    v_made bigint;
    v_total bigint := 0;
BEGIN
    FOR e IN SELECT w.id, w.distributor_id, w.events, w.cursor_xact, w.cursor_id
               FROM webhook_endpoints w WHERE w.enabled
              ORDER BY w.id FOR UPDATE SKIP LOCKED LOOP
        WITH ev AS (
            SELECT o.id, o.xact_id, o.kind, o.participation_id, o.campaign_id
              FROM outbox o
             WHERE o.distributor_id = e.distributor_id AND o.xact_id < v_horizon
               AND (o.xact_id, o.id) > (e.cursor_xact, e.cursor_id)
             ORDER BY o.xact_id, o.id
             LIMIT p_limit
        ), ins AS (
            INSERT INTO webhook_deliveries (endpoint_id, event_id, participation_id,
                                            campaign_id)
            SELECT e.id, ev.id, ev.participation_id, ev.campaign_id FROM ev
             WHERE gb_webhook_matches(e.events, ev.kind)
             ORDER BY ev.xact_id, ev.id
            ON CONFLICT (endpoint_id, event_id) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT ev.xact_id FROM ev ORDER BY ev.xact_id DESC, ev.id DESC LIMIT 1),
               (SELECT ev.id FROM ev ORDER BY ev.xact_id DESC, ev.id DESC LIMIT 1),
               (SELECT count(*) FROM ins)
          INTO v_last_xact, v_last_id, v_made;
        IF v_last_id IS NOT NULL THEN
            UPDATE webhook_endpoints SET cursor_xact = v_last_xact, cursor_id = v_last_id
             WHERE id = e.id;
        END IF;
        v_total := v_total + v_made;
    END LOOP;
    RETURN v_total;
END $$;

-- Claims up to p_limit due deliveries for p_lease_ms (see the header):
-- the attempt is counted at the claim, so a crash mid-request still
-- counts. Answers what the relay needs to send each.
--
-- Fair shares (DESIGN.md "Notifications"): what is in flight is what is
-- leased, over every process; an endpoint has at most p_endpoint_slots
-- deliveries in flight and a distributor p_distributor_slots, so that a
-- receiver that never answers holds its share and no more while the
-- others' deliveries go out. Within what it may take, a claim serves
-- every distributor's first delivery before anyone's second (then by due
-- time). A target host gets at most p_host_rate requests a second and
-- p_host_burst at once (a generic cell rate kept in webhook_host_budgets;
-- a delivery whose host has no room waits unclaimed, nothing counted).
-- Claims take turns on a transaction lock, so that two processes cannot
-- both fill the same share.
--
-- Each enabled endpoint with room is probed on its due index (endpoint,
-- due time) for at most its room: the cost follows the endpoints, not the
-- pending rows (10,000 pending for one endpoint read 4 of them).
DROP FUNCTION IF EXISTS gb_webhook_claim(int, int);
CREATE OR REPLACE FUNCTION gb_webhook_claim(p_limit int, p_lease_ms int,
                                            p_endpoint_slots int, p_distributor_slots int,
                                            p_host_rate int, p_host_burst int)
    RETURNS TABLE (delivery_id bigint, url text, secret text, event_id bigint,
                   body text, attempts integer)
    LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz;
    v_ids bigint[];
BEGIN
    IF p_limit <= 0 THEN
        RETURN;
    END IF;
    -- two integers, a class of its own (see gb_login_begin)
    PERFORM pg_advisory_xact_lock(1885957494, 0);
    -- the time after the wait for the lock: leases and rates from now
    v_now := clock_timestamp();
    DELETE FROM webhook_host_budgets b WHERE b.tat < v_now - interval '1 hour';
    WITH busy AS (
        SELECT d.endpoint_id, count(*) AS n
          FROM webhook_deliveries d
         WHERE d.status = 'pending' AND d.lease_until IS NOT NULL
           AND d.lease_until >= v_now
         GROUP BY d.endpoint_id
    ), ep AS (
        SELECT w.id, w.distributor_id, w.host,
               p_endpoint_slots - coalesce(b.n, 0) AS room,
               p_distributor_slots - sum(coalesce(b.n, 0))
                   OVER (PARTITION BY w.distributor_id) AS droom
          FROM webhook_endpoints w LEFT JOIN busy b ON b.endpoint_id = w.id
         WHERE w.enabled
    ), cand AS (
        SELECT e.distributor_id, e.host, e.droom, c.id, c.next_attempt_at,
               row_number() OVER (PARTITION BY e.id ORDER BY c.next_attempt_at, c.id) AS k
          FROM ep e CROSS JOIN LATERAL (
                SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
                 WHERE d.endpoint_id = e.id AND d.status = 'pending'
                   AND d.next_attempt_at <= v_now
                   AND (d.lease_until IS NULL OR d.lease_until < v_now)
                   AND NOT (d.participation_id IS NOT NULL AND EXISTS (
                            SELECT 1 FROM webhook_deliveries x
                             WHERE x.endpoint_id = d.endpoint_id AND x.status = 'pending'
                               AND x.participation_id = d.participation_id AND x.id < d.id))
                   AND NOT (d.campaign_id IS NOT NULL AND d.participation_id IS NULL AND EXISTS (
                            SELECT 1 FROM webhook_deliveries x
                             WHERE x.endpoint_id = d.endpoint_id AND x.status = 'pending'
                               AND x.campaign_id = d.campaign_id AND x.id < d.id))
                   AND NOT (d.campaign_id IS NOT NULL AND d.participation_id IS NOT NULL
                            AND EXISTS (
                            SELECT 1 FROM webhook_deliveries x
                             WHERE x.endpoint_id = d.endpoint_id AND x.status = 'pending'
                               AND x.participation_id IS NULL
                               AND x.campaign_id = d.campaign_id AND x.id < d.id))
                 ORDER BY d.next_attempt_at, d.id
                 LIMIT e.room) c
         WHERE e.room > 0 AND e.droom > 0
    ), by_distributor AS (
        SELECT c.*, row_number() OVER (PARTITION BY c.distributor_id
                                       ORDER BY c.k, c.next_attempt_at, c.id) AS dk
          FROM cand c
    ), by_host AS (
        SELECT x.*, row_number() OVER (PARTITION BY x.host
                                       ORDER BY x.dk, x.next_attempt_at, x.id) AS hk
          FROM by_distributor x
         WHERE x.dk <= x.droom
    )
    SELECT array_agg(f.id) INTO v_ids FROM (
        SELECT h.id FROM by_host h LEFT JOIN webhook_host_budgets b ON b.host = h.host
         WHERE h.hk <= floor(p_host_burst - greatest(0, extract(epoch FROM b.tat - v_now))
                                            * p_host_rate)
         ORDER BY h.dk, h.next_attempt_at, h.id
         LIMIT p_limit) f;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    -- a row recorded or retried since it was read is skipped (the
    -- conditions are checked again after any wait for its lock)
    RETURN QUERY
    WITH u AS (
        UPDATE webhook_deliveries d
           SET lease_until = v_now + make_interval(secs => p_lease_ms / 1000.0),
               attempts = d.attempts + 1
         WHERE d.id = ANY (v_ids) AND d.status = 'pending'
           AND (d.lease_until IS NULL OR d.lease_until < v_now)
        RETURNING d.id, d.endpoint_id, d.event_id, d.attempts
    ), spent AS (
        INSERT INTO webhook_host_budgets AS b (host, tat)
        SELECT w.host, v_now + make_interval(secs => count(*)::double precision / p_host_rate)
          FROM u JOIN webhook_endpoints w ON w.id = u.endpoint_id
         GROUP BY w.host
        ON CONFLICT (host) DO UPDATE
           SET tat = greatest(b.tat, v_now) + (excluded.tat - v_now)
        RETURNING 1
    )
    SELECT u.id, w.url, w.secret, u.event_id, gb_event_json(o)::text, u.attempts
      FROM u JOIN webhook_endpoints w ON w.id = u.endpoint_id
      JOIN outbox o ON o.id = u.event_id
     ORDER BY u.id;
END $$;

-- Records one attempt of delivery p_id: delivered on success, else
-- pending again after p_retry_ms, or failed when that would pass the
-- 24 h (p_window_s) of retries. The endpoint's failing_since starts at
-- its first failure of a run and is cleared by a success. Nothing
-- happens to a delivery that is no longer leased by this attempt (its
-- endpoint deleted, or a manual retry since).
CREATE OR REPLACE FUNCTION gb_webhook_record(p_id bigint, p_attempts integer,
                                             p_status_code integer, p_error text,
                                             p_duration_ms integer, p_ok boolean,
                                             p_retry_ms bigint, p_window_s integer)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    v_endpoint bigint;
BEGIN
    UPDATE webhook_deliveries d
       SET status = CASE
                        WHEN p_ok THEN 'delivered'
                        WHEN now() + make_interval(secs => p_retry_ms / 1000.0)
                             > d.window_start + make_interval(secs => p_window_s)
                          THEN 'failed'
                        ELSE 'pending' END,
           next_attempt_at = now() + make_interval(secs => p_retry_ms / 1000.0),
           lease_until = NULL,
           last_status_code = p_status_code,
           last_error = p_error,
           delivered_at = CASE WHEN p_ok THEN now() END
     WHERE d.id = p_id AND d.status = 'pending' AND d.attempts = p_attempts
       AND d.lease_until IS NOT NULL
    RETURNING d.status, d.endpoint_id INTO v_status, v_endpoint;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_attempts (delivery_id, status_code, error, duration_ms)
    VALUES (p_id, p_status_code, p_error, p_duration_ms);
    UPDATE webhook_endpoints
       SET failing_since = CASE WHEN p_ok THEN NULL
                                ELSE coalesce(failing_since, now()) END
     WHERE id = v_endpoint
       AND (failing_since IS NULL) <> p_ok;
    RETURN v_status;
END $$;

-- When the relay should look again: the earliest due time of a pending
-- delivery, or NULL.
CREATE OR REPLACE FUNCTION gb_webhook_next_due() RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
    SELECT min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at)))
      FROM webhook_deliveries WHERE status = 'pending'
$$;

-- A page of an endpoint's deliveries, newest last, as (id, item JSON);
-- p_status NULL for all. Raises no_data_found (P0002) when the endpoint is
-- not the distributor's, so the handler answers 404 rather than an empty
-- list.
CREATE OR REPLACE FUNCTION gb_webhook_deliveries_page(p_distributor_id bigint,
                                                      p_endpoint_id bigint,
                                                      p_status text,
                                                      p_after bigint, p_limit int)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM 1 FROM webhook_endpoints w
     WHERE w.distributor_id = p_distributor_id AND w.id = p_endpoint_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'webhook endpoint not found' USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
        SELECT d.id, gb_webhook_delivery_json(d, o.kind)::text
          FROM webhook_deliveries d JOIN outbox o ON o.id = d.event_id
         WHERE d.endpoint_id = p_endpoint_id
           AND (p_status IS NULL OR d.status = p_status)
           AND d.id > p_after
         ORDER BY d.id LIMIT p_limit;
END $$;

-- Manual retry: a failed (or still pending) delivery is due at once, with
-- a new 24 h window. Answers the delivery JSON, 'not_found', or
-- 'invalid_state' (already delivered).
CREATE OR REPLACE FUNCTION gb_webhook_retry(p_distributor_id bigint,
                                            p_endpoint_id bigint,
                                            p_delivery_id bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    d webhook_deliveries;
BEGIN
    SELECT x.* INTO d FROM webhook_deliveries x
      JOIN webhook_endpoints w ON w.id = x.endpoint_id
     WHERE w.distributor_id = p_distributor_id AND x.endpoint_id = p_endpoint_id
       AND x.id = p_delivery_id
       FOR UPDATE OF x;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF d.status = 'delivered' THEN
        RETURN 'invalid_state';
    END IF;
    UPDATE webhook_deliveries x
       SET status = 'pending', next_attempt_at = now(), window_start = now(),
           lease_until = CASE WHEN x.lease_until > now() THEN x.lease_until END
     WHERE x.id = d.id RETURNING * INTO d;
    RETURN gb_webhook_delivery_json(d, (SELECT kind FROM outbox WHERE id = d.event_id))::text;
END $$;
