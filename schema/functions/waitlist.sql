-- The waitlist of a full campaign (篇5; docs/api.md "Waitlist when a
-- campaign is full"): api/shop/waitlist.c queues and lists entries,
-- server/engine/promote.c promotes them.
--
-- Units freed while customers wait are held for them
-- (campaigns.waitlist_held, schema/017_growth.sql): whichever transaction
-- frees units (a withdrawal, an expired deposit, a void, a raised
-- max_quantity: the counter trigger of functions/participations.sql calls
-- gb_waitlist_hold) sets the hold to what is free, up to what the queue
-- waits for, and ordinary joins may not take held units
-- (functions/join.sql). A campaign holding units is due for promotion.
--
-- The promotion of one campaign (engine/promote.c drives it):
--   1. gb_waitlist_reads: the next waiting entries in arrival order, with
--      what the join's read gives for each (gb_join_batch_reads), so that
--      the server scores each customer and prices the deposit as for any
--      join (engine/joinengine.h);
--   2. gb_waitlist_promote, one transaction: the campaign locked and at the
--      version read, the entries still waiting locked in arrival order,
--      the hold released to them, and the one join decision
--      (gb_join_batch_locked, functions/join.sql) deciding them in arrival
--      order against the units free: an entry that fits is accepted (a
--      smaller one behind a larger one that does not fit still is: first
--      fit), a participation is written with its events, and the entry
--      becomes promoted; one refused for the room (campaign_full,
--      pending_full) waits on; one refused for any other reason (score
--      below min_score, a live participation meanwhile, the limit or the
--      pickup point changed, the share code) is skipped with that reason.
--      Then the hold is what is still free for the entries after the last
--      one decided, if any, else nothing: the rest is open to everyone.
-- Several processes promote the same campaign one after the other (its
-- lock), and an entry is decided once (its lock, and status 'waiting'
-- re-checked under it): no unit goes twice, never over the cap (the
-- decision's room and campaigns_no_oversell). A process that dies
-- mid-way leaves the hold: the campaign stays due and is promoted again.
--
-- At the close (or a cancel), the waiting entries expire
-- (gb_waitlist_close) with a waitlist.expired event each.


-- The units the queue of a campaign waits for (index-only on
-- waitlist_queue), of the entries after p_after (0: all).
CREATE OR REPLACE FUNCTION gb_waitlist_units(p_campaign_id bigint, p_after bigint)
    RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(w.quantity), 0)::bigint FROM waitlist_entries w
     WHERE w.campaign_id = p_campaign_id AND w.status = 'waiting' AND w.id > p_after
$$;

-- Holds the units free in the open campaigns p_ids for their queues: the
-- hold becomes what is free, up to what the queue waits for (never
-- lower than it was). The caller holds the campaigns' row locks (the
-- counter trigger's update took them).
CREATE OR REPLACE FUNCTION gb_waitlist_hold(p_ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
    UPDATE campaigns c
       SET waitlist_held = h.held
      FROM (SELECT x.id, least(greatest(x.max_quantity - x.live_quantity, 0),
                               gb_waitlist_units(x.id, 0)) AS held
              FROM campaigns x
             WHERE x.id = ANY (p_ids) AND x.status = 'open'
               AND EXISTS (SELECT 1 FROM waitlist_entries w
                            WHERE w.campaign_id = x.id AND w.status = 'waiting')) h
     WHERE c.id = h.id AND h.held > c.waitlist_held
$$;

-- The hold is never negative (the schema's guard beside the functions':
-- no CHECK on campaigns, schema/010_campaign_checks.sql says why).
CREATE OR REPLACE FUNCTION gb_waitlist_held_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'campaign %: waitlist_held % is negative', NEW.id, NEW.waitlist_held
          USING ERRCODE = 'check_violation', CONSTRAINT = 'campaigns_waitlist_held';
END $$;

CREATE OR REPLACE TRIGGER campaigns_waitlist_held AFTER UPDATE OF waitlist_held ON campaigns
    FOR EACH ROW WHEN (NEW.waitlist_held < 0)
    EXECUTE FUNCTION gb_waitlist_held_check();

-- The entry object: its place in the queue while it waits (1 = next).
CREATE OR REPLACE FUNCTION gb_waitlist_json(w waitlist_entries) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'id', w.id, 'campaign_id', w.campaign_id, 'customer_id', w.customer_id,
               'quantity', w.quantity,
               'position', CASE WHEN w.status = 'waiting' THEN (
                               SELECT count(*) FROM waitlist_entries x
                                WHERE x.campaign_id = w.campaign_id
                                  AND x.status = 'waiting' AND x.id <= w.id) END,
               'status', w.status, 'reason', w.reason,
               'participation_id', w.participation_id,
               'pickup_point_id', w.pickup_point_id, 'address', w.address,
               'created_at', gb_ts(w.created_at), 'decided_at', gb_ts(w.decided_at))
$$;

-- A customer queues for a campaign (POST /v1/campaigns/{id}/waitlist),
-- scored by the server as a join is (p_score). The checks a join would
-- make that do not depend on the room are made now, by the join's own
-- rules (functions/join.sql), so that a customer is not queued for what
-- would be refused anyway; the promotion decides again. Outcome 'ok'
-- (body: the entry), 'not_found', 'campaign_not_open', a refusal of the
-- join's rules (per_customer_limit, reliability_too_low,
-- share_code_invalid, a fulfilment refusal), 'invalid_state' (a live
-- participation already) or 'duplicate' (already waiting).
--
-- Locks the campaign first, as a withdrawal does: an entry and a
-- withdrawal are ordered, so either the withdrawal's hold counts the entry
-- or the entry sees the units free and holds them itself.
CREATE OR REPLACE FUNCTION gb_waitlist_join(p_customer_id bigint, p_campaign_id bigint,
                                            p_quantity bigint, p_score integer,
                                            p_pickup_point_id bigint, p_address text,
                                            p_share_code text,
                                            OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    w waitlist_entries;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND OR c.status IN ('draft', 'cancelled') THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    outcome := coalesce(
        gb_join_campaign_refusal(c.version, c.version, c.status, c.starts_at, c.ends_at),
        gb_join_fulfilment_refusal(c.fulfilment, c.pickup_point_ids, p_pickup_point_id,
                                   p_address),
        gb_join_share_refusal(p_share_code, CASE WHEN p_share_code IS NOT NULL
                                                 THEN gb_join_sharer(c.id, p_share_code) END),
        gb_join_row_refusal(p_quantity, p_score, c.per_customer_limit, c.min_score));
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM participations x
                WHERE x.campaign_id = c.id AND x.customer_id = p_customer_id
                  AND x.status IN ('pending_deposit', 'active')) THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM waitlist_entries x
                WHERE x.campaign_id = c.id AND x.customer_id = p_customer_id
                  AND x.status = 'waiting') THEN
        outcome := 'duplicate';
        RETURN;
    END IF;
    INSERT INTO waitlist_entries (distributor_id, campaign_id, customer_id, quantity,
                                  pickup_point_id, address, share_code)
    VALUES (c.distributor_id, c.id, p_customer_id, p_quantity, p_pickup_point_id,
            p_address::jsonb, p_share_code)
    RETURNING * INTO w;
    -- units free now (none held yet, or fewer than free): the queue's
    PERFORM gb_waitlist_hold(ARRAY[c.id]);
    outcome := 'ok';
    body := gb_waitlist_json(w);
