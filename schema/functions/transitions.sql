-- The time-driven and closing transitions of campaigns and participations,
-- as functions the scheduler (server/engine/scheduler.c) and the cancel
-- endpoint call, one statement each, so that each runs in one transaction.
--
-- Exactly-once, with any number of groupbuyd processes on one database:
--   * due campaigns and unpaid participations are claimed with FOR UPDATE
--     SKIP LOCKED, so processes share them instead of queueing behind each
--     other (deposit expiry waits for the campaign lock instead: see there);
--   * every transition re-checks its precondition under the row lock (a
--     second call, or a second process that waited, finds nothing to do);
--   * a row whose transition raises is rolled back alone and retried with
--     backoff, without holding up the others (functions/scheduler.sql);
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
-- Outbox kinds are docs/api.md's event types (participation.paid, ...).
-- Outbox idempotency keys: the movement key for participation.refunded
-- rows (the payment provider's refund key); otherwise '<kind>:campaign:<id>'
-- or '<kind>:participation:<pid>' with the kind's short name ('voided',
-- 'deposit_expired', ...), not the API's type: the keys already stored
-- are spelled so, and a key must stay unique across all of them.


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
-- become 'refunded' with a refund_issued ledger row and a
-- participation.refunded event (movement refund:participation:<pid>:
-- <p_reason>), the others 'void' with a participation.voided event each. No history event: the customer did nothing wrong.
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
    ), voided AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload, idempotency_key)
        SELECT distributor_id, 'participation.voided', customer_id,
               campaign_id, id, jsonb_build_object('reason', p_reason),
               'voided:participation:' || id
          FROM upd WHERE status = 'void'
    )
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload, idempotency_key)
    SELECT distributor_id, 'participation.refunded', customer_id, campaign_id, id,
           jsonb_build_object('amount_cents', deposit_paid_cents,
                              'reason', p_reason, 'payment_id', payment_id,
                              'movement_key', mkey),
           mkey
      FROM refunds;
$$;

-- scheduled -> open for the campaigns p_ids whose starts_at has come;
-- answers the ids it opened. The caller holds their row locks.
CREATE OR REPLACE FUNCTION gb_campaign_open(p_ids bigint[]) RETURNS bigint[]
    LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE campaigns c
           SET status = 'open', updated_at = now(), version = c.version + 1
         WHERE c.id = ANY (p_ids) AND c.status = 'scheduled'
           AND c.starts_at <= now()
        RETURNING c.id)
    SELECT array_agg(id) FROM upd
$$;


-- Opens up to p_limit due campaigns, earliest starts_at first, leaving
-- out those in backoff (functions/scheduler.sql): one row per campaign
-- claimed (call again while it answers p_limit rows).
DROP FUNCTION IF EXISTS gb_campaign_open_due(int);
CREATE OR REPLACE FUNCTION gb_campaign_open_due(p_limit int)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text,
                   o_attempts integer, o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    DELETE FROM scheduler_backoff b
     WHERE b.kind = 'open'
       AND NOT EXISTS (SELECT 1 FROM campaigns c
                        WHERE c.id = b.id AND c.status = 'scheduled');
    SELECT array_agg(d.id ORDER BY d.starts_at, d.id) INTO v_ids FROM (
        SELECT c.id, c.starts_at FROM campaigns c
         WHERE c.status = 'scheduled' AND c.starts_at <= now()
           AND NOT gb_due_held('open', c.id)
         ORDER BY c.starts_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED) d;
    RETURN QUERY SELECT * FROM gb_due_run('open', 'gb_campaign_open', v_ids, true);
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
    -- the queue expires (functions/waitlist.sql)
    PERFORM gb_waitlist_close(c.id);

    SELECT count(*), coalesce(sum(quantity), 0)
      INTO n_active, q_active
      FROM participations
     WHERE campaign_id = c.id AND status = 'active';

    IF NOT gb_threshold_reached(n_active, c.min_participants) THEN
        PERFORM gb_participations_release(
            c.id, ARRAY['pending_deposit', 'active'], 'failed');
        -- its reservation goes back to the product's available stock
        PERFORM gb_stock_move(c.product_id, 0, -c.max_quantity, 0, 0);
        UPDATE campaigns
           SET status = 'failed', closed_at = now(), updated_at = now(),
               version = version + 1
         WHERE id = c.id;
        INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                            idempotency_key)
        VALUES (c.distributor_id, 'campaign.failed', c.id,
                jsonb_build_object('participants', n_active,
                                   'quantity', q_active,
                                   'min_participants', c.min_participants),
                'campaign_failed:campaign:' || c.id);
        RETURN 'failed';
    END IF;

    -- the final price (functions/pricing.sql)
    v_final := gb_tier_price(c.tiers, gb_tier_count(c.tier_basis, n_active, q_active));
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
        SELECT distributor_id, 'participation.refunded', customer_id, campaign_id, id,
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
           CASE status WHEN 'paid' THEN 'participation.paid'
                       ELSE 'participation.balance_due' END,
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

    -- The units of the active participations (now paid or awaiting
    -- payment) are committed; the rest of the reservation is released.
    PERFORM gb_stock_move(c.product_id, 0, -c.max_quantity, q_active, 0);

    UPDATE campaigns
       SET status = 'succeeded', final_unit_price_cents = v_final,
           closed_at = now(), updated_at = now(), version = version + 1
     WHERE id = c.id;
    INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                        idempotency_key)
    VALUES (c.distributor_id, 'campaign.succeeded', c.id,
            jsonb_build_object('final_unit_price_cents', v_final,
                               'participants', n_active,
                               'quantity', q_active),
            'campaign_succeeded:campaign:' || c.id);
    RETURN 'succeeded';
