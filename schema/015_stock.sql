-- 015_stock.sql - a product's stock in four buckets (issue 28).
--
-- Until now a product's stock was set once and nothing moved it: two
-- campaigns of one product could each sell all of it. From here on
-- (docs/domain.md, "Stock"):
--   stock      what the distributor holds or has secured, shared by all
--              the product's campaigns;
--   reserved   the max_quantity of its scheduled and open campaigns;
--   committed  the units of its closed campaigns' awaiting-payment and
--              paid participations whose order has not left yet;
--   sold       the units of orders shipped or picked up, less the units
--              after-sales returned (they went back into stock);
--   available  = stock - reserved - committed (not stored).
-- products_stock_held holds reserved + committed <= stock (and no bucket
-- below 0) whoever writes the row; the functions that move units
-- (functions/stock.sql) are the only writers. stock_version counts every
-- change of `stock` (staff's PUT, a shipment, a pickup, a return): staff
-- set stock against the version they read.
--
-- The buckets of existing products are counted from their campaigns,
-- participations, orders and after-sales (the same count as
-- gb_stock_expected, functions/stock.sql, written out here: a migration
-- does not call a function file). Shipments before this migration did not
-- move stock, so stock becomes stock - sold; where that is below what is
-- held (the oversell this migration ends), stock is raised to what is held:
-- those units were promised to customers. Each product whose stock changes
-- gets an audit line (actor 'migration:015'), so that staff can see and
-- correct it.
--
ALTER TABLE products
    ADD COLUMN reserved bigint NOT NULL DEFAULT 0,
    ADD COLUMN committed bigint NOT NULL DEFAULT 0,
    ADD COLUMN sold bigint NOT NULL DEFAULT 0,
    ADD COLUMN stock_version integer NOT NULL DEFAULT 1;

UPDATE products p
   SET reserved = k.reserved, committed = k.committed, sold = k.sold
  FROM (SELECT p2.id,
               (SELECT coalesce(sum(c.max_quantity), 0) FROM campaigns c
                 WHERE c.product_id = p2.id AND c.status IN ('scheduled', 'open'))
                   AS reserved,
               (SELECT coalesce(sum(x.quantity), 0)
                  FROM campaigns c
                  JOIN participations x ON x.campaign_id = c.id
                  LEFT JOIN orders o ON o.participation_id = x.id
                 WHERE c.product_id = p2.id
                   AND (x.status = 'awaiting_payment'
                        OR (x.status = 'paid'
                            AND coalesce(o.status, 'to_ship')
                                IN ('to_ship', 'ready_for_pickup'))))
                   AS committed,
               (SELECT coalesce(sum(o.quantity), 0)
                  FROM campaigns c JOIN orders o ON o.campaign_id = c.id
                 WHERE c.product_id = p2.id
                   AND o.status IN ('shipped', 'delivered', 'picked_up'))
               - (SELECT coalesce(sum(a.returned_quantity), 0)
                    FROM campaigns c JOIN after_sales a ON a.campaign_id = c.id
                   WHERE c.product_id = p2.id AND a.status = 'approved')
                   AS sold
          FROM products p2) k
 WHERE p.id = k.id;

WITH moved AS (
    SELECT p.id, p.distributor_id, p.stock AS before,
           greatest(p.stock - p.sold, p.reserved + p.committed) AS after
      FROM products p
     WHERE greatest(p.stock - p.sold, p.reserved + p.committed) <> p.stock
), upd AS (
    UPDATE products p SET stock = m.after, stock_version = p.stock_version + 1
      FROM moved m WHERE p.id = m.id
)
INSERT INTO audit_log (distributor_id, staff_id, actor, action, entity, entity_id,
                       before, after)
SELECT m.distributor_id, NULL, 'migration:015', 'stock', 'product', m.id,
       jsonb_build_object('stock', m.before),
       jsonb_build_object('stock', m.after)
  FROM moved m;

ALTER TABLE products
    ADD CONSTRAINT products_stock_held CHECK (
        reserved >= 0 AND committed >= 0 AND sold >= 0
        AND reserved + committed <= stock);
