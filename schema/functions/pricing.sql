-- Pricing: the tier price of a campaign, in one place. Every price,
-- progress and tier announcement the system shows or charges is computed
-- here: the views (staff, public, lists), the live stream, the join's
-- answer, the reads of participations, the close (the final price) and the
-- tier announcements of the counter trigger. The C side keeps what is not
-- the tier price: a ladder given as input is checked there before it is
-- written (server/domain/pricing.c), and the deposit is priced there from
-- the first tier's price (gb_tier_first_price).
--
-- The rule (DESIGN): a campaign's count is its live participations (basis
-- "participants") or the sum of their quantities ("quantity"); the unit
-- price at a count is the price of the tier with the greatest threshold
-- <= max(count, 1). gb_tier_index holds it; everything else derives from
-- the tier it names: the price, the next tier, the tier reached for the
-- announcements.
--
-- A stored ladder is valid (gb_tiers_valid, checked by gb_campaign_check
-- whoever writes the row): 1..20 tiers, the first threshold 1,
-- thresholds strictly ascending, prices strictly descending.
--
-- A tier may also carry the manufacturer's price at that volume
-- (cost_price_cents); gb_tier_cost reads it by the same rule.
--
-- How it is written, for the join path (functions/join.sql): a ladder is
-- read out of its jsonb once per campaign (gb_tier_ladder, a set-returning
-- SQL function that PostgreSQL inlines where it stands in a FROM), then
-- each price is an array subscript (gb_tier_index, gb_tier_price_at:
-- single-expression SQL functions, inlined wherever they are called), so
-- a join batch pays no function call per row. gb_tier_price and
-- gb_tier_reached take the jsonb for one-off uses.


-- The stored ladder as two arrays, ascending by threshold. Call it in a
-- FROM (so it is inlined), once per campaign.
CREATE OR REPLACE FUNCTION gb_tier_ladder(p_tiers jsonb)
    RETURNS TABLE (thresholds bigint[], prices bigint[])
    LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg((t ->> 'threshold')::bigint ORDER BY (t ->> 'threshold')::bigint),
           array_agg((t ->> 'unit_price_cents')::bigint ORDER BY (t ->> 'threshold')::bigint)
      FROM jsonb_array_elements(p_tiers) t
$$;

-- THE rule: the 1-based index of the tier that prices p_count, the one
-- with the greatest threshold <= max(p_count, 1).
CREATE OR REPLACE FUNCTION gb_tier_index(p_thresholds bigint[], p_count bigint)
    RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT width_bucket(greatest(p_count, 1), p_thresholds)
$$;

-- The count a campaign is priced by: live participations or their units.
CREATE OR REPLACE FUNCTION gb_tier_count(p_basis text, p_participants bigint,
                                         p_quantity bigint)
    RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_basis WHEN 'quantity' THEN p_quantity ELSE p_participants END
$$;

-- The unit price at p_count, from a ladder's arrays (gb_tier_ladder).
CREATE OR REPLACE FUNCTION gb_tier_price_at(p_thresholds bigint[], p_prices bigint[],
                                            p_count bigint)
    RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT p_prices[gb_tier_index(p_thresholds, p_count)]
$$;

-- The unit price at p_count of a stored ladder (the close's final price,
-- the current price of a participation read).
CREATE OR REPLACE FUNCTION gb_tier_price(p_tiers jsonb, p_count bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT gb_tier_price_at(l.thresholds, l.prices, p_count) FROM gb_tier_ladder(p_tiers) l
$$;

-- The manufacturer's unit cost at p_count of a stored ladder: the
-- cost_price_cents of the tier that prices p_count, NULL when that tier
-- has none (settlement then pays the product's cost price:
-- gb_settlement_unit_cost, functions/settle.sql). A stored ladder is
-- ascending, so the tier's index is its place in the array.
CREATE OR REPLACE FUNCTION gb_tier_cost(p_tiers jsonb, p_count bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_tiers -> (gb_tier_index(l.thresholds, p_count) - 1)
                    ->> 'cost_price_cents')::bigint
      FROM gb_tier_ladder(p_tiers) l
$$;

-- The first tier's price, the base of the deposit (DESIGN: ceil(first-tier
-- price x quantity x percent / 100), priced in C). The stored ladder is
-- valid, so it is the first element, and the price at counts 0 and 1: no
-- function call per join row for it.
CREATE OR REPLACE FUNCTION gb_tier_first_price(p_tiers jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_tiers -> 0 ->> 'unit_price_cents')::bigint
$$;

-- progress.threshold_reached, and what the close and the announcement of
-- campaign.threshold_reached decide by: p_participants participations
-- (whatever the tier basis) reach min_participants. The progress and the
-- announcement count the live participations, the close the active ones.
CREATE OR REPLACE FUNCTION gb_threshold_reached(p_participants bigint,
                                                p_min_participants bigint)
    RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_participants >= p_min_participants
$$;

