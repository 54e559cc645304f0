-- Participations: the trigger that keeps a campaign's live counters, the
-- participation representation, a customer's history as the reliability
-- model's input, and the withdrawal as one transaction. The join itself is
-- in join.sql.
--
-- A customer's history counts the events of every distributor (a default
-- anywhere is a signal); the VIP level is the one set by the distributor
-- the score is for (0 where none is set or no distributor applies).


-- Keeps campaigns.live_* equal to the live participations (pending_deposit
-- and active), for every statement that inserts or changes participations,
-- in one UPDATE per campaign per statement. The CHECK campaigns_no_oversell
-- then refuses an oversell, whoever wrote the participations.
--
-- An insert first locks the statement's campaigns in id order, then counts:
-- a join statement may insert into several campaigns (functions/join.sql),
-- and locking in plan order would let two such statements deadlock. Every
-- path that locks campaigns does so in ascending id order.
CREATE OR REPLACE FUNCTION gb_participations_count() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    v_freed bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM campaigns
         WHERE id IN (SELECT campaign_id FROM new_rows)
         ORDER BY id FOR NO KEY UPDATE;
        -- o: the row before this update (its lock is held, so it is the
        -- current one); a tier or the threshold is announced when the
        -- new count first reaches it (functions/pricing.sql).
        WITH upd AS (
            UPDATE campaigns c
               SET live_participants = c.live_participants + d.n,
                   live_quantity = c.live_quantity + d.q,
                   announced_tier = greatest(c.announced_tier, gb_tier_reached(
                       c.tiers, gb_tier_count(c.tier_basis, c.live_participants + d.n,
                                              (c.live_quantity + d.q)::bigint))),
                   announced_threshold = c.announced_threshold
                       OR gb_threshold_reached(c.live_participants + d.n, c.min_participants)
              FROM (SELECT campaign_id, count(*)::int AS n, sum(quantity) AS q
                      FROM new_rows WHERE status IN ('pending_deposit', 'active')
                     GROUP BY campaign_id) d,
                   campaigns o
             WHERE c.id = d.campaign_id AND o.id = d.campaign_id
            RETURNING c.id, c.distributor_id, c.tiers, c.live_participants,
                      c.live_quantity, c.announced_tier,
                      o.announced_tier AS was_tier, c.announced_threshold,
                      o.announced_threshold AS was_threshold
        ), tiers AS (
            INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                                idempotency_key)
            SELECT u.distributor_id, 'campaign.tier_reached', u.id,
                   jsonb_build_object('threshold', t.threshold,
                                      'unit_price_cents', t.unit_price_cents,
                                      'participants', u.live_participants,
                                      'quantity', u.live_quantity),
                   'tier_reached:campaign:' || u.id || ':' || t.threshold
              FROM upd u
             CROSS JOIN LATERAL gb_tiers_reached(u.tiers, u.was_tier, u.announced_tier) t
             WHERE u.announced_tier > u.was_tier
             ORDER BY u.id, t.threshold
        )
        INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                            idempotency_key)
        SELECT u.distributor_id, 'campaign.threshold_reached', u.id,
               jsonb_build_object('participants', u.live_participants,
                                  'quantity', u.live_quantity),
               'threshold_reached:campaign:' || u.id
          FROM upd u WHERE u.announced_threshold AND NOT u.was_threshold;
    ELSE
        -- Units freed while customers wait are held for them
        -- (functions/waitlist.sql): a withdrawal, an expired deposit, a
        -- void.
        WITH upd AS (
            UPDATE campaigns c
               SET live_participants = c.live_participants + d.n,
                   live_quantity = c.live_quantity + d.q
              FROM (SELECT campaign_id, sum(n)::int AS n, sum(q) AS q FROM (
                      SELECT campaign_id, count(*) AS n, sum(quantity) AS q
                        FROM new_rows WHERE status IN ('pending_deposit', 'active')
                       GROUP BY campaign_id
                      UNION ALL
                      SELECT campaign_id, -count(*), -sum(quantity)
                        FROM old_rows WHERE status IN ('pending_deposit', 'active')
                       GROUP BY campaign_id) x
                     GROUP BY campaign_id) d
             WHERE c.id = d.campaign_id AND (d.n <> 0 OR d.q <> 0)
            RETURNING c.id, d.q)
        SELECT array_agg(upd.id ORDER BY upd.id) INTO v_freed FROM upd WHERE upd.q < 0;
        IF v_freed IS NOT NULL THEN
            PERFORM gb_waitlist_hold(v_freed);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER participations_count_insert AFTER INSERT ON participations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gb_participations_count();
CREATE OR REPLACE TRIGGER participations_count_update AFTER UPDATE ON participations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gb_participations_count();

