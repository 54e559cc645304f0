-- The forecast's data (server/domain/forecast.c holds the model,
-- server/engine/campaign_forecast.c runs it): what a campaign's forecast
-- reads, the summaries of closed campaigns its history is made of, the
-- snapshots the scheduler takes at 25, 50 and 75 % of a campaign's
-- duration (server/engine/snapshots.c) and their calibration, and the
-- audience of the ladder planner (api/admin/forecasts.c).
--
-- Decisions where the documents are silent:
--   * a campaign's joins are all its participations, whatever became of
--     them (a withdrawal joined too); its fraction of time is
--     (now - starts_at) / (ends_at - starts_at) on the database's clock,
--     within [0, 1];
--   * the history is the closed campaigns that succeeded or failed (a
--     cancelled one was stopped by its staff: its arrivals say nothing),
--     newest closed first;
--   * a checkpoint is taken while the campaign is open, from the moment
--     it is due until the next one is (a process that was down takes it
--     late, recording the fraction it was taken at, and one missed
--     altogether is not taken at all: a forecast made after the fact
--     would flatter the calibration).


-- The summary of one campaign closing (schema/016_forecast.sql says what
-- each column holds). A join at fraction tau of the duration counts in
-- shares[k + 1] for every k >= ceil(100 tau): the share of the final
-- joins that had joined by k / 100. Written once (the trigger below, on
-- the close's transaction; the primary key keeps it once).
CREATE OR REPLACE FUNCTION gb_forecast_arrivals_record() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_arrivals (campaign_id, distributor_id, outcome, closed_at, joins,
                                   shares, p_complete_sum, quantity_sum, invited,
                                   invited_joined)
    SELECT NEW.id, NEW.distributor_id, NEW.status, coalesce(NEW.closed_at, now()),
           j.joins,
           ARRAY(SELECT CASE WHEN j.joins = 0 THEN 0
                             ELSE coalesce((SELECT sum(b.n) FROM unnest(j.buckets, j.counts)
                                                                 b (k, n)
                                             WHERE b.k <= g), 0)::double precision
                                  / j.joins END
                   FROM generate_series(0, 100) g ORDER BY g),
           j.p_sum, j.q_sum,
           (SELECT count(*) FROM campaign_invitations i WHERE i.campaign_id = NEW.id),
           (SELECT count(*) FROM campaign_invitations i
             WHERE i.campaign_id = NEW.id
               AND EXISTS (SELECT 1 FROM participations p
                            WHERE p.campaign_id = i.campaign_id
                              AND p.customer_id = i.customer_id
                              AND p.created_at >= i.invited_at))
      FROM (SELECT coalesce(sum(x.n), 0)::int AS joins,
                   coalesce(sum(x.p_sum), 0) AS p_sum,
                   coalesce(sum(x.q_sum), 0)::bigint AS q_sum,
                   array_agg(x.k) AS buckets, array_agg(x.n) AS counts
              FROM (SELECT gb_forecast_bucket(NEW.starts_at, NEW.ends_at, p.created_at) AS k,
                           count(*) AS n, sum(p.p_complete_at_join) AS p_sum,
                           sum(p.quantity) AS q_sum
                      FROM participations p WHERE p.campaign_id = NEW.id
                     GROUP BY 1) x) j
    ON CONFLICT (campaign_id) DO NOTHING;
    RETURN NULL;
END $$;

-- ceil(100 tau) of a join at p_at, within 0..101 (the share by k / 100
-- counts the joins of buckets <= k).
CREATE OR REPLACE FUNCTION gb_forecast_bucket(p_starts timestamptz, p_ends timestamptz,
                                              p_at timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$
    SELECT least(greatest(ceil(100 * extract(epoch FROM p_at - p_starts)
                               / extract(epoch FROM p_ends - p_starts) - 1e-9), 0), 101)::int
$$;

CREATE OR REPLACE TRIGGER campaigns_forecast_arrivals AFTER UPDATE OF status ON campaigns
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('succeeded', 'failed'))
    EXECUTE FUNCTION gb_forecast_arrivals_record();

-- A campaign's fraction of time gone, in [0, 1].
CREATE OR REPLACE FUNCTION gb_forecast_fraction(c campaigns) RETURNS double precision
    LANGUAGE sql STABLE AS $$
    SELECT least(greatest(extract(epoch FROM now() - c.starts_at)
                          / extract(epoch FROM c.ends_at - c.starts_at), 0), 1)::double precision
$$;

-- A distributor's history (server/domain/forecast.h, "Part 3"): its last
-- 50 summarised campaigns with at least 5 joins (how many, the mean
-- arrival curve as 101 points, their mean final joins, the mean p_complete
-- at join and quantity of their joins), and its last 50 summarised
-- campaigns that invited anyone (how many, invitations, joined after
-- one).
CREATE OR REPLACE FUNCTION gb_forecast_history(p_distributor_id bigint,
                                               OUT campaigns integer,
                                               OUT curve double precision[],
                                               OUT mean_joins double precision,
                                               OUT p_complete double precision,
                                               OUT quantity_per_join double precision,
                                               OUT invitation_campaigns integer,
                                               OUT invited bigint,
                                               OUT invited_joined bigint)
    LANGUAGE sql STABLE AS $$
    WITH h AS (
        SELECT a.* FROM campaign_arrivals a
         WHERE a.distributor_id = p_distributor_id AND a.joins >= 5
         ORDER BY a.closed_at DESC, a.campaign_id DESC LIMIT 50
    ), i AS (
        SELECT a.invited, a.invited_joined FROM campaign_arrivals a
         WHERE a.distributor_id = p_distributor_id AND a.invited > 0
         ORDER BY a.closed_at DESC, a.campaign_id DESC LIMIT 50
    )
    SELECT (SELECT count(*) FROM h)::int,
           (SELECT array_agg(s.v ORDER BY s.k)
              FROM (SELECT g.k, avg(h.shares[g.k + 1]) AS v
                      FROM h, generate_series(0, 100) g (k) GROUP BY g.k) s),
           (SELECT avg(h.joins)::double precision FROM h),
           (SELECT sum(h.p_complete_sum) / nullif(sum(h.joins), 0) FROM h),
           (SELECT sum(h.quantity_sum)::double precision / nullif(sum(h.joins), 0) FROM h),
           (SELECT count(*) FROM i)::int,
           (SELECT coalesce(sum(i.invited), 0) FROM i)::bigint,
           (SELECT coalesce(sum(i.invited_joined), 0) FROM i)::bigint
$$;

-- What the forecast of campaign c reads, the model's inputs in one row:
-- status, fraction of time, min_participants, max_quantity,
-- per_customer_limit, tier_basis, the ladder as three arrays ascending by
-- threshold (thresholds, prices, costs: a tier's own cost_price_cents,
-- else the product's), the live participations' p_complete at join and
-- quantities (two arrays in id order, NULL when none), the distributor's
-- model parameters (gb_reliability_params) and its history
-- (gb_forecast_history). A closed campaign has no forecast: its row has
-- the status and NULL beyond it.
CREATE OR REPLACE FUNCTION gb_forecast_inputs(c campaigns)
    RETURNS TABLE (status text, fraction double precision, min_participants integer,
                   max_quantity bigint, per_customer_limit bigint, tier_basis text,
                   thresholds bigint[], prices bigint[], costs bigint[],
                   p double precision[], q bigint[], params double precision[],
                   h_campaigns integer, h_curve double precision[],
                   h_mean_joins double precision, h_p_complete double precision,
                   h_quantity_per_join double precision, h_invitation_campaigns integer,
                   h_invited bigint, h_invited_joined bigint)
    LANGUAGE sql STABLE AS $$
    SELECT c.status, gb_forecast_fraction(c), c.min_participants, c.max_quantity,
           c.per_customer_limit, c.tier_basis, l.thresholds, l.prices, l.costs,
           lp.p, lp.q, gb_reliability_params(c.distributor_id), h.*
      FROM (SELECT array_agg((t ->> 'threshold')::bigint
                             ORDER BY (t ->> 'threshold')::bigint) AS thresholds,
                   array_agg((t ->> 'unit_price_cents')::bigint
                             ORDER BY (t ->> 'threshold')::bigint) AS prices,
                   array_agg(coalesce((t ->> 'cost_price_cents')::bigint, pr.cost_price_cents)
                             ORDER BY (t ->> 'threshold')::bigint) AS costs
              FROM jsonb_array_elements(c.tiers) t, products pr
             WHERE pr.id = c.product_id) l,
           (SELECT array_agg(x.p_complete_at_join ORDER BY x.id) AS p,
                   array_agg(x.quantity ORDER BY x.id) AS q
              FROM participations x
             WHERE x.campaign_id = c.id AND x.status IN ('pending_deposit', 'active')) lp,
           gb_forecast_history(c.distributor_id) h
     WHERE c.status NOT IN ('succeeded', 'failed', 'cancelled', 'settled')
    UNION ALL
    SELECT c.status, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL
     WHERE c.status IN ('succeeded', 'failed', 'cancelled', 'settled')
$$;

-- The checkpoint due for an open campaign at fraction f: 25, 50 or 75
-- (the last one passed), else 0. Past its end (f = 1, the fraction's
-- ceiling) none: a campaign whose close is late or held is past
-- forecasting, and a snapshot taken then would be the outcome, not a
-- forecast of it.
CREATE OR REPLACE FUNCTION gb_forecast_checkpoint(f double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN f >= 1 THEN 0 WHEN f >= 0.75 THEN 75 WHEN f >= 0.5 THEN 50
                WHEN f >= 0.25 THEN 25 ELSE 0 END
$$;

-- The snapshots due (server/engine/snapshots.c): open campaigns whose
-- latest checkpoint passed has no snapshot yet and that are not in
-- backoff, the one due longest first, at most p_limit, each with its
-- forecast's inputs (gb_forecast_inputs) after its id and checkpoint.
-- Nothing is claimed: the computation happens in C between this read
-- and gb_forecast_snapshot_save, whose primary key keeps each snapshot
-- once when two processes compute the same one.
CREATE OR REPLACE FUNCTION gb_forecast_due(p_limit integer)
    RETURNS TABLE (campaign_id bigint, checkpoint integer, status text,
                   fraction double precision, min_participants integer,
                   max_quantity bigint, per_customer_limit bigint, tier_basis text,
                   thresholds bigint[], prices bigint[], costs bigint[],
                   p double precision[], q bigint[], params double precision[],
                   h_campaigns integer, h_curve double precision[],
                   h_mean_joins double precision, h_p_complete double precision,
                   h_quantity_per_join double precision, h_invitation_campaigns integer,
                   h_invited bigint, h_invited_joined bigint)
    LANGUAGE sql STABLE AS $$
    WITH d AS MATERIALIZED (
        SELECT c.id, k.cp
          FROM campaigns c
         CROSS JOIN LATERAL (SELECT gb_forecast_checkpoint(gb_forecast_fraction(c)) AS cp) k
         WHERE c.status = 'open' AND k.cp > 0
           AND NOT EXISTS (SELECT 1 FROM forecast_snapshots s
                            WHERE s.campaign_id = c.id AND s.checkpoint = k.cp)
           AND NOT gb_due_held('forecast', c.id)
         ORDER BY c.starts_at + (c.ends_at - c.starts_at) * k.cp / 100.0, c.id
         LIMIT p_limit
    )
    SELECT d.id, d.cp, f.*
      FROM d JOIN campaigns c ON c.id = d.id
     CROSS JOIN LATERAL gb_forecast_inputs(c) f
     ORDER BY c.starts_at + (c.ends_at - c.starts_at) * d.cp / 100.0, d.id
$$;

-- Saves the snapshots computed from gb_forecast_due's rows (arrays, one
-- element per row; p_errors[i] not NULL: its forecast could not be
-- computed). Answers one row per row, as the due functions of
-- functions/scheduler.sql do: o_done when its snapshot was written now
-- (false: another process wrote it first), or the failure, recorded in
-- scheduler_backoff (kind 'forecast') with its next attempt.
DROP FUNCTION IF EXISTS gb_forecast_snapshot_save(bigint[], integer[], double precision[],
                                                  integer[], double precision[],
                                                  double precision[], double precision[],
                                                  text[], integer[], text[]);
CREATE OR REPLACE FUNCTION gb_forecast_snapshot_save(p_campaign_ids bigint[],
                                                     p_checkpoints integer[],
                                                     p_fractions double precision[],
                                                     p_participants integer[],
                                                     p_success double precision[],
                                                     p_expected double precision[],
                                                     p_arrivals double precision[],
                                                     p_basis text[],
                                                     p_campaigns_used integer[],
                                                     p_errors text[])
    RETURNS TABLE (o_id bigint, o_done boolean, o_error text, o_attempts integer,
                   o_retry_s double precision)
    LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_campaign_ids), 0) LOOP
        o_id := p_campaign_ids[i];
        o_done := false;
        o_error := p_errors[i];
        o_attempts := NULL;
        o_retry_s := NULL;
        IF o_error IS NULL THEN
            BEGIN
                INSERT INTO forecast_snapshots (campaign_id, checkpoint, distributor_id,
                                                fraction, participants, success_probability,
                                                expected_participants, expected_arrivals,
                                                basis, campaigns_used)
                SELECT c.id, p_checkpoints[i], c.distributor_id, p_fractions[i],
                       p_participants[i], p_success[i], p_expected[i], p_arrivals[i],
                       p_basis[i], p_campaigns_used[i]
                  FROM campaigns c WHERE c.id = o_id
                ON CONFLICT (campaign_id, checkpoint) DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                o_done := n > 0;
                DELETE FROM scheduler_backoff b WHERE b.kind = 'forecast' AND b.id = o_id;
            EXCEPTION WHEN OTHERS THEN
                o_error := SQLSTATE || ': ' || SQLERRM;
            END;
        END IF;
        IF o_error IS NOT NULL THEN
            SELECT f.attempts, f.retry_s INTO o_attempts, o_retry_s
              FROM gb_due_failed('forecast', o_id, o_error) f;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- The forecast part of the calibration report (API.md "Forecast, ladder
-- planning and model refit"): per checkpoint, the snapshots of this
-- distributor's closed campaigns against whether they succeeded
-- (succeeded or settled: 1; failed: 0; cancelled ones are left out, their
-- end was a decision), with the count, the Brier score, the mean forecast,
-- the observed rate and ten buckets as gb_reliability_report's.
CREATE OR REPLACE FUNCTION gb_forecast_calibration(p_distributor_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    WITH s AS (
        SELECT f.checkpoint, f.success_probability AS p,
               CASE WHEN c.status = 'failed' THEN 0.0 ELSE 1.0 END::float8 AS y,
               least(floor(f.success_probability::numeric * 10), 9)::int AS b
          FROM forecast_snapshots f
          JOIN campaigns c ON c.id = f.campaign_id
         WHERE f.distributor_id = p_distributor_id
           AND c.distributor_id = p_distributor_id
           AND c.status IN ('succeeded', 'settled', 'failed')
    )
    SELECT json_agg(json_build_object(
               'checkpoint', round(k.cp / 100.0, 2),
               'campaigns', (SELECT count(*) FROM s WHERE s.checkpoint = k.cp),
               'brier_score', (SELECT avg((s.p - s.y) ^ 2) FROM s WHERE s.checkpoint = k.cp),
               'mean_predicted', (SELECT avg(s.p) FROM s WHERE s.checkpoint = k.cp),
               'observed_rate', (SELECT avg(s.y) FROM s WHERE s.checkpoint = k.cp),
               'buckets', (SELECT json_agg(json_build_object(
                                      'predicted_from', round(x.b / 10.0, 1),
                                      'predicted_to', round((x.b + 1) / 10.0, 1),
                                      'count', x.n, 'mean_predicted', x.mean_p,
                                      'observed_rate', x.rate) ORDER BY x.b)
                             FROM (SELECT g.b, count(s.p) AS n, avg(s.p) AS mean_p,
                                          avg(s.y) AS rate
                                     FROM generate_series(0, 9) g (b)
                                     LEFT JOIN s ON s.checkpoint = k.cp AND s.b = g.b
                                    GROUP BY g.b) x))
               ORDER BY k.cp)
      FROM (VALUES (25), (50), (75)) k (cp)
$$;

-- The planner's audience (DESIGN.md "Ladder planning"): the distributor's
-- customers (any participation in its campaigns). With p_min_score 0
-- every one of them is in, and only their number is read; otherwise each
-- one's VIP level and history (gb_distributor_histories, all in one pass,
-- at the distributor's half-life) come as text, one customer a line of ten
-- numbers (VIP, then count and weight of completed, withdrawn, defaulted,
-- deposit_expired), for the reliability module to score
-- (server/engine/campaign_forecast.c).
CREATE OR REPLACE FUNCTION gb_forecast_audience(p_distributor_id bigint,
                                                p_half_life_days double precision,
                                                p_min_score integer,
                                                OUT customers bigint, OUT histories text)
    LANGUAGE sql STABLE AS $$
    -- the half-life as a value (MATERIALIZED): passed as an expression it
    -- would be evaluated, with the decay, once per event
    WITH hl AS MATERIALIZED (
        SELECT gb_reliability_half_life(p_distributor_id, p_half_life_days) AS days
    )
    SELECT count(*),
           string_agg(concat_ws(' ', coalesce(v.vip_level, 0), h.completed, h.completed_w,
                                h.withdrawn, h.withdrawn_w, h.defaulted, h.defaulted_w,
                                h.deposit_expired, h.deposit_expired_w), E'\n')
      FROM hl CROSS JOIN LATERAL gb_distributor_histories(p_distributor_id, hl.days) h
      LEFT JOIN customer_vip v ON v.distributor_id = p_distributor_id
            AND v.customer_id = h.customer_id
     WHERE p_min_score > 0
    HAVING p_min_score > 0 -- (an aggregate has its row even over no rows)
    UNION ALL
    SELECT count(DISTINCT p.customer_id), NULL
      FROM campaigns c JOIN participations p ON p.campaign_id = c.id
     WHERE c.distributor_id = p_distributor_id AND p_min_score <= 0
$$;
