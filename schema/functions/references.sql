-- References without foreign keys (schema/009_join_cost.sql,
-- 019_pickup_reference.sql): the rows a join inserts (participations,
-- outbox events) point at customers, campaigns, pickup points and
-- distributors without a foreign key, because a foreign key
-- checks and locks the parent on every inserted row. The parents are never
-- deleted by the application; these triggers keep it so for anyone else:
-- deleting (or truncating) a parent that is still referenced fails with
-- foreign_key_violation, as ON DELETE RESTRICT did. Each probe is by an
-- index that leads with the referencing column (participations_customer,
-- participations_campaign, participations_pickup_point, outbox_feed).

CREATE OR REPLACE FUNCTION gb_restrict_customer_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM participations p WHERE p.customer_id = OLD.id) THEN
        RAISE EXCEPTION 'customer % is referenced by participations', OLD.id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION gb_restrict_campaign_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM participations p WHERE p.campaign_id = OLD.id) THEN
        RAISE EXCEPTION 'campaign % is referenced by participations', OLD.id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION gb_restrict_pickup_point_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM participations p
                WHERE p.pickup_point_id = OLD.id AND p.pickup_point_id IS NOT NULL) THEN
        RAISE EXCEPTION 'pickup point % is referenced by participations', OLD.id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION gb_restrict_distributor_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM outbox o WHERE o.distributor_id = OLD.id) THEN
        RAISE EXCEPTION 'distributor % is referenced by outbox events', OLD.id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;

-- TRUNCATE skips row triggers: refused while the referencing table has rows.
CREATE OR REPLACE FUNCTION gb_restrict_parent_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_TABLE_NAME IN ('customers', 'campaigns', 'pickup_points')
        AND EXISTS (SELECT 1 FROM participations))
       OR (TG_TABLE_NAME = 'distributors' AND EXISTS (SELECT 1 FROM outbox)) THEN
        RAISE EXCEPTION '% is referenced: truncate the referencing table first',
              TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER customers_restrict_delete BEFORE DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION gb_restrict_customer_delete();
CREATE OR REPLACE TRIGGER campaigns_restrict_delete BEFORE DELETE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION gb_restrict_campaign_delete();
CREATE OR REPLACE TRIGGER pickup_points_restrict_delete BEFORE DELETE ON pickup_points
    FOR EACH ROW EXECUTE FUNCTION gb_restrict_pickup_point_delete();
CREATE OR REPLACE TRIGGER distributors_restrict_delete BEFORE DELETE ON distributors
    FOR EACH ROW EXECUTE FUNCTION gb_restrict_distributor_delete();
CREATE OR REPLACE TRIGGER customers_restrict_truncate BEFORE TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION gb_restrict_parent_truncate();
CREATE OR REPLACE TRIGGER campaigns_restrict_truncate BEFORE TRUNCATE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION gb_restrict_parent_truncate();
CREATE OR REPLACE TRIGGER pickup_points_restrict_truncate BEFORE TRUNCATE ON pickup_points
    FOR EACH STATEMENT EXECUTE FUNCTION gb_restrict_parent_truncate();
CREATE OR REPLACE TRIGGER distributors_restrict_truncate BEFORE TRUNCATE ON distributors
    FOR EACH STATEMENT EXECUTE FUNCTION gb_restrict_parent_truncate();
