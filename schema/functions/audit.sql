-- The audit log: every staff or platform write of the API records who,
-- what and, for an edit, the entity before and after, in the transaction
-- of the write itself (the gb_*_create / _update / _publish ... functions
-- call this, never C).

-- One audit line. The actor is 'staff:<id>' for a staff member, 'platform'
-- without one (the platform API).
CREATE OR REPLACE FUNCTION gb_audit(p_distributor_id bigint, p_staff_id bigint,
                                    p_action text, p_entity text,
                                    p_entity_id bigint, p_before jsonb,
                                    p_after jsonb, p_request_id text)
    RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (distributor_id, staff_id, actor, action, entity,
                           entity_id, before, after, request_id)
    VALUES (p_distributor_id, p_staff_id,
            coalesce('staff:' || p_staff_id, 'platform'), p_action, p_entity,
            p_entity_id, p_before, p_after, p_request_id);
END $$;
