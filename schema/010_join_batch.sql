-- Coalesced joins (server/joinbatch.c): the joins of one campaign that
-- arrive together are decided and written in ONE transaction.
--
-- gb_join_batch takes the batch as parallel arrays in arrival order (the
-- server computed each row's score and deposit from the history it read),
-- locks the campaign, and decides row by row exactly as the single join
-- does: campaign open by the database clock and unchanged since the read
-- (version), per-customer limit, minimum score, one live participation
-- per customer (also within the batch: the second row of a customer is
-- already_joined), and the units left, accumulated over the rows accepted
-- before it. A refused row never affects the others. The accepted rows go
-- in with one INSERT (the counter trigger then updates the campaign once,
-- guarded by campaigns_no_oversell) and their outbox rows with one more.
--
-- One row out per row in: o_ord (1-based), o_reason (NULL when accepted;
-- else changed, not_found, campaign_not_open, per_customer_limit,
-- reliability_too_low, already_joined, campaign_full), the participation
-- JSON, and for the current price: true, the tiers, the basis and the live
-- counters just after this row's join. The JSON is gb_participation_json
-- (schema/004) written out for a participation just joined to an open
-- campaign (status pending_deposit or active: amount due = the deposit
-- due, no pay_by, no unit price yet), inline because a function call per
-- row cost more than the rest of the batch together; keep the two alike.


CREATE FUNCTION gb_join_batch(p_campaign_id bigint, p_version integer,
                              p_customers bigint[], p_quantities bigint[],
                              p_scores integer[], p_p_complete double precision[],
                              p_deposit_percents integer[], p_deposit_cents bigint[])
    RETURNS TABLE (o_ord integer, o_reason text, o_participation text,
                   o_live_price boolean, o_tiers text, o_tier_basis text,
                   o_live_participants bigint, o_live_quantity bigint)
    LANGUAGE plpgsql AS $$
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

    SELECT coalesce(array_agg(x.customer_id), '{}') INTO v_held
      FROM participations x
     WHERE x.campaign_id = p_campaign_id AND x.customer_id = ANY (p_customers)
       AND x.status IN ('pending_deposit', 'active');
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
