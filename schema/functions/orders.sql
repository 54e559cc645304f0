-- Fulfilment: the representations of pickup points and orders, the
-- staff's writes of pickup points (with their audit lines), the trigger
-- that creates an order when a participation becomes paid, and the order
-- transitions with their outbox events (api/admin/pickup_points.c,
-- api/admin/fulfilment.c and api/shop/orders.c answer with these, through
-- server/engine/order.c for the transitions).
--
-- An order is created in the transaction that makes its participation
-- paid, whichever statement does it (a balance payment applied, or the
-- close when nothing is owed): a statement-level trigger over the
-- participations whose status became 'paid'. Its fulfilment, pickup point
-- and address are copied from the campaign and the participation at that
-- moment; the address may be set later by the customer until the order
-- ships.
--
-- Shipping and the pickup take the order's units out of the product's
-- stock (gb_order_stock_out): they were committed since the close.
--
-- Outbox kinds are the API's event names: order.shipped, order.delivered,
-- order.ready_for_pickup, order.picked_up, each keyed <kind>:order:<id>.
--
-- The pickup code: six digits drawn in C from OpenSSL's CSPRNG
-- (server/domain/fulfil.c), written with the ready transition. orders keeps
-- only a salted SHA-256 of it, which the pickup compares in C in constant
-- time; the customer's copy lives in order_pickup_codes, read only by the
-- customer-scoped statements of api/shop/orders.c (a staff statement
-- never selects from it).

CREATE OR REPLACE FUNCTION gb_pickup_point_json(p pickup_points) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
              'id', p.id, 'distributor_id', p.distributor_id, 'name', p.name,
              'address', p.address, 'leader_name', p.leader_name,
              'leader_phone', p.leader_phone,
              'commission_bp', p.commission_bp, 'active', p.active,
              'created_at', gb_ts(p.created_at),
              'updated_at', gb_ts(p.updated_at)) $$;

-- A pickup point of the distributor, with its audit line; answers its
-- JSON.
CREATE OR REPLACE FUNCTION gb_pickup_point_create(p_distributor_id bigint, p_name text,
                                       p_address text, p_leader_name text,
                                       p_leader_phone text, p_commission_bp integer,
                                       p_staff_id bigint, p_request_id text)
    RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    p pickup_points;
BEGIN
    INSERT INTO pickup_points (distributor_id, name, address, leader_name,
                               leader_phone, commission_bp)
    VALUES (p_distributor_id, p_name, p_address, p_leader_name, p_leader_phone,
            p_commission_bp)
    RETURNING * INTO p;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'create', 'pickup_point', p.id,
                     NULL, gb_pickup_point_json(p)::jsonb, p_request_id);
    RETURN gb_pickup_point_json(p);
END $$;

-- A staff edit of a pickup point: each argument that is not NULL replaces
-- its field (a commission changed applies to campaigns settled afterwards:
-- the leader's commission is fixed at settlement); with its audit line
-- (before and after). Answers the point's JSON, or no row when the
-- distributor has no such point.
CREATE OR REPLACE FUNCTION gb_pickup_point_update(p_distributor_id bigint, p_id bigint,
                                       p_name text, p_address text,
                                       p_leader_name text, p_leader_phone text,
                                       p_commission_bp integer, p_active boolean,
                                       p_staff_id bigint, p_request_id text)
    RETURNS SETOF json
    LANGUAGE plpgsql AS $$
DECLARE
    v_before pickup_points;
    p pickup_points;
BEGIN
    SELECT * INTO v_before FROM pickup_points x
     WHERE x.distributor_id = p_distributor_id AND x.id = p_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE pickup_points x
       SET name = coalesce(p_name, x.name),
           address = coalesce(p_address, x.address),
           leader_name = coalesce(p_leader_name, x.leader_name),
           leader_phone = coalesce(p_leader_phone, x.leader_phone),
           commission_bp = coalesce(p_commission_bp, x.commission_bp),
           active = coalesce(p_active, x.active), updated_at = now()
     WHERE x.id = v_before.id
    RETURNING * INTO p;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'update', 'pickup_point', p.id,
                     gb_pickup_point_json(v_before)::jsonb,
                     gb_pickup_point_json(p)::jsonb, p_request_id);
    RETURN NEXT gb_pickup_point_json(p);
END $$;

