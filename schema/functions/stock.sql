-- A product's stock in four buckets (schema/015_stock.sql, docs/domain.md
-- "Stock"): the moves of units between them, staff's setting of stock,
-- and the count of what the campaigns, participations, orders and
-- after-sales say the buckets hold (the reconciliation of a product).
--
-- Who moves what (each in the transaction of the change it follows):
--   publish (gb_campaign_publish)          reserved += max_quantity, or refused
--   a larger max_quantity (gb_campaign_raise)  reserved += the difference, or refused
--   close, succeeded (gb_campaign_close)   reserved -= max_quantity,
--                                          committed += units awaiting payment or paid
--   close, failed; cancel of a scheduled or open campaign
--                                          reserved -= max_quantity
--   default (gb_payment_default)           committed -= its units
--   ship, pickup (gb_order_ship, _pickup)  committed, stock -= its units; sold += them
--   after-sales return (gb_after_sales_approve)
--                                          stock += the units returned; sold -= them
--   staff (gb_stock_set)                   stock := the new figure
-- A reservation is the one move that may be refused (gb_stock_reserve:
-- not enough available); every other move keeps the invariant by
-- construction, and products_stock_held refuses it if it does not (a bug,
-- never silently clamped).
--
-- Lock order: the product row is the last lock of every path that moves
-- units (after the campaign, its participations, the order or the
-- after-sales request), and a path that moves several products locks them
-- in ascending id order (gb_payment_default_due); a staff PUT locks only
-- the product. So no two paths wait on each other in a cycle, and the row
-- lock serialises every move of one product across server processes: the
-- CHECK is evaluated on the row each move leaves.


-- Reserves p_units of a product's available stock (stock - reserved -
-- committed): true when reserved, false (nothing changed) when not enough
-- is available. The caller holds the campaign's lock.
CREATE OR REPLACE FUNCTION gb_stock_reserve(p_product_id bigint, p_units bigint)
    RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products p SET reserved = p.reserved + p_units
     WHERE p.id = p_product_id
       AND p.stock - p.reserved - p.committed >= p_units;
    RETURN FOUND;
END $$;

-- Moves units of a product between its buckets: each argument is added to
-- its bucket. A change of stock counts a new stock_version. A move that
-- would leave reserved + committed above stock (or a bucket below 0)
-- raises check_violation products_stock_held.
CREATE OR REPLACE FUNCTION gb_stock_move(p_product_id bigint, p_stock bigint,
                                         p_reserved bigint, p_committed bigint,
                                         p_sold bigint)
    RETURNS void
    LANGUAGE sql AS $$
    UPDATE products p
       SET stock = p.stock + p_stock, reserved = p.reserved + p_reserved,
           committed = p.committed + p_committed, sold = p.sold + p_sold,
           stock_version = p.stock_version + CASE WHEN p_stock <> 0 THEN 1 ELSE 0 END
     WHERE p.id = p_product_id
       AND (p_stock, p_reserved, p_committed, p_sold) <> (0, 0, 0, 0)
$$;

-- Staff set a product's stock (PUT /v1/admin/products/{id}/stock) against
-- the stock_version they read, with an audit line (before and after).
-- Outcome:
--   'ok'            product is the product updated;
--   'not_found'     not the distributor's product (product NULL);
--   'conflict'      stock_version is no longer p_version (product as found);
--   'below_held'    p_stock is below reserved + committed (product as found).
CREATE OR REPLACE FUNCTION gb_stock_set(p_distributor_id bigint, p_product_id bigint,
                                        p_stock bigint, p_version integer,
                                        p_staff_id bigint, p_request_id text,
                                        OUT outcome text, OUT product json)
    LANGUAGE plpgsql AS $$
DECLARE
    v_before products;
    p products;
BEGIN
    SELECT * INTO v_before FROM products x
     WHERE x.distributor_id = p_distributor_id AND x.id = p_product_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    product := gb_product_json(v_before);
    IF v_before.stock_version <> p_version THEN
        outcome := 'conflict';
        RETURN;
    END IF;
    IF p_stock < v_before.reserved + v_before.committed THEN
        outcome := 'below_held';
        RETURN;
    END IF;
    UPDATE products x
       SET stock = p_stock, stock_version = x.stock_version + 1
     WHERE x.id = v_before.id
    RETURNING * INTO p;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'stock', 'product', p.id,
                     product::jsonb, gb_product_json(p)::jsonb, p_request_id);
    outcome := 'ok';
    product := gb_product_json(p);
END $$;

-- What the rows say a product's buckets hold: reserved = the max_quantity
-- of its scheduled and open campaigns; committed = the units of its
-- participations awaiting payment, and of its paid ones whose order is
-- still to ship or waiting at a pickup point; sold = the units of its
-- orders shipped, delivered or picked up, less the units approved
-- after-sales requests returned. The stored buckets equal these after
-- every move (tests/api/admin/test_stock_random.py holds them to it); an
-- operator can compare the two for any product.
CREATE OR REPLACE FUNCTION gb_stock_expected(p_product_id bigint,
                                             OUT reserved bigint,
                                             OUT committed bigint,
                                             OUT sold bigint)
    LANGUAGE sql STABLE AS $$
    SELECT (SELECT coalesce(sum(c.max_quantity), 0)::bigint FROM campaigns c
             WHERE c.product_id = p_product_id AND c.status IN ('scheduled', 'open')),
           (SELECT coalesce(sum(x.quantity), 0)::bigint
              FROM campaigns c
              JOIN participations x ON x.campaign_id = c.id
              LEFT JOIN orders o ON o.participation_id = x.id
             WHERE c.product_id = p_product_id
               AND (x.status = 'awaiting_payment'
                    OR (x.status = 'paid'
                        AND coalesce(o.status, 'to_ship')
                            IN ('to_ship', 'ready_for_pickup')))),
           (SELECT coalesce(sum(o.quantity), 0)::bigint
              FROM campaigns c JOIN orders o ON o.campaign_id = c.id
             WHERE c.product_id = p_product_id
               AND o.status IN ('shipped', 'delivered', 'picked_up'))
           - (SELECT coalesce(sum(a.returned_quantity), 0)::bigint
                FROM campaigns c JOIN after_sales a ON a.campaign_id = c.id
               WHERE c.product_id = p_product_id AND a.status = 'approved')
$$;
