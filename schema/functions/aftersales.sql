-- After-sales (售后): a customer's request for money back within
-- the campaign's after_sales_days of delivery or pickup, and the staff's
-- approval (a refund, and for a settled campaign an adjustment line) or
-- rejection. api/shop/orders.c (the request) and api/admin/aftersales.c
-- answer with these, through server/engine/order.c.
--
-- Money (docs/domain.md, "Fulfilment and after-sales"):
--   * an approved amount is at most what the participation paid (its
--     deposit_received + balance_received) less what was already refunded
--     (its refund_issued), read from the ledger under the locks below;
--   * the refund is a refund_issued ledger entry (movement
--     refund:after_sales:<id>) and a refund.issued outbox row, the same
--     way every refund goes out;
--   * campaign already settled: an adjustment line in the same
--     transaction, dated now: the split of the refund negated, by the
--     settlement's own rule (gb_settlement_split, functions/settle.sql):
--     gross = -amount, commission = -(its commission at the settlement's
--     commission_bp), leader = -(its leader commission at the line's
--     leader_bp), manufacturer = -(the unit cost the campaign settled at,
--     settlements.unit_cost_cents, x returned units: a returned unit
--     reverses what the manufacturer was paid for it, the final tier's
--     cost or the product's cost at settlement, whatever the product's
--     cost price has become since), net = -(the rest); and ledger
--     movements adjust:<id>:commission |
--     manufacturer | leader_commission (pickup lines only) |
--     distributor_net of those (negative) amounts;
--   * campaign not settled yet: the refund only; the settlement then settles
--     what was kept (functions/settle.sql: gross less approved refunds,
--     manufacturer on the units not returned).
-- So received - refunded = the split of lines and adjustments holds to the
-- cent at every step (gb_campaign_reconcile). The units returned go back
-- into the product's stock (functions/stock.sql), settled or not.
--
-- Lock order: the campaign, the request, then the product (last, as on
-- every path that moves units).
--
-- Concurrency: an approval locks the campaign row FOR SHARE first (the
-- settlement takes it FOR UPDATE: an approval and a settlement of the same
-- campaign run one after the other, and each sees the other's effect),
-- then the request FOR UPDATE: of two approvals of one request the second
-- finds it no longer pending (409), so exactly one refund is made; the
-- movement key is the last guard.

CREATE OR REPLACE FUNCTION gb_after_sales_json(a after_sales) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'id', a.id, 'order_id', a.order_id,
              'participation_id', a.participation_id,
              'campaign_id', a.campaign_id, 'customer_id', a.customer_id,
              'reason', a.reason, 'quantity', a.quantity,
              'amount_cents', a.amount_cents, 'status', a.status,
              'approved_cents', a.approved_cents,
              'returned_quantity', a.returned_quantity, 'note', a.note,
              'decided_at', gb_ts(a.decided_at),
              'created_at', gb_ts(a.created_at)) $$;

-- What a participation paid and what was refunded to it, from the ledger.
CREATE OR REPLACE FUNCTION gb_participation_money(p_participation_id bigint,
                                                  OUT paid_cents bigint,
                                                  OUT refunded_cents bigint)
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(amount_cents) FILTER (
               WHERE kind IN ('deposit_received', 'balance_received')), 0)::bigint,
           coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund_issued'), 0)::bigint
      FROM ledger_entries WHERE participation_id = p_participation_id
$$;

-- The customer's request. Outcome 'ok' (body: the request), 'not_found'
-- (not their order), 'invalid_state' (not delivered or picked up, the
-- window has passed, or a request is already open), 'quantity' (more than
-- the order holds) or 'amount' (more than paid less refunded).
CREATE OR REPLACE FUNCTION gb_after_sales_request(p_customer_id bigint, p_order_id bigint,
                                                  p_reason text, p_quantity bigint,
                                                  p_amount bigint,
                                                  OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    o orders;
    v_days integer;
    m record;
    a after_sales;
BEGIN
    SELECT * INTO o FROM orders
     WHERE customer_id = p_customer_id AND id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT after_sales_days INTO v_days FROM campaigns WHERE id = o.campaign_id;
    IF o.status NOT IN ('delivered', 'picked_up')
       OR now() > o.completed_at + make_interval(days => v_days)
       OR EXISTS (SELECT 1 FROM after_sales x
                   WHERE x.order_id = o.id AND x.status = 'pending') THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    IF p_quantity > o.quantity THEN
        outcome := 'quantity';
        RETURN;
    END IF;
    SELECT * INTO m FROM gb_participation_money(o.participation_id);
    IF p_amount > m.paid_cents - m.refunded_cents THEN
        outcome := 'amount';
        RETURN;
    END IF;
    INSERT INTO after_sales (distributor_id, order_id, participation_id, campaign_id,
                             customer_id, reason, quantity, amount_cents)
    VALUES (o.distributor_id, o.id, o.participation_id, o.campaign_id, o.customer_id,
            p_reason, p_quantity, p_amount)
    RETURNING * INTO a;
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, participation_id,
                        payload, idempotency_key)
    VALUES (a.distributor_id, 'after_sales.requested', a.customer_id, a.campaign_id,
            a.participation_id, gb_after_sales_json(a)::jsonb,
            'after_sales.requested:' || a.id);
    outcome := 'ok';
    body := gb_after_sales_json(a);
END $$;