-- The participation object of docs/api.md, with p_unit_price as its
-- unit_price_cents: the one place its members are written. A single
-- expression, so PostgreSQL inlines it where it is called (the join's
-- answer builds one per accepted row: functions/join.sql).
CREATE OR REPLACE FUNCTION gb_participation_object(p participations, p_unit_price bigint)
    RETURNS json LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
            'id', p.id, 'campaign_id', p.campaign_id,
            'customer_id', p.customer_id, 'quantity', p.quantity,
            'status', p.status, 'deposit_cents', p.deposit_cents,
            'deposit_paid_cents', p.deposit_paid_cents,
            'deposit_due_by', gb_ts(p.deposit_due_by),
            'amount_due_cents',
              CASE p.status
                WHEN 'pending_deposit'
                  THEN p.deposit_cents - p.deposit_paid_cents
                WHEN 'awaiting_payment'
                  THEN greatest(p.unit_price_cents * p.quantity
                                - p.deposit_paid_cents - p.balance_paid_cents, 0)
                ELSE 0 END,
            'pay_by', gb_ts(p.pay_by),
            'created_at', gb_ts(p.created_at),
            'unit_price_cents', p_unit_price) $$;

-- The participation as an event shows it (functions/events.sql): the final
-- unit price once known (set on the participation at close, else the
-- campaign's final price), null while the campaign has not closed.
CREATE OR REPLACE FUNCTION gb_participation_json(p participations) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT gb_participation_object(p, coalesce(
                   p.unit_price_cents,
                   (SELECT c.final_unit_price_cents FROM campaigns c
                     WHERE c.id = p.campaign_id))) $$;

-- The participation p of campaign c as the API answers it: while c is
-- scheduled or open and not closed, unit_price_cents is the current price
-- at c's live counters (functions/pricing.sql); after, the final one.
CREATE OR REPLACE FUNCTION gb_participation_view(p participations, c campaigns) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT gb_participation_object(p,
                   CASE WHEN c.status IN ('scheduled', 'open') AND c.closed_at IS NULL
                        THEN gb_tier_price(c.tiers, gb_tier_count(c.tier_basis,
                                                                  c.live_participants,
                                                                  c.live_quantity))
                        ELSE coalesce(p.unit_price_cents, c.final_unit_price_cents) END) $$;

-- The weight of a history event that occurred at p_occurred_at: 0.5 ^
-- (age_days / half_life_days), its age from the database clock (never below
-- 0). This is the one home of the decay (server/domain/reliability.c takes
-- the sums of these weights); tests/api/schema/test_history_weights.py holds
-- it against the formula. An event more than 1000 half-lives old weighs 0:
-- power() raises an underflow error instead of returning a subnormal,
-- which with a short half-life (1 day and a 3-year-old event) failed every
-- join of that customer. One expression, so that PostgreSQL inlines it;
-- the age in seconds from date_part, a double precision, rather than
-- extract, a numeric whose arithmetic made a planner's pass over a million
-- events 30 % slower for no precision a weight needs.
CREATE OR REPLACE FUNCTION gb_history_weight(p_occurred_at timestamptz,
                                             p_half_life_days double precision)
    RETURNS double precision
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN greatest(date_part('epoch', now() - p_occurred_at), 0)
                     / 86400.0 / p_half_life_days > 1000
                THEN 0::double precision
                ELSE power(0.5::double precision,
                           greatest(date_part('epoch', now() - p_occurred_at), 0)
                           / 86400.0 / p_half_life_days) END $$;

-- One customer's history aggregated per kind for the reliability module:
-- count and sum of the weights (gb_history_weight) of its events.
CREATE OR REPLACE FUNCTION gb_customer_history(p_customer_id bigint,
                                    p_half_life_days double precision)
    RETURNS TABLE (completed bigint, completed_w double precision,
                   withdrawn bigint, withdrawn_w double precision,
                   defaulted bigint, defaulted_w double precision,
                   deposit_expired bigint, deposit_expired_w double precision)
    LANGUAGE sql STABLE
    AS $$
    WITH w AS (
        SELECT e.kind, gb_history_weight(e.occurred_at, p_half_life_days) AS w
          FROM customer_events e
         WHERE e.customer_id = p_customer_id)
    SELECT count(*) FILTER (WHERE kind = 'completed'),
           coalesce(sum(w) FILTER (WHERE kind = 'completed'), 0),
           count(*) FILTER (WHERE kind = 'withdrawn'),
           coalesce(sum(w) FILTER (WHERE kind = 'withdrawn'), 0),
           count(*) FILTER (WHERE kind = 'defaulted'),
           coalesce(sum(w) FILTER (WHERE kind = 'defaulted'), 0),
           count(*) FILTER (WHERE kind = 'deposit_expired'),
           coalesce(sum(w) FILTER (WHERE kind = 'deposit_expired'), 0)
      FROM w $$;

-- The history of every customer of distributor p_distributor_id (any
-- participation in its campaigns; only those of p_ids when it is not
-- NULL), each as gb_customer_history gives it, in one pass over their
-- events, with own_completed: its completed events in this distributor's
-- campaigns (gb_customer_own_events' count, the one staff see). For the
-- ladder planner's audience (functions/forecast.sql) and a campaign's
-- (functions/audience.sql), where a look-up per customer took seconds for
-- a hundred thousand customers. tests/api/schema/test_history_weights.py
-- holds it equal to the per-customer functions.
DROP FUNCTION IF EXISTS gb_distributor_histories(bigint, double precision);
CREATE OR REPLACE FUNCTION gb_distributor_histories(p_distributor_id bigint,
                                                    p_half_life_days double precision,
                                                    p_ids bigint[] DEFAULT NULL)
    RETURNS TABLE (customer_id bigint, own_completed bigint,
                   completed bigint, completed_w double precision,
                   withdrawn bigint, withdrawn_w double precision,
                   defaulted bigint, defaulted_w double precision,
                   deposit_expired bigint, deposit_expired_w double precision)
    LANGUAGE sql STABLE
    AS $$
    WITH cu AS (
        SELECT DISTINCT p.customer_id
          FROM campaigns c JOIN participations p ON p.campaign_id = c.id
         WHERE c.distributor_id = p_distributor_id
           AND (p_ids IS NULL OR p.customer_id = ANY (p_ids))
    ), w AS (
        SELECT cu.customer_id, e.kind, e.distributor_id = p_distributor_id AS own,
               gb_history_weight(e.occurred_at, p_half_life_days) AS w
          FROM cu LEFT JOIN customer_events e ON e.customer_id = cu.customer_id)
    SELECT customer_id,
           count(*) FILTER (WHERE kind = 'completed' AND own),
           count(*) FILTER (WHERE kind = 'completed'),
           coalesce(sum(w) FILTER (WHERE kind = 'completed'), 0),
           count(*) FILTER (WHERE kind = 'withdrawn'),
           coalesce(sum(w) FILTER (WHERE kind = 'withdrawn'), 0),
           count(*) FILTER (WHERE kind = 'defaulted'),
           coalesce(sum(w) FILTER (WHERE kind = 'defaulted'), 0),
           count(*) FILTER (WHERE kind = 'deposit_expired'),
           coalesce(sum(w) FILTER (WHERE kind = 'deposit_expired'), 0)
      FROM w
     GROUP BY customer_id $$;

-- Withdraws participation p_id of customer p_customer_id: locks the
-- campaign first, then the participation (the order the close uses), so a
-- withdrawal racing the deadline is either done before the close or
-- refused. Returns 'withdrawn', 'not_found', 'campaign_not_open' or
-- 'invalid_state'. On 'withdrawn', in this transaction: the status (the
-- counter trigger returns the units), the history event, and when a
-- deposit was paid its refund (ledger + outbox 'refunded' keyed by the
-- movement key), and the outbox 'withdrawn' row.
CREATE OR REPLACE FUNCTION gb_participation_withdraw(p_id bigint, p_customer_id bigint)
    RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_campaign_id bigint;
    c campaigns;
    p participations;
    v_key text;
    v_payment_id bigint;
BEGIN
    SELECT campaign_id INTO v_campaign_id FROM participations
     WHERE id = p_id AND customer_id = p_customer_id;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    SELECT * INTO c FROM campaigns WHERE id = v_campaign_id FOR UPDATE;
    SELECT * INTO p FROM participations WHERE id = p_id FOR UPDATE;
    IF c.status <> 'open' OR now() < c.starts_at OR now() >= c.ends_at THEN
        RETURN 'campaign_not_open';
    END IF;
    IF p.status NOT IN ('pending_deposit', 'active') THEN
        RETURN 'invalid_state';
    END IF;
    UPDATE participations SET status = 'withdrawn', updated_at = now()
     WHERE id = p_id;
    INSERT INTO customer_events (customer_id, distributor_id, participation_id, kind)
    VALUES (p.customer_id, p.distributor_id, p.id, 'withdrawn');
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload)
    VALUES (p.distributor_id, 'participation.withdrawn', p.customer_id, p.campaign_id, p.id,
            jsonb_build_object('quantity', p.quantity,
                               'refund_cents', p.deposit_paid_cents));
    IF p.deposit_paid_cents > 0 THEN
        v_key := 'refund:participation:' || p.id || ':withdrawn';
        SELECT id INTO v_payment_id FROM payments
         WHERE participation_id = p.id AND kind = 'deposit'
           AND status = 'succeeded'
         ORDER BY id LIMIT 1;
        INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id,
                                    payment_id, kind, amount_cents, movement_key)
        VALUES (p.distributor_id, p.campaign_id, p.id, v_payment_id,
                'refund_issued', p.deposit_paid_cents, v_key);
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload, idempotency_key)
        VALUES (p.distributor_id, 'participation.refunded', p.customer_id, p.campaign_id, p.id,
                jsonb_build_object('amount_cents', p.deposit_paid_cents,
                                   'reason', 'withdrawn',
                                   'payment_id', v_payment_id),
                v_key);
    END IF;
    RETURN 'withdrawn';
END $$;

