-- Payments: the intents a customer pays deposits and balances through, and
-- the outcomes the payment provider reports by signed webhook.
--
-- An intent is for exactly what is due at that instant (gb_payment_due);
-- asking again while an intent of the same kind and amount is still pending
-- answers that intent, so a double-click never opens two charges.
--
-- gb_payment_apply does everything a webhook delivery causes in one
-- statement, hence one transaction: it records the delivery in
-- payment_events whatever the outcome, and returns the outcome instead of
-- raising, so that a refused delivery (wrong amount) is still recorded.
-- Locks are taken in the order of the campaign close (campaign, then
-- participation), then the payment, so a deposit racing the close is either
-- counted by it or refunded, never lost. The state machine of a payment:
--
--   pending --failed--> failed --succeeded--> (as from pending)
--   pending --succeeded--> succeeded | refunded (the participation could
--                                                no longer take it)
--
-- A success is applied only if the participation owes that kind of payment
-- at least that much now (database clock: deposit_due_by, ends_at, pay_by);
-- otherwise the money is booked as received and refunded at once
-- (refund:participation:<pid>:late:<payment_id>), with an outbox row the
-- provider's refund sender picks up by its idempotency key.

CREATE OR REPLACE FUNCTION gb_payment_json(p payments) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', p.id,
                                   'participation_id', p.participation_id,
                                   'kind', p.kind,
                                   'amount_cents', p.amount_cents,
                                   'status', p.status,
                                   'created_at', gb_ts(p.created_at)) $$;

-- What pa owes now and for what: ('deposit', n) while the deposit window
-- and the campaign are open, ('balance', n) while the payment window is
-- open, else (NULL, 0). The caller holds the participation's row lock.
CREATE OR REPLACE FUNCTION gb_payment_due(pa participations, c campaigns,
                               OUT kind text, OUT amount_cents bigint)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    price bigint := coalesce(pa.unit_price_cents, c.final_unit_price_cents);
BEGIN
    kind := NULL;
    amount_cents := 0;
    IF pa.status = 'pending_deposit' AND c.status = 'open'
       AND now() < c.ends_at
       AND (pa.deposit_due_by IS NULL OR now() < pa.deposit_due_by)
       AND pa.deposit_cents > pa.deposit_paid_cents THEN
        kind := 'deposit';
        amount_cents := pa.deposit_cents - pa.deposit_paid_cents;
    ELSIF pa.status = 'awaiting_payment' AND price IS NOT NULL
       AND (pa.pay_by IS NULL OR now() < pa.pay_by)
       AND price * pa.quantity - pa.deposit_paid_cents
           - pa.balance_paid_cents > 0 THEN
        kind := 'balance';
        amount_cents := price * pa.quantity - pa.deposit_paid_cents
                        - pa.balance_paid_cents;
    END IF;
END $$;

