-- A distributor's own reliability model (DESIGN.md "Refit"): the parameters
-- its owner adopted (table reliability_parameters, schema/016_forecast.sql),
-- read wherever a score of that distributor is computed (the join, the
-- staff's customer, participations and audience, the forecast), and the
-- data a refit is fitted on (api/admin/model.c, server/domain/reliability.c).
-- The server's configured reliability_* keys are the defaults: a
-- distributor without an adopted set, or whose set was deleted, uses them.
--
-- Parameters travel as a float8[] in the order of the API's names:
-- half_life_days, prior_alpha_base, prior_alpha_per_vip, prior_beta,
-- weight_withdrawn, weight_deposit_expired, weight_defaulted.


-- The distributor's adopted parameters, or NULL (the defaults).
CREATE OR REPLACE FUNCTION gb_reliability_params(p_distributor_id bigint)
    RETURNS double precision[]
    LANGUAGE sql STABLE AS $$
    SELECT ARRAY[r.half_life_days, r.prior_alpha_base, r.prior_alpha_per_vip, r.prior_beta,
                 r.weight_withdrawn, r.weight_deposit_expired, r.weight_defaulted]
      FROM reliability_parameters r
     WHERE r.distributor_id = p_distributor_id AND r.half_life_days IS NOT NULL
$$;

-- The half-life a distributor's scores decay with: its own, else
-- p_default (the configured one).
CREATE OR REPLACE FUNCTION gb_reliability_half_life(p_distributor_id bigint,
                                                    p_default double precision)
    RETURNS double precision
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT r.half_life_days FROM reliability_parameters r
                      WHERE r.distributor_id = p_distributor_id), p_default)
$$;

