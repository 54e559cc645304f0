-- gb_ts (001) was declared IMMUTABLE around to_char, which is only STABLE,
-- so PostgreSQL would not inline it: every timestamp of every JSON answer
-- built in SQL was a call of a SQL function, run as a statement of its own
-- (pg_stat_statements counted one per join under the join load, 15,161 in
-- 6 s). Declared STABLE, as its body is, it is inlined into the query that
-- uses it. Nothing depends on it being IMMUTABLE (no index or generated
-- column uses it).
ALTER FUNCTION gb_ts(timestamptz) STABLE;
