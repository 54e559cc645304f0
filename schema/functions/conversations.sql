-- Questions and complaints (step 4 of the process: respond to and handle
-- customer information; docs/api.md "Questions and complaints"):
-- api/shop/questions.c and complaints.c for customers, api/admin/
-- questions.c and complaints.c for staff.
--
-- A question is asked on a campaign and answered by the campaign's
-- distributor, in public if staff choose; answering again replaces the
-- answer, and every answer is an audit line (before and after). A
-- complaint is a private thread between a customer and the distributor of
-- the campaign (or order) it is about: staff replies, then a resolution.
-- Bodies are stored exactly as sent (the API checks only their length);
-- every screen shows them as text.
--
-- Per customer, at most p_per_hour questions (and complaints) in any hour:
-- the count and the insert run under a transaction-scoped advisory lock
-- on the customer, so that concurrent requests, from any process, cannot
-- all pass the count.


-- A question as its asker and staff see it. p_staff adds the asker and
-- the question's age.
CREATE OR REPLACE FUNCTION gb_question_json(q questions, p_staff boolean) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT (jsonb_build_object(
               'id', q.id, 'campaign_id', q.campaign_id, 'body', q.body,
               'status', q.status, 'answer', q.answer, 'public', q.public,
               'asked_at', gb_ts(q.created_at), 'answered_at', gb_ts(q.answered_at))
            || CASE WHEN p_staff THEN jsonb_build_object(
                   'customer', (SELECT jsonb_build_object('id', cu.id,
                                                          'display_name', cu.display_name)
                                  FROM customers cu WHERE cu.id = q.customer_id),
                   'campaign_title', (SELECT c.title FROM campaigns c
                                       WHERE c.id = q.campaign_id),
                   'answered_by', q.answered_by,
                   'age_seconds', floor(extract(epoch FROM now() - q.created_at))::bigint)
                ELSE '{}'::jsonb END)::json
$$;

-- An answered public question as everyone sees it: the asker's name
-- masked (gb_masked_name, functions/growth.sql).
CREATE OR REPLACE FUNCTION gb_question_public_json(q questions) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'id', q.id, 'body', q.body,
               'asked_by', (SELECT gb_masked_name(cu.display_name) FROM customers cu
                             WHERE cu.id = q.customer_id),
               'asked_at', gb_ts(q.created_at), 'answer', q.answer,
               'answered_at', gb_ts(q.answered_at))
$$;

-- The per-customer budget of p_kind ('question' or 'complaint'): takes
-- the customer's lock of p_kind and answers the seconds until the oldest
-- of the last hour's p_per_hour rows of p_kind leaves the window, or NULL
-- while the budget allows one more. The window is counted once for both
-- kinds: only the branch of p_kind's table reads rows.
CREATE OR REPLACE FUNCTION gb_conversation_budget(p_kind text, p_customer_id bigint,
                                                  p_per_hour integer) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v_oldest timestamptz;
    v_n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_kind || ':' || p_customer_id, 0));
    SELECT count(*), min(w.created_at) INTO v_n, v_oldest FROM (
        SELECT x.created_at
          FROM (SELECT q.customer_id, q.created_at FROM questions q
                 WHERE p_kind = 'question'
                UNION ALL
                SELECT k.customer_id, k.created_at FROM complaints k
                 WHERE p_kind = 'complaint') x
         WHERE x.customer_id = p_customer_id
           AND x.created_at > clock_timestamp() - interval '1 hour'
         ORDER BY x.created_at DESC LIMIT p_per_hour) w;
    IF v_n < p_per_hour THEN
        RETURN NULL;
    END IF;
    RETURN greatest(ceil(extract(epoch FROM v_oldest + interval '1 hour'
                                            - clock_timestamp())), 1)::integer;
END $$;

