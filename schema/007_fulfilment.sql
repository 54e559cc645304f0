-- 007_fulfilment.sql - fulfilment and after-sales (issue 13): pickup
-- points, the fulfilment terms of a campaign, the choice a participation
-- makes when joining, orders, after-sales requests, the leader's
-- commission in settlement and the adjustment lines of refunds approved
-- after a campaign settled. Functions and triggers: functions/orders.sql,
-- functions/aftersales.sql, functions/settle.sql.
--
-- Invariants held here:
--   * a pickup campaign names at least one pickup point, a delivery
--     campaign none (campaigns_fulfilment_points);
--   * a participation's pickup point is one of its distributor's
--     (composite FK); that it is one of the campaign's is the join's
--     decision (functions/join.sql);
--   * one order per participation (UNIQUE), whose statuses follow its
--     fulfilment and which cannot be past to_ship without an address
--     (delivery) (orders_* CHECKs);
--   * at most one pending after-sales request per order (partial UNIQUE);
--   * settlements still reconcile, now with the leader's commission:
--     received - refunded = commission + manufacturer + leader + net, and
--     each adjustment line splits its (negative) gross the same way.

CREATE TABLE pickup_points (
    id             bigserial PRIMARY KEY,
    distributor_id bigint NOT NULL REFERENCES distributors (id),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    address        text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 500),
    leader_name    text NOT NULL CHECK (char_length(leader_name) BETWEEN 1 AND 64),
    leader_phone   text NOT NULL CHECK (char_length(leader_phone) BETWEEN 1 AND 32),
    commission_bp  integer NOT NULL CHECK (commission_bp BETWEEN 0 AND 10000),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (distributor_id, id)
);

-- The points of a campaign are an array: a campaign names a handful, the
-- join checks membership with = ANY, and points are never deleted (only
-- deactivated), so no row can vanish from under the array.
ALTER TABLE campaigns
    ADD COLUMN fulfilment text NOT NULL DEFAULT 'delivery'
        CHECK (fulfilment IN ('delivery', 'pickup')),
    ADD COLUMN pickup_point_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN after_sales_days integer NOT NULL DEFAULT 7
        CHECK (after_sales_days BETWEEN 0 AND 30),
    ADD CONSTRAINT campaigns_fulfilment_points CHECK (
        (fulfilment = 'pickup') = (cardinality(pickup_point_ids) > 0)
        AND cardinality(pickup_point_ids) <= 50);

-- What the customer chose when joining: a pickup point, or an optional
-- delivery address {name, phone, region, line}.
ALTER TABLE participations
    ADD COLUMN pickup_point_id bigint,
    ADD COLUMN address jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),
    ADD CONSTRAINT participations_pickup_point
        FOREIGN KEY (distributor_id, pickup_point_id)
        REFERENCES pickup_points (distributor_id, id);

CREATE TABLE orders (
    id                  bigserial PRIMARY KEY,
    distributor_id      bigint NOT NULL,
    participation_id    bigint NOT NULL UNIQUE REFERENCES participations (id),
    campaign_id         bigint NOT NULL,
    customer_id         bigint NOT NULL REFERENCES customers (id),
    quantity            bigint NOT NULL CHECK (quantity >= 1),
    fulfilment          text NOT NULL CHECK (fulfilment IN ('delivery', 'pickup')),
    status              text NOT NULL DEFAULT 'to_ship' CHECK (status IN
                          ('to_ship', 'shipped', 'delivered',
                           'ready_for_pickup', 'picked_up')),
    pickup_point_id     bigint,
    address             jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),
    carrier             text CHECK (char_length(carrier) BETWEEN 1 AND 64),
    tracking_no         text CHECK (char_length(tracking_no) BETWEEN 1 AND 64),
    shipped_at          timestamptz,
    ready_at            timestamptz,
    completed_at        timestamptz,
    -- The pickup code: only its salted SHA-256 here (staff statements read
    -- this table); the code itself is in order_pickup_codes for the
    -- customer's view.
    pickup_code_salt    bytea CHECK (length(pickup_code_salt) = 16),
    pickup_code_sha256  bytea CHECK (length(pickup_code_sha256) = 32),
    pickup_failures     integer NOT NULL DEFAULT 0 CHECK (pickup_failures >= 0),
    pickup_locked_until timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id),
    FOREIGN KEY (distributor_id, pickup_point_id) REFERENCES pickup_points (distributor_id, id),
    UNIQUE (distributor_id, id),
    CONSTRAINT orders_pickup_point CHECK ((fulfilment = 'pickup') = (pickup_point_id IS NOT NULL)),
    CONSTRAINT orders_status_kind CHECK (
        status = 'to_ship'
        OR (fulfilment = 'delivery' AND status IN ('shipped', 'delivered'))
        OR (fulfilment = 'pickup' AND status IN ('ready_for_pickup', 'picked_up'))),
    CONSTRAINT orders_shipped_address CHECK (
        status NOT IN ('shipped', 'delivered')
        OR (address IS NOT NULL AND carrier IS NOT NULL AND tracking_no IS NOT NULL)),
    CONSTRAINT orders_ready_code CHECK (
        status NOT IN ('ready_for_pickup', 'picked_up')
        OR (pickup_code_sha256 IS NOT NULL AND pickup_code_salt IS NOT NULL))
);
CREATE INDEX orders_campaign ON orders (campaign_id, pickup_point_id, status, id);
CREATE INDEX orders_customer ON orders (customer_id, id);
CREATE INDEX orders_distributor ON orders (distributor_id, id);

