-- Units held pending a deposit are bounded per campaign (issue 17): fresh
-- accounts joining a deposit campaign with the largest quantity and never
-- paying could hold it full for the whole deposit window, again and
-- again. A campaign now holds at most max_pending_share_bp (basis points
-- of max_quantity, never below one largest join) in pending_deposit
-- participations; the join decision (functions/join.sql) refuses a join
-- that would pass it. Campaigns created before this migration keep 10000
-- (no bound: their customers joined under the old rule); new ones get
-- 5000 (half the units can wait for deposits, the other half stays for
-- customers who pay or need no deposit).
ALTER TABLE campaigns
    ADD COLUMN max_pending_share_bp integer NOT NULL DEFAULT 10000
        CONSTRAINT campaigns_pending_share
        CHECK (max_pending_share_bp >= 1 AND max_pending_share_bp <= 10000);
ALTER TABLE campaigns ALTER COLUMN max_pending_share_bp SET DEFAULT 5000;

-- The units pending a deposit of a campaign, read by every join that
-- brings a deposit: one index-only range, empty where nobody owes one.
CREATE INDEX participations_pending ON participations (campaign_id) INCLUDE (quantity)
    WHERE status = 'pending_deposit';
