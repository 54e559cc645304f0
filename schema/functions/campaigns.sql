-- Representations of products and campaigns (staff and public), and the
-- helpers of the handlers in api/admin/products.c, api/admin/campaigns.c,
-- api/admin/campaign_edit.c and api/shop/catalog.c.
--
-- The JSON here is built by PostgreSQL so that ids, amounts and times reach
-- the client exactly, each object in one place: the campaign with its
-- progress (functions/pricing.sql) and, for staff, its stats. The staff
-- view's forecast is computed in C (server/domain/forecast.c), which adds
-- that member to the parsed object; clients must not depend on the order
-- of keys.
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

-- The campaign objects as the API answers them: gb_campaign_json (staff)
-- or gb_campaign_public_json (public) with "progress"; gb_campaign_json
-- alone is what the audit log and the events record. Null for no campaign
-- (a statement's outer join that found none).
CREATE OR REPLACE FUNCTION gb_campaign_view(c campaigns) RETURNS jsonb
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT gb_campaign_json(c)::jsonb
                 || jsonb_build_object('progress', gb_campaign_progress(c)) $$;

CREATE OR REPLACE FUNCTION gb_campaign_public_view(c campaigns) RETURNS jsonb
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT gb_campaign_public_json(c)::jsonb
                 || jsonb_build_object('progress', gb_campaign_progress(c)) $$;

-- The staff view (GET /v1/admin/campaigns/{id}): the campaign with its
-- progress and "stats", its participations counted by status.
CREATE OR REPLACE FUNCTION gb_campaign_staff_view(c campaigns) RETURNS jsonb
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT gb_campaign_view(c) || jsonb_build_object('stats', (
                   SELECT jsonb_build_object(
                            'pending_deposit', count(*) FILTER (WHERE p.status = 'pending_deposit'),
                            'active', count(*) FILTER (WHERE p.status = 'active'),
                            'withdrawn', count(*) FILTER (WHERE p.status = 'withdrawn'),
                            'expired', count(*) FILTER (WHERE p.status = 'expired'),
                            'awaiting_payment',
                              count(*) FILTER (WHERE p.status = 'awaiting_payment'),
                            'paid', count(*) FILTER (WHERE p.status = 'paid'),
                            'defaulted', count(*) FILTER (WHERE p.status = 'defaulted'),
                            'refunded', count(*) FILTER (WHERE p.status = 'refunded'),
                            'void', count(*) FILTER (WHERE p.status = 'void'))
                     FROM participations p WHERE p.campaign_id = c.id)) $$;

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



-- A campaign's own fields, checked when they are written
-- (schema/010_campaign_checks.sql says why these are not CHECK
-- constraints). Each condition is the CHECK it replaces, under the same
-- name, with the same meaning: a row passes when the condition is true or
-- NULL, and a failure is SQLSTATE 23514 naming the check. The API refuses
-- all of these before they reach the database (server/domain/pricing.h bounds,
-- api/admin/campaign_form.c); these hold whoever writes the row. The cap
-- (campaigns_no_oversell) and live_participants >= 0 stay constraints.
CREATE OR REPLACE FUNCTION gb_campaign_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    v_failed text;
BEGIN
    SELECT CASE
        WHEN NOT (c.after_sales_days >= 0 AND c.after_sales_days <= 30)
          THEN 'campaigns_after_sales_days_check'
        WHEN NOT (c.per_customer_limit >= 1 AND c.per_customer_limit <= c.max_quantity)
          THEN 'campaigns_check'
        WHEN NOT (c.starts_at < c.ends_at) THEN 'campaigns_check1'
        WHEN NOT (jsonb_typeof(c.deposit_policy) = 'array')
          THEN 'campaigns_deposit_policy_check'
        WHEN NOT (c.deposit_window_seconds > 0) THEN 'campaigns_deposit_window_seconds_check'
        WHEN NOT (char_length(c.description) <= 4000) THEN 'campaigns_description_check'
        WHEN NOT (c.final_unit_price_cents <= 100000000) THEN 'campaigns_final_price_bound'
        WHEN NOT (c.final_unit_price_cents >= 1) THEN 'campaigns_final_unit_price_cents_check'
        WHEN NOT (c.fulfilment = ANY (ARRAY['delivery', 'pickup']))
          THEN 'campaigns_fulfilment_check'
        WHEN NOT ((c.fulfilment = 'pickup') = (cardinality(c.pickup_point_ids) > 0)
                  AND cardinality(c.pickup_point_ids) <= 50)
          THEN 'campaigns_fulfilment_points'
        WHEN NOT (c.max_quantity <= 1000000) THEN 'campaigns_max_quantity_bound'
        WHEN NOT (c.max_quantity >= 1) THEN 'campaigns_max_quantity_check'
        WHEN NOT (c.min_participants <= 1000000) THEN 'campaigns_min_participants_bound'
        WHEN NOT (c.min_participants >= 1) THEN 'campaigns_min_participants_check'
        WHEN NOT (c.min_score >= 0 AND c.min_score <= 100) THEN 'campaigns_min_score_check'
        WHEN NOT (c.payment_window_seconds > 0) THEN 'campaigns_payment_window_seconds_check'
        WHEN NOT (c.max_pending_share_bp >= 1 AND c.max_pending_share_bp <= 10000)
          THEN 'campaigns_pending_share'
        WHEN NOT (c.status = ANY (ARRAY['draft', 'scheduled', 'open', 'succeeded', 'failed',
                                        'cancelled', 'settled']))
          THEN 'campaigns_status_check'
        WHEN NOT (c.tier_basis = ANY (ARRAY['participants', 'quantity']))
          THEN 'campaigns_tier_basis_check'
        -- every tier: whole-number-typed threshold 1..10^6, price 1..10^8
        WHEN NOT (NOT jsonb_path_exists(c.tiers,
                  '$[*] ? (!(@.threshold.type() == "number"
                             && @.unit_price_cents.type() == "number"
                             && @.threshold >= 1 && @.threshold <= 1000000
                             && @.unit_price_cents >= 1
                             && @.unit_price_cents <= 100000000))'))
          THEN 'campaigns_tiers_bound'
        WHEN NOT (jsonb_typeof(c.tiers) = 'array') THEN 'campaigns_tiers_check'
        -- the ladder's shape (functions/pricing.sql)
        WHEN NOT gb_tiers_valid(c.tiers) THEN 'campaigns_tiers_ladder'
        WHEN NOT (char_length(c.title) >= 1 AND char_length(c.title) <= 200)
          THEN 'campaigns_title_check'
        END
      INTO v_failed
      FROM (SELECT NEW.*) c;
    IF v_failed IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "campaigns" violates check constraint "%"',
              v_failed
              USING ERRCODE = 'check_violation', CONSTRAINT = v_failed,
                    TABLE = 'campaigns', SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END $$;

-- Not on an update that writes only the counters (the joins').
CREATE OR REPLACE TRIGGER campaigns_fields_check BEFORE INSERT OR UPDATE OF
    after_sales_days, per_customer_limit, max_quantity, starts_at, ends_at,
    deposit_policy, deposit_window_seconds, description, final_unit_price_cents,
    fulfilment, pickup_point_ids, max_pending_share_bp, min_participants, min_score,
    payment_window_seconds, status, tier_basis, tiers, title
    ON campaigns FOR EACH ROW EXECUTE FUNCTION gb_campaign_check();