-- A customer asks a question on a campaign (any but a draft). Outcome
-- 'ok' (body: the question), 'not_found', or 'rate_limited' (retry_s:
-- seconds until the budget allows one). A question.asked event.
CREATE OR REPLACE FUNCTION gb_question_ask(p_customer_id bigint, p_campaign_id bigint,
                                           p_body text, p_per_hour integer,
                                           OUT outcome text, OUT body json,
                                           OUT retry_s integer)
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    q questions;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id;
    IF NOT FOUND OR c.status = 'draft' THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    retry_s := gb_conversation_budget('question', p_customer_id, p_per_hour);
    IF retry_s IS NOT NULL THEN
        outcome := 'rate_limited';
        RETURN;
    END IF;
    INSERT INTO questions (distributor_id, campaign_id, customer_id, body, created_at)
    VALUES (c.distributor_id, c.id, p_customer_id, p_body, clock_timestamp())
    RETURNING * INTO q;
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload,
                        idempotency_key)
    VALUES (q.distributor_id, 'question.asked', q.customer_id, q.campaign_id,
            gb_question_json(q, true)::jsonb, 'question_asked:question:' || q.id);
    outcome := 'ok';
    body := gb_question_json(q, false);
END $$;

-- Staff answer a question of their distributor (again: the answer is
-- replaced). Outcome 'ok' (body: the question as staff see it) or
-- 'not_found'. An audit line with the question before and after, and a
-- question.answered event.
CREATE OR REPLACE FUNCTION gb_question_answer(p_distributor_id bigint, p_question_id bigint,
                                              p_answer text, p_public boolean,
                                              p_staff_id bigint, p_request_id text,
                                              OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    v_before questions;
    q questions;
BEGIN
    SELECT * INTO v_before FROM questions x
     WHERE x.id = p_question_id AND x.distributor_id = p_distributor_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    UPDATE questions x
       SET status = 'answered', answer = p_answer, public = p_public,
           answered_by = p_staff_id, answered_at = now()
     WHERE x.id = v_before.id
    RETURNING * INTO q;
    PERFORM gb_audit(p_distributor_id, p_staff_id,
                     CASE WHEN v_before.status = 'answered' THEN 'replace_answer'
                          ELSE 'answer' END,
                     'question', q.id, gb_question_json(v_before, false)::jsonb,
                     gb_question_json(q, false)::jsonb, p_request_id);
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload)
    VALUES (q.distributor_id, 'question.answered', q.customer_id, q.campaign_id,
            gb_question_json(q, true)::jsonb);
    outcome := 'ok';
    body := gb_question_json(q, true);
END $$;

