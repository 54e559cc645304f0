-- Representations of products and campaigns (staff and public), and the
-- helpers of the handlers in api_products.c and api_campaigns.c.
--
-- The JSON here is built by PostgreSQL so that ids, amounts and times reach
-- the client exactly; what C must compute (progress by the pricing module,
-- forecast) it computes from plain columns and splices into these objects.
--
-- Decisions where the documents are silent:
--   * the public side shows `settled` campaigns as `succeeded` (settlement
--     is finance's business, not the shopper's); draft and cancelled ones
--     are not public (404);
--   * the figures a campaign's progress is computed from
--     (gb_campaign_counted): the live counters while it has not closed;
--     once succeeded or settled, the participations that counted at the
--     close (awaiting_payment, paid, defaulted), so that a finished
--     campaign still shows the tier it reached; failed and cancelled
--     campaigns have no live participations left and show 0.



CREATE OR REPLACE FUNCTION gb_product_json(p products) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', p.id, 'distributor_id', p.distributor_id,
                                   'sku', p.sku, 'name', p.name,
                                   'description', p.description,
                                   'list_price_cents', p.list_price_cents,
                                   'cost_price_cents', p.cost_price_cents,
                                   'stock', p.stock,
                                   'created_at', gb_ts(p.created_at)) $$;

-- The staff campaign object, without progress / stats / forecast.
CREATE OR REPLACE FUNCTION gb_campaign_json(c campaigns) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'id', c.id, 'distributor_id', c.distributor_id,
              'product_id', c.product_id, 'title', c.title,
              'description', c.description, 'status', c.status,
              'starts_at', gb_ts(c.starts_at), 'ends_at', gb_ts(c.ends_at),
              'tier_basis', c.tier_basis, 'tiers', c.tiers,
              'min_participants', c.min_participants,
              'max_quantity', c.max_quantity,
              'per_customer_limit', c.per_customer_limit,
              'deposit_policy', c.deposit_policy, 'min_score', c.min_score,
              'deposit_window_seconds', c.deposit_window_seconds,
              'payment_window_seconds', c.payment_window_seconds,
              'max_pending_share_bp', c.max_pending_share_bp,
              'fulfilment', c.fulfilment,
              'pickup_point_ids', to_json(c.pickup_point_ids),
              'after_sales_days', c.after_sales_days,
              'final_unit_price_cents', c.final_unit_price_cents,
              'created_at', gb_ts(c.created_at),
              'updated_at', gb_ts(c.updated_at),
              'closed_at', gb_ts(c.closed_at)) $$;

-- The status shoppers see.
CREATE OR REPLACE FUNCTION gb_campaign_public_status(s text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT CASE WHEN s = 'settled' THEN 'succeeded' ELSE s END $$;

-- The public campaign object, without progress.
CREATE OR REPLACE FUNCTION gb_campaign_public_json(c campaigns) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'id', c.id, 'title', c.title, 'description', c.description,
              'status', gb_campaign_public_status(c.status),
              'starts_at', gb_ts(c.starts_at), 'ends_at', gb_ts(c.ends_at),
              'tier_basis', c.tier_basis, 'tiers', c.tiers,
              'min_participants', c.min_participants,
              'max_quantity', c.max_quantity,
              'per_customer_limit', c.per_customer_limit,
              'product', (SELECT json_build_object('id', p.id, 'name', p.name,
                                                   'list_price_cents',
                                                   p.list_price_cents)
                            FROM products p WHERE p.id = c.product_id),
              'final_unit_price_cents', c.final_unit_price_cents,
              'closed_at', gb_ts(c.closed_at),
              'fulfilment', c.fulfilment,
              'after_sales_days', c.after_sales_days,
              'pickup_points', CASE c.fulfilment WHEN 'pickup'
                                   THEN gb_campaign_pickup_points_json(c) END)
              $$;

-- The participants and quantity a campaign's progress is priced from
-- (see the header).
CREATE OR REPLACE FUNCTION gb_campaign_counted(c campaigns, OUT participants bigint,
                                    OUT quantity bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN c.status IN ('succeeded', 'settled') THEN k.n
                      ELSE c.live_participants END,
                 CASE WHEN c.status IN ('succeeded', 'settled') THEN k.q
                      ELSE c.live_quantity END
            FROM (SELECT count(*) AS n, coalesce(sum(p.quantity), 0)::bigint AS q
                    FROM participations p
                   WHERE c.status IN ('succeeded', 'settled')
                     AND p.campaign_id = c.id
                     AND p.status IN ('awaiting_payment', 'paid', 'defaulted')) k $$;

-- Staff cancel with its audit line, in one transaction: the before and
-- after objects around gb_campaign_cancel (functions/transitions.sql,
-- resolved at call time). Returns its outcome: 'cancelled', 'not_found' or
-- 'invalid_state'.
CREATE OR REPLACE FUNCTION gb_campaign_cancel_audited(p_distributor_id bigint,
                                           p_campaign_id bigint,
                                           p_staff_id bigint,
                                           p_request_id text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_before jsonb;
    v_outcome text;
BEGIN
    SELECT gb_campaign_json(c)::jsonb INTO v_before
      FROM campaigns c
     WHERE c.distributor_id = p_distributor_id AND c.id = p_campaign_id;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    v_outcome := gb_campaign_cancel(p_distributor_id, p_campaign_id);
    IF v_outcome = 'cancelled' THEN
        INSERT INTO audit_log (distributor_id, staff_id, actor, action, entity,
                               entity_id, before, after, request_id)
        SELECT p_distributor_id, p_staff_id, 'staff:' || p_staff_id, 'cancel',
               'campaign', c.id, v_before, gb_campaign_json(c)::jsonb,
               p_request_id
          FROM campaigns c WHERE c.id = p_campaign_id;
    END IF;
    RETURN v_outcome;
END $$;

