-- Settlement (结算) of succeeded campaigns, the reconciliation function,
-- and the representations of the settlement views
-- (api/finance/settlements.c).
--
-- gb_campaign_settle does the whole settlement of one campaign in one
-- statement of one transaction: the settlement row, one line per paid or
-- defaulted participation, the three ledger entries, the 'settled' outbox
-- row and the campaign's move to 'settled'. A crash anywhere before COMMIT
-- leaves nothing; after it, everything. Exactly-once with several server
-- processes: the campaign row lock (taken by gb_settle_due with SKIP
-- LOCKED, then by gb_campaign_settle), the status re-checked under it, and
-- behind those the primary keys of settlements and settlement_lines (one
-- settlement per campaign, one line per participation) and the UNIQUE
-- ledger movement keys
--   settle:<campaign_id>:commission | :manufacturer | :distributor_net
-- and the outbox idempotency key settled:campaign:<campaign_id>.
--
-- Arithmetic (docs/domain.md, "Settlement and reconciliation"; this is its
-- one implementation, checked line by line against the table by
-- tests/api/test_settlement_rules.py):
--   paid      gross = unit price x quantity, forfeited 0,
--             manufacturer = unit cost x quantity (the final tier's
--             cost_price_cents, else the product's cost price:
--             gb_settlement_unit_cost, recorded as the settlement's
--             unit_cost_cents); less, for after-sales
--             refunds approved before settlement (functions/aftersales.sql),
--             their amounts from gross and their returned units from the
--             manufacturer's quantity: the line settles what was kept
--   defaulted gross 0, forfeited = deposit paid, manufacturer 0
--   the split of gross + forfeited (gb_settlement_split, also the split
--   of an after-sales refund approved after settlement: one rule):
--   commission = (gross x bp + 5000) div 10000, on sales only: a
--             forfeited deposit is not a sale and pays none (v1.2; the
--             settlements written before keep their figures), computed
--             as q x bp + (r x bp + 5000) div 10000 with gross = 10000 q
--             + r (equal, and no overflow);
--   leader = (gross x the pickup point's commission_bp + 5000) div 10000
--             for a paid line of a pickup campaign (the point the
--             participation chose, its commission_bp at settlement,
--             recorded on the line as leader_bp); 0 otherwise;
--   manufacturer = the unit cost (gb_settlement_unit_cost) x the units;
--   net = gross + forfeited - commission - manufacturer - leader (may be
--             negative: a ledger distributor_net entry then has a
--             negative amount).
--
-- Decisions where the documents are silent:
--   * commission_bp is the distributor's at settlement time, recorded in
--     the settlement row; so is the unit cost (unit_cost_cents: the final
--     tier's cost_price_cents, else the product's cost price, at
--     settlement time), which the adjustments of later after-sales
--     refunds take (a product's cost price may be edited after the
--     settlement);
--   * a line's unit price is the participation's final unit price (set at
--     close); the settlement's is the campaign's final_unit_price_cents;
--   * received_cents / refunded_cents of a settlement are the ledger's
--     figures at settlement time (deposit_received + balance_received,
--     refund_issued); money that arrives late afterwards is received and
--     refunded at once (payments.sql), so it never unbalances the campaign, and
--     gb_campaign_reconcile always reads the live ledger;
--   * the three ledger entries are written even when an amount is 0, so a
--     settled campaign always has exactly three settle:* movements; a
--     pickup campaign has a fourth, settle:<id>:leader_commission (also
--     when 0), while a delivery campaign keeps exactly three.

-- (amount x bp + 5000) div 10000 for amount >= 0, 0 <= bp <= 10000: the one
-- basis-point rounding (C applies none). Written as q x bp + (r x bp + 5000)
-- div 10000 with amount = 10000 q + r, so no step overflows bigint.
CREATE OR REPLACE FUNCTION gb_apply_bp(p_amount bigint, p_bp integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT (p_amount / 10000) * p_bp
                 + ((p_amount % 10000) * p_bp + 5000) / 10000 $$;

-- The split of an amount received for a campaign: what goes to the
-- platform (commission, on what was sold), to the pickup point's leader
-- (on what was sold), to the manufacturer (the unit cost of the units
-- sold), and what is left to the distributor (net, may be negative; all of
-- a forfeited deposit). p_gross is what was sold, p_forfeited the deposits
-- kept from defaults. Settlement splits each line with it, and an
-- after-sales refund approved after settlement is split with it too (its
-- adjustment is the negated split of the refund: functions/aftersales.sql),
-- so a change to the split is made here once. A set-returning SQL function
-- so that the settlement's statement inlines it: no call per line.
CREATE OR REPLACE FUNCTION gb_settlement_split(p_gross bigint, p_forfeited bigint,
                                    p_commission_bp integer, p_leader_bp integer,
                                    p_unit_cost bigint, p_units bigint)
    RETURNS TABLE (commission bigint, leader bigint, manufacturer bigint,
                   net bigint)
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT x.commission, x.leader, x.manufacturer,
                 p_gross + p_forfeited - x.commission - x.leader - x.manufacturer
            FROM (SELECT gb_apply_bp(p_gross, p_commission_bp) AS commission,
                         gb_apply_bp(p_gross, p_leader_bp) AS leader,
                         p_unit_cost * p_units AS manufacturer) x $$;

-- What the manufacturer is owed for one unit of a closed campaign: the
-- cost of its final tier, the tier that priced the count at the close
-- (gb_tier_cost over gb_campaign_counted: the participations that counted
-- then), else the product's cost price now. Read once, at settlement, and
-- recorded in the settlement (unit_cost_cents): a later adjustment
-- reverses that figure.
CREATE OR REPLACE FUNCTION gb_settlement_unit_cost(c campaigns) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(gb_tier_cost(c.tiers, gb_tier_count(c.tier_basis,
                                                                k.participants,
                                                                k.quantity)),
                          p.cost_price_cents)
            FROM gb_campaign_counted(c) k, products p
           WHERE p.id = c.product_id $$;

-- Settles one campaign: true if it settled now; false when it is not
-- found, not succeeded (already settled, or never succeeded), or still
-- has a participation awaiting_payment.
CREATE OR REPLACE FUNCTION gb_campaign_settle(p_campaign_id bigint) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    v_bp integer;
    v_cost bigint;
    n int;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND OR c.status <> 'succeeded'
       OR EXISTS (SELECT 1 FROM settlements WHERE campaign_id = c.id)
       OR EXISTS (SELECT 1 FROM participations
                   WHERE campaign_id = c.id AND status = 'awaiting_payment')
    THEN
        RETURN false;
    END IF;
    SELECT commission_bp INTO v_bp FROM distributors
     WHERE id = c.distributor_id;
    v_cost := gb_settlement_unit_cost(c);

    -- One statement, hence one snapshot: the lines, the totals and the
    -- ledger sums agree with each other.
    WITH src AS (
        SELECT p.id, p.customer_id, p.status, p.quantity,
               CASE WHEN c.fulfilment = 'pickup' THEN p.pickup_point_id END
                   AS pickup_point_id,
               CASE WHEN c.fulfilment = 'pickup' AND p.status = 'paid'
                    THEN coalesce(pp.commission_bp, 0) ELSE 0 END AS leader_bp,
               coalesce(p.unit_price_cents, c.final_unit_price_cents) AS price,
               CASE p.status WHEN 'paid'
                    THEN coalesce(p.unit_price_cents,
                                  c.final_unit_price_cents) * p.quantity
                         - r.amount
                    ELSE 0 END AS gross,
               CASE p.status WHEN 'defaulted'
                    THEN p.deposit_paid_cents ELSE 0 END AS forfeited,
               CASE p.status WHEN 'paid'
                    THEN p.quantity - r.returned ELSE 0 END AS units
          FROM participations p
          LEFT JOIN pickup_points pp ON pp.id = p.pickup_point_id
         CROSS JOIN LATERAL (
               SELECT coalesce(sum(x.approved_cents), 0)::bigint AS amount,
                      coalesce(sum(x.returned_quantity), 0)::bigint AS returned
                 FROM after_sales x
                WHERE x.participation_id = p.id AND x.status = 'approved') r
         WHERE p.campaign_id = c.id AND p.status IN ('paid', 'defaulted')
    ), lines AS (
        SELECT s.*, x.commission, x.leader, x.manufacturer, x.net
          FROM src s
         CROSS JOIN LATERAL gb_settlement_split(s.gross, s.forfeited, v_bp,
                                                s.leader_bp, v_cost, s.units) x
    ), money AS (
        SELECT coalesce(sum(amount_cents) FILTER (
                   WHERE kind IN ('deposit_received', 'balance_received')),
                   0)::bigint AS received,
               coalesce(sum(amount_cents) FILTER (
                   WHERE kind = 'refund_issued'), 0)::bigint AS refunded
          FROM ledger_entries WHERE campaign_id = c.id
    ), tot AS (
        SELECT count(*)::int AS n, coalesce(sum(quantity), 0)::bigint AS q,
               coalesce(sum(gross), 0)::bigint AS gross,
               coalesce(sum(forfeited), 0)::bigint AS forfeited,
               coalesce(sum(commission), 0)::bigint AS commission,
               coalesce(sum(manufacturer), 0)::bigint AS manufacturer,
               coalesce(sum(leader), 0)::bigint AS leader,
               coalesce(sum(net), 0)::bigint AS net
          FROM lines
    ), settle AS (
        INSERT INTO settlements (campaign_id, distributor_id, settled_at,
                                 unit_price_cents, unit_cost_cents,
                                 commission_bp, lines,
                                 quantity, gross_cents, forfeited_cents,
                                 commission_cents, manufacturer_cents,
                                 leader_commission_cents,
                                 distributor_net_cents, received_cents,
                                 refunded_cents)
        SELECT c.id, c.distributor_id, now(), c.final_unit_price_cents, v_cost,
               v_bp,
               t.n, t.q, t.gross, t.forfeited, t.commission, t.manufacturer,
               t.leader, t.net, m.received, m.refunded
          FROM tot t, money m
        RETURNING campaign_id, commission_cents, manufacturer_cents,
                  leader_commission_cents,
                  distributor_net_cents, lines, quantity, gross_cents,
                  forfeited_cents, received_cents, refunded_cents
    ), ledger AS (
        INSERT INTO ledger_entries (distributor_id, campaign_id, kind,
                                    amount_cents, movement_key)
        SELECT c.distributor_id, c.id, k.kind, k.amount,
               'settle:' || c.id || ':' || k.suffix
          FROM settle s,
               LATERAL (VALUES ('commission', s.commission_cents,
                                'commission'),
                               ('manufacturer_payable', s.manufacturer_cents,
                                'manufacturer'),
                               ('distributor_net', s.distributor_net_cents,
                                'distributor_net'),
                               ('leader_commission', s.leader_commission_cents,
                                'leader_commission')) k (kind, amount, suffix)
         WHERE k.kind <> 'leader_commission' OR c.fulfilment = 'pickup'
    ), note AS (
        INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                            idempotency_key)
        SELECT c.distributor_id, 'campaign.settled', c.id,
               jsonb_build_object('lines', s.lines, 'quantity', s.quantity,
                                  'unit_price_cents', c.final_unit_price_cents,
                                  'gross_cents', s.gross_cents,
                                  'forfeited_cents', s.forfeited_cents,
                                  'commission_cents', s.commission_cents,
                                  'manufacturer_cents', s.manufacturer_cents,
                                  'leader_commission_cents',
                                  s.leader_commission_cents,
                                  'distributor_net_cents',
                                  s.distributor_net_cents,
                                  'received_cents', s.received_cents,
                                  'refunded_cents', s.refunded_cents),
               'settled:campaign:' || c.id
          FROM settle s
    )
    INSERT INTO settlement_lines (participation_id, campaign_id,
                                  distributor_id, customer_id, status,
                                  quantity, unit_price_cents, gross_cents,
                                  forfeited_cents, commission_cents,
                                  manufacturer_cents, distributor_net_cents,
                                  pickup_point_id, leader_bp,
                                  leader_commission_cents)
    SELECT l.id, s.campaign_id, c.distributor_id, l.customer_id, l.status,
           l.quantity, l.price, l.gross, l.forfeited, l.commission,
           l.manufacturer, l.net, l.pickup_point_id, l.leader_bp, l.leader
      FROM lines l, settle s;

    UPDATE campaigns
       SET status = 'settled', updated_at = now(), version = version + 1
     WHERE id = c.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n = 1;
END $$;

-- gb_campaign_settle over an array, for gb_due_run: the ids it settled.
CREATE OR REPLACE FUNCTION gb_campaign_settle_each(p_ids bigint[]) RETURNS bigint[]
    LANGUAGE sql AS $$
    SELECT array_agg(id) FROM unnest(p_ids) id WHERE gb_campaign_settle(id)
$$;


-- Settles up to p_limit succeeded campaigns that no longer wait for a
-- balance, earliest closed first, leaving out those in backoff: one row
-- per campaign claimed. Claimed FOR UPDATE SKIP LOCKED so several
-- processes share the work; each settlement is a sub-transaction of its
-- own (functions/scheduler.sql): a campaign whose settlement fails is
-- rolled back alone and put in backoff, the others still settle.
DROP FUNCTION IF EXISTS gb_settle_due(int);
CREATE OR REPLACE FUNCTION gb_settle_due(p_limit int)
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text,
                   o_attempts integer, o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    DELETE FROM scheduler_backoff b
     WHERE b.kind = 'settle'
       AND NOT EXISTS (SELECT 1 FROM campaigns c
                        WHERE c.id = b.id AND c.status = 'succeeded');
    SELECT array_agg(d.id ORDER BY d.closed_at, d.id) INTO v_ids FROM (
        SELECT c.id, c.closed_at FROM campaigns c
         WHERE c.status = 'succeeded'
           AND NOT EXISTS (SELECT 1 FROM participations p
                            WHERE p.campaign_id = c.id
                              AND p.status = 'awaiting_payment')
           AND NOT gb_due_held('settle', c.id)
         ORDER BY c.closed_at, c.id
         LIMIT p_limit
           FOR UPDATE OF c SKIP LOCKED) d;
    RETURN QUERY
        SELECT * FROM gb_due_run('settle', 'gb_campaign_settle_each', v_ids, false);
END $$;


-- The reconciliation invariant of docs/domain.md for one campaign of any
-- status, from the live ledger and the settlement lines:
--   received   = deposit_received + balance_received
--   refunded   = refund_issued
--   split      = sum (commission + manufacturer + leader_commission +
--                distributor_net) of its settlement lines and adjustment
--                lines (0 when not settled)
--   difference = received - refunded - split
-- difference is 0 for a settled campaign, and for a failed or cancelled
-- one (received == refunded: every deposit went back). A campaign still
-- open or succeeded-but-unsettled holds money not yet split: its
-- difference is that money. No rows for an unknown campaign.
CREATE OR REPLACE FUNCTION gb_campaign_reconcile(p_campaign_id bigint,
                                      OUT received_cents bigint,
                                      OUT refunded_cents bigint,
                                      OUT split_cents bigint,
                                      OUT difference_cents bigint)
    RETURNS SETOF record
    LANGUAGE sql STABLE AS $$
    SELECT m.received, m.refunded, s.split, m.received - m.refunded - s.split
      FROM campaigns c,
           LATERAL (SELECT coalesce(sum(amount_cents) FILTER (
                               WHERE kind IN ('deposit_received',
                                              'balance_received')), 0)::bigint
                               AS received,
                           coalesce(sum(amount_cents) FILTER (
                               WHERE kind = 'refund_issued'), 0)::bigint
                               AS refunded
                      FROM ledger_entries WHERE campaign_id = c.id) m,
           LATERAL (SELECT (SELECT coalesce(sum(commission_cents + manufacturer_cents
                                                + leader_commission_cents
                                                + distributor_net_cents), 0)
                              FROM settlement_lines WHERE campaign_id = c.id)
                           + (SELECT coalesce(sum(commission_cents + manufacturer_cents
                                                  + leader_commission_cents
                                                  + distributor_net_cents), 0)
                                FROM settlement_adjustments
                               WHERE campaign_id = c.id)::bigint
                               AS split) s
     WHERE c.id = p_campaign_id
$$;

-- The totals objects of a settlement (API.md "Settlement totals after
-- adjustments"): the same keys twice.
--   "settled_totals": the figures at settled_at, as the settlement row
--     holds them (no adjustment yet: adjustments 0, returned_quantity 0).
--   "totals": the figures now: the settlement row plus every adjustment
--     line made since (gross, commission, manufacturer, leader commission
--     and distributor net move with an approved after-sales refund; the
--     units it took back are returned_quantity, quantity stays the units
--     settled), and received_cents / refunded_cents from the live ledger,
--     as gb_campaign_reconcile reads them. So received - refunded =
--     commission + manufacturer + leader + net holds on "totals" at every
--     moment, after any number of refunds.
-- Nothing is stored twice: the now-figures are sums of the rows that
-- moved them, read in the statement's one snapshot.
CREATE OR REPLACE FUNCTION gb_settlement_totals_object(
        p_lines bigint, p_quantity bigint, p_gross bigint, p_forfeited bigint,
        p_commission bigint, p_manufacturer bigint, p_leader bigint,
        p_net bigint, p_received bigint, p_refunded bigint,
        p_adjustments bigint, p_returned bigint) RETURNS json
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT json_build_object(
              'lines', p_lines, 'quantity', p_quantity,
              'gross_cents', p_gross, 'forfeited_cents', p_forfeited,
              'commission_cents', p_commission,
              'manufacturer_cents', p_manufacturer,
              'leader_commission_cents', p_leader,
              'distributor_net_cents', p_net,
              'received_cents', p_received, 'refunded_cents', p_refunded,
              'adjustments', p_adjustments,
              'returned_quantity', p_returned) $$;

-- The "settled_totals" object of a settlement: the figures at settled_at.
CREATE OR REPLACE FUNCTION gb_settlement_totals_json(s settlements) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT gb_settlement_totals_object(
              s.lines, s.quantity, s.gross_cents, s.forfeited_cents,
              s.commission_cents, s.manufacturer_cents,
              s.leader_commission_cents, s.distributor_net_cents,
              s.received_cents, s.refunded_cents, 0, 0) $$;

-- The "totals" object of a settlement: the figures now.
CREATE OR REPLACE FUNCTION gb_settlement_totals_now_json(s settlements) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT gb_settlement_totals_object(
              s.lines, s.quantity, s.gross_cents + a.gross,
              s.forfeited_cents, s.commission_cents + a.commission,
              s.manufacturer_cents + a.manufacturer,
              s.leader_commission_cents + a.leader,
              s.distributor_net_cents + a.net, m.received, m.refunded,
              a.n, a.returned)
            FROM (SELECT count(*) AS n,
                         coalesce(sum(x.returned_quantity), 0)::bigint AS returned,
                         coalesce(sum(x.gross_cents), 0)::bigint AS gross,
                         coalesce(sum(x.commission_cents), 0)::bigint AS commission,
                         coalesce(sum(x.manufacturer_cents), 0)::bigint AS manufacturer,
                         coalesce(sum(x.leader_commission_cents), 0)::bigint AS leader,
                         coalesce(sum(x.distributor_net_cents), 0)::bigint AS net
                    FROM settlement_adjustments x
                   WHERE x.campaign_id = s.campaign_id) a,
                 (SELECT coalesce(sum(l.amount_cents) FILTER (
                             WHERE l.kind IN ('deposit_received',
                                              'balance_received')), 0)::bigint
                             AS received,
                         coalesce(sum(l.amount_cents) FILTER (
                             WHERE l.kind = 'refund_issued'), 0)::bigint
                             AS refunded
                    FROM ledger_entries l
                   WHERE l.campaign_id = s.campaign_id) m $$;

-- A settlement without its lines (the list item): both totals.
CREATE OR REPLACE FUNCTION gb_settlement_json(s settlements) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'campaign_id', s.campaign_id,
              'campaign_title', (SELECT title FROM campaigns
                                  WHERE id = s.campaign_id),
              'settled_at', gb_ts(s.settled_at),
              'unit_price_cents', s.unit_price_cents,
              'commission_bp', s.commission_bp,
              'totals', gb_settlement_totals_now_json(s),
              'settled_totals', gb_settlement_totals_json(s)) $$;

CREATE OR REPLACE FUNCTION gb_settlement_line_json(l settlement_lines) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'participation_id', l.participation_id,
              'customer_id', l.customer_id, 'status', l.status,
              'quantity', l.quantity, 'unit_price_cents', l.unit_price_cents,
              'gross_cents', l.gross_cents,
              'forfeited_cents', l.forfeited_cents,
              'commission_cents', l.commission_cents,
              'manufacturer_cents', l.manufacturer_cents,
              'leader_commission_cents', l.leader_commission_cents,
              'pickup_point_id', l.pickup_point_id,
              'distributor_net_cents', l.distributor_net_cents) $$;

