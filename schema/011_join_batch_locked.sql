-- gb_join_batch_locked: the lock-first decision of a batch of joins of one
-- campaign, 010's gb_join_batch under a new name. It locks the campaign,
-- then decides row by row in arrival order and inserts the accepted rows.
-- The batches of schema/013 first try without the lock; this is the path
-- they fall back to, and its answers are the reference.
--
-- It plans its statements once per connection, and never
-- with a sequential scan. Left to itself PostgreSQL re-planned the big
-- statement on every call (its array parameters make each custom plan look
-- cheaper than the generic one): most of the cost of a batch of one join,
-- so of joins spread over many campaigns. A plan made once must not depend
-- on the statistics of the moment (a participations table still empty when
-- the first batch comes would otherwise be scanned whole for every probe
-- until the next ANALYZE), and every access here is by key: no
-- sequential scan, whatever the statistics say.
--
-- gb_join_batch_locked also looks up the customers already in the
-- campaign with one index probe per customer: 010 asked for campaign_id =
-- $1 AND customer_id = ANY($3), and with statistics older than a flash sale
-- (the table grows by thousands of rows a second) the planner took
-- customer_id as a filter over every participation of the campaign (12 ms
-- for a batch of 30 on a campaign of 12,000, measured with auto_explain).
-- An EXISTS fares no better (the planner hashed it: the same scan). A
-- LATERAL sub-query with LIMIT 1 cannot be flattened into a join or
-- hashed, so each customer is one probe of participations_one_live
-- whatever the statistics say; the batches of 013 look up the same way.

CREATE FUNCTION gb_join_batch_locked(p_campaign_id bigint, p_version integer,
                              p_customers bigint[], p_quantities bigint[],
                              p_scores integer[], p_p_complete double precision[],
                              p_deposit_percents integer[], p_deposit_cents bigint[])
    RETURNS TABLE (o_ord integer, o_reason text, o_participation text,
                   o_live_price boolean, o_tiers text, o_tier_basis text,
                   o_live_participants bigint, o_live_quantity bigint)
    LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
    AS $$
#variable_conflict use_column
DECLARE
    c campaigns;
    n integer := coalesce(array_length(p_customers, 1), 0);
    v_reason text[];
    v_after_p bigint[];
    v_after_q bigint[];
    v_held bigint[];
    v_live_p bigint;
    v_live_q bigint;
    v_all text;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND THEN
        v_all := 'not_found';
    ELSIF c.version <> p_version THEN
        v_all := 'changed';
    ELSIF c.status <> 'open' OR now() < c.starts_at OR now() >= c.ends_at THEN
        v_all := 'campaign_not_open';
    END IF;
    IF v_all IS NOT NULL THEN
        RETURN QUERY SELECT g, v_all, NULL::text, false, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint
                       FROM generate_series(1, n) g;
        RETURN;
    END IF;

    SELECT coalesce(array_agg(u.customer_id), '{}') INTO v_held
      FROM unnest(p_customers) u (customer_id)
     CROSS JOIN LATERAL (
           SELECT 1 FROM participations x
            WHERE x.campaign_id = p_campaign_id AND x.customer_id = u.customer_id
              AND x.status IN ('pending_deposit', 'active')
            LIMIT 1) x;
    v_live_p := c.live_participants;
    v_live_q := c.live_quantity;
    v_reason := array_fill(NULL::text, ARRAY[n]);
    v_after_p := array_fill(NULL::bigint, ARRAY[n]);
    v_after_q := array_fill(NULL::bigint, ARRAY[n]);
    FOR i IN 1 .. n LOOP
        IF p_quantities[i] > c.per_customer_limit THEN
            v_reason[i] := 'per_customer_limit';
        ELSIF p_scores[i] < c.min_score THEN
            v_reason[i] := 'reliability_too_low';
        ELSIF p_customers[i] = ANY (v_held) THEN
            v_reason[i] := 'already_joined';
        ELSIF v_live_q + p_quantities[i] > c.max_quantity THEN
            v_reason[i] := 'campaign_full';
        ELSE
            v_held := v_held || p_customers[i];
            v_live_p := v_live_p + 1;
            v_live_q := v_live_q + p_quantities[i];
        END IF;
        v_after_p[i] := v_live_p;
        v_after_q[i] := v_live_q;
    END LOOP;

    RETURN QUERY
    WITH u AS (
        SELECT * FROM unnest(p_customers, p_quantities, p_scores, p_p_complete,
                             p_deposit_percents, p_deposit_cents, v_reason)
                      WITH ORDINALITY
                      AS u (customer_id, quantity, score, p_complete,
                            deposit_percent, deposit_cents, reason, ord)),
    ins AS (
        INSERT INTO participations (distributor_id, campaign_id, customer_id,
               quantity, status, score_at_join, p_complete_at_join,
               deposit_percent, deposit_cents, deposit_due_by)
        SELECT c.distributor_id, c.id, u.customer_id, u.quantity,
               CASE WHEN u.deposit_cents = 0 THEN 'active' ELSE 'pending_deposit' END,
               u.score, u.p_complete, u.deposit_percent, u.deposit_cents,
               CASE WHEN u.deposit_cents > 0
                 THEN now() + make_interval(secs => c.deposit_window_seconds)
               END
          FROM u WHERE u.reason IS NULL ORDER BY u.ord
        RETURNING *),
    o AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                            participation_id, payload)
        SELECT ins.distributor_id, k.kind, ins.customer_id, ins.campaign_id, ins.id,
               jsonb_build_object('quantity', ins.quantity,
                                  'deposit_cents', ins.deposit_cents,
                                  'deposit_due_by', gb_ts(ins.deposit_due_by))
          FROM ins CROSS JOIN (VALUES ('joined'), ('deposit_due')) k (kind)
         WHERE k.kind = 'joined' OR ins.deposit_cents > 0
         ORDER BY ins.id, k.kind DESC)
    SELECT u.ord::integer, u.reason,
           CASE WHEN ins.id IS NOT NULL THEN json_build_object(
             'id', ins.id, 'campaign_id', ins.campaign_id,
             'customer_id', ins.customer_id, 'quantity', ins.quantity,
             'status', ins.status, 'deposit_cents', ins.deposit_cents,
             'deposit_paid_cents', ins.deposit_paid_cents,
             'deposit_due_by', gb_ts(ins.deposit_due_by),
             'amount_due_cents', ins.deposit_cents - ins.deposit_paid_cents,
             'pay_by', NULL::text, 'created_at', gb_ts(ins.created_at),
             'unit_price_cents', NULL::bigint)::text END,
           true, c.tiers::text, c.tier_basis, v_after_p[u.ord], v_after_q[u.ord]
      FROM u LEFT JOIN ins ON u.reason IS NULL AND ins.customer_id = u.customer_id
     ORDER BY u.ord;
END $$;
