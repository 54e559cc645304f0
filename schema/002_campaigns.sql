-- The group-buy lifecycle: products, campaigns, participations, the
-- customer history that reliability is scored from, payments, the ledger
-- and the outbox. Invariants live here as constraints and triggers, so no
-- code path (or second server process) can break them:
--   * no oversell: campaigns.live_quantity <= max_quantity (CHECK), and the
--     live counters are maintained by a statement-level trigger from the
--     participations themselves;
--   * one live participation per customer and campaign (partial UNIQUE);
--   * one history event of a kind per participation, one ledger entry per
--     movement (UNIQUE), so a transition replayed after a crash or by a
--     second process cannot double-count.


CREATE TABLE products (
    id               bigserial PRIMARY KEY,
    distributor_id   bigint NOT NULL REFERENCES distributors (id),
    sku              text NOT NULL CHECK (char_length(sku) BETWEEN 1 AND 64),
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    list_price_cents bigint NOT NULL CHECK (list_price_cents >= 1),
    cost_price_cents bigint NOT NULL CHECK (cost_price_cents >= 0),
    stock            bigint NOT NULL CHECK (stock >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (distributor_id, sku),
    UNIQUE (distributor_id, id)
);

CREATE TABLE campaigns (
    id                     bigserial PRIMARY KEY,
    distributor_id         bigint NOT NULL REFERENCES distributors (id),
    product_id             bigint NOT NULL,
    title                  text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description            text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    status                 text NOT NULL DEFAULT 'draft' CHECK (status IN
                             ('draft', 'scheduled', 'open', 'succeeded', 'failed',
                              'cancelled', 'settled')),
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    tier_basis             text NOT NULL CHECK (tier_basis IN ('participants', 'quantity')),
    tiers                  jsonb NOT NULL CHECK (jsonb_typeof(tiers) = 'array'),
    min_participants       integer NOT NULL CHECK (min_participants >= 1),
    max_quantity           bigint NOT NULL CHECK (max_quantity >= 1),
    per_customer_limit     bigint NOT NULL CHECK (per_customer_limit >= 1
                                                  AND per_customer_limit <= max_quantity),
    deposit_policy         jsonb NOT NULL CHECK (jsonb_typeof(deposit_policy) = 'array'),
    min_score              integer NOT NULL DEFAULT 0 CHECK (min_score BETWEEN 0 AND 100),
    deposit_window_seconds integer NOT NULL DEFAULT 900 CHECK (deposit_window_seconds > 0),
    payment_window_seconds integer NOT NULL DEFAULT 86400 CHECK (payment_window_seconds > 0),
    -- live counters: pending_deposit + active participations (trigger-kept)
    live_participants      integer NOT NULL DEFAULT 0 CHECK (live_participants >= 0),
    live_quantity          bigint NOT NULL DEFAULT 0
                             CONSTRAINT campaigns_no_oversell
                             CHECK (live_quantity >= 0 AND live_quantity <= max_quantity),
    final_unit_price_cents bigint CHECK (final_unit_price_cents >= 1),
    closed_at              timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    version                integer NOT NULL DEFAULT 1,
    CHECK (starts_at < ends_at),
    FOREIGN KEY (distributor_id, product_id) REFERENCES products (distributor_id, id),
    UNIQUE (distributor_id, id)
);
CREATE INDEX campaigns_distributor_status ON campaigns (distributor_id, status, id);
CREATE INDEX campaigns_public ON campaigns (status, id)
    WHERE status IN ('scheduled', 'open', 'succeeded', 'failed');
-- the scheduler's due work
CREATE INDEX campaigns_due_open ON campaigns (starts_at) WHERE status = 'scheduled';
CREATE INDEX campaigns_due_close ON campaigns (ends_at) WHERE status = 'open';

CREATE TABLE customer_vip (
    distributor_id bigint NOT NULL REFERENCES distributors (id),
    customer_id    bigint NOT NULL REFERENCES customers (id),
    vip_level      integer NOT NULL CHECK (vip_level BETWEEN 0 AND 3),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (distributor_id, customer_id)
);

CREATE TABLE participations (
    id                 bigserial PRIMARY KEY,
    distributor_id     bigint NOT NULL,
    campaign_id        bigint NOT NULL,
    customer_id        bigint NOT NULL REFERENCES customers (id),
    quantity           bigint NOT NULL CHECK (quantity >= 1),
    status             text NOT NULL CHECK (status IN
                         ('pending_deposit', 'active', 'withdrawn', 'expired',
                          'awaiting_payment', 'paid', 'defaulted', 'refunded', 'void')),
    score_at_join      integer NOT NULL CHECK (score_at_join BETWEEN 0 AND 100),
    p_complete_at_join double precision NOT NULL
                         CHECK (p_complete_at_join >= 0 AND p_complete_at_join <= 1),
    deposit_percent    integer NOT NULL CHECK (deposit_percent BETWEEN 0 AND 100),
    deposit_cents      bigint NOT NULL CHECK (deposit_cents >= 0),
    deposit_paid_cents bigint NOT NULL DEFAULT 0
                         CHECK (deposit_paid_cents >= 0 AND deposit_paid_cents <= deposit_cents),
    deposit_due_by     timestamptz,
    unit_price_cents   bigint,   -- final unit price, set at close
    balance_paid_cents bigint NOT NULL DEFAULT 0 CHECK (balance_paid_cents >= 0),
    pay_by             timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id)
);
CREATE UNIQUE INDEX participations_one_live ON participations (campaign_id, customer_id)
    WHERE status IN ('pending_deposit', 'active');