-- A parameter array as the API's object (NULL for NULL, and for the row's
-- seven nulls: the defaults).
CREATE OR REPLACE FUNCTION gb_reliability_params_object(p double precision[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p[1] IS NOT NULL THEN jsonb_build_object(
               'half_life_days', p[1], 'prior_alpha_base', p[2],
               'prior_alpha_per_vip', p[3], 'prior_beta', p[4],
               'weight_withdrawn', p[5], 'weight_deposit_expired', p[6],
               'weight_defaulted', p[7]) END
$$;

-- What GET /v1/admin/reliability/parameters shows of the table:
-- {"adopted": object or null, "previous": object or null, "adopted_at",
-- "adopted_by"} (the handler adds the defaults and the set in force).
CREATE OR REPLACE FUNCTION gb_reliability_params_view(p_distributor_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'adopted', gb_reliability_params_object(gb_reliability_params(p_distributor_id)),
               'previous', (SELECT r.previous FROM reliability_parameters r
                             WHERE r.distributor_id = p_distributor_id),
               'adopted_at', (SELECT gb_ts(r.adopted_at) FROM reliability_parameters r
                               WHERE r.distributor_id = p_distributor_id
                                 AND r.half_life_days IS NOT NULL),
               'adopted_by', (SELECT r.staff_id FROM reliability_parameters r
                               WHERE r.distributor_id = p_distributor_id
                                 AND r.half_life_days IS NOT NULL))
$$;

-- Adopts p_values (seven positive numbers, checked by the handler and the
-- table) for the distributor, or with NULL goes back to the defaults. The
-- set replaced is kept as "previous" (NULL: it was the defaults); one
-- audit line with the sets before and after. Answers gb_reliability_params_view.
CREATE OR REPLACE FUNCTION gb_reliability_params_set(p_distributor_id bigint,
                                                     p_values double precision[],
                                                     p_staff_id bigint,
                                                     p_request_id text) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    v_before jsonb;
BEGIN
    -- the row first, locked, so that two changes at once are two audit
    -- lines in their order
    INSERT INTO reliability_parameters (distributor_id) VALUES (p_distributor_id)
    ON CONFLICT (distributor_id) DO NOTHING;
    SELECT gb_reliability_params_object(ARRAY[r.half_life_days, r.prior_alpha_base,
               r.prior_alpha_per_vip, r.prior_beta, r.weight_withdrawn,
               r.weight_deposit_expired, r.weight_defaulted])
      INTO v_before
      FROM reliability_parameters r
     WHERE r.distributor_id = p_distributor_id FOR UPDATE;
    IF v_before IS NULL AND p_values IS NULL THEN
        -- nothing adopted, nothing to go back from: no change, no line
        RETURN gb_reliability_params_view(p_distributor_id);
    END IF;
    UPDATE reliability_parameters r
       SET half_life_days = p_values[1], prior_alpha_base = p_values[2],
           prior_alpha_per_vip = p_values[3], prior_beta = p_values[4],
           weight_withdrawn = p_values[5], weight_deposit_expired = p_values[6],
           weight_defaulted = p_values[7], previous = v_before,
           adopted_at = CASE WHEN p_values IS NULL THEN NULL ELSE now() END,
           staff_id = CASE WHEN p_values IS NULL THEN NULL ELSE p_staff_id END,
           updated_at = now()
     WHERE r.distributor_id = p_distributor_id;
    PERFORM gb_audit(p_distributor_id, p_staff_id,
                     CASE WHEN p_values IS NULL THEN 'delete' ELSE 'update' END,
                     'reliability_parameters', p_distributor_id,
                     jsonb_build_object('parameters', v_before),
                     jsonb_build_object('parameters', gb_reliability_params_object(p_values)),
                     p_request_id);
    RETURN gb_reliability_params_view(p_distributor_id);
END $$;

-- The data of a refit (server/domain/reliability.h, "refit"): the
-- distributor's closed campaigns that succeeded (succeeded or settled,
-- as the calibration report: the prediction is "completes if the deal
-- happens"), the newest fifth of them (by close, at least one) held out;
-- their scored participations (paid: completed; defaulted, withdrawn,
-- expired: not) with the customer's VIP level with this distributor and
-- the history before the join. Answers the number of campaigns and of
-- held-out ones, the cases and held-out cases, and the cases as text, one
-- a line: "y vip held k:age k:age ...", y and held 0 or 1, k the kind
-- (0 completed, 1 withdrawn, 2 defaulted, 3 deposit_expired, the order of
-- enum reliability_event_kind), age in days before the join. Lines in
-- participation id order.
CREATE OR REPLACE FUNCTION gb_reliability_refit_data(p_distributor_id bigint,
                                                     OUT campaigns integer,
                                                     OUT holdout_campaigns integer,
                                                     OUT cases integer,
                                                     OUT holdout_cases integer,
                                                     OUT data text)
    LANGUAGE sql STABLE AS $$
    WITH k AS (
        SELECT c.id, row_number() OVER (ORDER BY c.closed_at DESC, c.id DESC) AS rn,
               count(*) OVER () AS total
          FROM campaigns c
         WHERE c.distributor_id = p_distributor_id
           AND c.status IN ('succeeded', 'settled')
    ), x AS (
        SELECT p.id, p.customer_id, p.created_at,
               (p.status = 'paid')::int AS y, coalesce(v.vip_level, 0) AS vip,
               (k.rn <= ceil(k.total / 5.0))::int AS held
          FROM k
          JOIN participations p ON p.campaign_id = k.id
          LEFT JOIN customer_vip v ON v.distributor_id = p_distributor_id
                AND v.customer_id = p.customer_id
         WHERE p.status IN ('paid', 'defaulted', 'withdrawn', 'expired')
    )
    SELECT (SELECT count(*) FROM k)::int,
           (SELECT count(*) FROM k WHERE k.rn <= ceil(k.total / 5.0))::int,
           (SELECT count(*) FROM x)::int,
           (SELECT count(*) FROM x WHERE x.held = 1)::int,
           (SELECT string_agg(concat_ws(' ', x.y, x.vip, x.held, e.events), E'\n' ORDER BY x.id)
              FROM x
              LEFT JOIN LATERAL (
                   SELECT string_agg(CASE ev.kind WHEN 'completed' THEN '0'
                                                  WHEN 'withdrawn' THEN '1'
                                                  WHEN 'defaulted' THEN '2'
                                                  ELSE '3' END
                                     || ':' || (extract(epoch FROM x.created_at - ev.occurred_at)
                                                / 86400.0)::double precision,
                                     ' ') AS events
                     FROM customer_events ev
                    WHERE ev.customer_id = x.customer_id AND ev.occurred_at < x.created_at) e
                ON true)
$$;
