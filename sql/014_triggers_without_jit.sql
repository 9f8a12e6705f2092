-- The aggregate triggers without JIT (issue 14).
--
-- A push replaces a school's term: DELETE of the old set, COPY of the new, each firing the
-- statement triggers of sql/010 that recompute the school's counts and stuck pupils. The
-- planner's row estimates for those statements (set-returning functions, transition
-- tables) put their cost above jit_above_cost, so PostgreSQL (JIT is on by default) spent
-- 0.6-0.8 s compiling them on every push of 30,000 rows whose term already held a set:
-- more than the statements themselves (about 0.12 s). Measured on this project's bench box,
-- a push took 1.5-1.95 s with JIT and 0.7-1.0 s without. The functions are small, run once
-- per statement and touch one school's rows through an index: they never gain from JIT.
-- Setting it on the functions holds for every writer (matd, matctl, psql).
ALTER FUNCTION progress_aggregates_after_write() SET jit = off;
ALTER FUNCTION progress_aggregates_refresh(bigint, text, text, text) SET jit = off;
ALTER FUNCTION bump_trust_data_version() SET jit = off;
