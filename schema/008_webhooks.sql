-- Outbound webhooks (issue 12): the outbox speaks API.md's event type
-- names, campaigns remember which tier and threshold they have announced,
-- distributors register endpoints, the relay keeps one delivery row per
-- (event, endpoint) with every attempt logged, and invitations are kept
-- once per customer and campaign.

-- Event kinds become the API's type names. 'deposit_due' is no longer
-- written (participation.created carries the deposit and its due time);
-- its old rows keep their ids, so that a feed cursor on one stays valid,
-- under a type of their own.
UPDATE outbox SET kind = CASE kind
    WHEN 'joined' THEN 'participation.created'
    WHEN 'deposit_due' THEN 'participation.deposit_due'
    WHEN 'deposit_paid' THEN 'participation.activated'
    WHEN 'deposit_expired' THEN 'participation.expired'
    WHEN 'withdrawn' THEN 'participation.withdrawn'
    WHEN 'balance_due' THEN 'participation.balance_due'
    WHEN 'paid' THEN 'participation.paid'
    WHEN 'defaulted' THEN 'participation.defaulted'
    WHEN 'refunded' THEN 'participation.refunded'
    WHEN 'campaign_succeeded' THEN 'campaign.succeeded'
    WHEN 'campaign_failed' THEN 'campaign.failed'
    WHEN 'campaign_cancelled' THEN 'campaign.cancelled'
    WHEN 'settled' THEN 'campaign.settled'
    ELSE kind END
 WHERE kind NOT LIKE '%.%';

-- The highest tier threshold and whether min_participants has been
-- announced: campaign.tier_reached / threshold_reached fire once, when the
-- live count first reaches them, not again after a withdrawal and a rejoin.
ALTER TABLE campaigns
    ADD COLUMN announced_tier bigint NOT NULL DEFAULT 0,
    ADD COLUMN announced_threshold boolean NOT NULL DEFAULT false;

-- An endpoint of one distributor. events: the patterns it subscribes to
-- (an API type, or 'prefix.*'). secret signs every body (stored as the
-- payment webhook secret is: the database is the trust boundary; README).
-- (cursor_xact, cursor_id): the last outbox row fanned out to it, in the
-- feed's (xact_id, id) order (functions/feed.sql says why not by id).
-- failing_since: the first attempt of the current run of failures.
CREATE TABLE webhook_endpoints (
    id             bigserial PRIMARY KEY,
    distributor_id bigint NOT NULL REFERENCES distributors (id),
    url            text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    events         text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
    description    text NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    secret         text NOT NULL,
    enabled        boolean NOT NULL DEFAULT true,
    failing_since  timestamptz,
    cursor_xact    xid8 NOT NULL DEFAULT pg_current_xact_id(),
    cursor_id      bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_distributor ON webhook_endpoints (distributor_id, id);

-- One event to one endpoint. participation_id / campaign_id are copied
-- from the event for the ordering rule (a delivery waits while an earlier
-- one of the same participation or campaign to the same endpoint is
-- pending). window_start: when the 24 h of retries began (the fan-out, or
-- a manual retry). lease_until: a relay process holds it until then; an
-- expired lease (a process killed mid-request) makes it claimable again.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    endpoint_id      bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES outbox (id),
    participation_id bigint,
    campaign_id      bigint,
    status           text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    window_start     timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
-- The ordering tests of the claim (functions/webhooks.sql) probe these by
-- participation or campaign first: with the endpoint first, a planner
-- without statistics yet (a new table, a burst of events) took the
-- campaign index for the participation probe and read every pending row
-- of the endpoint per probe (0.9 s a claim at 3,000 pending).
CREATE INDEX webhook_deliveries_part ON webhook_deliveries (participation_id, endpoint_id, id)
    WHERE status = 'pending' AND participation_id IS NOT NULL;
CREATE INDEX webhook_deliveries_camp ON webhook_deliveries (campaign_id, endpoint_id, id)
    WHERE status = 'pending' AND campaign_id IS NOT NULL;
-- the campaign-level events alone: a participation's event waits only for
-- those of its campaign (not for the campaign's other participations)
CREATE INDEX webhook_deliveries_camp_only ON webhook_deliveries (campaign_id, endpoint_id, id)
    WHERE status = 'pending' AND campaign_id IS NOT NULL AND participation_id IS NULL;
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (endpoint_id, status, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Every attempt: HTTP status (NULL when none came back) and error.
CREATE TABLE webhook_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    status_code integer,
    error       text,
    duration_ms integer NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
CREATE INDEX webhook_attempts_age ON webhook_attempts (finished_at);

-- One invitation per customer and campaign (campaign.invitation).
CREATE TABLE campaign_invitations (
    campaign_id    bigint NOT NULL REFERENCES campaigns (id),
    customer_id    bigint NOT NULL REFERENCES customers (id),
    distributor_id bigint NOT NULL REFERENCES distributors (id),
    invited_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, customer_id)
);

-- What existing campaigns have already reached counts as announced, so
-- that the first join after this migration does not announce old news.
UPDATE campaigns c
   SET announced_threshold = c.live_participants >= c.min_participants,
       announced_tier = coalesce((
           SELECT max((t ->> 'threshold')::bigint)
             FROM jsonb_array_elements(c.tiers) t
            WHERE (t ->> 'threshold')::bigint <=
                  CASE c.tier_basis WHEN 'quantity' THEN c.live_quantity
                                    ELSE c.live_participants END), 0);

-- Housekeeping (functions/housekeeping.sql) finds old rows by age
-- (login_failures by login_failures_age, made by 005).
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE status = 'delivered';