END $$;

-- gb_campaign_close over an array, for gb_due_run: the ids it closed.
CREATE OR REPLACE FUNCTION gb_campaign_close_each(p_ids bigint[]) RETURNS bigint[]
    LANGUAGE sql AS $$
    SELECT array_agg(id) FROM unnest(p_ids) id
     WHERE gb_campaign_close(id) IS NOT NULL
$$;


-- Closes up to p_limit open campaigns whose ends_at has passed, earliest
-- first, leaving out those in backoff: one row per campaign claimed. Each
-- close is a sub-transaction of its own (functions/scheduler.sql): a
-- campaign whose close fails is rolled back alone and put in backoff, the
-- others still close.
DROP FUNCTION IF EXISTS gb_campaign_close_due(int);
CREATE OR REPLACE FUNCTION gb_campaign_close_due(p_limit int)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text,
                   o_attempts integer, o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    DELETE FROM scheduler_backoff b
     WHERE b.kind = 'close'
       AND NOT EXISTS (SELECT 1 FROM campaigns c
                        WHERE c.id = b.id AND c.status = 'open');
    SELECT array_agg(d.id ORDER BY d.ends_at, d.id) INTO v_ids FROM (
        SELECT c.id, c.ends_at FROM campaigns c
         WHERE c.status = 'open' AND c.ends_at <= now()
           AND NOT gb_due_held('close', c.id)
         ORDER BY c.ends_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED) d;
    RETURN QUERY
        SELECT * FROM gb_due_run('close', 'gb_campaign_close_each', v_ids, false);
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
    PERFORM gb_waitlist_close(c.id);
    PERFORM gb_participations_release(
        c.id, ARRAY['pending_deposit', 'active'], 'cancelled');
    IF c.status IN ('scheduled', 'open') THEN
        -- a published campaign's reservation goes back (a draft holds none)
        PERFORM gb_stock_move(c.product_id, 0, -c.max_quantity, 0, 0);
    END IF;
    UPDATE campaigns
       SET status = 'cancelled', closed_at = now(), updated_at = now(),
           version = version + 1
     WHERE id = c.id;
    INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                        idempotency_key)
    VALUES (c.distributor_id, 'campaign.cancelled', c.id,
            jsonb_build_object('previous_status', c.status),
            'campaign_cancelled:campaign:' || c.id);
    RETURN 'cancelled';
END $$;

-- pending_deposit participations p_ids of open campaigns whose deposit
-- window has passed -> expired (the counter trigger returns their units),
-- with a deposit_expired history event and outbox row; answers the ids it
-- expired. The caller holds their campaigns' locks; the conditions are
-- re-checked under them, so a close or a second process that got there
-- first leaves nothing to do.
CREATE OR REPLACE FUNCTION gb_deposit_expire(p_ids bigint[]) RETURNS bigint[]
    LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE participations p
           SET status = 'expired', updated_at = now()
          FROM campaigns c
         WHERE p.id = ANY (p_ids) AND p.status = 'pending_deposit'
           AND p.deposit_due_by <= now()
           AND c.id = p.campaign_id AND c.status = 'open'
        RETURNING p.id, p.distributor_id, p.campaign_id, p.customer_id,
                  p.quantity, p.deposit_cents, p.deposit_due_by
    ), ev AS (
        INSERT INTO customer_events (customer_id, distributor_id,
                                     participation_id, kind)
        SELECT customer_id, distributor_id, id, 'deposit_expired' FROM upd
    ), note AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload, idempotency_key)
        SELECT distributor_id, 'participation.expired', customer_id, campaign_id, id,
               jsonb_build_object('quantity', quantity,
                                  'deposit_cents', deposit_cents,
                                  'deposit_due_by', to_char(deposit_due_by AT TIME ZONE 'UTC',
                                                    'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
               'deposit_expired:participation:' || id
          FROM upd
    )
    SELECT array_agg(id) FROM upd
$$;


-- Expires up to p_limit due deposits, earliest deposit_due_by first,
-- leaving out those in backoff: one row per participation claimed.
-- Lock order: the candidates' campaigns first (in id order, waiting: a
-- join holds one for milliseconds), then the participations.
DROP FUNCTION IF EXISTS gb_deposit_expire_due(int);
CREATE OR REPLACE FUNCTION gb_deposit_expire_due(p_limit int)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text,
                   o_attempts integer, o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    DELETE FROM scheduler_backoff b
     WHERE b.kind = 'expire'
       AND NOT EXISTS (SELECT 1 FROM participations p
                        WHERE p.id = b.id AND p.status = 'pending_deposit');
    SELECT array_agg(due.id ORDER BY due.deposit_due_by, due.id) INTO v_ids FROM (
        SELECT p.id, p.deposit_due_by FROM participations p
          JOIN campaigns c ON c.id = p.campaign_id
         WHERE p.status = 'pending_deposit' AND p.deposit_due_by <= now()
           AND c.status = 'open' AND NOT gb_due_held('expire', p.id)
         ORDER BY p.deposit_due_by
         LIMIT p_limit) due;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM campaigns
      WHERE id IN (SELECT campaign_id FROM participations
                    WHERE id = ANY (v_ids))
      ORDER BY id FOR UPDATE;
    RETURN QUERY SELECT * FROM gb_due_run('expire', 'gb_deposit_expire', v_ids, true);
