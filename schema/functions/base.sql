-- Helpers every other file uses: the API's time format. Times from clients
-- are parsed in C (server/lib/rfc3339.c) and arrive as timestamptz parameters.
--
-- The API's representations are built by PostgreSQL (the gb_*_json
-- functions of each domain's file), defined once; handlers return that JSON
-- as is, so ids and amounts never pass through a floating-point number.


-- A time as the API writes it: RFC 3339 in UTC, whole seconds.
-- STABLE, as to_char is (not IMMUTABLE): only then does PostgreSQL inline
-- it into the query that uses it; an IMMUTABLE one would run as a
-- statement of its own per timestamp. No index or generated column uses
-- it, so nothing needs it IMMUTABLE.
CREATE OR REPLACE FUNCTION gb_ts(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- Times from clients have one reader, server/lib/rfc3339.c: no parser of
-- them in SQL, which could disagree with it.
DROP FUNCTION IF EXISTS gb_rfc3339(text);

