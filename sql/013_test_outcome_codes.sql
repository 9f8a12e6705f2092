-- The KS2 tests' outcome codes (issue 13): a pupil without a scaled score carries one of
-- B (working below the standard of the test), H (cheating), J (just arrived), M (missing),
-- Q (maladministration), T or U (unable to access the test) beside the codes 008 allowed.
-- They count as the DfE's attainment measure counts them (docs/validation.md has the
-- source): B, H, J, Q, T and U stay in the cohort as not meeting the expected standard, M
-- is outside it like L, F and P. No stored row holds a new code yet, so the aggregates
-- kept by 010 are unchanged. The rule becomes its own function, progress_code_in_cohort,
-- so that the next change to it replaces one line, not the whole of progress_base_school
-- (redefined here for the last time, calling it; the C twin is assessment_code_in_cohort).
ALTER TABLE progress DROP CONSTRAINT progress_code_check;
ALTER TABLE progress ADD CONSTRAINT progress_code_check
    CHECK (code IN ('A', 'L', 'F', 'P', 'D', 'B', 'H', 'J', 'M', 'Q', 'T', 'U'));

CREATE FUNCTION progress_code_in_cohort(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT code IS NULL OR code IN ('A', 'D', 'B', 'H', 'J', 'Q', 'T', 'U')
$$;

CREATE OR REPLACE FUNCTION progress_base_school(t bigint, y text, tm text, u text)
RETURNS TABLE (urn text, subject text, year_group text, n0 bigint, k0 bigint, g0 bigint, n1 bigint, k1 bigint, g1 bigint, n2 bigint, k2 bigint, g2 bigint, n3 bigint, k3 bigint, g3 bigint, n4 bigint, k4 bigint, g4 bigint, n5 bigint, k5 bigint, g5 bigint, n6 bigint, k6 bigint, g6 bigint, n7 bigint, k7 bigint, g7 bigint, n8 bigint, k8 bigint, g8 bigint, n9 bigint, k9 bigint, g9 bigint, n10 bigint, k10 bigint, g10 bigint, n11 bigint, k11 bigint, g11 bigint, n12 bigint, k12 bigint, g12 bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT p.urn, p.subject, p.year_group,
            count(*) AS n0, count(*) FILTER (WHERE x) AS k0, count(*) FILTER (WHERE gdx) AS g0,
            count(*) FILTER (WHERE d) AS n1, count(*) FILTER (WHERE d AND x) AS k1, count(*) FILTER (WHERE d AND gdx) AS g1,
            count(*) FILTER (WHERE NOT d) AS n2, count(*) FILTER (WHERE NOT d AND x) AS k2, count(*) FILTER (WHERE NOT d AND gdx) AS g2,
            count(*) FILTER (WHERE s <> 'none') AS n3, count(*) FILTER (WHERE s <> 'none' AND x) AS k3, count(*) FILTER (WHERE s <> 'none' AND gdx) AS g3,
            count(*) FILTER (WHERE s = 'support') AS n4, count(*) FILTER (WHERE s = 'support' AND x) AS k4, count(*) FILTER (WHERE s = 'support' AND gdx) AS g4,
            count(*) FILTER (WHERE s = 'ehcp') AS n5, count(*) FILTER (WHERE s = 'ehcp' AND x) AS k5, count(*) FILTER (WHERE s = 'ehcp' AND gdx) AS g5,
            count(*) FILTER (WHERE e) AS n6, count(*) FILTER (WHERE e AND x) AS k6, count(*) FILTER (WHERE e AND gdx) AS g6,
            count(*) FILTER (WHERE l) AS n7, count(*) FILTER (WHERE l AND x) AS k7, count(*) FILTER (WHERE l AND gdx) AS g7,
            count(*) FILTER (WHERE sx = 'f') AS n8, count(*) FILTER (WHERE sx = 'f' AND x) AS k8, count(*) FILTER (WHERE sx = 'f' AND gdx) AS g8,
            count(*) FILTER (WHERE sx = 'm') AS n9, count(*) FILTER (WHERE sx = 'm' AND x) AS k9, count(*) FILTER (WHERE sx = 'm' AND gdx) AS g9,
            count(*) FILTER (WHERE pa = 'low') AS n10, count(*) FILTER (WHERE pa = 'low' AND x) AS k10, count(*) FILTER (WHERE pa = 'low' AND gdx) AS g10,
            count(*) FILTER (WHERE pa = 'middle') AS n11, count(*) FILTER (WHERE pa = 'middle' AND x) AS k11, count(*) FILTER (WHERE pa = 'middle' AND gdx) AS g11,
            count(*) FILTER (WHERE pa = 'high') AS n12, count(*) FILTER (WHERE pa = 'high' AND x) AS k12, count(*) FILTER (WHERE pa = 'high' AND gdx) AS g12
        FROM (SELECT q.urn, q.subject, q.year_group,
                     coalesce(q.band IN ('expected', 'greater_depth'), false) AS x,
                     coalesce(q.band = 'greater_depth', false) AS gdx, q.disadvantaged AS d, q.send AS s,
                     q.eal AS e, q.looked_after AS l, q.sex AS sx, q.prior_attainment AS pa
                FROM progress q
               WHERE q.trust_id = t AND q.year = y AND q.term = tm AND q.urn = u
                 AND progress_code_in_cohort(q.code)) p
        GROUP BY p.urn, p.subject, p.year_group
$$;