-- True when every id of p_ids is an active pickup point of the
-- distributor (an empty array is usable: delivery names none).
CREATE OR REPLACE FUNCTION gb_pickup_points_usable(p_distributor_id bigint,
                                                   p_ids bigint[]) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT count(*) = cardinality(p_ids)
            FROM pickup_points p
           WHERE p.distributor_id = p_distributor_id AND p.active
             AND p.id = ANY (p_ids) $$;

-- The points of a campaign as the public sees them, in the campaign's order.
CREATE OR REPLACE FUNCTION gb_campaign_pickup_points_json(c campaigns) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(json_agg(json_build_object('id', p.id, 'name', p.name,
                                                     'address', p.address,
                                                     'leader_name', p.leader_name)
                                   ORDER BY array_position(c.pickup_point_ids, p.id)),
                          '[]'::json)
            FROM pickup_points p
           WHERE p.distributor_id = c.distributor_id
             AND p.id = ANY (c.pickup_point_ids) $$;

-- The order object of docs/api.md. p_code is the pickup code, given only by
-- customer-scoped statements (staff pass NULL, and the member is left out).
CREATE OR REPLACE FUNCTION gb_order_json(o orders, p_code text) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT (json_build_object(
              'id', o.id, 'participation_id', o.participation_id,
              'campaign_id', o.campaign_id, 'customer_id', o.customer_id,
              'quantity', o.quantity, 'fulfilment', o.fulfilment,
              'status', o.status,
              'pickup_point', (SELECT json_build_object('id', p.id, 'name', p.name,
                                                        'address', p.address)
                                 FROM pickup_points p
                                WHERE p.id = o.pickup_point_id),
              'address', o.address, 'carrier', o.carrier,
              'tracking_no', o.tracking_no,
              'shipped_at', gb_ts(o.shipped_at), 'ready_at', gb_ts(o.ready_at),
              'completed_at', gb_ts(o.completed_at),
              'created_at', gb_ts(o.created_at))::jsonb
              || CASE WHEN p_code IS NULL THEN '{}'::jsonb
                      ELSE jsonb_build_object('pickup_code', p_code) END)::json $$;

-- The order of a customer, with the pickup code from ready_for_pickup on
-- and its after-sales requests, newest first (functions/aftersales.sql),
-- so that the shopper sees what became of a request.
CREATE OR REPLACE FUNCTION gb_order_customer_json(o orders) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT (gb_order_json(o, (SELECT k.code FROM order_pickup_codes k
                                      WHERE k.order_id = o.id
                                        AND k.customer_id = o.customer_id
                                        AND o.status IN ('ready_for_pickup',
                                                         'picked_up')))::jsonb
                  || jsonb_build_object('after_sales', (
                       SELECT coalesce(json_agg(gb_after_sales_json(a)
                                                ORDER BY a.id DESC), '[]'::json)
                         FROM after_sales a
                        WHERE a.order_id = o.id
                          AND a.customer_id = o.customer_id)))::json $$;

-- Creates the orders of the participations a statement made paid.
CREATE OR REPLACE FUNCTION gb_orders_create() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orders (distributor_id, participation_id, campaign_id,
                        customer_id, quantity, fulfilment, pickup_point_id,
                        address)
    SELECT n.distributor_id, n.id, n.campaign_id, n.customer_id, n.quantity,
           c.fulfilment,
           CASE c.fulfilment WHEN 'pickup' THEN n.pickup_point_id END,
           CASE c.fulfilment WHEN 'delivery' THEN n.address END
      FROM new_rows n
      JOIN old_rows o ON o.id = n.id
      JOIN campaigns c ON c.id = n.campaign_id
     WHERE n.status = 'paid' AND o.status <> 'paid'
     ORDER BY n.id
    ON CONFLICT (participation_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER participations_orders AFTER UPDATE ON participations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gb_orders_create();

-- The outbox row of an order transition (the order as staff see it).
CREATE OR REPLACE FUNCTION gb_order_event(o orders, p_kind text) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,
                        participation_id, payload, idempotency_key)
    VALUES (o.distributor_id, p_kind, o.customer_id, o.campaign_id,
            o.participation_id, gb_order_json(o, NULL)::jsonb,
            p_kind || ':order:' || o.id)
$$;

