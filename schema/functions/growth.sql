-- Share links and the referrals they bring (拼团 invites; docs/api.md "Share
-- links and referrals"): api/shop/shares.c and api/admin/referrals.c
-- answer with these. A join that names a share code is decided in
-- functions/join.sql (gb_join_sharer, gb_join_share_refusal), which
-- records the sharer on the participation (referred_by_customer_id) with a
-- share.joined event.
--
-- Counting: a share's "joined" are the participations that came through
-- it, whatever became of them (a withdrawal still came through the link),
-- "completed" those of them that paid.


-- The share object: its code, the link's path and the campaign.
CREATE OR REPLACE FUNCTION gb_share_json(s shares) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('code', s.code, 'url', '/s/' || s.code,
                                   'campaign_id', s.campaign_id,
                                   'created_at', gb_ts(s.created_at)) $$;

-- The customer's share of a campaign: made with p_code (fresh from the
-- CSPRNG) the first time, the same one after. Outcome 'created' or
-- 'existing' (body: the share), 'not_found' (no such campaign, or a draft
-- or cancelled one), 'invalid_state' (closed: nothing left to share), or
-- 'code_taken' when another share has p_code (one in 2^60 per share: the
-- caller draws another).
CREATE OR REPLACE FUNCTION gb_share_create(p_customer_id bigint, p_campaign_id bigint,
                                           p_code text, OUT outcome text, OUT body json)
    LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    s shares;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_campaign_id;
    IF NOT FOUND OR c.status IN ('draft', 'cancelled') THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF c.status NOT IN ('scheduled', 'open') THEN
        outcome := 'invalid_state';
        RETURN;
    END IF;
    INSERT INTO shares (distributor_id, campaign_id, customer_id, code)
    VALUES (c.distributor_id, c.id, p_customer_id, p_code)
    ON CONFLICT DO NOTHING
    RETURNING * INTO s;
    IF FOUND THEN
        outcome := 'created';
    ELSE
        SELECT * INTO s FROM shares x
         WHERE x.campaign_id = c.id AND x.customer_id = p_customer_id;
        IF NOT FOUND THEN
            outcome := 'code_taken';
            RETURN;
        END IF;
        outcome := 'existing';
    END IF;
    body := gb_share_json(s);
END $$;

-- The page of a share link (GET /s/{code}, api/shop/shares.c): the
-- campaign's public view, or no row for an unknown code or a campaign that
-- is not public (draft, cancelled).
CREATE OR REPLACE FUNCTION gb_share_page(p_code text) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT gb_campaign_public_view(c)::json
      FROM shares s JOIN campaigns c ON c.id = s.campaign_id
     WHERE s.code = p_code AND c.status NOT IN ('draft', 'cancelled')
$$;

-- A name as other customers see it: its first character and a star
-- ("李*"), never the whole name or the login.
CREATE OR REPLACE FUNCTION gb_masked_name(p_name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT left(p_name, 1) || '*' $$;

-- The participations a share brought, as its sharer sees them: who
-- (masked), when, and how it stands ("joined" while live, then the
-- participation's status).
CREATE OR REPLACE FUNCTION gb_share_friends(s shares) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object(
               'name', gb_masked_name(cu.display_name),
               'status', p.status,
               'joined_at', gb_ts(p.created_at)) ORDER BY p.id), '[]')
      FROM participations p JOIN customers cu ON cu.id = p.customer_id
     WHERE p.referred_by_customer_id = s.customer_id AND p.campaign_id = s.campaign_id
$$;

-- A customer's shares (GET /v1/me/shares), paged by share id: rows of
-- (id, JSON text) for req_reply_list.
CREATE OR REPLACE FUNCTION gb_my_shares(p_customer_id bigint, p_after bigint, p_limit integer)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE AS $$
    SELECT s.id, (gb_share_json(s)::jsonb || jsonb_build_object(
               'campaign_title', c.title,
               'campaign_status', gb_campaign_public_status(c.status),
               'joined', r.joined, 'completed', r.completed,
               'friends', gb_share_friends(s)))::text
      FROM shares s JOIN campaigns c ON c.id = s.campaign_id
     CROSS JOIN LATERAL (
           SELECT count(*) AS joined, count(*) FILTER (WHERE p.status = 'paid') AS completed
             FROM participations p
            WHERE p.referred_by_customer_id = s.customer_id
              AND p.campaign_id = s.campaign_id) r
     WHERE s.customer_id = p_customer_id AND s.id > p_after
     ORDER BY s.id LIMIT p_limit
$$;

-- The referral list of a campaign for its distributor's staff: each
-- sharer who brought anyone, with the participations they brought and how
-- many paid, best first (completed, then joined, then the earliest
-- share). NULL when the campaign is not the distributor's.
CREATE OR REPLACE FUNCTION gb_campaign_referrals(p_distributor_id bigint, p_campaign_id bigint)
    RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('campaign_id', c.id, 'items', coalesce((
               SELECT json_agg(json_build_object(
                          'customer', gb_customer_json(cu), 'code', s.code,
                          'joined', r.joined, 'completed', r.completed)
                        ORDER BY r.completed DESC, r.joined DESC, s.id)
                 FROM shares s
                 JOIN customers cu ON cu.id = s.customer_id
                CROSS JOIN LATERAL (
                      SELECT count(*) AS joined,
                             count(*) FILTER (WHERE p.status = 'paid') AS completed
                        FROM participations p
                       WHERE p.referred_by_customer_id = s.customer_id
                         AND p.campaign_id = s.campaign_id) r
                WHERE s.campaign_id = c.id AND r.joined > 0), '[]'))
      FROM campaigns c
     WHERE c.distributor_id = p_distributor_id AND c.id = p_campaign_id
$$;

-- The shares part of the invitation report (functions/audience.sql): the
-- campaign's share links, the participations they brought, those that
-- paid, and joined per link.
CREATE OR REPLACE FUNCTION gb_share_report(p_campaign_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'shares', n.shares, 'joined', j.joined, 'completed', j.completed,
               'conversion', CASE WHEN n.shares = 0 THEN 0
                                  ELSE round(j.joined::numeric / n.shares, 4) END)
      FROM (SELECT count(*) AS shares FROM shares s WHERE s.campaign_id = p_campaign_id) n,
           (SELECT count(*) AS joined, count(*) FILTER (WHERE p.status = 'paid') AS completed
              FROM participations p
             WHERE p.campaign_id = p_campaign_id
               AND p.referred_by_customer_id IS NOT NULL) j
$$;
