-- Events: the API's event object built over an outbox row (for the staff
-- feed and the webhook relay alike), and the campaign events that no
-- single writer owns (published, opened), written by a trigger so that
-- every path that moves a campaign's status writes them.
--
-- An event's data is the participation or campaign as docs/api.md shows it,
-- read when the event is rendered, with the status the event set and the
-- event's own facts (amounts, reasons, due times, counts) frozen at write
-- time laid over it. The snapshot is not stored whole: the join hot path
-- would pay for building a participation object per row twice, and the
-- event's own facts are what a receiver acts on (docs/decisions.md).


-- The status an event type sets, NULL where it sets none (created:
-- pending_deposit or active, written into its payload at the join).
CREATE OR REPLACE FUNCTION gb_event_status(p_kind text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE p_kind
        WHEN 'participation.activated' THEN 'active'
        WHEN 'participation.expired' THEN 'expired'
        WHEN 'participation.withdrawn' THEN 'withdrawn'
        WHEN 'participation.balance_due' THEN 'awaiting_payment'
        WHEN 'participation.paid' THEN 'paid'
        WHEN 'participation.defaulted' THEN 'defaulted'
        WHEN 'participation.refunded' THEN 'refunded'
        WHEN 'participation.voided' THEN 'void'
        WHEN 'campaign.opened' THEN 'open'
        WHEN 'campaign.succeeded' THEN 'succeeded'
        WHEN 'campaign.failed' THEN 'failed'
        WHEN 'campaign.cancelled' THEN 'cancelled'
        WHEN 'campaign.settled' THEN 'settled'
    END $$;

-- The event's data (see the header). share.joined (written by the join,
-- functions/join.sql) is the campaign, the sharer and the new
-- participation. Types this file does not know (order.*, after_sales.*,
-- refund.issued, campaign.invitation, waitlist.*, question.*,
-- complaint.*) carry their data whole in the payload.
CREATE OR REPLACE FUNCTION gb_event_data(o outbox) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN o.kind = 'share.joined' THEN jsonb_build_object(
            'campaign', (SELECT gb_campaign_json(c)::jsonb FROM campaigns c
                          WHERE c.id = o.campaign_id),
            'sharer', (SELECT jsonb_build_object('id', cu.id,
                                                 'display_name', cu.display_name)
                         FROM customers cu
                        WHERE cu.id = (o.payload ->> 'sharer_customer_id')::bigint),
            'participation', (SELECT gb_participation_json(p)::jsonb FROM participations p
                               WHERE p.id = o.participation_id))
        WHEN o.kind LIKE 'participation.%' AND o.participation_id IS NOT NULL THEN
            coalesce((SELECT gb_participation_json(p)::jsonb FROM participations p
                       WHERE p.id = o.participation_id), '{}'::jsonb)
            || o.payload
            || CASE WHEN gb_event_status(o.kind) IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('status', gb_event_status(o.kind)) END
        WHEN o.kind LIKE 'campaign.%' AND o.kind <> 'campaign.invitation'
             AND o.campaign_id IS NOT NULL THEN
            coalesce((SELECT gb_campaign_json(c)::jsonb FROM campaigns c
                       WHERE c.id = o.campaign_id), '{}'::jsonb)
            || o.payload
            || CASE WHEN gb_event_status(o.kind) IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('status', gb_event_status(o.kind)) END
        ELSE o.payload
    END $$;

-- The event object of docs/api.md: id, type, created_at, distributor_id, data.
CREATE OR REPLACE FUNCTION gb_event_json(o outbox) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', o.id, 'type', o.kind,
                             'created_at', gb_ts(o.created_at),
                             'distributor_id', o.distributor_id,
                             'data', gb_event_data(o))
$$;

-- campaign.published when a draft is published (to scheduled, or straight
-- to open when its start has come), campaign.opened when it opens. Row
-- level with a WHEN clause: the counter trigger's updates of the live
-- counts do not change the status and cost only the WHEN test.
CREATE OR REPLACE FUNCTION gb_campaign_status_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                            idempotency_key)
        VALUES (NEW.distributor_id, 'campaign.published', NEW.id,
                jsonb_build_object('status', NEW.status),
                'published:campaign:' || NEW.id);
    END IF;
    IF NEW.status = 'open' THEN
        INSERT INTO outbox (distributor_id, kind, campaign_id, payload,
                            idempotency_key)
        VALUES (NEW.distributor_id, 'campaign.opened', NEW.id, '{}',
                'opened:campaign:' || NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER campaigns_status_events AFTER UPDATE OF status ON campaigns
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('scheduled', 'open'))
    EXECUTE FUNCTION gb_campaign_status_events();
