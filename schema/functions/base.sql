-- Helpers every other file uses: the API's time format and its parser.
--
-- The API's representations are built by PostgreSQL (the gb_*_json
-- functions of each domain's file), defined once; handlers return that JSON
-- as is, so ids and amounts never pass through a floating-point number.


-- A time as the API writes it: RFC 3339 in UTC, whole seconds.
-- STABLE, as to_char is (not IMMUTABLE): only then does PostgreSQL inline
-- it into the query that uses it. Declared IMMUTABLE it was a call of a SQL
-- function per timestamp, run as a statement of its own (pg_stat_statements
-- counted one per join under the join load, 15,161 in 6 s). No index or
-- generated column uses it, so nothing needs it IMMUTABLE.
CREATE OR REPLACE FUNCTION gb_ts(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- A strict RFC 3339 time (offset required), or NULL when s is not one.
CREATE OR REPLACE FUNCTION gb_rfc3339(s text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
    IF s !~ '^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$' THEN
        RETURN NULL;
    END IF;
    RETURN s::timestamptz;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

