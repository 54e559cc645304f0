-- Customers as a distributor's staff see them (api/admin/customers.c, the
-- audience, a campaign's participations, orders, after-sales and the
-- leader's pickup list).
--
-- Privacy between distributors (docs/domain.md, "Privacy between
-- distributors"): a customer may buy from several distributors. What one
-- distributor's staff see of a customer is its own: the counts, the
-- history and the reasons come from that distributor's campaigns only,
-- and the login (a phone number or an e-mail) is masked. The delivery
-- address of the distributor's own order keeps its phone: the distributor
-- must reach the customer to deliver. The reliability score itself is the
-- one a join computes, from the customer's whole history (it protects
-- every distributor; only the figure is shown, never the history behind
-- it).

-- A contact (phone or e-mail) as staff and leaders may see it: a phone
-- keeps its first 3 and last 4 characters ("139****0001"; a mainland
-- number in E.164, "+8613900000001", first loses its "+86"), an e-mail its
-- first character and its domain ("z***@example.com"); anything shorter
-- than 8 characters, or starting with "@", is "****". The one home of the
-- rule (tests/api/schema/test_customer_privacy.py holds it to its cases).
CREATE OR REPLACE FUNCTION gb_customer_masked(p_contact text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT CASE
                   WHEN strpos(x.c, '@') > 1
                     THEN left(x.c, 1) || '***' || substr(x.c, strpos(x.c, '@'))
                   WHEN strpos(x.c, '@') = 1 OR char_length(x.c) < 8
                     THEN '****'
                   ELSE left(x.c, 3) || '****' || right(x.c, 4) END
            FROM (SELECT CASE WHEN p_contact ~ '^\+86[0-9]{11}$'
                              THEN substr(p_contact, 4)
                              ELSE p_contact END AS c) x $$;

-- The customer object of staff views: gb_customer_json's shape, the login
-- masked.
CREATE OR REPLACE FUNCTION gb_customer_staff_json(c customers) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object('id', c.id,
                                   'login', gb_customer_masked(c.login),
                                   'display_name', c.display_name,
                                   'created_at', gb_ts(c.created_at)) $$;

-- The history events of a customer in one distributor's campaigns, counted
-- per kind (the counts its staff see; the score uses gb_customer_history).
CREATE OR REPLACE FUNCTION gb_customer_own_events(p_distributor_id bigint,
                                                  p_customer_id bigint)
    RETURNS TABLE (completed bigint, withdrawn bigint, defaulted bigint,
                   deposit_expired bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT count(*) FILTER (WHERE e.kind = 'completed'),
                 count(*) FILTER (WHERE e.kind = 'withdrawn'),
                 count(*) FILTER (WHERE e.kind = 'defaulted'),
                 count(*) FILTER (WHERE e.kind = 'deposit_expired')
            FROM customer_events e
           WHERE e.customer_id = p_customer_id
             AND e.distributor_id = p_distributor_id $$;

-- The latest p_limit participations of a customer in one distributor's
-- campaigns, newest first, each with its campaign's id, title and status.
CREATE OR REPLACE FUNCTION gb_customer_own_history(p_distributor_id bigint,
                                                   p_customer_id bigint,
                                                   p_limit integer) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(json_agg(json_build_object(
                     'participation_id', h.id, 'campaign_id', h.campaign_id,
                     'campaign_title', h.title, 'campaign_status', h.cstatus,
                     'quantity', h.quantity, 'status', h.status,
                     'unit_price_cents', h.unit_price_cents,
                     'created_at', gb_ts(h.created_at)) ORDER BY h.id DESC),
                 '[]'::json)
            FROM (SELECT p.id, p.campaign_id, c.title, c.status AS cstatus,
                         p.quantity, p.status, p.unit_price_cents, p.created_at
                    FROM participations p JOIN campaigns c ON c.id = p.campaign_id
                   WHERE p.customer_id = p_customer_id
                     AND p.distributor_id = p_distributor_id
                   ORDER BY p.id DESC LIMIT p_limit) h $$;

-- A page of a distributor's customers (those with a participation in one
-- of its campaigns), by id after p_after, at most p_limit rows: id and the
-- item {customer (masked), vip_level, participations, completed,
-- last_joined_at}. p_q, when not NULL, keeps the customers whose display
-- name holds it (any case), whose login is p_login (p_q in a login's
-- normal form, server/domain/login.h, when it is one: a phone typed with
-- spaces, dashes or without +86 finds its customer), or whose id it is. A
-- part of a login finds nobody: a login is searched whole.
CREATE OR REPLACE FUNCTION gb_customer_staff_page(p_distributor_id bigint,
                                                  p_after bigint, p_limit integer,
                                                  p_q text, p_login text)
    RETURNS TABLE (id bigint, item text)
    LANGUAGE sql STABLE
    AS $$
    WITH mine AS (
        -- through the distributor's campaigns: the participations index
        -- by campaign serves it, and no index by distributor is kept on
        -- the join's hot table for the sake of this page
        SELECT p.customer_id, count(*) AS n, max(p.created_at) AS last_at
          FROM campaigns c
          JOIN participations p ON p.campaign_id = c.id
         WHERE c.distributor_id = p_distributor_id AND p.customer_id > p_after
         GROUP BY p.customer_id
    )
    SELECT cu.id, json_build_object(
               'customer', gb_customer_staff_json(cu),
               'vip_level', coalesce(v.vip_level, 0),
               'participations', m.n,
               'completed', (SELECT count(*) FROM customer_events e
                              WHERE e.customer_id = cu.id
                                AND e.distributor_id = p_distributor_id
                                AND e.kind = 'completed'),
               'last_joined_at', gb_ts(m.last_at))::text
      FROM mine m
      JOIN customers cu ON cu.id = m.customer_id
      LEFT JOIN customer_vip v ON v.distributor_id = p_distributor_id
            AND v.customer_id = cu.id
     WHERE p_q IS NULL
        OR strpos(lower(cu.display_name), lower(p_q)) > 0
        OR cu.login = p_login
        OR cu.id::text = p_q
     ORDER BY cu.id
     LIMIT p_limit
$$;
