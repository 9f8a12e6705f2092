-- A push refreshes its school's aggregates once (issue 14).
--
-- A push replaces one school's term in one transaction: DELETE of the old set, COPY of the
-- new. With the statement triggers of sql/010 each statement recomputed the school's counts
-- and stuck pupils, so every push did it twice (the first time for a set about to be
-- replaced). A writer that recomputes them itself before it commits now says so for its
-- transaction (SET LOCAL matd.aggregates = 'deferred') and the triggers leave them to it;
-- every other writer (matctl, psql, an UPDATE) keeps them current as before. A push calls
-- progress_aggregates_refresh for its school and term after the COPY, also when the new set
-- is empty. Still without JIT (sql/014).
CREATE OR REPLACE FUNCTION progress_aggregates_after_write() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    IF current_setting('matd.aggregates', true) = 'deferred' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM progress_aggregates_refresh(d.trust_id, d.urn, d.year, d.term)
           FROM (SELECT DISTINCT trust_id, urn, year, term FROM new_rows) d;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM progress_aggregates_refresh(d.trust_id, d.urn, d.year, d.term)
           FROM (SELECT DISTINCT trust_id, urn, year, term FROM old_rows) d;
    END IF;
    RETURN NULL;
END
$$;
