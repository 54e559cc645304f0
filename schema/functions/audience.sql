-- The audience of a campaign and its invitations (docs/api.md, "Customers
-- and reports"; api/admin/invitations.c ranks, server/domain/audience.c
-- scores).


-- The candidates of campaign p_campaign_id of distributor p_distributor_id:
-- its customers (any participation in its campaigns) without a
-- participation in this campaign, restricted to p_ids when not NULL, with
-- what the ranking needs and the history the score is computed from.
-- What staff see of them is the distributor's own (functions/customers.sql):
-- the customer with its login masked, whether it bought the product here,
-- its own completed participations (own_completed, the count the reason
-- gives); the whole history (h_*) only feeds the score. Both come from
-- gb_distributor_histories, in one pass over the candidates' events.
-- One row with NULL customer_id when the campaign exists but nobody is a
-- candidate; no row when the campaign is not the distributor's.
DROP FUNCTION IF EXISTS gb_audience_candidates(bigint, bigint, double precision, bigint[]);
CREATE OR REPLACE FUNCTION gb_audience_candidates(p_distributor_id bigint,
                                                  p_campaign_id bigint,
                                                  p_half_life_days double precision,
                                                  p_ids bigint[])
    RETURNS TABLE (min_score integer, customer_id bigint, customer text,
                   bought boolean, last_active double precision, vip_level integer,
                   own_completed bigint,
                   h_completed bigint, h_completed_w double precision,
                   h_withdrawn bigint, h_withdrawn_w double precision,
                   h_defaulted bigint, h_defaulted_w double precision,
                   h_expired bigint, h_expired_w double precision)
    LANGUAGE sql STABLE AS $$
    WITH c AS (
        SELECT c.id, c.product_id, c.min_score FROM campaigns c
         WHERE c.distributor_id = p_distributor_id AND c.id = p_campaign_id
    ), cand AS (
        SELECT p.customer_id, max(p.created_at) AS last_at,
               bool_or(k.product_id = c.product_id AND p.status = 'paid') AS bought
          FROM c, participations p JOIN campaigns k ON k.id = p.campaign_id
         WHERE p.distributor_id = p_distributor_id
           AND (p_ids IS NULL OR p.customer_id = ANY (p_ids))
         GROUP BY p.customer_id
        HAVING NOT bool_or(p.campaign_id = p_campaign_id)
    )
    SELECT c.min_score, x.*
      FROM c LEFT JOIN LATERAL (
           SELECT cand.customer_id, gb_customer_staff_json(cu)::text, cand.bought,
                  extract(epoch FROM cand.last_at)::double precision,
                  coalesce(v.vip_level, 0), h.own_completed,
                  h.completed, h.completed_w, h.withdrawn, h.withdrawn_w,
                  h.defaulted, h.defaulted_w, h.deposit_expired, h.deposit_expired_w
             FROM cand JOIN customers cu ON cu.id = cand.customer_id
             LEFT JOIN customer_vip v ON v.distributor_id = p_distributor_id
                   AND v.customer_id = cu.id
             JOIN gb_distributor_histories(p_distributor_id, p_half_life_days, p_ids) h
               ON h.customer_id = cand.customer_id) x ON true
$$;

-- Invites p_ids (checked members of the audience) to the campaign: one
-- campaign_invitations row and one campaign.invitation event per customer
-- not invited before. Answers how many were invited now.
CREATE OR REPLACE FUNCTION gb_campaign_invite(p_distributor_id bigint,
                                              p_campaign_id bigint,
                                              p_ids bigint[]) RETURNS bigint
    LANGUAGE sql AS $$
    WITH c AS (
        SELECT c.* FROM campaigns c
         WHERE c.distributor_id = p_distributor_id AND c.id = p_campaign_id
    ), ins AS (
        INSERT INTO campaign_invitations (campaign_id, customer_id, distributor_id)
        SELECT c.id, i.id, p_distributor_id
          FROM c, (SELECT DISTINCT unnest(p_ids) AS id) i
         ORDER BY i.id
        ON CONFLICT (campaign_id, customer_id) DO NOTHING
        RETURNING customer_id
    ), ev AS (
        INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, payload,
                            idempotency_key)
        SELECT p_distributor_id, 'campaign.invitation', cu.id, c.id,
               jsonb_build_object('customer', jsonb_build_object(
                                      'id', cu.id, 'display_name', cu.display_name,
                                      'login', cu.login),
                                  'campaign', gb_campaign_json(c)::jsonb),
               'invitation:campaign:' || c.id || ':customer:' || cu.id
          FROM c, ins JOIN customers cu ON cu.id = ins.customer_id
         ORDER BY cu.id
    )
    SELECT count(*) FROM ins
$$;

-- The invitation report: invited customers, those who joined after their
-- invitation, those whose participation completed (paid), and
-- joined / invited; and "shares", the same for the campaign's share links
-- (functions/growth.sql). NULL when the campaign is not the distributor's.
CREATE OR REPLACE FUNCTION gb_invitation_report(p_distributor_id bigint,
                                                p_campaign_id bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'campaign_id', c.id,
               'invited', r.invited, 'joined', r.joined, 'completed', r.completed,
               'conversion', CASE WHEN r.invited = 0 THEN 0
                                  ELSE round(r.joined::numeric / r.invited, 4) END,
               'shares', gb_share_report(c.id))
      FROM campaigns c
     CROSS JOIN LATERAL (
           SELECT count(*) AS invited,
                  count(*) FILTER (WHERE j.joined) AS joined,
                  count(*) FILTER (WHERE j.completed) AS completed
             FROM campaign_invitations i
             LEFT JOIN LATERAL (
                  SELECT true AS joined, bool_or(p.status = 'paid') AS completed
                    FROM participations p
                   WHERE p.campaign_id = i.campaign_id AND p.customer_id = i.customer_id
                     AND p.created_at >= i.invited_at
                  HAVING count(*) > 0) j ON true
            WHERE i.campaign_id = c.id) r
     WHERE c.distributor_id = p_distributor_id AND c.id = p_campaign_id
$$;