-- The staff's approval. Outcome 'ok' (body: the request), 'not_found',
-- 'invalid_state' (no longer pending), 'amount' (over paid less refunded)
-- or 'quantity' (more units returned than the order holds less those
-- already returned).
CREATE OR REPLACE FUNCTION gb_after_sales_approve(p_distributor_id bigint, p_id bigint,
                                                  p_amount bigint, p_returned bigint,
                                                  p_staff_id bigint,
                                                  OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    a after_sales;
    o orders;
    m record;
    l settlement_lines;
    s settlements;
    v_split record;
    v_returned bigint;
    v_key text;
BEGIN
    PERFORM 1 FROM campaigns c
     WHERE c.distributor_id = p_distributor_id
       AND c.id = (SELECT x.campaign_id FROM after_sales x
                    WHERE x.distributor_id = p_distributor_id AND x.id = p_id)
       FOR SHARE;
    SELECT * INTO a FROM after_sales
     WHERE distributor_id = p_distributor_id AND id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF a.status <> 'pending' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    SELECT * INTO o FROM orders WHERE id = a.order_id;
    SELECT * INTO m FROM gb_participation_money(a.participation_id);
    IF p_amount > m.paid_cents - m.refunded_cents THEN
        outcome := 'amount';
        RETURN;
    END IF;
    SELECT coalesce(sum(returned_quantity), 0) INTO v_returned FROM after_sales
     WHERE participation_id = a.participation_id AND status = 'approved';
    IF p_returned > o.quantity - v_returned THEN
        outcome := 'quantity';
        RETURN;
    END IF;
    UPDATE after_sales SET status = 'approved', approved_cents = p_amount,
                           returned_quantity = p_returned, decided_by = p_staff_id,
                           decided_at = now()
     WHERE id = a.id RETURNING * INTO a;
    -- the units returned go back into the product's stock
    IF p_returned > 0 THEN
        PERFORM gb_stock_move(c.product_id, p_returned, 0, 0, -p_returned)
           FROM campaigns c WHERE c.id = a.campaign_id;
    END IF;
    v_key := 'refund:after_sales:' || a.id;
    INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id, kind,
                                amount_cents, movement_key)
    VALUES (a.distributor_id, a.campaign_id, a.participation_id, 'refund_issued',
            p_amount, v_key);
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, participation_id,
                        payload, idempotency_key)
    VALUES (a.distributor_id, 'refund.issued', a.customer_id, a.campaign_id,
            a.participation_id,
            jsonb_build_object('amount_cents', p_amount, 'reason', 'after_sales',
                               'after_sales_id', a.id, 'movement_key', v_key),
            v_key),
           (a.distributor_id, 'after_sales.approved', a.customer_id, a.campaign_id,
            a.participation_id, gb_after_sales_json(a)::jsonb,
            'after_sales.approved:' || a.id);

    SELECT * INTO s FROM settlements WHERE campaign_id = a.campaign_id;
    IF FOUND THEN
        SELECT * INTO l FROM settlement_lines WHERE participation_id = a.participation_id;
        -- the unit cost the campaign settled at (recorded on the
        -- settlement), not the product's cost now: staff may have edited
        -- it since
        SELECT * INTO v_split
          FROM gb_settlement_split(p_amount, 0, s.commission_bp, l.leader_bp,
                                   s.unit_cost_cents, p_returned);
        INSERT INTO settlement_adjustments (after_sales_id, campaign_id, distributor_id,
                                            participation_id, customer_id,
                                            returned_quantity, unit_price_cents,
                                            gross_cents, commission_cents,
                                            manufacturer_cents, leader_commission_cents,
                                            distributor_net_cents)
        VALUES (a.id, a.campaign_id, a.distributor_id, a.participation_id, a.customer_id,
                p_returned, l.unit_price_cents, -p_amount, -v_split.commission,
                -v_split.manufacturer, -v_split.leader, -v_split.net);
        INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id, kind,
                                    amount_cents, movement_key)
        SELECT a.distributor_id, a.campaign_id, a.participation_id, k.kind, k.amount,
               'adjust:' || a.id || ':' || k.suffix
          FROM (VALUES ('commission', -v_split.commission, 'commission'),
                       ('manufacturer_payable', -v_split.manufacturer, 'manufacturer'),
                       ('leader_commission', -v_split.leader, 'leader_commission'),
                       ('distributor_net', -v_split.net, 'distributor_net')) k (kind, amount, suffix)
         WHERE k.kind <> 'leader_commission' OR l.pickup_point_id IS NOT NULL;
    END IF;
    outcome := 'ok';
    body := gb_after_sales_json(a);
END $$;

-- The staff's rejection: 'ok', 'not_found' or 'invalid_state'.
CREATE OR REPLACE FUNCTION gb_after_sales_reject(p_distributor_id bigint, p_id bigint,
                                                 p_note text, p_staff_id bigint,
                                                 OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    a after_sales;
BEGIN
    SELECT * INTO a FROM after_sales
     WHERE distributor_id = p_distributor_id AND id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF a.status <> 'pending' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    UPDATE after_sales SET status = 'rejected', note = p_note, decided_by = p_staff_id,
                           decided_at = now()
     WHERE id = a.id RETURNING * INTO a;
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, participation_id,
                        payload, idempotency_key)
    VALUES (a.distributor_id, 'after_sales.rejected', a.customer_id, a.campaign_id,
            a.participation_id, gb_after_sales_json(a)::jsonb,
            'after_sales.rejected:' || a.id);
    outcome := 'ok';
    body := gb_after_sales_json(a);
END $$;
