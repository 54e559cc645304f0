-- The unit cost a campaign settled at (what the manufacturer is owed per
-- unit sold, gb_settlement_unit_cost at settlement), kept on the
-- settlement: an after-sales adjustment made later takes the units it
-- returns off at that cost (functions/aftersales.sql), whatever the
-- product's cost price has become since (a product's prices can be
-- edited: PATCH /v1/admin/products/{id}). Settlements made before this
-- migration settled at their product's cost price, which no path could
-- change until now.
ALTER TABLE settlements ADD COLUMN unit_cost_cents bigint CHECK (unit_cost_cents >= 0);
UPDATE settlements s SET unit_cost_cents = p.cost_price_cents
  FROM campaigns c JOIN products p ON p.id = c.product_id
 WHERE c.id = s.campaign_id;
ALTER TABLE settlements ALTER COLUMN unit_cost_cents SET NOT NULL;
