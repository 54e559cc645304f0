-- The checks of a campaign's own fields move from CHECK constraints to a
-- trigger that runs only when those fields are written
-- (functions/campaigns.sql, gb_campaign_check). PostgreSQL parses and
-- compiles every CHECK constraint of a table at each execution of a
-- statement that writes it, whatever the columns written, and evaluates
-- them all on every row: on campaigns, 24 of them cost about 0.2 ms per
-- statement, and every join batch updates the campaign's counters in one
-- (an update of the counters alone: 0.37 ms on campaigns, 0.02 ms on a copy
-- without its checks). The two checks on the counters stay constraints:
-- campaigns_no_oversell (the cap) and campaigns_live_participants_check.
-- Each check keeps its name: a violation is still SQLSTATE 23514 naming it.
ALTER TABLE campaigns
    DROP CONSTRAINT campaigns_after_sales_days_check,
    DROP CONSTRAINT campaigns_check,
    DROP CONSTRAINT campaigns_check1,
    DROP CONSTRAINT campaigns_deposit_policy_check,
    DROP CONSTRAINT campaigns_deposit_window_seconds_check,
    DROP CONSTRAINT campaigns_description_check,
    DROP CONSTRAINT campaigns_final_price_bound,
    DROP CONSTRAINT campaigns_final_unit_price_cents_check,
    DROP CONSTRAINT campaigns_fulfilment_check,
    DROP CONSTRAINT campaigns_fulfilment_points,
    DROP CONSTRAINT campaigns_max_quantity_bound,
    DROP CONSTRAINT campaigns_max_quantity_check,
    DROP CONSTRAINT campaigns_min_participants_bound,
    DROP CONSTRAINT campaigns_min_participants_check,
    DROP CONSTRAINT campaigns_min_score_check,
    DROP CONSTRAINT campaigns_payment_window_seconds_check,
    DROP CONSTRAINT campaigns_pending_share,
    DROP CONSTRAINT campaigns_status_check,
    DROP CONSTRAINT campaigns_tier_basis_check,
    DROP CONSTRAINT campaigns_tiers_bound,
    DROP CONSTRAINT campaigns_tiers_check,
    DROP CONSTRAINT campaigns_title_check;
