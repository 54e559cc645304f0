-- Live progress: every committed change of a published campaign is
-- announced on the channel gb_campaign_changed with the campaign's id as
-- the payload, so that each server process (one LISTEN connection each,
-- server/db/listen.c) can refresh the streams of that campaign
-- (server/live/sse.c), whichever process made the change.
--
-- The NOTIFY is sent in the transaction of the change, so it is delivered
-- at its commit and never for a rolled-back change (the joins excepted:
-- see gb_campaign_notify). It is statement-level:
-- the join path changes a campaign's counters in one UPDATE per statement
-- (the counter trigger, functions/participations.sql), which costs one
-- pg_notify per campaign per statement; PostgreSQL delivers identical
-- notifications of one transaction once.

-- change_seq: one more on every update of the row, whoever writes it.
CREATE OR REPLACE FUNCTION gb_campaign_change_seq() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := OLD.change_seq + 1;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER campaigns_change_seq BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION gb_campaign_change_seq();

-- A NOTIFY makes the commit of its transaction take a cluster-wide lock and
-- hold it through the WAL flush, so notifying transactions commit one at a
-- time, without group commit, which halves the joins a second. The joins'
-- own transactions therefore do not notify when their caller says it will
-- announce them after the commit (gb_join_batches with p_notify false sets
-- groupbuyd.live_notify to off for its transaction;
-- server/live/livenotify.h sends the NOTIFY afterwards, in a statement that
-- writes nothing). Every other change notifies here.
--
-- Drafts are not public: their edits wake nobody.
CREATE OR REPLACE FUNCTION gb_campaign_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('groupbuyd.live_notify', true) = 'off' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('gb_campaign_changed', n.id::text)
       FROM new_rows n WHERE n.status <> 'draft';
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER campaigns_notify AFTER UPDATE ON campaigns
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gb_campaign_notify();

-- The data of a live stream's events (server/live/sse.c): the campaign's
-- id, its public status and its progress (functions/pricing.sql), the
-- same progress the campaign views show.
CREATE OR REPLACE FUNCTION gb_campaign_live_json(c campaigns) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('campaign_id', c.id,
                                   'status', gb_campaign_public_status(c.status),
                                   'progress', gb_campaign_progress(c)) $$;
