-- A push hands over its counts, and the stuck lists skip windows without data (issue 14).
--
-- Measured on the bench box, progress_aggregates_refresh took 110-120 ms of one PostgreSQL
-- backend for a 30,000-row push, about 40 % of the push, in one burst that nothing paces:
-- ~30 ms counting the rows again (progress_base_school), and ~30 ms for each of the three
-- stuck windows the term is part of (it and the two terms after it), even when a window
-- lacks a term entirely, as the two windows ahead of the current term always do.
--
-- Now matd's parse computes the school's progress_counts rows from the records it accepted
-- (libmat's progress_counts, the C twin of progress_base_school) and COPYs them after the
-- pupil rows, and calls progress_stuck_refresh for the stuck lists alone. A window is
-- computed only when the school holds rows in each of its three terms (an index probe per
-- term); otherwise no pupil can be stuck in it and its list stays empty, as before. Every
-- other writer keeps both through progress_aggregates_refresh, which now calls the same
-- function. A window's three terms of 30,000 rows sort 45,000 candidates: past the default
-- work_mem of 4 MB that sort went to disk (110 ms for one window; 27 ms in memory), so the
-- function runs with 32 MB (used only as needed; one push per school and term at a time).
-- progress_stuck_school and progress_base_school, the from-rows references the
-- tests compare with, are unchanged.

-- Whether the school holds rows in each term from ordinal a to ordinal b: an index probe
-- per term (written as EXISTS per row, which the planner cannot turn into an anti-join
-- over the school's rows).
CREATE FUNCTION progress_terms_held(t bigint, u text, a integer, b integer) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT bool_and(EXISTS (SELECT 1 FROM progress q WHERE q.trust_id = t AND q.year = w.year
                                                       AND q.term = w.term AND q.urn = u))
      FROM generate_series(a, b) o, LATERAL term_of_ordinal(o) w
$$;

-- The school's stuck pupils for (y, tm) and the two terms after it: the lists its rows in
-- (y, tm) count towards.
CREATE FUNCTION progress_stuck_refresh(t bigint, u text, y text, tm text)
RETURNS void LANGUAGE sql SET jit = off SET work_mem = '32MB' AS $$
    DELETE FROM progress_stuck s
     WHERE s.trust_id = t AND s.urn = u
       AND (s.year, s.term) IN (SELECT w.year, w.term
                                  FROM generate_series(term_ordinal(y, tm), term_ordinal(y, tm) + 2) o,
                                       LATERAL term_of_ordinal(o) w);
    INSERT INTO progress_stuck (trust_id, urn, year, term, subject, pupil_key)
    SELECT t, u, w.year, w.term, f.subject, f.pupil_key
      FROM generate_series(term_ordinal(y, tm), term_ordinal(y, tm) + 2) o,
           LATERAL term_of_ordinal(o) w,
           LATERAL progress_stuck_school(t, w.year, w.term, u) f
     WHERE progress_terms_held(t, u, o - 2, o);
$$;

CREATE OR REPLACE FUNCTION progress_aggregates_refresh(t bigint, u text, y text, tm text)
RETURNS void LANGUAGE sql SET jit = off AS $$
    DELETE FROM progress_counts c WHERE c.trust_id = t AND c.year = y AND c.term = tm AND c.urn = u;
    INSERT INTO progress_counts (trust_id, urn, year, term, subject, year_group, n0, k0, g0, n1, k1, g1, n2, k2, g2, n3, k3, g3, n4, k4, g4, n5, k5, g5, n6, k6, g6, n7, k7, g7, n8, k8, g8, n9, k9, g9, n10, k10, g10, n11, k11, g11, n12, k12, g12)
    SELECT t, u, y, tm, b.subject, b.year_group, b.n0, b.k0, b.g0, b.n1, b.k1, b.g1, b.n2, b.k2, b.g2, b.n3, b.k3, b.g3, b.n4, b.k4, b.g4, b.n5, b.k5, b.g5, b.n6, b.k6, b.g6, b.n7, b.k7, b.g7, b.n8, b.k8, b.g8, b.n9, b.k9, b.g9, b.n10, b.k10, b.g10, b.n11, b.k11, b.g11, b.n12, b.k12, b.g12
      FROM progress_base_school(t, y, tm, u) b;
    SELECT progress_stuck_refresh(t, u, y, tm);
$$;
