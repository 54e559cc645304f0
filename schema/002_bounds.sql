-- 002_bounds.sql - the bounds on money and quantities (issue 17) as CHECKs.
--
-- The API refuses out-of-bound input with 400 naming the field; these are
-- the last line, so that a write behind the API's back cannot store an
-- amount that settlement would overflow on (cost x quantity in bigint
-- stopped every distributor's settlement). The numbers and the arithmetic
-- behind them are in server/pricing.h: prices <= 10^8 cents, quantities
-- and tier thresholds <= 10^6, stock <= 10^9, so every amount of a
-- campaign is at most 10^14 cents (x 10000 bp still in bigint, and below
-- 2^53 for JSON clients). Currency: ISO 4217 codes with two decimals
-- (server/money.c). The constraints are validated: a row already beyond a
-- bound stops the migration, and must be corrected by hand first.

ALTER TABLE products
    ADD CONSTRAINT products_list_price_bound CHECK (list_price_cents <= 100000000),
    ADD CONSTRAINT products_cost_price_bound CHECK (cost_price_cents <= 100000000),
    ADD CONSTRAINT products_stock_bound CHECK (stock <= 1000000000);

-- Tiers: every element an object with numeric threshold in 1..10^6 and
-- unit_price_cents in 1..10^8 (jsonb_path_exists is immutable; a missing
-- or non-numeric member fails the test too).
ALTER TABLE campaigns
    ADD CONSTRAINT campaigns_max_quantity_bound CHECK (max_quantity <= 1000000),
    ADD CONSTRAINT campaigns_min_participants_bound CHECK (min_participants <= 1000000),
    ADD CONSTRAINT campaigns_final_price_bound CHECK (final_unit_price_cents <= 100000000),
    ADD CONSTRAINT campaigns_tiers_bound CHECK (NOT jsonb_path_exists(tiers,
        '$[*] ? (!(@.threshold.type() == "number"
                   && @.unit_price_cents.type() == "number"
                   && @.threshold >= 1 && @.threshold <= 1000000
                   && @.unit_price_cents >= 1
                   && @.unit_price_cents <= 100000000))'));

ALTER TABLE participations
    ADD CONSTRAINT participations_quantity_bound CHECK (quantity <= 1000000);

ALTER TABLE distributors
    DROP CONSTRAINT IF EXISTS distributors_currency_check,
    ADD CONSTRAINT distributors_currency_check
        CHECK (currency IN ('CNY', 'HKD', 'MOP', 'SGD', 'USD', 'EUR', 'GBP'));
