-- Reports for staff (api/admin/reports.c): the reliability calibration;
-- and the gauges /metrics reads from the database (api/ops/health.c).


-- The calibration report of one distributor: p_complete at join against
-- the outcome, over participations of its campaigns that succeeded
-- (succeeded or settled). The prediction is "completes if the deal
-- happens", so failed and cancelled campaigns say nothing about it.
-- Scored: paid -> 1; defaulted, withdrawn, expired -> 0. Not scored (no
-- outcome of the customer's own): awaiting_payment (not yet decided), and
-- void/refunded (still pending_deposit when the campaign closed, which
-- the reliability model does not count against the customer either).
-- Bucket k (0..9) holds predictions with k/10 <= p < (k+1)/10, compared in
-- decimal (p::numeric, 15 significant digits) so that 0.3 lands in
-- [0.3, 0.4); p = 1 goes to the last bucket. Empty buckets have null mean_predicted and observed_rate;
-- brier_score is null when nothing is scored. Double precision: these are
-- probabilities, not money. "forecast": the success forecasts' calibration
-- per checkpoint (functions/forecast.sql, gb_forecast_calibration).
CREATE OR REPLACE FUNCTION gb_reliability_report(p_distributor_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    WITH scored AS (
        SELECT p.p_complete_at_join AS p,
               CASE p.status WHEN 'paid' THEN 1.0 ELSE 0.0 END::float8 AS y,
               least(floor(p.p_complete_at_join::numeric * 10), 9)::int AS b
          FROM campaigns c
          JOIN participations p ON p.campaign_id = c.id
         WHERE c.distributor_id = p_distributor_id
           AND p.distributor_id = p_distributor_id
           AND c.status IN ('succeeded', 'settled')
           AND p.status IN ('paid', 'defaulted', 'withdrawn', 'expired')
    ), buckets AS (
        SELECT g.b, count(s.p) AS n, avg(s.p) AS mean_p, avg(s.y) AS rate
          FROM generate_series(0, 9) g (b)
          LEFT JOIN scored s ON s.b = g.b
         GROUP BY g.b
    )
    SELECT json_build_object(
        'buckets', (SELECT json_agg(json_build_object(
                               'predicted_from', round(b / 10.0, 1),
                               'predicted_to', round((b + 1) / 10.0, 1),
                               'count', n, 'mean_predicted', mean_p,
                               'observed_rate', rate) ORDER BY b)
                      FROM buckets),
        'brier_score', (SELECT avg((p - y) ^ 2) FROM scored),
        'outcomes', (SELECT count(*) FROM scored),
        'forecast', gb_forecast_calibration(p_distributor_id))
$$;


-- The gauges of /metrics: campaigns by status, and the due rows the
-- scheduler holds back after a failure, by step. Monitoring never waits
-- for a lock (a migration, a long transaction holding a table): after
-- 100 ms the statement fails and /metrics answers without these gauges.
CREATE OR REPLACE FUNCTION gb_reports_metrics()
    RETURNS TABLE (what text, name text, n bigint)
    LANGUAGE sql STABLE SET lock_timeout = '100ms' AS $$
    SELECT 'campaigns', s.status, count(c.id)
      FROM unnest(ARRAY['draft', 'scheduled', 'open', 'succeeded', 'failed',
                        'cancelled', 'settled']) s(status)
      LEFT JOIN campaigns c ON c.status = s.status
     GROUP BY s.status
    UNION ALL
    SELECT 'backoff', k.kind, count(b.id)
      FROM unnest(ARRAY['open', 'close', 'expire', 'default', 'settle']) k(kind)
      LEFT JOIN scheduler_backoff b ON b.kind = k.kind
     GROUP BY k.kind
     ORDER BY 1, 2
$$;