-- The customer's copy of a pickup code, read only by customer-scoped
-- statements (api_orders.c): staff routes never select from it.
CREATE TABLE order_pickup_codes (
    order_id    bigint PRIMARY KEY REFERENCES orders (id),
    customer_id bigint NOT NULL REFERENCES customers (id),
    code        text NOT NULL CHECK (code ~ '^[0-9]{6}$')
);

CREATE TABLE after_sales (
    id                bigserial PRIMARY KEY,
    distributor_id    bigint NOT NULL,
    order_id          bigint NOT NULL REFERENCES orders (id),
    participation_id  bigint NOT NULL REFERENCES participations (id),
    campaign_id       bigint NOT NULL,
    customer_id       bigint NOT NULL REFERENCES customers (id),
    reason            text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    quantity          bigint NOT NULL CHECK (quantity >= 0 AND quantity <= 1000000),
    amount_cents      bigint NOT NULL CHECK (amount_cents >= 1),
    status            text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'approved', 'rejected')),
    approved_cents    bigint CHECK (approved_cents >= 1),
    returned_quantity bigint CHECK (returned_quantity >= 0),
    note              text CHECK (char_length(note) <= 1000),
    decided_by        bigint REFERENCES staff (id),
    decided_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id),
    CONSTRAINT after_sales_approved CHECK (
        (status = 'approved') = (approved_cents IS NOT NULL AND returned_quantity IS NOT NULL))
);
CREATE UNIQUE INDEX after_sales_one_open ON after_sales (order_id) WHERE status = 'pending';
CREATE INDEX after_sales_distributor ON after_sales (distributor_id, status, id);
CREATE INDEX after_sales_participation ON after_sales (participation_id) WHERE status = 'approved';

-- The leader's commission: per line, in the totals, in the ledger.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN
    ('deposit_received', 'balance_received', 'refund_issued', 'deposit_forfeited',
     'commission', 'manufacturer_payable', 'distributor_net', 'leader_commission'));

ALTER TABLE settlement_lines
    ADD COLUMN pickup_point_id bigint,
    ADD COLUMN leader_bp integer NOT NULL DEFAULT 0 CHECK (leader_bp BETWEEN 0 AND 10000),
    ADD COLUMN leader_commission_cents bigint NOT NULL DEFAULT 0
        CHECK (leader_commission_cents >= 0),
    DROP CONSTRAINT settlement_lines_split,
    ADD CONSTRAINT settlement_lines_split CHECK (
        commission_cents + manufacturer_cents + leader_commission_cents
            + distributor_net_cents = gross_cents + forfeited_cents);

ALTER TABLE settlements
    ADD COLUMN leader_commission_cents bigint NOT NULL DEFAULT 0
        CHECK (leader_commission_cents >= 0),
    DROP CONSTRAINT settlements_split,
    DROP CONSTRAINT settlements_reconcile,
    ADD CONSTRAINT settlements_split CHECK (
        commission_cents + manufacturer_cents + leader_commission_cents
            + distributor_net_cents = gross_cents + forfeited_cents),
    ADD CONSTRAINT settlements_reconcile CHECK (
        received_cents - refunded_cents
            = commission_cents + manufacturer_cents + leader_commission_cents
              + distributor_net_cents);

-- An after-sales refund approved once its campaign settled: a line of
-- negative amounts dated at the approval, exported in that period.
CREATE TABLE settlement_adjustments (
    id                      bigserial PRIMARY KEY,
    after_sales_id          bigint NOT NULL UNIQUE REFERENCES after_sales (id),
    campaign_id             bigint NOT NULL REFERENCES settlements (campaign_id),
    distributor_id          bigint NOT NULL,
    participation_id        bigint NOT NULL REFERENCES participations (id),
    customer_id             bigint NOT NULL REFERENCES customers (id),
    adjusted_at             timestamptz NOT NULL DEFAULT now(),
    returned_quantity       bigint NOT NULL CHECK (returned_quantity >= 0),
    unit_price_cents        bigint NOT NULL CHECK (unit_price_cents >= 1),
    gross_cents             bigint NOT NULL CHECK (gross_cents <= -1),
    commission_cents        bigint NOT NULL CHECK (commission_cents <= 0),
    manufacturer_cents      bigint NOT NULL CHECK (manufacturer_cents <= 0),
    leader_commission_cents bigint NOT NULL CHECK (leader_commission_cents <= 0),
    distributor_net_cents   bigint NOT NULL,
    CONSTRAINT settlement_adjustments_split CHECK (
        commission_cents + manufacturer_cents + leader_commission_cents
            + distributor_net_cents = gross_cents)
);
CREATE INDEX settlement_adjustments_campaign ON settlement_adjustments (campaign_id, id);
CREATE INDEX settlement_adjustments_period ON settlement_adjustments (distributor_id, adjusted_at, id);
