-- Representations of products and campaigns (staff and public), the
-- helpers of the handlers in api/admin/products.c, api/admin/campaigns.c,
-- api/admin/campaign_edit.c and api/shop/catalog.c, and the staff's
-- writes: a product's creation, a campaign's creation, edit, publish and
-- cancel, each with its audit line in its transaction (functions/audit.sql).
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
                                   'reserved', p.reserved,
                                   'committed', p.committed,
                                   'available', p.stock - p.reserved - p.committed,
                                   'sold', p.sold,
                                   'stock_version', p.stock_version,
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

-- A ladder as the public sees it: each tier's threshold and price, never
-- the manufacturer's cost (cost_price_cents) that staff may store with it.
CREATE OR REPLACE FUNCTION gb_tiers_public(p_tiers jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT coalesce(jsonb_agg(t - 'cost_price_cents' ORDER BY i), '[]'::jsonb)
            FROM jsonb_array_elements(p_tiers) WITH ORDINALITY a (t, i) $$;

-- The public campaign object, without progress. The deposit policy and
-- min_score are public so that a shopper sees the deposit and whether they
-- may join before committing (the join applies the same bands).
CREATE OR REPLACE FUNCTION gb_campaign_public_json(c campaigns) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'id', c.id, 'title', c.title, 'description', c.description,
              'status', gb_campaign_public_status(c.status),
              'starts_at', gb_ts(c.starts_at), 'ends_at', gb_ts(c.ends_at),
              'tier_basis', c.tier_basis, 'tiers', gb_tiers_public(c.tiers),
              'min_participants', c.min_participants,
              'max_quantity', c.max_quantity,
              'per_customer_limit', c.per_customer_limit,
              'deposit_policy', c.deposit_policy, 'min_score', c.min_score,
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
-- progress and "stats", its participations counted by status, and its
-- waitlist: customers waiting and the units they wait for.
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
                          || (SELECT jsonb_build_object('waiting', count(*),
                                                        'waiting_quantity',
                                                        coalesce(sum(w.quantity), 0))
                                FROM waitlist_entries w
                               WHERE w.campaign_id = c.id AND w.status = 'waiting')
                     FROM participations p WHERE p.campaign_id = c.id)) $$;

-- A product of the distributor's catalogue, with its audit line; answers
-- its JSON. A SKU the distributor already has is unique_violation.
CREATE OR REPLACE FUNCTION gb_product_create(p_distributor_id bigint, p_sku text,
                                  p_name text, p_description text,
                                  p_list_price_cents bigint,
                                  p_cost_price_cents bigint, p_stock bigint,
                                  p_staff_id bigint, p_request_id text)
    RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    p products;
BEGIN
    INSERT INTO products (distributor_id, sku, name, description,
                          list_price_cents, cost_price_cents, stock)
    VALUES (p_distributor_id, p_sku, p_name, p_description, p_list_price_cents,
            p_cost_price_cents, p_stock)
    RETURNING * INTO p;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'create', 'product', p.id,
                     NULL, gb_product_json(p)::jsonb, p_request_id);
    RETURN gb_product_json(p);
END $$;