END $$;


-- awaiting_payment participations p_ids whose pay_by has passed ->
-- defaulted: the paid deposit is forfeited to the distributor (ledger
-- deposit_forfeited, movement forfeit:participation:<pid>), a defaulted
-- history event and outbox row, and their units leave the product's
-- committed stock (available again). Answers the ids it defaulted. The
-- caller holds their row locks, and those of their products
-- (gb_payment_default_due).
CREATE OR REPLACE FUNCTION gb_payment_default(p_ids bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql AS $$
DECLARE
    v_done bigint[];
BEGIN
    WITH upd AS (
        UPDATE participations p
           SET status = 'defaulted', updated_at = now()
         WHERE p.id = ANY (p_ids) AND p.status = 'awaiting_payment'
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
    ), note AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload, idempotency_key)
        SELECT distributor_id, 'participation.defaulted', customer_id, campaign_id, id,
               jsonb_build_object('forfeited_cents', deposit_paid_cents,
                                  'amount_unpaid_cents',
                                  unit_price_cents * quantity
                                      - deposit_paid_cents - balance_paid_cents),
               'defaulted:participation:' || id
          FROM upd
    )
    SELECT array_agg(id) INTO v_done FROM upd;
    PERFORM gb_stock_move(c.product_id, 0, 0, -sum(p.quantity)::bigint, 0)
       FROM participations p JOIN campaigns c ON c.id = p.campaign_id
      WHERE p.id = ANY (v_done)
      GROUP BY c.product_id
      ORDER BY c.product_id;
    RETURN v_done;
END $$;


-- Defaults up to p_limit unpaid balances, earliest pay_by first, leaving
-- out those in backoff: one row per participation claimed.
DROP FUNCTION IF EXISTS gb_payment_default_due(int);
CREATE OR REPLACE FUNCTION gb_payment_default_due(p_limit int)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text,
                   o_attempts integer, o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    DELETE FROM scheduler_backoff b
     WHERE b.kind = 'default'
       AND NOT EXISTS (SELECT 1 FROM participations p
                        WHERE p.id = b.id AND p.status = 'awaiting_payment');
    SELECT array_agg(due.id ORDER BY due.pay_by, due.id) INTO v_ids FROM (
        SELECT p.id, p.pay_by FROM participations p
         WHERE p.status = 'awaiting_payment' AND p.pay_by <= now()
           AND NOT gb_due_held('default', p.id)
         ORDER BY p.pay_by
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED) due;
    -- their products, last and in id order (functions/stock.sql)
    PERFORM 1 FROM products
      WHERE id IN (SELECT c.product_id FROM participations p
                     JOIN campaigns c ON c.id = p.campaign_id
                    WHERE p.id = ANY (v_ids))
      ORDER BY id FOR NO KEY UPDATE;
    RETURN QUERY SELECT * FROM gb_due_run('default', 'gb_payment_default', v_ids, true);
END $$;


-- The earliest due time of any work the functions above would do (NULL
-- when there is none). It may lie in the past: work another transaction
-- held when it was last claimed (SKIP LOCKED) is still due. A row in
-- backoff is due again at its next attempt (functions/scheduler.sql).
CREATE OR REPLACE FUNCTION gb_next_due() RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
    SELECT least(
        (SELECT c.starts_at FROM campaigns c
          WHERE c.status = 'scheduled' AND NOT gb_due_held('open', c.id)
          ORDER BY c.starts_at LIMIT 1),
        (SELECT c.ends_at FROM campaigns c
          WHERE c.status = 'open' AND NOT gb_due_held('close', c.id)
          ORDER BY c.ends_at LIMIT 1),
        (SELECT p.deposit_due_by FROM participations p
           JOIN campaigns c ON c.id = p.campaign_id
          WHERE p.status = 'pending_deposit' AND c.status = 'open'
            AND p.deposit_due_by IS NOT NULL
            AND NOT gb_due_held('expire', p.id)
          ORDER BY p.deposit_due_by LIMIT 1),
        (SELECT p.pay_by FROM participations p
          WHERE p.status = 'awaiting_payment'
            AND NOT gb_due_held('default', p.id)
          ORDER BY p.pay_by LIMIT 1),
        (SELECT min(b.next_attempt_at) FROM scheduler_backoff b))
$$;