-- The intent for what participation p_participation_id of customer
-- p_customer_id owes now. outcome: 'created' | 'reused' (payment set),
-- 'not_found' (none, or another customer's), 'invalid_state' (nothing due).
CREATE OR REPLACE FUNCTION gb_payment_intent(p_customer_id bigint,
                                  p_participation_id bigint,
                                  OUT outcome text, OUT payment json)
    LANGUAGE plpgsql AS $$
DECLARE
    pa participations;
    c campaigns;
    p payments;
    due record;
BEGIN
    SELECT * INTO pa FROM participations
     WHERE id = p_participation_id AND customer_id = p_customer_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT * INTO c FROM campaigns WHERE id = pa.campaign_id;
    due := gb_payment_due(pa, c);
    IF due.kind IS NULL THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    SELECT * INTO p FROM payments
     WHERE participation_id = pa.id AND kind = due.kind
       AND amount_cents = due.amount_cents AND status = 'pending'
     ORDER BY id DESC LIMIT 1;
    IF FOUND THEN
        outcome := 'reused';
    ELSE
        INSERT INTO payments (distributor_id, participation_id, kind,
                              amount_cents)
        VALUES (pa.distributor_id, pa.id, due.kind, due.amount_cents)
        RETURNING * INTO p;
        outcome := 'created';
    END IF;
    payment := gb_payment_json(p);
END $$;

-- Applies one webhook delivery (already authenticated, fields checked).
-- outcome, and the payment after it (NULL for not_found):
--   not_found        no such payment                           (404)
--   amount_mismatch  p_amount_cents is not the payment's       (400)
--   duplicate        the same outcome was already applied      (200)
--   ignored          a failure reported after a success        (200)
--   conflict         a second success under another provider_ref (409)
--   failed           the payment failed; participation unchanged (200)
--   applied          paid in; the participation moved on       (200)
--   refunded         paid in, but the participation could no longer take
--                    it: refunded at once                      (200)
CREATE OR REPLACE FUNCTION gb_payment_apply(p_payment_id bigint, p_status text,
                                 p_amount_cents bigint, p_provider_ref text,
                                 p_body text,
                                 OUT outcome text, OUT payment json)
    LANGUAGE plpgsql AS $$
DECLARE
    p payments;
    pa participations;
    c campaigns;
    due record;
    v_kind text;
    v_pid bigint;
    v_cid bigint;
    v_price bigint;
    v_key text;
BEGIN
    SELECT x.kind, x.participation_id, y.campaign_id
      INTO v_kind, v_pid, v_cid
      FROM payments x JOIN participations y ON y.id = x.participation_id
     WHERE x.id = p_payment_id;
    IF NOT FOUND THEN
        outcome := 'not_found';
    ELSE
        -- the close's lock order; a balance needs no campaign lock (the
        -- campaign has closed and its price is fixed)
        IF v_kind = 'deposit' THEN
            SELECT * INTO c FROM campaigns WHERE id = v_cid FOR SHARE;
        ELSE
            SELECT * INTO c FROM campaigns WHERE id = v_cid;
        END IF;
        SELECT * INTO pa FROM participations WHERE id = v_pid
           FOR NO KEY UPDATE;
        SELECT * INTO p FROM payments WHERE id = p_payment_id
           FOR NO KEY UPDATE;

        IF p_amount_cents <> p.amount_cents THEN
            outcome := 'amount_mismatch';
        ELSIF p.status = 'pending'
              OR (p.status = 'failed' AND p_status = 'succeeded') THEN
            outcome := p_status; -- decided below
        ELSIF p.provider_ref IS NOT DISTINCT FROM p_provider_ref
              AND (p.status = p_status
                   OR (p.status = 'refunded' AND p_status = 'succeeded')) THEN
            outcome := 'duplicate';
        ELSIF p_status = 'failed' THEN
            outcome := 'ignored';
        ELSE
            outcome := 'conflict';
        END IF;

        IF outcome = 'failed' THEN
            UPDATE payments SET status = 'failed',
                   provider_ref = p_provider_ref, updated_at = now()
             WHERE id = p.id RETURNING * INTO p;
        ELSIF outcome = 'succeeded' THEN
            due := gb_payment_due(pa, c);
            INSERT INTO ledger_entries (distributor_id, campaign_id,
                                        participation_id, payment_id, kind,
                                        amount_cents, movement_key)
            VALUES (pa.distributor_id, pa.campaign_id, pa.id, p.id,
                    p.kind || '_received', p.amount_cents,
                    p.kind || '_received:payment:' || p.id);
            IF due.kind IS NOT DISTINCT FROM p.kind
               AND p.amount_cents <= due.amount_cents THEN
                outcome := 'applied';
                UPDATE payments SET status = 'succeeded',
                       provider_ref = p_provider_ref, updated_at = now()
                 WHERE id = p.id RETURNING * INTO p;
                IF p.kind = 'deposit' THEN
                    UPDATE participations
                       SET deposit_paid_cents = deposit_paid_cents
                                                + p.amount_cents,
                           status = CASE WHEN deposit_paid_cents
                                              + p.amount_cents
                                              >= deposit_cents
                                         THEN 'active' ELSE status END,
                           updated_at = now()
                     WHERE id = pa.id RETURNING * INTO pa;
                    IF pa.status = 'active' THEN
                        INSERT INTO outbox (distributor_id, kind,
                                            customer_id, campaign_id,
                                            participation_id, payload,
                                            idempotency_key)
                        VALUES (pa.distributor_id, 'participation.activated',
                                pa.customer_id, pa.campaign_id, pa.id,
                                jsonb_build_object(
                                    'payment_id', p.id,
                                    'amount_cents', p.amount_cents,
                                    'deposit_paid_cents',
                                    pa.deposit_paid_cents),
                                'deposit_paid:participation:' || pa.id);
                    END IF;
                ELSE
                    v_price := coalesce(pa.unit_price_cents,
                                        c.final_unit_price_cents);
                    UPDATE participations
                       SET balance_paid_cents = balance_paid_cents
                                                + p.amount_cents,
                           status = CASE WHEN deposit_paid_cents
                                              + balance_paid_cents
                                              + p.amount_cents
                                              >= v_price * quantity
                                         THEN 'paid' ELSE status END,
                           updated_at = now()
                     WHERE id = pa.id RETURNING * INTO pa;
                    IF pa.status = 'paid' THEN
                        INSERT INTO customer_events (customer_id,
                                                     distributor_id,
                                                     participation_id, kind)
                        VALUES (pa.customer_id, pa.distributor_id, pa.id,
                                'completed')
                        ON CONFLICT (participation_id, kind) DO NOTHING;
                        INSERT INTO outbox (distributor_id, kind,
                                            customer_id, campaign_id,
                                            participation_id, payload,
                                            idempotency_key)
                        VALUES (pa.distributor_id, 'participation.paid', pa.customer_id,
                                pa.campaign_id, pa.id,
                                jsonb_build_object(
                                    'payment_id', p.id,
                                    'amount_cents', p.amount_cents,
                                    'unit_price_cents', v_price),
                                'paid:participation:' || pa.id);
                    END IF;
                END IF;
            ELSE
                outcome := 'refunded';
                v_key := 'refund:participation:' || pa.id || ':late:' || p.id;
                UPDATE payments SET status = 'refunded',
                       provider_ref = p_provider_ref, updated_at = now()
                 WHERE id = p.id RETURNING * INTO p;
                INSERT INTO ledger_entries (distributor_id, campaign_id,
                                            participation_id, payment_id,
                                            kind, amount_cents, movement_key)
                VALUES (pa.distributor_id, pa.campaign_id, pa.id, p.id,
                        'refund_issued', p.amount_cents, v_key);
                INSERT INTO outbox (distributor_id, kind, customer_id,
                                    campaign_id, participation_id, payload,
                                    idempotency_key)
                VALUES (pa.distributor_id, 'participation.refunded', pa.customer_id,
                        pa.campaign_id, pa.id,
                        jsonb_build_object('payment_id', p.id,
                                           'provider_ref', p_provider_ref,
                                           'amount_cents', p.amount_cents,
                                           'reason', 'late'),
                        v_key);
            END IF;
        END IF;
        payment := gb_payment_json(p);
    END IF;
    INSERT INTO payment_events (payment_id, provider_ref, status,
                                amount_cents, outcome, body)
    VALUES (p_payment_id, p_provider_ref, p_status, p_amount_cents, outcome,
            p_body);
END $$;

-- Ledger entries are never changed or deleted: a correction is a new
-- movement. Refused here, for every writer.
CREATE OR REPLACE FUNCTION gb_ledger_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable';
END $$;

CREATE OR REPLACE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION gb_ledger_immutable();