-- Edits a product (PATCH /v1/admin/products/{id}): each of name,
-- description, list price and cost price when not NULL, with its audit
-- line (the product before and after). Outcome 'ok' (body: the product),
-- 'not_found' (not the distributor's), or 'list_price' when the new list
-- price is below a tier price of one of the product's campaigns that can
-- still sell (draft, scheduled, open): every tier price stays at most the
-- list price (docs/domain.md). The product row is locked, so two edits
-- run one after the other. A new cost price applies to the settlements
-- made from then on (gb_settlement_unit_cost); an after-sales adjustment
-- of a campaign already settled keeps the unit cost its settlement line
-- used (functions/aftersales.sql). Stock is not edited here.
CREATE OR REPLACE FUNCTION gb_product_update(p_distributor_id bigint, p_id bigint,
                                  p_name text, p_description text,
                                  p_list_price_cents bigint,
                                  p_cost_price_cents bigint,
                                  p_staff_id bigint, p_request_id text,
                                  OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    old products;
    p products;
BEGIN
    SELECT * INTO old FROM products
     WHERE distributor_id = p_distributor_id AND id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF p_list_price_cents IS NOT NULL AND EXISTS (
           SELECT 1 FROM campaigns c, jsonb_array_elements(c.tiers) t
            WHERE c.distributor_id = p_distributor_id AND c.product_id = p_id
              AND c.status IN ('draft', 'scheduled', 'open')
              AND (t ->> 'unit_price_cents')::bigint > p_list_price_cents) THEN
        outcome := 'list_price';
        RETURN;
    END IF;
    UPDATE products
       SET name = coalesce(p_name, name),
           description = coalesce(p_description, description),
           list_price_cents = coalesce(p_list_price_cents, list_price_cents),
           cost_price_cents = coalesce(p_cost_price_cents, cost_price_cents)
     WHERE id = p_id
    RETURNING * INTO p;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'update', 'product', p.id,
                     gb_product_json(old)::jsonb, gb_product_json(p)::jsonb,
                     p_request_id);
    outcome := 'ok';
    body := gb_product_json(p);
END $$;

-- A draft campaign, with its audit line; answers the row. The caller has
-- checked every field (the campaign's CHECKs and gb_campaign_check hold
-- them again); a product that is not the distributor's is
-- foreign_key_violation.
CREATE OR REPLACE FUNCTION gb_campaign_create(p_distributor_id bigint, p_product_id bigint,
                                   p_title text, p_description text,
                                   p_starts_at timestamptz, p_ends_at timestamptz,
                                   p_tier_basis text, p_tiers jsonb,
                                   p_min_participants integer,
                                   p_max_quantity bigint,
                                   p_per_customer_limit bigint,
                                   p_deposit_policy jsonb, p_min_score integer,
                                   p_deposit_window_seconds integer,
                                   p_payment_window_seconds integer,
                                   p_max_pending_share_bp integer,
                                   p_fulfilment text, p_pickup_point_ids bigint[],
                                   p_after_sales_days integer,
                                   p_staff_id bigint, p_request_id text)
    RETURNS campaigns
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
BEGIN
    INSERT INTO campaigns (distributor_id, product_id, title, description,
                           starts_at, ends_at, tier_basis, tiers,
                           min_participants, max_quantity, per_customer_limit,
                           deposit_policy, min_score, deposit_window_seconds,
                           payment_window_seconds, max_pending_share_bp,
                           fulfilment, pickup_point_ids, after_sales_days)
    VALUES (p_distributor_id, p_product_id, p_title, p_description, p_starts_at,
            p_ends_at, p_tier_basis, p_tiers, p_min_participants, p_max_quantity,
            p_per_customer_limit, p_deposit_policy, p_min_score,
            p_deposit_window_seconds, p_payment_window_seconds,
            p_max_pending_share_bp, p_fulfilment, p_pickup_point_ids,
            p_after_sales_days)
    RETURNING * INTO c;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'create', 'campaign', c.id,
                     NULL, gb_campaign_json(c)::jsonb, p_request_id);
    RETURN c;
END $$;

-- A staff edit: writes every editable field (the caller has merged the
-- request into the campaign it read and checked the whole) when the
-- campaign still has the version and status it read, and is a draft or has
-- not reached its ends_at; with its audit line (before and after).
-- Outcome:
--   'updated'       campaign is the campaign as written;
--   'changed'       the campaign changed meanwhile (or is not the
--                   distributor's; campaign NULL): the caller reads it
--                   again and decides again;
--   'understocked'  a scheduled or open campaign's larger max_quantity is
--                   not covered by the product's available stock (nothing
--                   written).
-- A scheduled or open campaign's cap only grows here (the caller refuses
-- a smaller one), through gb_campaign_raise, which reserves the units.
DROP FUNCTION IF EXISTS gb_campaign_update(bigint, bigint, integer, text, bigint, text, text,
                                           timestamptz, timestamptz, text, jsonb, integer,
                                           bigint, bigint, jsonb, integer, integer, integer,
                                           integer, text, bigint[], integer, bigint, text);
CREATE OR REPLACE FUNCTION gb_campaign_update(p_distributor_id bigint, p_campaign_id bigint,
                                   p_version integer, p_status text,
                                   p_product_id bigint,
                                   p_title text, p_description text,
                                   p_starts_at timestamptz, p_ends_at timestamptz,
                                   p_tier_basis text, p_tiers jsonb,
                                   p_min_participants integer,
                                   p_max_quantity bigint,
                                   p_per_customer_limit bigint,
                                   p_deposit_policy jsonb, p_min_score integer,
                                   p_deposit_window_seconds integer,
                                   p_payment_window_seconds integer,
                                   p_max_pending_share_bp integer,
                                   p_fulfilment text, p_pickup_point_ids bigint[],
                                   p_after_sales_days integer,
                                   p_staff_id bigint, p_request_id text,
                                   OUT outcome text, OUT campaign campaigns)
    LANGUAGE plpgsql AS $$
DECLARE
    v_before campaigns;
