-- The baseline: every table, index and constraint of groupbuyd as of its
-- first release. Functions and triggers are not here: they live in
-- schema/functions/, which `groupbuyd migrate` applies after the numbered
-- migrations (schema/README).
--
-- Invariants live here as constraints, so no code path (or second server
-- process) can break them:
--   * no oversell: campaigns.live_quantity <= max_quantity (CHECK
--     campaigns_no_oversell); the live counters are kept by a
--     statement-level trigger from the participations themselves
--     (functions/participations.sql);
--   * one live participation per customer and campaign (partial UNIQUE
--     participations_one_live);
--   * one history event of a kind per participation, one ledger entry per
--     money movement (UNIQUE movement_key), one outbox row per idempotency
--     key, one settlement per campaign and one settlement line per
--     participation (primary keys), so a transition replayed after a crash
--     or by a second process cannot double-count;
--   * ledger entries are immutable (trigger, functions/payments.sql);
--   * a settlement reconciles: money received minus money refunded equals
--     what was split (CHECK settlements_reconcile).
-- Money is integer minor units (bigint *_cents) everywhere. Every
-- tenant-owned row carries distributor_id, so the schema can later be
-- sharded by distributor.


-- Identity -----------------------------------------------------------------

CREATE TABLE distributors (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    commission_bp integer NOT NULL CHECK (commission_bp BETWEEN 0 AND 10000),
    currency      text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff (
    id             bigserial PRIMARY KEY,
    distributor_id bigint NOT NULL REFERENCES distributors (id),
    login          text NOT NULL UNIQUE CHECK (char_length(login) BETWEEN 1 AND 254),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('owner', 'operator', 'finance')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_distributor ON staff (distributor_id);

CREATE TABLE customers (
    id            bigserial PRIMARY KEY,
    login         text NOT NULL UNIQUE CHECK (char_length(login) BETWEEN 1 AND 254),
    password_hash text NOT NULL,
    display_name  text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 64),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a token is stored; the token itself is shown once.
CREATE TABLE sessions (
    token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    staff_id     bigint REFERENCES staff (id),
    customer_id  bigint REFERENCES customers (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    CHECK ((staff_id IS NULL) <> (customer_id IS NULL))
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed logins, for throttling (10 a minute per login).
CREATE TABLE login_failures (
    id         bigserial PRIMARY KEY,
    realm      text NOT NULL CHECK (realm IN ('staff', 'customer')),
    login      text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_recent ON login_failures (realm, login, failed_at);

-- Idempotency: one row per (principal, method+route, key). `response_status`
-- is NULL while the first request runs, so a concurrent second one sees the
-- row and answers 409 instead of running twice.
CREATE TABLE idempotency_keys (
    principal       text NOT NULL,
    route           text NOT NULL,
    key             text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_sha256  bytea NOT NULL,
    response_status integer,
    response_body   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, route, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Every staff write: who, when, what; for edits the fields before and after.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    distributor_id bigint REFERENCES distributors (id),
    staff_id       bigint REFERENCES staff (id),
    actor          text NOT NULL,
    action         text NOT NULL,
    entity         text NOT NULL,
    entity_id      bigint,
    before         jsonb,
    after          jsonb,
    request_id     text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_distributor ON audit_log (distributor_id, id);


-- Products and campaigns ---------------------------------------------------

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

-- `version` is optimistic concurrency: every change of a campaign's state
-- or terms (not of its live counters) adds one, and a staff edit or a join
-- batch that decided on an older version is refused or decided again.
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


-- Participations and the customer history ----------------------------------

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
-- The scheduler asks every pass which succeeded campaigns still wait for a
-- balance: a probe of this index, however many participations they have.
CREATE INDEX participations_awaiting ON participations (campaign_id)
    WHERE status = 'awaiting_payment';

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


-- Money: payments and the ledger -------------------------------------------

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
-- An intent asked for again while one of the same kind and amount is still
-- pending answers that one (functions/payments.sql).
CREATE INDEX payments_pending ON payments (participation_id, kind, amount_cents)
    WHERE status = 'pending';

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

-- Money movements: immutable (trigger, functions/payments.sql), one row per
-- movement (movement_key unique). Positive amounts, except a settlement's
-- distributor_net, which may be negative; the kind says the direction. The
-- movement keys are listed in functions/transitions.sql and settle.sql.
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


-- The outbox ---------------------------------------------------------------

-- Notifications and refunds for downstream senders, written in the
-- transaction of the change they announce. xact_id is the writer's
-- top-level transaction (pg_current_xact_id() is the top-level xid even
-- inside a subtransaction, e.g. a plpgsql EXCEPTION block), filled by the
-- default so that no writer has to know: the staff feed orders by
-- (xact_id, id) and so never skips a row (functions/feed.sql says why).
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    distributor_id  bigint NOT NULL REFERENCES distributors (id),
    kind            text NOT NULL,
    customer_id     bigint,
    campaign_id     bigint,
    participation_id bigint,
    payload         jsonb NOT NULL DEFAULT '{}',
    idempotency_key text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    xact_id         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX outbox_distributor ON outbox (distributor_id, id);
CREATE INDEX outbox_feed ON outbox (distributor_id, xact_id, id);


-- Settlements (结算) ---------------------------------------------------------

-- One settlement per succeeded campaign, one line per paid or defaulted
-- participation. Exactly-once is the primary keys: a second settlement of
-- a campaign, or a second line of a participation, cannot be written. The
-- reconciliation invariant is a CHECK: money received minus money refunded
-- equals what was split.
CREATE TABLE settlements (
    campaign_id           bigint PRIMARY KEY,
    distributor_id        bigint NOT NULL,
    settled_at            timestamptz NOT NULL DEFAULT now(),
    unit_price_cents      bigint NOT NULL CHECK (unit_price_cents >= 1),
    commission_bp         integer NOT NULL CHECK (commission_bp BETWEEN 0 AND 10000),
    lines                 integer NOT NULL CHECK (lines >= 0),
    quantity              bigint NOT NULL CHECK (quantity >= 0),
    gross_cents           bigint NOT NULL CHECK (gross_cents >= 0),
    forfeited_cents       bigint NOT NULL CHECK (forfeited_cents >= 0),
    commission_cents      bigint NOT NULL CHECK (commission_cents >= 0),
    manufacturer_cents    bigint NOT NULL CHECK (manufacturer_cents >= 0),
    distributor_net_cents bigint NOT NULL,
    received_cents        bigint NOT NULL CHECK (received_cents >= 0),
    refunded_cents        bigint NOT NULL CHECK (refunded_cents >= 0),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id),
    CONSTRAINT settlements_split CHECK (
        commission_cents + manufacturer_cents + distributor_net_cents
            = gross_cents + forfeited_cents),
    CONSTRAINT settlements_reconcile CHECK (
        received_cents - refunded_cents
            = commission_cents + manufacturer_cents + distributor_net_cents)
);
CREATE INDEX settlements_period ON settlements (distributor_id, settled_at, campaign_id);

CREATE TABLE settlement_lines (
    participation_id      bigint PRIMARY KEY REFERENCES participations (id),
    campaign_id           bigint NOT NULL REFERENCES settlements (campaign_id),
    distributor_id        bigint NOT NULL,
    customer_id           bigint NOT NULL REFERENCES customers (id),
    status                text NOT NULL CHECK (status IN ('paid', 'defaulted')),
    quantity              bigint NOT NULL CHECK (quantity >= 1),
    unit_price_cents      bigint NOT NULL CHECK (unit_price_cents >= 1),
    gross_cents           bigint NOT NULL CHECK (gross_cents >= 0),
    forfeited_cents       bigint NOT NULL CHECK (forfeited_cents >= 0),
    commission_cents      bigint NOT NULL CHECK (commission_cents >= 0),
    manufacturer_cents    bigint NOT NULL CHECK (manufacturer_cents >= 0),
    distributor_net_cents bigint NOT NULL,
    CONSTRAINT settlement_lines_split CHECK (
        commission_cents + manufacturer_cents + distributor_net_cents
            = gross_cents + forfeited_cents)
);
CREATE INDEX settlement_lines_campaign ON settlement_lines (campaign_id, participation_id);