CREATE INDEX participations_campaign ON participations (campaign_id, id);
CREATE INDEX participations_customer ON participations (customer_id, id);
CREATE INDEX participations_due_deposit ON participations (deposit_due_by)
    WHERE status = 'pending_deposit';
CREATE INDEX participations_due_payment ON participations (pay_by)
    WHERE status = 'awaiting_payment';

-- Keeps campaigns.live_* equal to the live participations, for every
-- statement that inserts or changes participations, in one UPDATE per
-- campaign per statement. The CHECK on campaigns refuses an oversell.
CREATE FUNCTION gb_participations_count() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE campaigns c
           SET live_participants = c.live_participants + d.n,
               live_quantity = c.live_quantity + d.q
          FROM (SELECT campaign_id, count(*)::int AS n, sum(quantity) AS q
                  FROM new_rows WHERE status IN ('pending_deposit', 'active')
                 GROUP BY campaign_id) d
         WHERE c.id = d.campaign_id;
    ELSE
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
         WHERE c.id = d.campaign_id AND (d.n <> 0 OR d.q <> 0);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER participations_count_insert AFTER INSERT ON participations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gb_participations_count();
CREATE TRIGGER participations_count_update AFTER UPDATE ON participations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gb_participations_count();

-- A customer's history, the input of the reliability score.
CREATE TABLE customer_events (
    id               bigserial PRIMARY KEY,
    customer_id      bigint NOT NULL REFERENCES customers (id),
    distributor_id   bigint NOT NULL REFERENCES distributors (id),
    participation_id bigint NOT NULL REFERENCES participations (id),
    kind             text NOT NULL CHECK (kind IN
                       ('completed', 'withdrawn', 'defaulted', 'deposit_expired')),
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (participation_id, kind)
);
CREATE INDEX customer_events_customer ON customer_events (customer_id, kind);

CREATE TABLE payments (
    id               bigserial PRIMARY KEY,
    distributor_id   bigint NOT NULL,
    participation_id bigint NOT NULL REFERENCES participations (id),
    kind             text NOT NULL CHECK (kind IN ('deposit', 'balance')),
    amount_cents     bigint NOT NULL CHECK (amount_cents >= 1),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN
                       ('pending', 'succeeded', 'failed', 'refunded')),
    provider_ref     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_participation ON payments (participation_id);

-- Every webhook delivery as received, for audit and replay safety.
CREATE TABLE payment_events (
    id           bigserial PRIMARY KEY,
    payment_id   bigint,
    provider_ref text,
    status       text NOT NULL,
    amount_cents bigint,
    outcome      text NOT NULL,
    body         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Money movements: immutable, one row per movement (movement_key unique).
-- Positive amounts only; the kind says the direction.
CREATE TABLE ledger_entries (
    id               bigserial PRIMARY KEY,
    distributor_id   bigint NOT NULL REFERENCES distributors (id),
    campaign_id      bigint NOT NULL,
    participation_id bigint REFERENCES participations (id),
    payment_id       bigint REFERENCES payments (id),
    kind             text NOT NULL CHECK (kind IN
                       ('deposit_received', 'balance_received', 'refund_issued',
                        'deposit_forfeited', 'commission', 'manufacturer_payable',
                        'distributor_net')),
    amount_cents     bigint NOT NULL,
    movement_key     text NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_campaign ON ledger_entries (campaign_id, kind);

CREATE FUNCTION gb_ledger_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable';
END $$;
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION gb_ledger_immutable();

-- Notifications and refunds for downstream senders, written in the
-- transaction of the change they announce.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    distributor_id  bigint NOT NULL REFERENCES distributors (id),
    kind            text NOT NULL,
    customer_id     bigint,
    campaign_id     bigint,
    participation_id bigint,
    payload         jsonb NOT NULL DEFAULT '{}',
    idempotency_key text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_distributor ON outbox (distributor_id, id);
