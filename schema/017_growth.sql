-- Growth, waitlist and conversations (issue 25): share links and the
-- referrals they bring, the waitlist of a full campaign, questions and
-- complaints. The functions are in functions/growth.sql (shares,
-- referrals), functions/waitlist.sql and functions/conversations.sql.

-- Share links: one per customer and campaign, its code from a CSPRNG
-- (server/lib/crypto.c, crypto_random_code): 12 characters of a 32-letter
-- alphabet without look-alikes (no 0, 1, l, o), 60 bits.
CREATE TABLE shares (
    id             bigserial PRIMARY KEY,
    distributor_id bigint NOT NULL,
    campaign_id    bigint NOT NULL,
    customer_id    bigint NOT NULL REFERENCES customers (id),
    code           text NOT NULL UNIQUE CHECK (code ~ '^[a-km-np-z2-9]{8,32}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, customer_id),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id)
);

-- The customer whose share link brought a participation (never its own:
-- the join ignores one's own code). No foreign key, as for the join's
-- other references (009_join_cost.sql): the sharer is a customer of the
-- shares table, which has one. The index serves the referral counts; a
-- participation without a referrer costs it no entry.
ALTER TABLE participations ADD COLUMN referred_by_customer_id bigint;
CREATE INDEX participations_referred ON participations (referred_by_customer_id, campaign_id)
    INCLUDE (status) WHERE referred_by_customer_id IS NOT NULL;

-- The waitlist of a full campaign (functions/waitlist.sql). An entry
-- waits in arrival order (its id) until it is promoted to a participation
-- through the join's decision, skipped (it no longer qualifies: reason),
-- left by its customer, or expired at the close.
CREATE TABLE waitlist_entries (
    id               bigserial PRIMARY KEY,
    distributor_id   bigint NOT NULL,
    campaign_id      bigint NOT NULL,
    customer_id      bigint NOT NULL REFERENCES customers (id),
    quantity         bigint NOT NULL CHECK (quantity >= 1 AND quantity <= 1000000),
    pickup_point_id  bigint,
    address          jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),
    share_code       text,
    status           text NOT NULL DEFAULT 'waiting'
                       CHECK (status IN ('waiting', 'promoted', 'skipped', 'left', 'expired')),
    reason           text,
    participation_id bigint UNIQUE REFERENCES participations (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id),
    CONSTRAINT waitlist_promoted_participation
        CHECK ((status = 'promoted') = (participation_id IS NOT NULL)),
    CONSTRAINT waitlist_skipped_reason CHECK ((status = 'skipped') = (reason IS NOT NULL)),
    CONSTRAINT waitlist_decided CHECK ((status = 'waiting') = (decided_at IS NULL))
);
-- One waiting entry per customer and campaign.
CREATE UNIQUE INDEX waitlist_one_waiting ON waitlist_entries (campaign_id, customer_id)
    WHERE status = 'waiting';
-- The queue of a campaign, in arrival order.
CREATE INDEX waitlist_queue ON waitlist_entries (campaign_id, id) INCLUDE (quantity)
    WHERE status = 'waiting';
CREATE INDEX waitlist_customer ON waitlist_entries (customer_id, id);

-- Units held for the waiting customers: set by the transactions that free
-- units while someone waits (the counter trigger, functions/participations.sql;
-- a new entry while units are free), taken out of what ordinary joins may
-- take (functions/join.sql), and handed to the queue by the promotion
-- (functions/waitlist.sql), which then releases what none could take. So
-- a freed unit goes to the queue first, not to whoever joins in the
-- instant before the promotion runs. No CHECK on campaigns (every join
-- batch would compile it: 010_campaign_checks.sql); a trigger on the
-- column holds it >= 0 (functions/waitlist.sql).
ALTER TABLE campaigns ADD COLUMN waitlist_held bigint NOT NULL DEFAULT 0;
-- The promoters' poll: the open campaigns holding units for their queue.
CREATE INDEX campaigns_waitlist_due ON campaigns (id) WHERE waitlist_held > 0;

-- Questions on a campaign (咨询), answered once (again: replaced, audited),
-- in public when staff choose.
CREATE TABLE questions (
    id             bigserial PRIMARY KEY,
    distributor_id bigint NOT NULL,
    campaign_id    bigint NOT NULL,
    customer_id    bigint NOT NULL REFERENCES customers (id),
    body           text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 1000),
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    answer         text CHECK (char_length(answer) BETWEEN 1 AND 2000),
    public         boolean NOT NULL DEFAULT false,
    answered_by    bigint REFERENCES staff (id),
    answered_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id),
    CONSTRAINT questions_answered CHECK (
        (status = 'answered') = (answer IS NOT NULL AND answered_at IS NOT NULL
                                 AND answered_by IS NOT NULL))
);
CREATE INDEX questions_public ON questions (campaign_id, id)
    WHERE status = 'answered' AND public;
CREATE INDEX questions_customer ON questions (customer_id, created_at);
CREATE INDEX questions_queue ON questions (distributor_id, status, id);

-- Complaints (投诉): a private thread between a customer and the
-- distributor whose campaign or order it is about, with staff replies and
-- a resolution.
CREATE TABLE complaints (
    id              bigserial PRIMARY KEY,
    distributor_id  bigint NOT NULL REFERENCES distributors (id),
    customer_id     bigint NOT NULL REFERENCES customers (id),
    campaign_id     bigint NOT NULL,
    order_id        bigint REFERENCES orders (id),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution_note text CHECK (char_length(resolution_note) <= 1000),
    resolved_by     bigint REFERENCES staff (id),
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id),
    CONSTRAINT complaints_resolved CHECK (
        (status = 'resolved') = (resolved_at IS NOT NULL AND resolved_by IS NOT NULL))
);
CREATE INDEX complaints_customer ON complaints (customer_id, created_at);
CREATE INDEX complaints_queue ON complaints (distributor_id, status, id);

CREATE TABLE complaint_replies (
    id           bigserial PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    staff_id     bigint NOT NULL REFERENCES staff (id),
    body         text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX complaint_replies_complaint ON complaint_replies (complaint_id, id);