END $$;

-- A customer leaves the queue (DELETE /v1/waitlist/{id}): 'ok' (body: the
-- entry, left), 'not_found' (not theirs) or 'invalid_state' (no longer
-- waiting). A hold the entry counted in is released by the next promotion
-- (the campaign is due while it holds).
CREATE OR REPLACE FUNCTION gb_waitlist_leave(p_customer_id bigint, p_entry_id bigint,
                                             OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    w waitlist_entries;
BEGIN
    SELECT * INTO w FROM waitlist_entries x
     WHERE x.id = p_entry_id AND x.customer_id = p_customer_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF w.status <> 'waiting' THEN
        outcome := 'invalid_state';
        body := gb_waitlist_json(w);
        RETURN;
    END IF;
    UPDATE waitlist_entries x SET status = 'left', decided_at = now()
     WHERE x.id = w.id RETURNING * INTO w;
    outcome := 'ok';
    body := gb_waitlist_json(w);
END $$;

-- The campaigns due for promotion (engine/promote.c polls this): open,
-- before their end, holding units for their queue. Index-only on
-- campaigns_waitlist_due, which holds only those.
CREATE OR REPLACE FUNCTION gb_waitlist_due(p_limit integer) RETURNS SETOF bigint
    LANGUAGE sql STABLE AS $$
    SELECT c.id FROM campaigns c
     WHERE c.waitlist_held > 0 AND c.status = 'open' AND c.ends_at > now()
     ORDER BY c.id LIMIT p_limit
$$;

-- Step 1 of a promotion: up to p_limit waiting entries of the campaign
-- after entry p_after, in arrival order, each with the columns of the
-- join's read (gb_join_batch_reads: the campaign's first price, policy,
-- version and limit, the customer's VIP level and history, ord) and then
-- the entry's id, customer and quantity. No row when none waits or the
-- campaign cannot be joined.
DROP FUNCTION IF EXISTS gb_waitlist_reads(bigint, bigint, integer, double precision);
CREATE OR REPLACE FUNCTION gb_waitlist_reads(p_campaign_id bigint, p_after bigint,
                                             p_limit integer,
                                             p_half_life_days double precision)
    RETURNS TABLE (status text, first_price_cents bigint, deposit_policy text,
                   version integer, per_customer_limit bigint, vip_level integer,
                   completed bigint, completed_w double precision,
                   withdrawn bigint, withdrawn_w double precision,
                   defaulted bigint, defaulted_w double precision,
                   deposit_expired bigint, deposit_expired_w double precision,
                   params double precision[],
                   ord bigint, entry_id bigint, customer_id bigint, quantity bigint)
    LANGUAGE sql STABLE AS $$
    WITH e AS (
        SELECT array_agg(w.id ORDER BY w.id) AS ids,
               array_agg(w.campaign_id ORDER BY w.id) AS campaigns,
               array_agg(w.customer_id ORDER BY w.id) AS customers,
               array_agg(w.quantity ORDER BY w.id) AS quantities
          FROM (SELECT x.* FROM waitlist_entries x
                 WHERE x.campaign_id = p_campaign_id AND x.status = 'waiting'
                   AND x.id > p_after
                 ORDER BY x.id LIMIT p_limit) w)
    SELECT r.*, e.ids[r.ord], e.customers[r.ord], e.quantities[r.ord]
      FROM e, gb_join_batch_reads(e.campaigns, e.customers, p_half_life_days) r
     WHERE e.ids IS NOT NULL
     ORDER BY r.ord
$$;

-- Step 2 of a promotion (see the header): the entries p_entry_ids (read
-- at campaign version p_version, in arrival order; none and a NULL
-- version when none was left to read) with the score,
-- p_complete and deposit the server computed for each, p_last_id the
-- last entry read (the queue after it is left for the next round).
-- Outcome 'ok' with the entries promoted and skipped and whether entries
-- after p_last_id wait for units still free (more: call again after
-- p_last_id); 'changed' (read again); 'closed' (nothing to promote).
CREATE OR REPLACE FUNCTION gb_waitlist_promote(p_campaign_id bigint, p_version integer,
                                               p_entry_ids bigint[], p_scores integer[],
                                               p_p_complete double precision[],
                                               p_deposit_percents integer[],
                                               p_deposit_cents bigint[], p_last_id bigint,
                                               OUT outcome text, OUT promoted integer,
                                               OUT skipped integer, OUT more boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    e waitlist_entries;
    d record;
    v_free bigint;
    v_after bigint;
BEGIN
    promoted := 0;
    skipped := 0;
    more := false;
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND OR c.status <> 'open' OR now() >= c.ends_at THEN
        outcome := 'closed';
        RETURN;
    END IF;
    IF c.version <> p_version THEN -- (NULL with no entries: nothing was read)
        outcome := 'changed';
        RETURN;
    END IF;
    -- the held units are the queue's to take now
    UPDATE campaigns SET waitlist_held = 0 WHERE id = c.id AND waitlist_held <> 0;

    -- the entries still waiting, locked in arrival order, decided in that
    -- order by the join's decision
    FOR d IN
        WITH l AS (
            SELECT w.*, x.score, x.p_complete, x.deposit_percent, x.deposit_cents
              FROM unnest(p_entry_ids, p_scores, p_p_complete, p_deposit_percents,
                          p_deposit_cents)
                   AS x (id, score, p_complete, deposit_percent, deposit_cents)
              JOIN (SELECT y.* FROM waitlist_entries y
                     WHERE y.id = ANY (p_entry_ids) AND y.campaign_id = c.id
                       AND y.status = 'waiting'
                     ORDER BY y.id FOR UPDATE) w ON w.id = x.id),
        a AS (
            SELECT array_agg(l.id ORDER BY l.id) AS ids,
                   array_agg(l.customer_id ORDER BY l.id) AS customers,
                   array_agg(l.quantity ORDER BY l.id) AS quantities,
                   array_agg(l.score ORDER BY l.id) AS scores,
                   array_agg(l.p_complete ORDER BY l.id) AS p_complete,
                   array_agg(l.deposit_percent ORDER BY l.id) AS percents,
                   array_agg(l.deposit_cents ORDER BY l.id) AS deposits,
                   array_agg(l.pickup_point_id ORDER BY l.id) AS points,
                   array_agg(l.address::text ORDER BY l.id) AS addresses,
                   array_agg(l.share_code ORDER BY l.id) AS codes
              FROM l)
        SELECT a.ids[b.o_ord] AS entry_id, b.o_reason AS reason,
               (b.o_participation::json ->> 'id')::bigint AS participation_id
          FROM a, gb_join_batch_locked(c.id, c.version, a.customers, a.quantities,
                                       a.scores, a.p_complete, a.percents, a.deposits,
                                       a.points, a.addresses, a.codes) b
         WHERE a.ids IS NOT NULL
         ORDER BY b.o_ord
    LOOP
        IF d.reason IS NULL THEN
            UPDATE waitlist_entries
               SET status = 'promoted', participation_id = d.participation_id,
                   decided_at = now()
             WHERE id = d.entry_id
            RETURNING * INTO e;
            INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                                participation_id, payload, idempotency_key)
            VALUES (e.distributor_id, 'waitlist.promoted', e.customer_id, e.campaign_id,
                    e.participation_id, gb_waitlist_json(e)::jsonb,
                    'waitlist_promoted:entry:' || e.id);
            promoted := promoted + 1;
        ELSIF d.reason NOT IN ('campaign_full', 'pending_full', 'changed',
                               'campaign_not_open', 'not_found') THEN
            UPDATE waitlist_entries
               SET status = 'skipped', reason = d.reason, decided_at = now()
             WHERE id = d.entry_id;
            skipped := skipped + 1;
        END IF;
    END LOOP;

    -- what is still free stays the queue's while entries after this round
    -- wait; else it is open to everyone
    SELECT * INTO c FROM campaigns WHERE id = c.id;
    v_free := greatest(c.max_quantity - c.live_quantity, 0);
    v_after := coalesce(p_last_id, 0);
    IF v_free > 0 THEN
        more := gb_waitlist_units(c.id, v_after) > 0;
        IF more THEN
            UPDATE campaigns SET waitlist_held = least(v_free, gb_waitlist_units(c.id, v_after))
             WHERE id = c.id;
        END IF;
    END IF;
    outcome := 'ok';
END $$;

-- At the close or cancel of campaign p_campaign_id (the caller holds its
-- lock): every waiting entry expires, with a waitlist.expired event, and
-- nothing is held any more.
CREATE OR REPLACE FUNCTION gb_waitlist_close(p_campaign_id bigint) RETURNS void
    LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE waitlist_entries w SET status = 'expired', decided_at = now()
         WHERE w.campaign_id = p_campaign_id AND w.status = 'waiting'
        RETURNING w.*
    ), ev AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload,
                            idempotency_key)
        SELECT u.distributor_id, 'waitlist.expired', u.customer_id, u.campaign_id,
               gb_waitlist_json(u::waitlist_entries)::jsonb,
               'waitlist_expired:entry:' || u.id
          FROM upd u ORDER BY u.id
    )
    UPDATE campaigns SET waitlist_held = 0 WHERE id = p_campaign_id AND waitlist_held <> 0
$$;

-- A customer's entries (GET /v1/me/waitlist), paged by id: rows of (id,
-- JSON text), each with its campaign's title.
CREATE OR REPLACE FUNCTION gb_my_waitlist(p_customer_id bigint, p_after bigint,
                                          p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT w.id, (gb_waitlist_json(w)::jsonb
                  || jsonb_build_object('campaign_title', c.title))::text
      FROM waitlist_entries w JOIN campaigns c ON c.id = w.campaign_id
     WHERE w.customer_id = p_customer_id AND w.id > p_after
     ORDER BY w.id LIMIT p_limit
$$;
