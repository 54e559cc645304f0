-- Hardening, round two (issue 26): the webhook relay's shares and the
-- per-host rate, and the pickup-code guess budgets; the functions that use
-- them are in functions/webhooks.sql and functions/orders.sql.

-- The host an endpoint's URL names, as the relay connects to it: ASCII
-- (an internationalised name in punycode), lower case, no brackets. The
-- per-host rate counts by it. Rows made before it are filled from their
-- URL (those were ASCII: an internationalised URL never delivered).
ALTER TABLE webhook_endpoints ADD COLUMN host text;
UPDATE webhook_endpoints
   SET host = lower(coalesce(substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://\[([^]]*)\]'),
                             substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]*)'),
                             ''));
ALTER TABLE webhook_endpoints
    ALTER COLUMN host SET NOT NULL,
    ADD CONSTRAINT webhook_endpoints_host CHECK (char_length(host) BETWEEN 1 AND 255);

-- The claim walks each endpoint's due deliveries in due order and stops at
-- the endpoint's share; it counts what is in flight (leased) per endpoint.
CREATE INDEX webhook_deliveries_endpoint_due
    ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased
    ON webhook_deliveries (endpoint_id) WHERE status = 'pending' AND lease_until IS NOT NULL;

-- The per-host rate, as a generic cell rate: tat is when the host's
-- bucket is full again (a host without a row, or with tat in the past,
-- has its whole burst). Rows are few (one per host endpoints name).
CREATE TABLE webhook_host_budgets (
    host text PRIMARY KEY,
    tat  timestamptz NOT NULL
);
CREATE INDEX webhook_host_budgets_tat ON webhook_host_budgets (tat);

-- Every wrong pickup code, by whom and where: besides an order's own lock
-- (five wrong codes), a staff member and a pickup point each have a
-- budget of wrong codes per 15 minutes (functions/orders.sql). Rows older
-- than the window are deleted as new ones come.
CREATE TABLE pickup_code_failures (
    id              bigserial PRIMARY KEY,
    distributor_id  bigint NOT NULL REFERENCES distributors (id),
    staff_id        bigint NOT NULL REFERENCES staff (id),
    pickup_point_id bigint NOT NULL REFERENCES pickup_points (id),
    order_id        bigint NOT NULL REFERENCES orders (id),
    failed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pickup_code_failures_staff ON pickup_code_failures (staff_id, failed_at);
CREATE INDEX pickup_code_failures_point ON pickup_code_failures (pickup_point_id, failed_at);
CREATE INDEX pickup_code_failures_age ON pickup_code_failures (failed_at);
