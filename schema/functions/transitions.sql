-- The time-driven and closing transitions of campaigns and participations,
-- as functions the scheduler (server/scheduler.c) and the cancel endpoint
-- call, one statement each, so that each runs in one transaction.
--
-- Exactly-once, with any number of groupbuyd processes on one database:
--   * due campaigns and unpaid participations are claimed with FOR UPDATE
--     SKIP LOCKED, so processes share them instead of queueing behind each
--     other (deposit expiry waits for the campaign lock instead: see there);
--   * every transition re-checks its precondition under the row lock (a
--     second call, or a second process that waited, finds nothing to do);
--   * ledger movement keys and (participation, kind) history events are
--     UNIQUE (001_baseline.sql), and outbox rows carry an idempotency key,
--     so even a bug here could not write a movement or an event twice.
--
-- Lock order: campaign row first, then its participations, the order the
-- counter trigger implies for joins (participations change, then the
-- campaign's counters), so closes and expiries never deadlock with
-- each other. A join racing the deadline is therefore counted (it
-- committed before the close took the campaign lock) or refused (it sees
-- the campaign closed once the lock is released), never lost.
--
-- The database clock decides: now() is the transaction's start, and every
-- due predicate compares with it.
--
-- Movement keys (shared with the join and payment paths):
--   refund:participation:<pid>:<failed|cancelled|excess|void>
--   forfeit:participation:<pid>
-- "void" is the refund of a deposit paid in part by a participation that
-- was still pending_deposit at a successful close (it does not count, so
-- its money goes back).
-- Outbox idempotency keys: the movement key for 'refunded' rows (the
-- payment provider's refund key); otherwise '<kind>:campaign:<id>' or
-- '<kind>:participation:<pid>'.


-- The price of the tier with the greatest threshold <= max(n, 1).
-- The price of the tier with the greatest threshold <= max(n, 1).
CREATE OR REPLACE FUNCTION gb_tier_price(p_tiers jsonb, p_count bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (t ->> 'unit_price_cents')::bigint
      FROM jsonb_array_elements(p_tiers) t
     WHERE (t ->> 'threshold')::bigint <= greatest(p_count, 1)
     ORDER BY (t ->> 'threshold')::bigint DESC
     LIMIT 1
$$;

-- The succeeded deposit payment of a participation (for refund and
-- forfeit ledger rows and the provider's refund), or NULL.
CREATE OR REPLACE FUNCTION gb_deposit_payment_id(p_participation_id bigint) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT max(id) FROM payments
     WHERE participation_id = p_participation_id AND kind = 'deposit'
       AND status = 'succeeded'
$$;

-- Ends the participations of one campaign (the caller holds the campaign
-- row lock) whose status is in p_statuses: those holding a paid deposit
-- become 'refunded' with a refund_issued ledger row and a 'refunded'
-- outbox row (movement refund:participation:<pid>:<p_reason>), the others
-- 'void'. No history event: the customer did nothing wrong.
CREATE OR REPLACE FUNCTION gb_participations_release(p_campaign_id bigint,
                                          p_statuses text[],
                                          p_reason text) RETURNS void
    LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE participations p
           SET status = CASE WHEN p.deposit_paid_cents > 0 THEN 'refunded'
                             ELSE 'void' END,
               pay_by = NULL, updated_at = now()
         WHERE p.campaign_id = p_campaign_id AND p.status = ANY (p_statuses)
        RETURNING p.id, p.distributor_id, p.campaign_id, p.customer_id,
                  p.status, p.deposit_paid_cents
    ), refunds AS (
        SELECT u.*, 'refund:participation:' || u.id || ':' || p_reason AS mkey,
               pay.id AS payment_id
          FROM upd u
          LEFT JOIN LATERAL (
               SELECT max(x.id) AS id FROM payments x
                WHERE x.participation_id = u.id AND x.kind = 'deposit'
                  AND x.status = 'succeeded') pay ON true
         WHERE u.status = 'refunded'
    ), ledger AS (
        INSERT INTO ledger_entries (distributor_id, campaign_id,
                                    participation_id, payment_id, kind,
                                    amount_cents, movement_key)
        SELECT distributor_id, campaign_id, id, payment_id, 'refund_issued',
               deposit_paid_cents, mkey
          FROM refunds
    )
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload, idempotency_key)
    SELECT distributor_id, 'refunded', customer_id, campaign_id, id,
           jsonb_build_object('amount_cents', deposit_paid_cents,
                              'reason', p_reason, 'payment_id', payment_id,
                              'movement_key', mkey),
           mkey
      FROM refunds;
$$;

-- scheduled -> open for campaigns whose starts_at has come. Returns how
-- many were opened (p_limit at most: call again while it returns p_limit).
CREATE OR REPLACE FUNCTION gb_campaign_open_due(p_limit int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    WITH due AS (
        SELECT id FROM campaigns
         WHERE status = 'scheduled' AND starts_at <= now()
         ORDER BY starts_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    UPDATE campaigns c
       SET status = 'open', updated_at = now(), version = c.version + 1
      FROM due
     WHERE c.id = due.id AND c.status = 'scheduled';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Closes one campaign if it is open and its ends_at has passed; returns
-- the new status ('succeeded' or 'failed'), or NULL when there was
-- nothing to do (not found, not open, not yet due, or already closed).
CREATE OR REPLACE FUNCTION gb_campaign_close(p_campaign_id bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    n_active bigint;
    q_active bigint;
    v_final bigint;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND OR c.status <> 'open' OR c.ends_at > now() THEN
        RETURN NULL;
    END IF;

    SELECT count(*), coalesce(sum(quantity), 0)
      INTO n_active, q_active
      FROM participations
     WHERE campaign_id = c.id AND status = 'active';

    IF n_active < c.min_participants THEN
        PERFORM gb_participations_release(
            c.id, ARRAY['pending_deposit', 'active'], 'failed');
        UPDATE campaigns
           SET status = 'failed', closed_at = now(), updated_at = now(),
               version = version + 1
         WHERE id = c.id;
        INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                            idempotency_key)
        VALUES (c.distributor_id, 'campaign_failed', c.id,
                jsonb_build_object('participants', n_active,
                                   'quantity', q_active,
                                   'min_participants', c.min_participants),
                'campaign_failed:campaign:' || c.id);
        RETURN 'failed';
    END IF;

    v_final := gb_tier_price(c.tiers, CASE c.tier_basis
                                          WHEN 'quantity' THEN q_active
                                          ELSE n_active END);
    IF v_final IS NULL THEN
        RAISE EXCEPTION 'campaign %: no tier applies', c.id;
    END IF;

    -- Every active participation owes final x quantity - deposit paid:
    -- nothing left -> paid at once (excess deposit refunded), else
    -- awaiting_payment until pay_by.
    WITH upd AS (
        UPDATE participations p
           SET unit_price_cents = v_final,
               status = CASE WHEN v_final * p.quantity <= p.deposit_paid_cents
                             THEN 'paid' ELSE 'awaiting_payment' END,
               pay_by = CASE WHEN v_final * p.quantity <= p.deposit_paid_cents
                             THEN NULL
                             ELSE now() + make_interval(
                                      secs => c.payment_window_seconds) END,
               updated_at = now()
         WHERE p.campaign_id = c.id AND p.status = 'active'
        RETURNING p.id, p.distributor_id, p.campaign_id, p.customer_id,
                  p.status, p.quantity, p.pay_by,
                  v_final * p.quantity - p.deposit_paid_cents AS owed
    ), excess AS (
        SELECT u.*, 'refund:participation:' || u.id || ':excess' AS mkey,
               pay.id AS payment_id
          FROM upd u
          LEFT JOIN LATERAL (
               SELECT max(x.id) AS id FROM payments x
                WHERE x.participation_id = u.id AND x.kind = 'deposit'
                  AND x.status = 'succeeded') pay ON true
         WHERE u.owed < 0
    ), excess_ledger AS (
        INSERT INTO ledger_entries (distributor_id, campaign_id,
                                    participation_id, payment_id, kind,
                                    amount_cents, movement_key)
        SELECT distributor_id, campaign_id, id, payment_id, 'refund_issued',
               -owed, mkey
          FROM excess
    ), excess_outbox AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload, idempotency_key)
        SELECT distributor_id, 'refunded', customer_id, campaign_id, id,
               jsonb_build_object('amount_cents', -owed, 'reason', 'excess',
                                  'payment_id', payment_id,
                                  'movement_key', mkey),
               mkey
          FROM excess
    ), completed AS (
        INSERT INTO customer_events (customer_id, distributor_id,
                                     participation_id, kind)
        SELECT customer_id, distributor_id, id, 'completed'
          FROM upd WHERE status = 'paid'
    )
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload, idempotency_key)
    SELECT distributor_id,
           CASE status WHEN 'paid' THEN 'paid' ELSE 'balance_due' END,
           customer_id, campaign_id, id,
           CASE status
               WHEN 'paid' THEN jsonb_build_object(
                   'unit_price_cents', v_final, 'quantity', quantity)
               ELSE jsonb_build_object(
                   'unit_price_cents', v_final, 'quantity', quantity,
                   'amount_cents', owed,
                   -- gb_ts inline (per row: a function call costs)
                   'pay_by', to_char(pay_by AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END,
           CASE status WHEN 'paid' THEN 'paid' ELSE 'balance_due' END
               || ':participation:' || id
      FROM upd;

    -- Still waiting for a deposit: does not count, and goes away without
    -- a history event (its window may not have run out).
    PERFORM gb_participations_release(c.id, ARRAY['pending_deposit'], 'void');

    UPDATE campaigns
       SET status = 'succeeded', final_unit_price_cents = v_final,
           closed_at = now(), updated_at = now(), version = version + 1
     WHERE id = c.id;
    INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                        idempotency_key)
    VALUES (c.distributor_id, 'campaign_succeeded', c.id,
            jsonb_build_object('final_unit_price_cents', v_final,
                               'participants', n_active,
                               'quantity', q_active),
            'campaign_succeeded:campaign:' || c.id);
    RETURN 'succeeded';
END $$;

-- Closes up to p_limit open campaigns whose ends_at has passed; returns
-- how many it closed. A campaign whose close fails is logged (WARNING)
-- and left for the next call; the others still close.
CREATE OR REPLACE FUNCTION gb_campaign_close_due(p_limit int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    n int := 0;
BEGIN
    FOR v_id IN
        SELECT id FROM campaigns
         WHERE status = 'open' AND ends_at <= now()
         ORDER BY ends_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            IF gb_campaign_close(v_id) IS NOT NULL THEN
                n := n + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'campaign %: close failed: % (%)', v_id, SQLERRM,
                SQLSTATE;
        END;
    END LOOP;
    RETURN n;
END $$;

-- Staff cancel: draft, scheduled or open -> cancelled; paid deposits are
-- refunded (reason cancelled), everything else void. Returns 'cancelled',
-- 'not_found' (no such campaign in this distributor) or 'invalid_state'.
CREATE OR REPLACE FUNCTION gb_campaign_cancel(p_distributor_id bigint,
                                   p_campaign_id bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
BEGIN
    SELECT * INTO c FROM campaigns
     WHERE id = p_campaign_id AND distributor_id = p_distributor_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF c.status NOT IN ('draft', 'scheduled', 'open') THEN
        RETURN 'invalid_state';
    END IF;
    PERFORM gb_participations_release(
        c.id, ARRAY['pending_deposit', 'active'], 'cancelled');
    UPDATE campaigns
       SET status = 'cancelled', closed_at = now(), updated_at = now(),
           version = version + 1
     WHERE id = c.id;
    INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                        idempotency_key)
    VALUES (c.distributor_id, 'campaign_cancelled', c.id,
            jsonb_build_object('previous_status', c.status),
            'campaign_cancelled:campaign:' || c.id);
    RETURN 'cancelled';
END $$;

-- pending_deposit participations of open campaigns whose deposit window
-- has passed -> expired (the counter trigger returns their units), with
-- a deposit_expired history event and outbox row. Returns how many.
-- Lock order: the candidates' campaigns first (in id order, waiting: a
-- join holds one for milliseconds), then the participations, re-checked
-- under the locks, so a close or a second process that got there first
-- leaves nothing to do.
CREATE OR REPLACE FUNCTION gb_deposit_expire_due(p_limit int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
    n int;
BEGIN
    SELECT array_agg(id) INTO v_ids FROM (
        SELECT p.id FROM participations p
          JOIN campaigns c ON c.id = p.campaign_id
         WHERE p.status = 'pending_deposit' AND p.deposit_due_by <= now()
           AND c.status = 'open'
         ORDER BY p.deposit_due_by
         LIMIT p_limit) due;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM campaigns
      WHERE id IN (SELECT campaign_id FROM participations
                    WHERE id = ANY (v_ids))
      ORDER BY id FOR UPDATE;
    WITH upd AS (
        UPDATE participations p
           SET status = 'expired', updated_at = now()
          FROM campaigns c
         WHERE p.id = ANY (v_ids) AND p.status = 'pending_deposit'
           AND p.deposit_due_by <= now()
           AND c.id = p.campaign_id AND c.status = 'open'
        RETURNING p.id, p.distributor_id, p.campaign_id, p.customer_id,
                  p.quantity, p.deposit_cents, p.deposit_due_by
    ), ev AS (
        INSERT INTO customer_events (customer_id, distributor_id,
                                     participation_id, kind)
        SELECT customer_id, distributor_id, id, 'deposit_expired' FROM upd
    )
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload, idempotency_key)
    SELECT distributor_id, 'deposit_expired', customer_id, campaign_id, id,
           jsonb_build_object('quantity', quantity,
                              'deposit_cents', deposit_cents,
                              'deposit_due_by', to_char(deposit_due_by AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
           'deposit_expired:participation:' || id
      FROM upd;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- awaiting_payment participations whose pay_by has passed -> defaulted:
-- the paid deposit is forfeited to the distributor (ledger
-- deposit_forfeited, movement forfeit:participation:<pid>), a defaulted
-- history event and outbox row. Returns how many.
CREATE OR REPLACE FUNCTION gb_payment_default_due(p_limit int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    WITH due AS (
        SELECT id FROM participations
         WHERE status = 'awaiting_payment' AND pay_by <= now()
         ORDER BY pay_by
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), upd AS (
        UPDATE participations p
           SET status = 'defaulted', updated_at = now()
          FROM due
         WHERE p.id = due.id AND p.status = 'awaiting_payment'
           AND p.pay_by <= now()
        RETURNING p.id, p.distributor_id, p.campaign_id, p.customer_id,
                  p.deposit_paid_cents, p.unit_price_cents, p.quantity,
                  p.balance_paid_cents
    ), forfeit AS (
        INSERT INTO ledger_entries (distributor_id, campaign_id,
                                    participation_id, payment_id, kind,
                                    amount_cents, movement_key)
        SELECT distributor_id, campaign_id, id, gb_deposit_payment_id(id),
               'deposit_forfeited', deposit_paid_cents,
               'forfeit:participation:' || id
          FROM upd WHERE deposit_paid_cents > 0
    ), ev AS (
        INSERT INTO customer_events (customer_id, distributor_id,
                                     participation_id, kind)
        SELECT customer_id, distributor_id, id, 'defaulted' FROM upd
    )
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload, idempotency_key)
    SELECT distributor_id, 'defaulted', customer_id, campaign_id, id,
           jsonb_build_object('forfeited_cents', deposit_paid_cents,
                              'amount_unpaid_cents',
                              unit_price_cents * quantity
                                  - deposit_paid_cents - balance_paid_cents),
           'defaulted:participation:' || id
      FROM upd;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- The earliest due time of any work the functions above would do (NULL
-- when there is none). It may lie in the past: work another transaction
-- held when it was last claimed (SKIP LOCKED) is still due.
CREATE OR REPLACE FUNCTION gb_next_due() RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
    SELECT least(
        (SELECT min(starts_at) FROM campaigns WHERE status = 'scheduled'),
        (SELECT min(ends_at) FROM campaigns WHERE status = 'open'),
        (SELECT p.deposit_due_by FROM participations p
           JOIN campaigns c ON c.id = p.campaign_id
          WHERE p.status = 'pending_deposit' AND c.status = 'open'
            AND p.deposit_due_by IS NOT NULL
          ORDER BY p.deposit_due_by LIMIT 1),
        (SELECT min(pay_by) FROM participations
          WHERE status = 'awaiting_payment'))
$$;

