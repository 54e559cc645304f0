-- Identity: distributors (tenants), their staff, customers, sessions, the
-- idempotency store and the audit log. Every tenant-owned row carries
-- distributor_id so the schema can later be sharded by distributor.

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

-- The API's representations, defined once. Handlers return this JSON as
-- is, so ids and amounts never pass through a floating-point number.
CREATE FUNCTION gb_ts(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

CREATE FUNCTION gb_distributor_json(d distributors) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', d.id, 'name', d.name,
                                   'commission_bp', d.commission_bp,
                                   'currency', d.currency,
                                   'created_at', gb_ts(d.created_at)) $$;

CREATE FUNCTION gb_staff_json(s staff) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', s.id, 'login', s.login, 'role', s.role,
                                   'distributor_id', s.distributor_id,
                                   'created_at', gb_ts(s.created_at)) $$;

CREATE FUNCTION gb_customer_json(c customers) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', c.id, 'login', c.login,
                                   'display_name', c.display_name,
                                   'created_at', gb_ts(c.created_at)) $$;