-- The answered public questions of campaign p_campaign_id, newest first,
-- those older than p_before (0: from the newest): rows of (id, JSON text).
-- (api/shop/questions.c answers 404 for a campaign that is not public.)
CREATE OR REPLACE FUNCTION gb_questions_public(p_campaign_id bigint, p_before bigint,
                                               p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT q.id, gb_question_public_json(q)::text
      FROM questions q
     WHERE q.campaign_id = p_campaign_id AND q.status = 'answered' AND q.public
       AND (p_before = 0 OR q.id < p_before)
     ORDER BY q.id DESC LIMIT p_limit
$$;

-- A customer's questions, paged by id: rows of (id, JSON text).
CREATE OR REPLACE FUNCTION gb_my_questions(p_customer_id bigint, p_after bigint,
                                           p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT q.id, (gb_question_json(q, false)::jsonb
                  || jsonb_build_object('campaign_title', c.title))::text
      FROM questions q JOIN campaigns c ON c.id = q.campaign_id
     WHERE q.customer_id = p_customer_id AND q.id > p_after
     ORDER BY q.id LIMIT p_limit
$$;

-- The staff queue of questions: the distributor's, of one status and one
-- campaign when given, oldest first, paged by id.
CREATE OR REPLACE FUNCTION gb_questions_queue(p_distributor_id bigint, p_status text,
                                              p_campaign_id bigint, p_after bigint,
                                              p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT q.id, gb_question_json(q, true)::text
      FROM questions q
     WHERE q.distributor_id = p_distributor_id
       AND (p_status IS NULL OR q.status = p_status)
       AND (p_campaign_id IS NULL OR q.campaign_id = p_campaign_id)
       AND q.id > p_after
     ORDER BY q.id LIMIT p_limit
$$;


-- A reply as the customer sees it (p_staff: with the staff member).
CREATE OR REPLACE FUNCTION gb_complaint_reply_json(r complaint_replies, p_staff boolean)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', r.id, 'complaint_id', r.complaint_id, 'body', r.body,
                              'created_at', gb_ts(r.created_at))
           || CASE WHEN p_staff THEN jsonb_build_object('staff_id', r.staff_id)
                   ELSE '{}'::jsonb END
$$;

-- A complaint with its replies, oldest first; p_staff adds the customer,
-- the campaign's title and the age.
CREATE OR REPLACE FUNCTION gb_complaint_json(k complaints, p_staff boolean) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT (jsonb_build_object(
               'id', k.id, 'campaign_id', k.campaign_id, 'order_id', k.order_id,
               'body', k.body, 'status', k.status,
               'resolution_note', k.resolution_note,
               'resolved_at', gb_ts(k.resolved_at), 'created_at', gb_ts(k.created_at),
               'campaign_title', (SELECT c.title FROM campaigns c WHERE c.id = k.campaign_id),
               'replies', coalesce((SELECT jsonb_agg(gb_complaint_reply_json(r, p_staff)
                                                     ORDER BY r.id)
                                      FROM complaint_replies r
                                     WHERE r.complaint_id = k.id), '[]'::jsonb))
            || CASE WHEN p_staff THEN jsonb_build_object(
                   'customer', (SELECT jsonb_build_object('id', cu.id,
                                                          'display_name', cu.display_name)
                                  FROM customers cu WHERE cu.id = k.customer_id),
                   'resolved_by', k.resolved_by,
                   'age_seconds', floor(extract(epoch FROM now() - k.created_at))::bigint)
                ELSE '{}'::jsonb END)::json
$$;

-- A customer complains about a campaign they took part in, or one of
-- their orders (its campaign then; both must agree). Outcome 'ok' (body:
-- the complaint), 'missing' (neither named), 'not_found' (not theirs),
-- 'rate_limited' (retry_s). A complaint.opened event.
CREATE OR REPLACE FUNCTION gb_complaint_open(p_customer_id bigint, p_campaign_id bigint,
                                             p_order_id bigint, p_body text,
                                             p_per_hour integer,
                                             OUT outcome text, OUT body json,
                                             OUT retry_s integer)
    LANGUAGE plpgsql AS $$
DECLARE
    v_campaign bigint := p_campaign_id;
    v_distributor bigint;
    k complaints;
BEGIN
    IF p_campaign_id IS NULL AND p_order_id IS NULL THEN
        outcome := 'missing';
        RETURN;
    END IF;
    IF p_order_id IS NOT NULL THEN
        SELECT o.campaign_id INTO v_campaign FROM orders o
         WHERE o.id = p_order_id AND o.customer_id = p_customer_id
           AND (p_campaign_id IS NULL OR o.campaign_id = p_campaign_id);
        IF NOT FOUND THEN
            outcome := 'not_found';
            RETURN;
        END IF;
    END IF;
    SELECT c.distributor_id INTO v_distributor FROM campaigns c
     WHERE c.id = v_campaign
       AND EXISTS (SELECT 1 FROM participations p
                    WHERE p.campaign_id = c.id AND p.customer_id = p_customer_id);
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    retry_s := gb_conversation_budget('complaint', p_customer_id, p_per_hour);
    IF retry_s IS NOT NULL THEN
        outcome := 'rate_limited';
        RETURN;
    END IF;
    INSERT INTO complaints (distributor_id, customer_id, campaign_id, order_id, body,
                            created_at)
    VALUES (v_distributor, p_customer_id, v_campaign, p_order_id, p_body, clock_timestamp())
    RETURNING * INTO k;
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload,
                        idempotency_key)
    VALUES (k.distributor_id, 'complaint.opened', k.customer_id, k.campaign_id,
            gb_complaint_json(k, true)::jsonb, 'complaint_opened:complaint:' || k.id);
    outcome := 'ok';
    body := gb_complaint_json(k, false);
END $$;

-- Staff reply to an open complaint of their distributor. Outcome 'ok'
-- (body: the reply), 'not_found' or 'invalid_state' (resolved). An audit
-- line and a complaint.replied event.
CREATE OR REPLACE FUNCTION gb_complaint_reply(p_distributor_id bigint, p_complaint_id bigint,
                                              p_body text, p_staff_id bigint,
                                              p_request_id text,
                                              OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    k complaints;
    r complaint_replies;
BEGIN
    SELECT * INTO k FROM complaints x
     WHERE x.id = p_complaint_id AND x.distributor_id = p_distributor_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF k.status <> 'open' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    INSERT INTO complaint_replies (complaint_id, staff_id, body)
    VALUES (k.id, p_staff_id, p_body)
    RETURNING * INTO r;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'reply', 'complaint', k.id, NULL,
                     gb_complaint_reply_json(r, true), p_request_id);
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload,
                        idempotency_key)
    VALUES (k.distributor_id, 'complaint.replied', k.customer_id, k.campaign_id,
            gb_complaint_reply_json(r, true), 'complaint_replied:reply:' || r.id);
    outcome := 'ok';
    body := gb_complaint_reply_json(r, true)::json;