-- A settlement with its lines in participation id order (the detail).
CREATE OR REPLACE FUNCTION gb_settlement_full_json(s settlements) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'campaign_id', s.campaign_id,
              'campaign_title', (SELECT title FROM campaigns
                                  WHERE id = s.campaign_id),
              'settled_at', gb_ts(s.settled_at),
              'unit_price_cents', s.unit_price_cents,
              'commission_bp', s.commission_bp,
              'lines', coalesce((SELECT json_agg(gb_settlement_line_json(l)
                                                 ORDER BY l.participation_id)
                                   FROM settlement_lines l
                                  WHERE l.campaign_id = s.campaign_id),
                                '[]'::json),
              'adjustments', coalesce((SELECT json_agg(gb_settlement_adjustment_json(a)
                                                       ORDER BY a.id)
                                         FROM settlement_adjustments a
                                        WHERE a.campaign_id = s.campaign_id),
                                      '[]'::json),
              'totals', gb_settlement_totals_now_json(s),
              'settled_totals', gb_settlement_totals_json(s)) $$;

-- An adjustment line (an after-sales refund approved after settlement).
CREATE OR REPLACE FUNCTION gb_settlement_adjustment_json(a settlement_adjustments) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'id', a.id, 'after_sales_id', a.after_sales_id,
              'participation_id', a.participation_id,
              'customer_id', a.customer_id, 'status', 'adjustment',
              'adjusted_at', gb_ts(a.adjusted_at),
              'returned_quantity', a.returned_quantity,
              'unit_price_cents', a.unit_price_cents,
              'gross_cents', a.gross_cents,
              'commission_cents', a.commission_cents,
              'manufacturer_cents', a.manufacturer_cents,
              'leader_commission_cents', a.leader_commission_cents,
              'distributor_net_cents', a.distributor_net_cents,
              'refunded_cents', -a.gross_cents) $$;

-- An adjustment line as the period's list of adjustments shows it (the
-- finance screen puts it under its campaign): with the campaign's title
-- and the settlement's own date.
CREATE OR REPLACE FUNCTION gb_settlement_adjustment_item_json(a settlement_adjustments) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT (gb_settlement_adjustment_json(a)::jsonb
                  || jsonb_build_object(
                         'campaign_id', a.campaign_id,
                         'campaign_title', c.title,
                         'settled_at', gb_ts(s.settled_at)))::json
            FROM campaigns c, settlements s
           WHERE c.id = a.campaign_id AND s.campaign_id = a.campaign_id $$;