-- An order's units leave the warehouse (shipped, or picked up): out of
-- the product's stock and committed units, into sold (functions/stock.sql).
CREATE OR REPLACE FUNCTION gb_order_stock_out(o orders) RETURNS void
    LANGUAGE sql AS $$
    SELECT gb_stock_move(c.product_id, -o.quantity, 0, -o.quantity, o.quantity)
      FROM campaigns c WHERE c.id = o.campaign_id
$$;

-- to_ship -> shipped (delivery, with an address). Outcome: 'ok',
-- 'not_found', 'invalid_state' or 'no_address'; the order when 'ok'.
CREATE OR REPLACE FUNCTION gb_order_ship(p_distributor_id bigint, p_order_id bigint,
                                         p_carrier text, p_tracking_no text,
                                         OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    o orders;
BEGIN
    SELECT * INTO o FROM orders
     WHERE distributor_id = p_distributor_id AND id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF o.fulfilment <> 'delivery' OR o.status <> 'to_ship' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    IF o.address IS NULL THEN
        outcome := 'no_address';
        RETURN;
    END IF;
    UPDATE orders SET status = 'shipped', carrier = p_carrier,
                      tracking_no = p_tracking_no, shipped_at = now(),
                      updated_at = now()
     WHERE id = o.id RETURNING * INTO o;
    PERFORM gb_order_event(o, 'order.shipped');
    PERFORM gb_order_stock_out(o);
    outcome := 'ok';
    body := gb_order_json(o, NULL);
END $$;

-- shipped -> delivered. Outcome as gb_order_ship (never 'no_address').
CREATE OR REPLACE FUNCTION gb_order_deliver(p_distributor_id bigint, p_order_id bigint,
                                            OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    o orders;
BEGIN
    SELECT * INTO o FROM orders
     WHERE distributor_id = p_distributor_id AND id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF o.status <> 'shipped' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    UPDATE orders SET status = 'delivered', completed_at = now(),
                      updated_at = now()
     WHERE id = o.id RETURNING * INTO o;
    PERFORM gb_order_event(o, 'order.delivered');
    outcome := 'ok';
    body := gb_order_json(o, NULL);
END $$;

-- Every to_ship order of a campaign's pickup point -> ready_for_pickup,
-- each with the code (and salt, hash, in hex) C drew for it: p_ids are the orders
-- C read as to_ship (gb_order_ready_candidates), in the same order as the
-- codes. An order no longer to_ship meanwhile is left alone. Answers how
-- many became ready.
CREATE OR REPLACE FUNCTION gb_order_ready(p_distributor_id bigint, p_campaign_id bigint,
                                          p_pickup_point_id bigint, p_ids bigint[],
                                          p_codes text[], p_salts text[],
                                          p_hashes text[]) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    o orders;
    n bigint := 0;
BEGIN
    FOR o IN
        UPDATE orders x
           SET status = 'ready_for_pickup', ready_at = now(),
               pickup_code_salt = decode(s.salt, 'hex'),
               pickup_code_sha256 = decode(s.hash, 'hex'),
               pickup_failures = 0, pickup_locked_until = NULL,
               updated_at = now()
          FROM unnest(p_ids, p_salts, p_hashes) AS s (id, salt, hash)
         WHERE x.id = s.id AND x.distributor_id = p_distributor_id
           AND x.campaign_id = p_campaign_id
           AND x.pickup_point_id = p_pickup_point_id
           AND x.status = 'to_ship'
        RETURNING x.*
    LOOP
        INSERT INTO order_pickup_codes (order_id, customer_id, code)
        SELECT o.id, o.customer_id, u.code
          FROM unnest(p_ids, p_codes) AS u (id, code) WHERE u.id = o.id
        ON CONFLICT (order_id) DO UPDATE SET code = excluded.code;
        PERFORM gb_order_event(o, 'order.ready_for_pickup');
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- The pickup: p_match is C's constant-time comparison of the code given
-- against the stored hash (read by the handler with the order's state).
-- Outcome 'ok' (picked up), 'not_found', 'invalid_state' (not ready),
-- 'locked' (five wrong codes: 15 minutes), 'wrong_code' (counted; the
-- fifth locks), 'staff_budget' or 'point_budget' (the staff member, or
-- anyone at the order's pickup point, gave too many wrong codes in the
-- last 15 minutes: no code is taken, the right one neither, until older
-- failures age out). A lock that has passed clears the order's count.
--
-- The budgets stop guesses spread over many orders, which the per-order
-- lock alone lets through (4 wrong codes on each of 2,000 ready orders
-- every 15 minutes). Each budget's count is taken under a transaction
-- lock of its staff member or point, so parallel guesses cannot pass it.
DROP FUNCTION IF EXISTS gb_order_pickup(bigint, bigint, bytea, boolean);
CREATE OR REPLACE FUNCTION gb_order_pickup(p_distributor_id bigint, p_staff_id bigint,
                                           p_order_id bigint, p_hash_seen bytea,
                                           p_match boolean,
                                           OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    c_window constant interval := interval '15 minutes';
    c_staff_budget constant int := 10;
    c_point_budget constant int := 20;
    o orders;
BEGIN
    SELECT * INTO o FROM orders
     WHERE distributor_id = p_distributor_id AND id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF o.status <> 'ready_for_pickup' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    IF o.pickup_locked_until IS NOT NULL AND o.pickup_locked_until > now() THEN
        outcome := 'locked';
        RETURN;
    END IF;
    IF o.pickup_locked_until IS NOT NULL THEN
        o.pickup_failures := 0;
    END IF;
    -- staff, then point, after the order: one order for these locks. Two
    -- integers: the key space of gb_login_begin's lock, with classes of
    -- their own (a collision of ids only makes two pickups wait in turn).
    PERFORM pg_advisory_xact_lock(1885957491, (p_staff_id % 2147483647)::int);
    PERFORM pg_advisory_xact_lock(1885957492, (o.pickup_point_id % 2147483647)::int);
    IF (SELECT count(*) FROM pickup_code_failures f
         WHERE f.staff_id = p_staff_id AND f.failed_at > now() - c_window) >= c_staff_budget THEN
        outcome := 'staff_budget';
        RETURN;
    END IF;
    IF (SELECT count(*) FROM pickup_code_failures f
         WHERE f.pickup_point_id = o.pickup_point_id
           AND f.failed_at > now() - c_window) >= c_point_budget THEN
        outcome := 'point_budget';
        RETURN;
    END IF;
    -- The hash C compared against must still be the order's: a code drawn
    -- again meanwhile makes the comparison void (counted as wrong).
    IF p_match AND o.pickup_code_sha256 = p_hash_seen THEN
        UPDATE orders SET status = 'picked_up', completed_at = now(),
                          pickup_failures = 0, pickup_locked_until = NULL,
                          updated_at = now()
         WHERE id = o.id RETURNING * INTO o;
        PERFORM gb_order_event(o, 'order.picked_up');
        PERFORM gb_order_stock_out(o);
        outcome := 'ok';
        body := gb_order_json(o, NULL);
        RETURN;
    END IF;
    UPDATE orders
       SET pickup_failures = CASE WHEN o.pickup_failures + 1 >= 5 THEN 0
                                  ELSE o.pickup_failures + 1 END,
           pickup_locked_until = CASE WHEN o.pickup_failures + 1 >= 5
                                      THEN now() + interval '15 minutes' END,
           updated_at = now()
     WHERE id = o.id;
    DELETE FROM pickup_code_failures f
     WHERE (f.staff_id = p_staff_id OR f.pickup_point_id = o.pickup_point_id)
       AND f.failed_at <= now() - c_window;
    INSERT INTO pickup_code_failures (distributor_id, staff_id, pickup_point_id, order_id)
    VALUES (o.distributor_id, p_staff_id, o.pickup_point_id, o.id);
    outcome := CASE WHEN o.pickup_failures + 1 >= 5 THEN 'locked'
                    ELSE 'wrong_code' END;
END $$;

-- The customer sets or changes a delivery address until the order ships.
-- Outcome 'ok', 'not_found' (not theirs), 'invalid_state' (pickup, or
-- shipped already).
CREATE OR REPLACE FUNCTION gb_order_set_address(p_customer_id bigint, p_order_id bigint,
                                                p_address jsonb,
                                                OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    o orders;
BEGIN
    SELECT * INTO o FROM orders
     WHERE customer_id = p_customer_id AND id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF o.fulfilment <> 'delivery' OR o.status <> 'to_ship' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    UPDATE orders SET address = p_address, updated_at = now()
     WHERE id = o.id RETURNING * INTO o;
    outcome := 'ok';
    body := gb_order_customer_json(o);
END $$;
