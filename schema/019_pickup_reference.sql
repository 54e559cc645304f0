-- A participation names its pickup point without a foreign key, like the
-- other references of the rows a join writes (schema/009_join_cost.sql,
-- functions/references.sql). The key of migration 007 was checked on every
-- inserted participation, and for a pickup join it locked the point's row
-- FOR KEY SHARE in every batch of every campaign collecting there. A join
-- takes only a point of its campaign's list (gb_join_fulfilment_refusal),
-- which the campaign's editor checks against the distributor's active
-- points; deleting a point still named is refused by a trigger, which
-- probes this index (pickup joins only: delivery rows are not in it).
ALTER TABLE participations DROP CONSTRAINT participations_pickup_point;
CREATE INDEX participations_pickup_point ON participations (pickup_point_id)
    WHERE pickup_point_id IS NOT NULL;