-- The tier announced at p_count: the threshold of the tier that prices
-- it, 0 for the first tier (its price applies from the first participant:
-- nothing to announce). The counter trigger (functions/participations.sql)
-- keeps the highest one announced; once per campaign per statement.
-- PL/pgSQL, not SQL: this one cannot be inlined where it is called (in an
-- UPDATE's SET), and a SQL function that is not inlined is parsed and
-- planned again at every execution of the statement calling it (about
-- 0.15 ms, in every join batch's counter update), where PL/pgSQL plans its
-- statement once per connection.
CREATE OR REPLACE FUNCTION gb_tier_reached(p_tiers jsonb, p_count bigint) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (SELECT coalesce(l.thresholds[nullif(gb_tier_index(l.thresholds, p_count), 1)], 0)
              FROM gb_tier_ladder(p_tiers) l);
END $$;

-- The tiers announced when a count moves from p_from to p_to: those that
-- price a count in (p_from, p_to] but not p_from, the first tier never (as
-- gb_tier_reached). Inlined in the counter trigger's FROM.
CREATE OR REPLACE FUNCTION gb_tiers_reached(p_tiers jsonb, p_from bigint, p_to bigint)
    RETURNS TABLE (threshold bigint, unit_price_cents bigint)
    LANGUAGE sql IMMUTABLE AS $$
    SELECT l.thresholds[i], l.prices[i]
      FROM gb_tier_ladder(p_tiers) l,
           generate_series(gb_tier_index(l.thresholds, p_from) + 1,
                           gb_tier_index(l.thresholds, p_to)) i
$$;

-- A campaign's "progress" object (docs/api.md): participants, quantity,
-- remaining_quantity (what a join may take: the units held for the
-- waitlist, functions/waitlist.sql, are not), current_unit_price_cents,
-- next_tier (threshold,
-- unit_price_cents, needed: units of the basis still needed; null at the
-- last tier) and threshold_reached, from the figures of
-- gb_campaign_counted (functions/campaigns.sql). Every campaign answer and
-- the live stream show this object.
CREATE OR REPLACE FUNCTION gb_campaign_progress(c campaigns) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
             'participants', k.participants, 'quantity', k.quantity,
             'remaining_quantity', greatest(c.max_quantity - k.quantity
                                                 - coalesce(c.waitlist_held, 0), 0),
             'current_unit_price_cents', l.prices[x.i],
             'next_tier', CASE WHEN x.i < cardinality(l.thresholds) THEN json_build_object(
                                 'threshold', l.thresholds[x.i + 1],
                                 'unit_price_cents', l.prices[x.i + 1],
                                 'needed', l.thresholds[x.i + 1] - b.n) END,
             'threshold_reached', gb_threshold_reached(k.participants, c.min_participants))
      FROM gb_campaign_counted(c) k, gb_tier_ladder(c.tiers) l,
           LATERAL (SELECT gb_tier_count(c.tier_basis, k.participants, k.quantity) AS n) b,
           LATERAL (SELECT gb_tier_index(l.thresholds, b.n) AS i) x
$$;

-- The PATCH rule for a scheduled or open campaign: new tiers may add or
-- lower tiers but never raise the price that any count would pay. Both
-- step functions are compared at every threshold of either ladder (between
-- two such breakpoints both prices are constant): the smallest count whose
-- price p_new raises over p_old, or NULL when none does (the rule holds).
-- Both ladders valid (the new one checked in C first).
CREATE OR REPLACE FUNCTION gb_tiers_first_raised(p_old jsonb, p_new jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT min(b)
      FROM gb_tier_ladder(p_old) o, gb_tier_ladder(p_new) n,
           unnest(o.thresholds || n.thresholds) b
     WHERE gb_tier_price_at(n.thresholds, n.prices, b)
           > gb_tier_price_at(o.thresholds, o.prices, b)
$$;

-- A stored ladder's shape (DESIGN "Campaign rules"), as the schema holds
-- it whoever writes the row (gb_campaign_check, functions/campaigns.sql,
-- which checks each tier's types and bounds before this): 1..20 tiers,
-- the first threshold 1, thresholds strictly ascending, prices strictly
-- descending. The API checks the same before writing, with a message per
-- fault (server/domain/pricing.c); the functions above rely on it.
CREATE OR REPLACE FUNCTION gb_tiers_valid(p_tiers jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_array_length(p_tiers) BETWEEN 1 AND 20
       AND (p_tiers -> 0 ->> 'threshold')::numeric = 1
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(p_tiers) WITH ORDINALITY a (t, i)
            WHERE a.i > 1
              AND NOT ((a.t ->> 'threshold')::numeric
                         > (p_tiers -> (a.i - 2)::integer ->> 'threshold')::numeric
                       AND (a.t ->> 'unit_price_cents')::numeric
                         < (p_tiers -> (a.i - 2)::integer ->> 'unit_price_cents')::numeric))
$$;
