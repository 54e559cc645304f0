-- What a join writes besides its participation (issue 14). Every row a join
-- inserts paid for the checks and index entries below; each was measured
-- (scripts/bench-db.sh) and either earns its place or goes.
--
-- Foreign keys from the rows a join writes. A foreign key is checked on the
-- child's side per inserted row: an index probe of the parent and a
-- FOR KEY SHARE lock on the parent row, which writes the lock into that row
-- (a heap write and WAL per join) and, with several transactions locking
-- one hot campaign or one distributor at once, a multixact. The join
-- already reads the campaign it inserts into (functions/join.sql), the
-- customer comes from a session, and customers, campaigns and distributors
-- are never deleted by the application. So the three foreign keys of the
-- hot inserts go, and the parent side of each keeps the guarantee that
-- matters (no participation or event left pointing at nothing): a
-- trigger refuses to delete a customer, campaign or distributor still
-- referenced, as ON DELETE RESTRICT did (functions/references.sql).
ALTER TABLE participations DROP CONSTRAINT participations_customer_id_fkey;
ALTER TABLE participations DROP CONSTRAINT participations_distributor_id_campaign_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_distributor_id_fkey;

-- The outbox's idempotency key is unique where there is one; most rows (a
-- join's events) have none, and a plain UNIQUE indexed every NULL too.
ALTER TABLE outbox DROP CONSTRAINT outbox_idempotency_key_key;
CREATE UNIQUE INDEX outbox_idempotency_key ON outbox (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- (distributor_id, id) served no query: the feed and the webhook fan-out
-- read (distributor_id, xact_id, id), outbox_feed; a lookup by id is the
-- primary key.
DROP INDEX outbox_distributor;