END $$;

-- Staff resolve an open complaint of their distributor, with a note (may
-- be empty). Outcome 'ok' (body: the complaint as staff see it),
-- 'not_found' or 'invalid_state' (resolved already). An audit line and a
-- complaint.resolved event.
CREATE OR REPLACE FUNCTION gb_complaint_resolve(p_distributor_id bigint,
                                                p_complaint_id bigint, p_note text,
                                                p_staff_id bigint, p_request_id text,
                                                OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    v_before complaints;
    k complaints;
BEGIN
    SELECT * INTO v_before FROM complaints x
     WHERE x.id = p_complaint_id AND x.distributor_id = p_distributor_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF v_before.status <> 'open' THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    UPDATE complaints x
       SET status = 'resolved', resolution_note = p_note, resolved_by = p_staff_id,
           resolved_at = now()
     WHERE x.id = v_before.id
    RETURNING * INTO k;
    PERFORM gb_audit(p_distributor_id, p_staff_id, 'resolve', 'complaint', k.id,
                     gb_complaint_json(v_before, false)::jsonb,
                     gb_complaint_json(k, false)::jsonb, p_request_id);
    INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload,
                        idempotency_key)
    VALUES (k.distributor_id, 'complaint.resolved', k.customer_id, k.campaign_id,
            gb_complaint_json(k, true)::jsonb, 'complaint_resolved:complaint:' || k.id);
    outcome := 'ok';
    body := gb_complaint_json(k, true);
END $$;

-- A customer's complaints with the replies, paged by id.
CREATE OR REPLACE FUNCTION gb_my_complaints(p_customer_id bigint, p_after bigint,
                                            p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT k.id, gb_complaint_json(k, false)::text
      FROM complaints k
     WHERE k.customer_id = p_customer_id AND k.id > p_after
     ORDER BY k.id LIMIT p_limit
$$;

-- The staff queue of complaints: the distributor's, of one status when
-- given, oldest first, paged by id.
CREATE OR REPLACE FUNCTION gb_complaints_queue(p_distributor_id bigint, p_status text,
                                               p_after bigint, p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT k.id, gb_complaint_json(k, true)::text
      FROM complaints k
     WHERE k.distributor_id = p_distributor_id
       AND (p_status IS NULL OR k.status = p_status)
       AND k.id > p_after
     ORDER BY k.id LIMIT p_limit
$$;
