-- 016_forecast.sql - what the forecast, the ladder planner and the refit
-- keep (functions/forecast.sql and functions/reliability.sql hold the
-- rules that read and write them).
--
--   reliability_parameters  a distributor's own reliability model, adopted
--                           by its owner after a refit: the seven
--                           parameters (all present, or all null: the
--                           server's configured defaults) and the set they
--                           replaced. Every change is also an audit line.
--   campaign_arrivals       one summary per closed campaign (succeeded or
--                           failed), written in the transaction of its
--                           close: its final joins, the share of them that
--                           had joined by each hundredth of its duration
--                           (shares[k + 1] for k = 0..100), the sums of
--                           their p_complete at join and quantities, and
--                           its invitations. The forecast's history reads
--                           these (at most 50 per distributor) instead of
--                           every participation of past campaigns.
--   forecast_snapshots      the success forecast of a campaign taken by the
--                           scheduler at 25, 50 and 75 % of its duration:
--                           one row per campaign and checkpoint (the
--                           primary key makes it once, whatever the number
--                           of processes or restarts), for the calibration
--                           report.

CREATE TABLE reliability_parameters (
    distributor_id         bigint PRIMARY KEY REFERENCES distributors (id),
    half_life_days         double precision,
    prior_alpha_base       double precision,
    prior_alpha_per_vip    double precision,
    prior_beta             double precision,
    weight_withdrawn       double precision,
    weight_deposit_expired double precision,
    weight_defaulted       double precision,
    previous               jsonb CHECK (previous IS NULL OR jsonb_typeof(previous) = 'object'),
    adopted_at             timestamptz,
    staff_id               bigint REFERENCES staff (id),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    -- all seven or none (none: the configured defaults)
    CONSTRAINT reliability_parameters_whole CHECK (
        num_nulls(half_life_days, prior_alpha_base, prior_alpha_per_vip, prior_beta,
                  weight_withdrawn, weight_deposit_expired, weight_defaulted) IN (0, 7)),
    -- positive and finite (the API refuses the rest with 400 first)
    CONSTRAINT reliability_parameters_positive CHECK (
        half_life_days > 0 AND half_life_days <= 1e9
        AND prior_alpha_base > 0 AND prior_alpha_base <= 1e9
        AND prior_alpha_per_vip > 0 AND prior_alpha_per_vip <= 1e9
        AND prior_beta > 0 AND prior_beta <= 1e9
        AND weight_withdrawn > 0 AND weight_withdrawn <= 1e9
        AND weight_deposit_expired > 0 AND weight_deposit_expired <= 1e9
        AND weight_defaulted > 0 AND weight_defaulted <= 1e9)
);

CREATE TABLE campaign_arrivals (
    campaign_id    bigint PRIMARY KEY,
    distributor_id bigint NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    closed_at      timestamptz NOT NULL,
    joins          integer NOT NULL CHECK (joins >= 0),
    shares         double precision[] NOT NULL CHECK (cardinality(shares) = 101),
    p_complete_sum double precision NOT NULL CHECK (p_complete_sum >= 0),
    quantity_sum   bigint NOT NULL CHECK (quantity_sum >= 0),
    invited        integer NOT NULL CHECK (invited >= 0),
    invited_joined integer NOT NULL CHECK (invited_joined >= 0 AND invited_joined <= invited),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id)
);
CREATE INDEX campaign_arrivals_recent ON campaign_arrivals (distributor_id, closed_at DESC,
                                                            campaign_id DESC);

CREATE TABLE forecast_snapshots (
    campaign_id           bigint NOT NULL,
    checkpoint            smallint NOT NULL CHECK (checkpoint IN (25, 50, 75)),
    distributor_id        bigint NOT NULL,
    taken_at              timestamptz NOT NULL DEFAULT now(),
    fraction              double precision NOT NULL CHECK (fraction >= 0 AND fraction <= 1),
    participants          integer NOT NULL CHECK (participants >= 0),
    success_probability   double precision NOT NULL
                            CHECK (success_probability >= 0 AND success_probability <= 1),
    expected_participants double precision NOT NULL CHECK (expected_participants >= 0),
    expected_arrivals     double precision NOT NULL CHECK (expected_arrivals >= 0),
    basis                 text NOT NULL CHECK (basis IN ('history', 'prior')),
    campaigns_used        integer NOT NULL CHECK (campaigns_used >= 0),
    PRIMARY KEY (campaign_id, checkpoint),
    FOREIGN KEY (distributor_id, campaign_id) REFERENCES campaigns (distributor_id, id)
);
CREATE INDEX forecast_snapshots_distributor ON forecast_snapshots (distributor_id, campaign_id);

-- The snapshot step fails and backs off like the other due steps
-- (functions/scheduler.sql): its rows are campaign ids.
ALTER TABLE scheduler_backoff DROP CONSTRAINT scheduler_backoff_kind_check,
    ADD CONSTRAINT scheduler_backoff_kind_check CHECK (kind IN
        ('open', 'close', 'expire', 'default', 'settle', 'forecast'));

-- The campaigns closed before this migration: their summaries, as the
-- close writes them from now on (functions/forecast.sql,
-- gb_forecast_arrivals_record: a join at fraction tau of the duration
-- counts by k / 100 for every k >= ceil(100 tau)), so that the history
-- starts full.
INSERT INTO campaign_arrivals (campaign_id, distributor_id, outcome, closed_at, joins,
                               shares, p_complete_sum, quantity_sum, invited,
                               invited_joined)
SELECT c.id, c.distributor_id,
       CASE WHEN c.status = 'failed' THEN 'failed' ELSE 'succeeded' END,
       coalesce(c.closed_at, c.ends_at), j.joins,
       ARRAY(SELECT CASE WHEN j.joins = 0 THEN 0
                         ELSE coalesce((SELECT sum(b.n) FROM unnest(j.buckets, j.counts) b (k, n)
                                         WHERE b.k <= g), 0)::double precision / j.joins END
               FROM generate_series(0, 100) g ORDER BY g),
       j.p_sum, j.q_sum,
       (SELECT count(*) FROM campaign_invitations i WHERE i.campaign_id = c.id),
       (SELECT count(*) FROM campaign_invitations i
         WHERE i.campaign_id = c.id
           AND EXISTS (SELECT 1 FROM participations p
                        WHERE p.campaign_id = i.campaign_id AND p.customer_id = i.customer_id
                          AND p.created_at >= i.invited_at))
  FROM campaigns c
 CROSS JOIN LATERAL (
       SELECT coalesce(sum(x.n), 0)::int AS joins, coalesce(sum(x.p_sum), 0) AS p_sum,
              coalesce(sum(x.q_sum), 0)::bigint AS q_sum,
              array_agg(x.k) AS buckets, array_agg(x.n) AS counts
         FROM (SELECT least(greatest(ceil(100 * extract(epoch FROM p.created_at - c.starts_at)
                                          / extract(epoch FROM c.ends_at - c.starts_at)
                                          - 1e-9), 0), 101)::int AS k,
                      count(*) AS n, sum(p.p_complete_at_join) AS p_sum,
                      sum(p.quantity) AS q_sum
                 FROM participations p WHERE p.campaign_id = c.id GROUP BY 1) x) j
 WHERE c.status IN ('succeeded', 'failed', 'settled');
