-- Live progress (GET /v1/campaigns/{id}/events): change_seq counts every
-- change of a campaign row, its live counters included (version counts only
-- its state and terms), and is the `id:` of the campaign's events. The
-- trigger that keeps it, and the NOTIFY of each change, are in
-- functions/live.sql.
ALTER TABLE campaigns ADD COLUMN change_seq bigint NOT NULL DEFAULT 1;
