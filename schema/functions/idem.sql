-- Idempotency-Key answers (server/engine/idem.c): a creating POST sent with
-- a key stores its 2xx answer in the transaction of its work, under the
-- request's advisory lock, and a retry within 24 hours replays it. The
-- scheduler's housekeeping (functions/housekeeping.sql, gb_purge_due)
-- deletes keys past the 24 hours in batches.

-- Stores the answer of (p_principal, p_route, p_key) for a body of SHA-256
-- p_request_sha256 (hex). A row of that key older than 24 hours (not yet
-- purged) is replaced; a younger one is kept, as it is the answer a retry
-- must get (the caller, holding the key's lock, has found none).
CREATE OR REPLACE FUNCTION gb_idem_store(p_principal text, p_route text, p_key text,
                                         p_request_sha256 text, p_status integer,
                                         p_body text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO idempotency_keys AS k (principal, route, key, request_sha256,
                                       response_status, response_body)
    VALUES (p_principal, p_route, p_key, decode(p_request_sha256, 'hex'), p_status,
            p_body)
    ON CONFLICT (principal, route, key) DO UPDATE
       SET request_sha256 = EXCLUDED.request_sha256,
           response_status = EXCLUDED.response_status,
           response_body = EXCLUDED.response_body, created_at = now()
     WHERE k.created_at <= now() - interval '24 hours';
END $$;