BEGIN
    SELECT * INTO v_before FROM campaigns t
     WHERE t.distributor_id = p_distributor_id AND t.id = p_campaign_id
       AND t.version = p_version AND t.status = p_status
       AND (t.status = 'draft' OR t.ends_at > now())
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'changed';
        RETURN;
    END IF;
    -- a live campaign holds max_quantity of its product: the product
    -- stays, and the cap only grows (the caller refuses the rest first)
    IF v_before.status IN ('scheduled', 'open')
       AND (p_product_id <> v_before.product_id
            OR p_max_quantity < v_before.max_quantity) THEN
        RAISE EXCEPTION 'campaign %: a % campaign keeps its product and its cap only grows',
              v_before.id, v_before.status USING ERRCODE = 'check_violation';
    END IF;
    IF v_before.status IN ('scheduled', 'open')
       AND p_max_quantity > v_before.max_quantity
       AND NOT gb_campaign_raise(v_before, p_max_quantity) THEN
        outcome := 'understocked';
        RETURN;
    END IF;
    UPDATE campaigns t
       SET product_id = p_product_id, title = p_title,
           description = p_description, starts_at = p_starts_at,
           ends_at = p_ends_at, tier_basis = p_tier_basis, tiers = p_tiers,
           min_participants = p_min_participants,
           max_quantity = p_max_quantity,
           per_customer_limit = p_per_customer_limit,
           deposit_policy = p_deposit_policy, min_score = p_min_score,
           deposit_window_seconds = p_deposit_window_seconds,
           payment_window_seconds = p_payment_window_seconds,
           max_pending_share_bp = p_max_pending_share_bp,
           fulfilment = p_fulfilment, pickup_point_ids = p_pickup_point_ids,
           after_sales_days = p_after_sales_days,
           version = t.version + 1, updated_at = now()
     WHERE t.id = v_before.id
    RETURNING * INTO campaign;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'update', 'campaign', campaign.id,
                     gb_campaign_json(v_before)::jsonb, gb_campaign_json(campaign)::jsonb,
                     p_request_id);
    outcome := 'updated';
END $$;

-- Staff publish: a draft becomes scheduled, or open when its starts_at has
-- come, with its audit line (before: the status). Outcome:
--   'published'     campaign is the campaign published;
--   'not_found'     not the distributor's campaign (campaign NULL);
--   'not_draft'     campaign as found (its status says why);
--   'ended'         its ends_at has passed;
--   'understocked'  the product's available stock (stock - reserved -
--                   committed) is below max_quantity.
-- The checks run in that order under the campaign's lock, so two publishes
-- of one draft publish it once. This is the one place that decides whether
-- a campaign's product can supply it: publishing reserves max_quantity of
-- the product's stock (functions/stock.sql), in the transaction that makes
-- the campaign live, under the product's row lock, so that the campaigns
-- of one product never hold more than its stock.
CREATE OR REPLACE FUNCTION gb_campaign_publish(p_distributor_id bigint,
                                    p_campaign_id bigint, p_staff_id bigint,
                                    p_request_id text, OUT outcome text,
                                    OUT campaign campaigns)
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO campaign FROM campaigns t
     WHERE t.distributor_id = p_distributor_id AND t.id = p_campaign_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF campaign.status <> 'draft' THEN
        outcome := 'not_draft';
        RETURN;
    END IF;
    IF campaign.ends_at <= now() THEN
        outcome := 'ended';
        RETURN;
    END IF;
    IF NOT gb_stock_reserve(campaign.product_id, campaign.max_quantity) THEN
        outcome := 'understocked';
        RETURN;
    END IF;
    UPDATE campaigns t
       SET status = CASE WHEN t.starts_at <= now() THEN 'open' ELSE 'scheduled' END,
           version = t.version + 1, updated_at = now()
     WHERE t.id = campaign.id
    RETURNING * INTO campaign;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'publish', 'campaign', campaign.id,
                     jsonb_build_object('status', 'draft'),
                     gb_campaign_json(campaign)::jsonb, p_request_id);
    outcome := 'published';
END $$;

-- A larger max_quantity for a scheduled or open campaign c (the caller
-- holds its lock and has checked that p_max_quantity > c.max_quantity):
-- reserves the difference from the product's available stock and writes
-- the new cap. False, with nothing changed, when the stock does not cover
-- it. The one place a live campaign's cap grows: the units it frees are
-- where a waitlist would be served from.
CREATE OR REPLACE FUNCTION gb_campaign_raise(c campaigns, p_max_quantity bigint)
    RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT gb_stock_reserve(c.product_id, p_max_quantity - c.max_quantity) THEN
        RETURN false;
    END IF;
    UPDATE campaigns t SET max_quantity = p_max_quantity WHERE t.id = c.id;
    -- the new units go to the waitlist first (functions/waitlist.sql)
    PERFORM gb_waitlist_hold(ARRAY[c.id]);
    RETURN true;
END $$;

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
        PERFORM gb_audit(p_distributor_id, p_staff_id, 'cancel', 'campaign', c.id,
                         v_before, gb_campaign_json(c)::jsonb, p_request_id)
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
        -- every tier: whole-number-typed threshold 1..10^6, price 1..10^8,
        -- and a cost, when it has one, 0..10^8 (the product's cost bound)
        WHEN NOT (NOT jsonb_path_exists(c.tiers,
                  '$[*] ? (!(@.threshold.type() == "number"
                             && @.unit_price_cents.type() == "number"
                             && @.threshold >= 1 && @.threshold <= 1000000
                             && @.unit_price_cents >= 1
                             && @.unit_price_cents <= 100000000
                             && (!exists(@.cost_price_cents)
                                 || (@.cost_price_cents.type() == "number"
                                     && @.cost_price_cents.floor() == @.cost_price_cents
                                     && @.cost_price_cents >= 0
                                     && @.cost_price_cents <= 100000000))))'))
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
