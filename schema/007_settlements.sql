-- Settlement (结算): one settlement per succeeded campaign, one line per
-- paid or defaulted participation. Exactly-once is the primary keys: a
-- second settlement of a campaign, or a second line of a participation,
-- cannot be written. The reconciliation invariant of DESIGN.md is a CHECK:
-- money received minus money refunded equals what was split.

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
