-- Joining (server/engine/joinengine.c drives it, joinbatch.c coalesces,
-- api/shop/joins.c answers): every join, with an Idempotency-Key or not, is read
-- and decided here, in batches (a keyed join is a batch of one in its
-- key's transaction), written in ONE transaction per round.
--
-- Why it is written as it is (the reasons at length: docs/decisions.md,
-- "Joins" and "Database"):
--   * A batch holds its campaigns' locks only to count and commit
--     (gb_join_batches, steps 1-4 below), so the batches of one campaign
--     insert side by side; the batches of several campaigns that are ready
--     together share one statement and one transaction, since a statement
--     pays a fixed cost in PostgreSQL whatever its size.
--   * Every function here plans its statements once per connection, never
--     with a sequential scan (plan_cache_mode = force_generic_plan,
--     enable_seqscan = off): every access is by key, and a plan must not
--     depend on the statistics of the moment (a table still empty at the
--     first batch would otherwise be scanned whole until the next ANALYZE).
--   * A customer's live participation is found by a LATERAL sub-query with
--     LIMIT 1, one probe of participations_one_live per customer: a LATERAL
--     cannot be flattened or hashed, whereas `customer_id = ANY(...)` or an
--     EXISTS, with statistics older than a flash sale, let the planner scan
--     every participation of the campaign.
--   * The participation JSON of an accepted row is gb_participation_object
--     (functions/participations.sql) with the current unit price at the
--     counters just after that row's join: a function call per row costs
--     more than the rest of the batch, so both are single expressions that
--     PostgreSQL inlines (gb_ts is STABLE for the same reason,
--     functions/base.sql), and each campaign's tier ladder is read out of
--     its jsonb once per statement (gb_tier_ladder, functions/pricing.sql),
--     the price of a row being an array subscript.
--   * The rows a join inserts have no foreign keys: a key checks and locks
--     the parent row for every inserted row. The parents refuse deletion
--     instead (functions/references.sql).
--   * A join's transaction does not NOTIFY when it commits by itself
--     (p_notify false): a NOTIFY serialises the commits of every notifying
--     transaction, so the server announces after the commit
--     (server/live/livenotify.h, functions/live.sql).
--   * Every batch updates its campaigns' counters, and PostgreSQL compiles
--     every CHECK of a table at each statement that writes it: a campaign's
--     field checks are therefore a trigger on those fields
--     (schema/010_campaign_checks.sql), and gb_tier_reached is PL/pgSQL, as
--     a SQL function that is not inlined is planned again at each call.
--
-- The decision of a row, whichever path takes it (each rule in one
-- function below: gb_join_campaign_refusal, gb_join_row_refusal,
-- gb_join_room_refusal with gb_join_pending_bound): the campaign open by
-- the database clock and unchanged since the read (version), the
-- per-customer limit, the minimum score, one live participation per
-- customer (also within the batch: the second row of a customer is
-- already_joined), and the units left (less those held for the waitlist,
-- campaigns.waitlist_held: functions/waitlist.sql), accumulated over the
-- rows accepted before it, and for a row with a deposit the units pending a deposit
-- (the bound of gb_join_pending_bound, which keeps fresh accounts from
-- holding a flash sale full without paying; refused as pending_full, which
-- the server answers 409 campaign_full). A refused row never affects the
-- others. One row out per row
-- in: o_ord (1-based), o_reason (NULL when accepted; else changed,
-- not_found, campaign_not_open, per_customer_limit, reliability_too_low,
-- already_joined, campaign_full, pending_full, share_code_invalid, or a
-- fulfilment refusal of gb_join_fulfilment_refusal) and the participation
-- JSON (NULL when refused), its unit_price_cents the current price just
-- after this row's join.
--
-- A row may name a share code (p_share_codes; NULL: none): the code of a
-- share link of the row's campaign (functions/growth.sql). Its sharer is
-- recorded on the participation (referred_by_customer_id) with a
-- share.joined event, unless the sharer is the joiner (then ignored); a
-- code that is no share of that campaign is refused share_code_invalid.
-- A row without a code pays nothing for it (the look-up is behind a CASE).
--
-- gb_join_batches takes the batches that are ready together, as parallel
-- arrays with the campaign and the version its batch read on every row
-- (rows of one campaign in that batch's order; at most one batch per
-- campaign), and answers one row per row in, with o_ord the row's 1-based
-- position in the arrays; a round of one batch goes the same way.
--
--   1. Every campaign as committed (no lock): open by the database clock,
--      at the version its batch read, and room for all its rows even if
--      all were accepted; otherwise straight to step 4.
--   2. The rows decided as gb_join_batch_locked decides them (per-customer
--      limit, minimum score, a live participation already there, a
--      customer twice in the batch), then one statement inserts the
--      accepted participations and their outbox rows, sorted by campaign.
--      Only at its end does the counter trigger update the campaigns,
--      which takes their locks: batches of one campaign do their inserts
--      side by side and queue only to count and commit.
--   3. Holding the locks, every campaign is read again: still open by the
--      database clock (its dates may have been changed), still at that
--      version. The CHECK campaigns_no_oversell has already refused a
--      counter that concurrent batches together overfilled, and
--      participations_one_live a customer joining in two batches at once.
--   4. If step 1 saw a campaign without room, or anything in steps 2-3
--      failed, the sub-transaction is rolled back and each campaign's rows
--      are decided by gb_join_batch_locked (lock first, then row by row),
--      one campaign after the other in id order. Its answers are the
--      reference: step 2 only ever takes a batch that it would accept
--      whole, and refuses only what it refuses too.
--
-- The counters a row is priced at (live participants and quantity just
-- after that row's join) are the campaign's counters after the statement
-- minus the rows of that campaign accepted after it.
--
-- Deadlocks: every path takes campaign locks in ascending id order. The
-- counter trigger (functions/participations.sql) locks the campaigns of a
-- statement in id order before it counts; step 4 goes campaign by campaign
-- in id order.

-- The reads of several batches at once: per row of the arrays (campaign,
-- customer), the campaign's status, first tier's price (the deposit's
-- base), deposit policy, version and per-customer limit, the customer's
-- VIP level with the campaign's distributor and history
-- (gb_customer_history, at the distributor's own half-life when it
-- adopted parameters: functions/reliability.sql), those parameters (NULL:
-- p_half_life_days and the rest of the configured defaults), and last the
-- row's 1-based position. No row for a campaign that cannot be joined
-- (none, draft or cancelled). Planned once, by index only (see the
-- header).
DROP FUNCTION IF EXISTS gb_join_batch_reads(bigint[], bigint[], double precision);
CREATE OR REPLACE FUNCTION gb_join_batch_reads(p_campaign_ids bigint[], p_customers bigint[],
                                    p_half_life_days double precision)
    RETURNS TABLE (status text, first_price_cents bigint, deposit_policy text, version integer,
                   per_customer_limit bigint, vip_level integer,
                   completed bigint, completed_w double precision,
                   withdrawn bigint, withdrawn_w double precision,
                   defaulted bigint, defaulted_w double precision,
                   deposit_expired bigint, deposit_expired_w double precision,
                   params double precision[], ord bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
    AS $$
BEGIN
    RETURN QUERY
    SELECT c.status, gb_tier_first_price(c.tiers), c.deposit_policy::text, c.version,
           c.per_customer_limit, coalesce(v.vip_level, 0), h.*,
           CASE WHEN r.half_life_days IS NOT NULL THEN
             ARRAY[r.half_life_days, r.prior_alpha_base, r.prior_alpha_per_vip, r.prior_beta,
                   r.weight_withdrawn, r.weight_deposit_expired, r.weight_defaulted] END,
           u.ord
      FROM unnest(p_campaign_ids, p_customers) WITH ORDINALITY
           u (campaign_id, customer_id, ord)
      JOIN campaigns c ON c.id = u.campaign_id
      LEFT JOIN customer_vip v ON v.distributor_id = c.distributor_id
            AND v.customer_id = u.customer_id
      LEFT JOIN reliability_parameters r ON r.distributor_id = c.distributor_id
     CROSS JOIN LATERAL gb_customer_history(u.customer_id,
                                            coalesce(r.half_life_days, p_half_life_days)) h
     WHERE c.status NOT IN ('draft', 'cancelled')
     ORDER BY u.ord;
END $$;

-- The rules of a join, each in one place; both paths of gb_join_batches
-- (and gb_join_batch_locked) decide through these, inlined by PostgreSQL.
--
-- The campaign: at the version the join read, and open by the database
-- clock. 'changed' (read again), 'campaign_not_open', or NULL.
CREATE OR REPLACE FUNCTION gb_join_campaign_refusal(p_version integer, p_read_version integer,
                                                    p_status text, p_starts_at timestamptz,
                                                    p_ends_at timestamptz)
    RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_version <> p_read_version THEN 'changed'
                WHEN p_status <> 'open' OR now() < p_starts_at OR now() >= p_ends_at
                  THEN 'campaign_not_open' END
$$;

-- The joiner: the per-customer limit, then the minimum score.
CREATE OR REPLACE FUNCTION gb_join_row_refusal(p_quantity bigint, p_score integer,
                                               p_per_customer_limit bigint, p_min_score integer)
    RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_quantity > p_per_customer_limit THEN 'per_customer_limit'
                WHEN p_score < p_min_score THEN 'reliability_too_low' END
$$;

-- The fulfilment choice: a pickup campaign needs one of its points and
-- takes no address; a delivery campaign takes an optional address and no
-- point. Refusals are answered 400 invalid_field naming the field
-- (api/shop/joins.c): pickup_point_required, pickup_point_invalid,
-- pickup_point_not_taken, address_not_taken. A body of {quantity} alone
-- is a valid delivery join.
CREATE OR REPLACE FUNCTION gb_join_fulfilment_refusal(p_fulfilment text, p_points bigint[],
                                                      p_point bigint, p_address text)
    RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_fulfilment = 'pickup' THEN
                  CASE WHEN p_address IS NOT NULL THEN 'address_not_taken'
                       WHEN p_point IS NULL THEN 'pickup_point_required'
                       WHEN NOT p_point = ANY (p_points) THEN 'pickup_point_invalid' END
                WHEN p_point IS NOT NULL THEN 'pickup_point_not_taken' END
$$;

-- The share code: the sharer of code p_code for campaign p_campaign_id
-- (functions/growth.sql), NULL for no code or no such share of that
-- campaign. Called behind "p_code IS NOT NULL" where it matters: a row
-- without a code never looks.
CREATE OR REPLACE FUNCTION gb_join_sharer(p_campaign_id bigint, p_code text)
    RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT s.customer_id FROM shares s WHERE s.code = p_code AND s.campaign_id = p_campaign_id
$$;

-- A code named but not a share of the campaign (p_sharer NULL):
-- 'share_code_invalid' (answered 400 invalid_field share_code).
CREATE OR REPLACE FUNCTION gb_join_share_refusal(p_code text, p_sharer bigint)
    RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_code IS NOT NULL AND p_sharer IS NULL THEN 'share_code_invalid' END
$$;

-- The events of an accepted join, in the order they happen (ord):
-- participation.created; participation.activated when no deposit is due;
-- share.joined when a sharer brought it (gb_join_event_due). Each a single
-- expression or VALUES, which PostgreSQL inlines into the join's INSERT.
CREATE OR REPLACE FUNCTION gb_join_event_kinds() RETURNS TABLE (kind text, ord integer)
    LANGUAGE sql IMMUTABLE AS $$
    VALUES ('participation.created', 1), ('participation.activated', 2), ('share.joined', 3)
$$;

CREATE OR REPLACE FUNCTION gb_join_event_due(p_kind text, p_status text, p_referrer bigint)
    RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'participation.created' THEN true
                       WHEN 'participation.activated' THEN p_status = 'active'
                       ELSE p_referrer IS NOT NULL END
$$;

-- The payload of such an event (functions/events.sql lays it over the
-- participation, or for share.joined builds the campaign, the sharer and
-- the participation around it). The participation's own events share one
-- payload, which the join builds once per row (materialised, "e" in both
-- paths), not once per event: a jsonb object costs about as much to build
-- as the outbox row that carries it.
CREATE OR REPLACE FUNCTION gb_join_event_payload(p_kind text, p participations)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_kind = 'share.joined'
                THEN jsonb_build_object('sharer_customer_id', p.referred_by_customer_id)
                ELSE jsonb_build_object('status', p.status, 'quantity', p.quantity,
                                        'deposit_cents', p.deposit_cents,
                                        'deposit_due_by', gb_ts(p.deposit_due_by)) END
$$;

-- The room: p_quantity more units, p_pending_add of them pending a
-- deposit, on p_live_q live units of which p_pending_q pending: the cap,
-- then the bound on pending units (p_bound, gb_join_pending_bound).
CREATE OR REPLACE FUNCTION gb_join_room_refusal(p_live_q bigint, p_pending_q bigint,
                                                p_quantity bigint, p_pending_add bigint,
                                                p_max_quantity bigint, p_bound bigint)
    RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_live_q + p_quantity > p_max_quantity THEN 'campaign_full'
                WHEN p_pending_add > 0 AND p_pending_q + p_pending_add > p_bound
                  THEN 'pending_full' END
$$;

-- The bound on the units a campaign holds pending a deposit (schema/004_pending_bound.sql):
-- its max_pending_share_bp of max_quantity, rounded down, but never below
-- one largest join (per_customer_limit), so that a campaign whose share
-- is smaller than one order can still take one pending order at all.
CREATE OR REPLACE FUNCTION gb_join_pending_bound(p_max_quantity bigint, p_share_bp integer,
                                                 p_per_customer_limit bigint)
    RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT greatest(floor(p_max_quantity::numeric * p_share_bp / 10000)::bigint,
                    p_per_customer_limit)
$$;

-- The units of a campaign pending a deposit, as this statement sees them
-- (an index-only probe of participations_pending; none on a campaign
-- without deposits). Not a counter on the campaign: a paid deposit would
-- then update the campaign row the payment holds FOR SHARE, and two
-- payments of one campaign would deadlock upgrading their locks.
CREATE OR REPLACE FUNCTION gb_join_pending_units(p_campaign_id bigint)
    RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(x.quantity), 0) FROM participations x
             WHERE x.campaign_id = p_campaign_id AND x.status = 'pending_deposit');
END $$;

-- The batches of a round (steps 1-4 of the header). p_pickup_points and
-- p_addresses carry each join's fulfilment choice (NULL: none named),
-- p_share_codes its share code (NULL: none).
-- p_notify: whether this transaction announces the campaigns' change to the
-- live streams (a NOTIFY at commit, functions/live.sql); false when the
-- statement commits by itself and the server announces it after the commit
-- (server/live/livenotify.h), true inside a longer transaction (a keyed join).
DROP FUNCTION IF EXISTS gb_join_batches(bigint[], integer[], bigint[], bigint[], integer[],
                                        double precision[], integer[], bigint[]);
DROP FUNCTION IF EXISTS gb_join_batches(bigint[], integer[], bigint[], bigint[], integer[],
                                        double precision[], integer[], bigint[], bigint[],
                                        text[]);
DROP FUNCTION IF EXISTS gb_join_batches(bigint[], integer[], bigint[], bigint[], integer[],
                                        double precision[], integer[], bigint[], bigint[],
                                        text[], boolean);
CREATE OR REPLACE FUNCTION gb_join_batches(p_campaign_ids bigint[], p_versions integer[],
                                p_customers bigint[], p_quantities bigint[],
                                p_scores integer[], p_p_complete double precision[],
                                p_deposit_percents integer[], p_deposit_cents bigint[],
                                p_pickup_points bigint[], p_addresses text[],
                                p_share_codes text[], p_notify boolean)
    RETURNS TABLE (o_ord integer, o_reason text, o_participation text)
    LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
    AS $$
#variable_conflict use_column
DECLARE
    v_ord integer[];
    v_reason text[];
    v_part participations[];
    v_quantity bigint[];
    v_campaign bigint[];
    v_ok boolean;
    v_cid bigint;
    v_rows integer[];
BEGIN
    -- p_notify false: the caller announces the change after its commit
    -- (a NOTIFY here would serialise the commits: functions/live.sql).
    IF NOT p_notify THEN
        PERFORM set_config('groupbuyd.live_notify', 'off', true);
    END IF;
    -- 1. every campaign open, unchanged and with room, as committed (the
    --    units pending a deposit are only counted for a batch adding some)
    SELECT coalesce(bool_and(c.id IS NOT NULL
                             AND gb_join_campaign_refusal(c.version, g.version, c.status,
                                                          c.starts_at, c.ends_at) IS NULL
                             AND gb_join_room_refusal(
                                   c.live_quantity + c.waitlist_held,
                                   CASE WHEN g.pq > 0 THEN gb_join_pending_units(c.id) ELSE 0 END,
                                   g.q, g.pq, c.max_quantity,
                                   gb_join_pending_bound(c.max_quantity, c.max_pending_share_bp,
                                                         c.per_customer_limit)) IS NULL),
                       false)
      INTO v_ok
      FROM (SELECT u.campaign_id, min(u.version) AS version,
                   max(u.version) AS version_max, sum(u.quantity)::bigint AS q,
                   coalesce(sum(u.quantity) FILTER (WHERE u.deposit_cents > 0),
                            0)::bigint AS pq
              FROM unnest(p_campaign_ids, p_versions, p_quantities, p_deposit_cents)
                   AS u (campaign_id, version, quantity, deposit_cents)
             GROUP BY u.campaign_id) g
      LEFT JOIN campaigns c ON c.id = g.campaign_id AND g.version = g.version_max;
    IF v_ok THEN
        BEGIN
            WITH u AS (
                SELECT u.*, c.distributor_id, c.deposit_window_seconds,
                       coalesce(gb_join_fulfilment_refusal(c.fulfilment, c.pickup_point_ids,
                                                           u.pickup_point_id, u.address),
                                gb_join_share_refusal(u.share_code, u.sharer),
                                gb_join_row_refusal(u.quantity, u.score, c.per_customer_limit,
                                                    c.min_score)) AS early
                  FROM (SELECT u.*, CASE WHEN u.share_code IS NOT NULL
                                         THEN gb_join_sharer(u.campaign_id, u.share_code)
                                    END AS sharer
                          FROM unnest(p_campaign_ids, p_customers, p_quantities, p_scores,
                                      p_p_complete, p_deposit_percents, p_deposit_cents,
                                      p_pickup_points, p_addresses, p_share_codes)
                               WITH ORDINALITY
                               AS u (campaign_id, customer_id, quantity, score, p_complete,
                                     deposit_percent, deposit_cents, pickup_point_id, address,
                                     share_code, ord)) u
                  JOIN campaigns c ON c.id = u.campaign_id),
            d AS (
                SELECT u.*,
                       coalesce(u.early,
                         CASE WHEN row_number() OVER (PARTITION BY u.campaign_id, u.customer_id,
                                                                   u.early IS NULL
                                                      ORDER BY u.ord) > 1
                                OR h.held
                              THEN 'already_joined' END) AS reason
                  FROM u
                  LEFT JOIN LATERAL (
                       SELECT true AS held FROM participations x
                        WHERE x.campaign_id = u.campaign_id AND x.customer_id = u.customer_id
                          AND x.status IN ('pending_deposit', 'active')
                        LIMIT 1) h ON true),
            ins AS (
                INSERT INTO participations (distributor_id, campaign_id, customer_id,
                       quantity, status, score_at_join, p_complete_at_join,
                       deposit_percent, deposit_cents, deposit_due_by,
                       pickup_point_id, address, referred_by_customer_id)
                SELECT d.distributor_id, d.campaign_id, d.customer_id, d.quantity,
                       CASE WHEN d.deposit_cents = 0 THEN 'active' ELSE 'pending_deposit' END,
                       d.score, d.p_complete, d.deposit_percent, d.deposit_cents,
                       CASE WHEN d.deposit_cents > 0
                         THEN now() + make_interval(secs => d.deposit_window_seconds)
                       END,
                       d.pickup_point_id, d.address::jsonb, nullif(d.sharer, d.customer_id)
                  FROM d WHERE d.reason IS NULL ORDER BY d.campaign_id, d.ord
                RETURNING *),
            e AS MATERIALIZED (
                SELECT ins.id, ins.distributor_id, ins.customer_id, ins.campaign_id,
                       ins.status, ins.referred_by_customer_id,
                       gb_join_event_payload('participation.created', ins) AS payload,
                       CASE WHEN ins.referred_by_customer_id IS NOT NULL
                         THEN gb_join_event_payload('share.joined', ins) END AS share_payload
                  FROM ins),
            o AS (
                INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                                    participation_id, payload)
                SELECT e.distributor_id, k.kind, e.customer_id, e.campaign_id, e.id,
                       CASE WHEN k.kind = 'share.joined' THEN e.share_payload ELSE e.payload END
                  FROM e CROSS JOIN gb_join_event_kinds() k
                 WHERE gb_join_event_due(k.kind, e.status, e.referred_by_customer_id)
                 ORDER BY e.id, k.ord)
            SELECT array_agg(d.ord::integer ORDER BY d.ord),
                   array_agg(d.reason ORDER BY d.ord),
                   array_agg(ins::participations ORDER BY d.ord),
                   array_agg(CASE WHEN ins.id IS NOT NULL THEN ins.quantity ELSE 0 END
                             ORDER BY d.ord),
                   array_agg(d.campaign_id ORDER BY d.ord)
              INTO v_ord, v_reason, v_part, v_quantity, v_campaign
              FROM d LEFT JOIN ins ON d.reason IS NULL AND ins.campaign_id = d.campaign_id
                                  AND ins.customer_id = d.customer_id;

            -- The counter trigger locked the campaigns: check them again,
            -- and the units pending a deposit where this round added some
            -- (committed by the batches that counted before this one, and
            -- this one's own).
            IF EXISTS (
                SELECT 1
                  FROM (SELECT u.campaign_id, min(u.version) AS version,
                               bool_or(u.deposit_cents > 0) AS pending
                          FROM unnest(p_campaign_ids, p_versions, p_deposit_cents)
                               u (campaign_id, version, deposit_cents)
                         GROUP BY u.campaign_id) g
                  JOIN campaigns c ON c.id = g.campaign_id
                 WHERE gb_join_campaign_refusal(c.version, g.version, c.status,
                                                c.starts_at, c.ends_at) IS NOT NULL
                    -- (the units held for the waitlist, taken by this round
                    -- after a withdrawal that committed since step 1)
                    OR c.live_quantity + c.waitlist_held > c.max_quantity
                    -- (all pending units, this round's among them, as added
                    -- to none: over the bound or not)
                    OR (g.pending AND gb_join_room_refusal(
                          0, 0, 0, gb_join_pending_units(c.id), c.max_quantity,
                          gb_join_pending_bound(c.max_quantity, c.max_pending_share_bp,
                                                c.per_customer_limit)) IS NOT NULL)) THEN
                RAISE EXCEPTION USING ERRCODE = 'GBJB1';
            END IF;
        EXCEPTION
            WHEN unique_violation OR check_violation OR SQLSTATE 'GBJB1' THEN
                v_ord := NULL;
        END;
        IF v_ord IS NOT NULL THEN
            -- each accepted row priced at the counters just after its join
            -- (functions/pricing.sql), each campaign's ladder read once
            RETURN QUERY
            WITH k AS MATERIALIZED (
                SELECT c.id, c.tier_basis, c.live_participants, c.live_quantity,
                       l.thresholds, l.prices
                  FROM campaigns c, gb_tier_ladder(c.tiers) l
                 WHERE c.id = ANY (v_campaign)),
            r AS (
                SELECT unnest(v_ord) AS ord, unnest(v_reason) AS reason,
                       unnest(v_part) AS p, unnest(v_quantity) AS quantity,
                       unnest(v_campaign) AS campaign_id)
            SELECT r.ord, r.reason,
                   CASE WHEN r.reason IS NULL THEN gb_participation_object(
                     r.p, gb_tier_price_at(k.thresholds, k.prices, gb_tier_count(
                       k.tier_basis,
                       k.live_participants - count(*) FILTER (WHERE r.quantity > 0) OVER w,
                       k.live_quantity - coalesce(sum(r.quantity) OVER w, 0)::bigint)))::text
                   END
              FROM r JOIN k ON k.id = r.campaign_id
            WINDOW w AS (PARTITION BY r.campaign_id ORDER BY r.ord DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
             ORDER BY r.ord;
            RETURN;
        END IF;
    END IF;

    -- 4. campaign by campaign, in id order, lock first
    FOR v_cid IN SELECT DISTINCT u FROM unnest(p_campaign_ids) u ORDER BY 1 LOOP
        SELECT array_agg(i ORDER BY i) INTO v_rows
          FROM generate_subscripts(p_campaign_ids, 1) i WHERE p_campaign_ids[i] = v_cid;
        RETURN QUERY
        SELECT v_rows[b.o_ord], b.o_reason, b.o_participation
          FROM gb_join_batch_locked(
                 v_cid, p_versions[v_rows[1]],
                 (SELECT array_agg(p_customers[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_quantities[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_scores[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_p_complete[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_deposit_percents[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_deposit_cents[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_pickup_points[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_addresses[i] ORDER BY i) FROM unnest(v_rows) i),
                 (SELECT array_agg(p_share_codes[i] ORDER BY i) FROM unnest(v_rows) i)) b;
    END LOOP;
END $$;

-- The lock-first decision of one campaign's batch (step 4): locks the
-- campaign, then decides row by row in arrival order and inserts the
-- accepted rows. gb_join_batches falls back to it, and its answers are the
-- reference.
DROP FUNCTION IF EXISTS gb_join_batch_locked(bigint, integer, bigint[], bigint[], integer[],
                                             double precision[], integer[], bigint[]);
DROP FUNCTION IF EXISTS gb_join_batch_locked(bigint, integer, bigint[], bigint[], integer[],
                                             double precision[], integer[], bigint[],
                                             bigint[], text[]);
CREATE OR REPLACE FUNCTION gb_join_batch_locked(p_campaign_id bigint, p_version integer,
                              p_customers bigint[], p_quantities bigint[],
                              p_scores integer[], p_p_complete double precision[],
                              p_deposit_percents integer[], p_deposit_cents bigint[],
                              p_pickup_points bigint[], p_addresses text[],
                              p_share_codes text[])
    RETURNS TABLE (o_ord integer, o_reason text, o_participation text)
    LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
    AS $$
#variable_conflict use_column
DECLARE
    c campaigns;
    n integer := coalesce(array_length(p_customers, 1), 0);
    v_reason text[];
    v_after_p bigint[];
    v_after_q bigint[];
    v_held bigint[];
    v_live_p bigint;
    v_live_q bigint;
    v_pending bigint;
    v_bound bigint;
    v_all text;
    v_thresholds bigint[];
    v_prices bigint[];
    v_sharers bigint[];
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND THEN
        v_all := 'not_found';
    ELSE
        v_all := gb_join_campaign_refusal(c.version, p_version, c.status,
                                          c.starts_at, c.ends_at);
    END IF;
    IF v_all IS NOT NULL THEN
        RETURN QUERY SELECT g, v_all, NULL::text FROM generate_series(1, n) g;
        RETURN;
    END IF;

    SELECT coalesce(array_agg(u.customer_id), '{}') INTO v_held
      FROM unnest(p_customers) u (customer_id)
     CROSS JOIN LATERAL (
           SELECT 1 FROM participations x
            WHERE x.campaign_id = p_campaign_id AND x.customer_id = u.customer_id
              AND x.status IN ('pending_deposit', 'active')
            LIMIT 1) x;
    v_live_p := c.live_participants;
    v_live_q := c.live_quantity;
    v_pending := gb_join_pending_units(c.id);
    v_bound := gb_join_pending_bound(c.max_quantity, c.max_pending_share_bp,
                                     c.per_customer_limit);
    SELECT l.thresholds, l.prices INTO v_thresholds, v_prices FROM gb_tier_ladder(c.tiers) l;
    v_reason := array_fill(NULL::text, ARRAY[n]);
    v_sharers := array_fill(NULL::bigint, ARRAY[n]);
    v_after_p := array_fill(NULL::bigint, ARRAY[n]);
    v_after_q := array_fill(NULL::bigint, ARRAY[n]);
    FOR i IN 1 .. n LOOP
        IF p_share_codes[i] IS NOT NULL THEN
            v_sharers[i] := gb_join_sharer(c.id, p_share_codes[i]);
        END IF;
        v_reason[i] := coalesce(
            gb_join_fulfilment_refusal(c.fulfilment, c.pickup_point_ids, p_pickup_points[i],
                                       p_addresses[i]),
            gb_join_share_refusal(p_share_codes[i], v_sharers[i]),
            gb_join_row_refusal(p_quantities[i], p_scores[i], c.per_customer_limit,
                                c.min_score),
            CASE WHEN p_customers[i] = ANY (v_held) THEN 'already_joined' END,
            gb_join_room_refusal(v_live_q + c.waitlist_held, v_pending, p_quantities[i],
                                 CASE WHEN p_deposit_cents[i] > 0 THEN p_quantities[i]
                                      ELSE 0 END,
                                 c.max_quantity, v_bound));
        IF v_reason[i] IS NULL THEN
            v_held := v_held || p_customers[i];
            v_live_p := v_live_p + 1;
            v_live_q := v_live_q + p_quantities[i];
            IF p_deposit_cents[i] > 0 THEN
                v_pending := v_pending + p_quantities[i];
            END IF;
        END IF;
        v_after_p[i] := v_live_p;
        v_after_q[i] := v_live_q;
    END LOOP;

    RETURN QUERY
    WITH u AS (
        SELECT * FROM unnest(p_customers, p_quantities, p_scores, p_p_complete,
                             p_deposit_percents, p_deposit_cents, v_reason,
                             p_pickup_points, p_addresses, v_sharers)
                      WITH ORDINALITY
                      AS u (customer_id, quantity, score, p_complete,
                            deposit_percent, deposit_cents, reason, pickup_point_id,
                            address, sharer, ord)),
    ins AS (
        INSERT INTO participations (distributor_id, campaign_id, customer_id,
               quantity, status, score_at_join, p_complete_at_join,
               deposit_percent, deposit_cents, deposit_due_by, pickup_point_id, address,
               referred_by_customer_id)
        SELECT c.distributor_id, c.id, u.customer_id, u.quantity,
               CASE WHEN u.deposit_cents = 0 THEN 'active' ELSE 'pending_deposit' END,
               u.score, u.p_complete, u.deposit_percent, u.deposit_cents,
               CASE WHEN u.deposit_cents > 0
                 THEN now() + make_interval(secs => c.deposit_window_seconds)
               END,
               u.pickup_point_id, u.address::jsonb, nullif(u.sharer, u.customer_id)
          FROM u WHERE u.reason IS NULL ORDER BY u.ord
        RETURNING *),
    e AS MATERIALIZED (
        SELECT ins.id, ins.distributor_id, ins.customer_id, ins.campaign_id,
               ins.status, ins.referred_by_customer_id,
               gb_join_event_payload('participation.created', ins) AS payload,
               CASE WHEN ins.referred_by_customer_id IS NOT NULL
                 THEN gb_join_event_payload('share.joined', ins) END AS share_payload
          FROM ins),
    o AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload)
        SELECT e.distributor_id, k.kind, e.customer_id, e.campaign_id, e.id,
               CASE WHEN k.kind = 'share.joined' THEN e.share_payload ELSE e.payload END
          FROM e CROSS JOIN gb_join_event_kinds() k
         WHERE gb_join_event_due(k.kind, e.status, e.referred_by_customer_id)
         ORDER BY e.id, k.ord)
    SELECT u.ord::integer, u.reason,
           CASE WHEN ins.id IS NOT NULL THEN gb_participation_object(
             ins::participations,
             gb_tier_price_at(v_thresholds, v_prices, gb_tier_count(
               c.tier_basis, v_after_p[u.ord], v_after_q[u.ord])))::text END
      FROM u LEFT JOIN ins ON u.reason IS NULL AND ins.customer_id = u.customer_id
     ORDER BY u.ord;
END $$;

