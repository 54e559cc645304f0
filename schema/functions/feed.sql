-- The staff event feed over the outbox (api/admin/reports.c).
--
-- Feed order. Outbox ids come from a sequence, and sequence values are not
-- committed in order: a transaction that took id 10 may commit after one
-- that took id 11. A reader that follows "id > the largest id I have seen"
-- would skip 10 for good. So the feed does not follow ids: every row
-- records the id of the top-level transaction that wrote it (xact_id,
-- filled by the column default, so no writer has to know), and the feed
-- returns only rows whose transaction is older than the oldest transaction
-- still running (the xmin of the reading statement's snapshot), in
-- (xact_id, id) order. Every transaction below that horizon has ended, so
-- the set of rows below it is final: no row can ever appear later at a
-- position the reader has passed. The horizon only moves up, and rows that
-- commit later carry an xact_id at or above the horizon of every earlier
-- read, so they sort after everything already delivered. The price: a
-- transaction that stays open holds the feed back (not only its own rows)
-- until it ends; rows of rolled-back transactions never appear.
--
-- The cursor stays an outbox id (?after=ID, the last id received): the
-- feed resumes after that row's (xact_id, id). An id the feed cannot have
-- returned (another distributor's, not yet below the horizon, unknown) is
-- refused rather than guessed at.


-- One feed item: the event object of docs/api.md (id, type, created_at,
-- distributor_id, data; functions/events.sql), plus the outbox row's fields
-- kind (= type) and payload (the event's own facts) and the customer's
-- contact (login: phone number or e-mail, and display name) for SMS and
-- call-centre senders.
CREATE OR REPLACE FUNCTION gb_outbox_json(o outbox) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', o.id, 'type', o.kind, 'distributor_id', o.distributor_id,
        'data', gb_event_data(o),
        'kind', o.kind, 'customer_id', o.customer_id,
        'campaign_id', o.campaign_id, 'participation_id', o.participation_id,
        'payload', o.payload, 'idempotency_key', o.idempotency_key,
        'created_at', gb_ts(o.created_at),
        'customer', (SELECT json_build_object('login', cu.login,
                                              'display_name', cu.display_name)
                       FROM customers cu WHERE cu.id = o.customer_id))
$$;

-- Up to p_limit feed rows of distributor p_distributor_id after the row
-- p_after (0: from the start), as (id, item JSON text). Raises 22023 with
-- the message 'outbox_feed: bad after' when p_after is not a row this
-- distributor's feed can have returned.
CREATE OR REPLACE FUNCTION gb_outbox_feed(p_distributor_id bigint, p_after bigint,
                               p_limit int)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_from xid8 := '0';
BEGIN
    IF p_after <> 0 THEN
        SELECT o.xact_id INTO v_from FROM outbox o
         WHERE o.distributor_id = p_distributor_id AND o.id = p_after
           AND o.xact_id < v_horizon;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'outbox_feed: bad after' USING ERRCODE = '22023';
        END IF;
    END IF;
    RETURN QUERY
        SELECT o.id, gb_outbox_json(o)::text FROM outbox o
         WHERE o.distributor_id = p_distributor_id
           AND o.xact_id < v_horizon
           AND (o.xact_id, o.id) > (v_from, p_after)
         ORDER BY o.xact_id, o.id
         LIMIT p_limit;
END $$;

