-- Priorities and summaries from aggregates, not pupil rows (issue 14).
--
-- progress_counts holds, per school x term x subject x year group, the counts every cell
-- is summed from (n, k and greater depth for each of the 13 groups); progress_stuck holds
-- the pupils below expected in a subject this term and the two terms before. Both are
-- maintained inside the writer's transaction by statement triggers on progress (a push's
-- DELETE and COPY each fire once), so a reader sees them exactly when it sees the rows.
-- progress_cells() now sums progress_counts; progress_cells_from_rows() and
-- progress_stuck_from_rows() compute the same from the pupil rows, and the tests check
-- that both give the same priorities, byte for byte (matctl priorities --from-rows).

-- Term arithmetic: "2025-26" spring is 2025 * 3 + 1.
CREATE FUNCTION term_ordinal(y text, tm text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr(y, 1, 4)::int * 3 + CASE tm WHEN 'autumn' THEN 0 WHEN 'spring' THEN 1 ELSE 2 END
$$;

CREATE FUNCTION term_of_ordinal(o integer, OUT year text, OUT term text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (o / 3)::text || '-' || lpad(((o / 3 + 1) % 100)::text, 2, '0'),
           (ARRAY['autumn', 'spring', 'summer'])[o % 3 + 1]
$$;

-- One school's counts per subject x year group for a term, from its pupil rows (equality on
-- the primary key's leading columns: an index range, whatever the table's size). The other
-- codes count as docs/validation.md says: A and D in n as not meeting, L, F and P outside
-- the cohort.
CREATE FUNCTION progress_base_school(t bigint, y text, tm text, u text)
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
                 AND (q.code IS NULL OR q.code IN ('A', 'D'))) p
        GROUP BY p.urn, p.subject, p.year_group
$$;

-- The same for every school of the term (or only_urns), from the pupil rows.
CREATE FUNCTION progress_base_from_rows(t bigint, y text, tm text, only_urns text[])
RETURNS TABLE (urn text, subject text, year_group text, n0 bigint, k0 bigint, g0 bigint, n1 bigint, k1 bigint, g1 bigint, n2 bigint, k2 bigint, g2 bigint, n3 bigint, k3 bigint, g3 bigint, n4 bigint, k4 bigint, g4 bigint, n5 bigint, k5 bigint, g5 bigint, n6 bigint, k6 bigint, g6 bigint, n7 bigint, k7 bigint, g7 bigint, n8 bigint, k8 bigint, g8 bigint, n9 bigint, k9 bigint, g9 bigint, n10 bigint, k10 bigint, g10 bigint, n11 bigint, k11 bigint, g11 bigint, n12 bigint, k12 bigint, g12 bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.* FROM (SELECT DISTINCT q.urn FROM progress q
                      WHERE q.trust_id = t AND q.year = y AND q.term = tm
                        AND (only_urns IS NULL OR q.urn = ANY (only_urns))) s,
           LATERAL progress_base_school(t, y, tm, s.urn) b
$$;

CREATE TABLE progress_counts (
    trust_id   bigint NOT NULL,
    urn        text NOT NULL,
    year       text NOT NULL,
    term       text NOT NULL,
    subject    text NOT NULL,
    year_group text NOT NULL,
    n0 bigint NOT NULL,
    k0 bigint NOT NULL,
    g0 bigint NOT NULL,
    n1 bigint NOT NULL,
    k1 bigint NOT NULL,
    g1 bigint NOT NULL,
    n2 bigint NOT NULL,
    k2 bigint NOT NULL,
    g2 bigint NOT NULL,
    n3 bigint NOT NULL,
    k3 bigint NOT NULL,
    g3 bigint NOT NULL,
    n4 bigint NOT NULL,
    k4 bigint NOT NULL,
    g4 bigint NOT NULL,
    n5 bigint NOT NULL,
    k5 bigint NOT NULL,
    g5 bigint NOT NULL,
    n6 bigint NOT NULL,
    k6 bigint NOT NULL,
    g6 bigint NOT NULL,
    n7 bigint NOT NULL,
    k7 bigint NOT NULL,
    g7 bigint NOT NULL,
    n8 bigint NOT NULL,
    k8 bigint NOT NULL,
    g8 bigint NOT NULL,
    n9 bigint NOT NULL,
    k9 bigint NOT NULL,
    g9 bigint NOT NULL,
    n10 bigint NOT NULL,
    k10 bigint NOT NULL,
    g10 bigint NOT NULL,
    n11 bigint NOT NULL,
    k11 bigint NOT NULL,
    g11 bigint NOT NULL,
    n12 bigint NOT NULL,
    k12 bigint NOT NULL,
    g12 bigint NOT NULL,
    PRIMARY KEY (trust_id, year, term, urn, subject, year_group)
);

CREATE TABLE progress_stuck (
    trust_id  bigint NOT NULL,
    urn       text NOT NULL,
    year      text NOT NULL,
    term      text NOT NULL,
    subject   text NOT NULL,
    pupil_key bytea NOT NULL,
    PRIMARY KEY (trust_id, year, term, urn, subject, pupil_key)
);

-- One school's pupils below expected in the same subject in (y, tm) and the two terms
-- before it: three index lookups (the key is unique per term, so three rows = three terms).
CREATE FUNCTION progress_stuck_school(t bigint, y text, tm text, u text)
RETURNS TABLE (subject text, pupil_key bytea)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.subject, p.pupil_key
      FROM generate_series(term_ordinal(y, tm) - 2, term_ordinal(y, tm)) o,
           LATERAL term_of_ordinal(o) w
      JOIN progress p ON p.trust_id = t AND p.year = w.year AND p.term = w.term AND p.urn = u
     WHERE p.band IN ('below', 'towards')
     GROUP BY p.subject, p.pupil_key
    HAVING count(*) = 3
$$;

-- The same for every school with rows in (y, tm) (or only_urns), from the pupil rows.
CREATE FUNCTION progress_stuck_from_rows(t bigint, y text, tm text, only_urns text[])
RETURNS TABLE (urn text, subject text, pupil_key bytea)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.urn, f.subject, f.pupil_key
      FROM (SELECT DISTINCT q.urn FROM progress q
             WHERE q.trust_id = t AND q.year = y AND q.term = tm
               AND (only_urns IS NULL OR q.urn = ANY (only_urns))) s,
           LATERAL progress_stuck_school(t, y, tm, s.urn) f
$$;

-- Recomputes one school's counts for one term, and its stuck pupils for that term and the
-- two after it (a term's rows count towards the stuck lists of the next two).
CREATE FUNCTION progress_aggregates_refresh(t bigint, u text, y text, tm text)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM progress_counts c WHERE c.trust_id = t AND c.year = y AND c.term = tm AND c.urn = u;
    INSERT INTO progress_counts (trust_id, urn, year, term, subject, year_group, n0, k0, g0, n1, k1, g1, n2, k2, g2, n3, k3, g3, n4, k4, g4, n5, k5, g5, n6, k6, g6, n7, k7, g7, n8, k8, g8, n9, k9, g9, n10, k10, g10, n11, k11, g11, n12, k12, g12)
    SELECT t, u, y, tm, b.subject, b.year_group, b.n0, b.k0, b.g0, b.n1, b.k1, b.g1, b.n2, b.k2, b.g2, b.n3, b.k3, b.g3, b.n4, b.k4, b.g4, b.n5, b.k5, b.g5, b.n6, b.k6, b.g6, b.n7, b.k7, b.g7, b.n8, b.k8, b.g8, b.n9, b.k9, b.g9, b.n10, b.k10, b.g10, b.n11, b.k11, b.g11, b.n12, b.k12, b.g12
      FROM progress_base_school(t, y, tm, u) b;
    DELETE FROM progress_stuck s
     WHERE s.trust_id = t AND s.urn = u
       AND (s.year, s.term) IN (SELECT w.year, w.term
                                  FROM generate_series(term_ordinal(y, tm), term_ordinal(y, tm) + 2) o,
                                       LATERAL term_of_ordinal(o) w);
    INSERT INTO progress_stuck (trust_id, urn, year, term, subject, pupil_key)
    SELECT t, u, w.year, w.term, f.subject, f.pupil_key
      FROM generate_series(term_ordinal(y, tm), term_ordinal(y, tm) + 2) o,
           LATERAL term_of_ordinal(o) w,
           LATERAL progress_stuck_school(t, w.year, w.term, u) f;
$$;

CREATE FUNCTION progress_aggregates_after_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

CREATE TRIGGER progress_aggregates_insert AFTER INSERT ON progress
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_aggregates_after_write();
CREATE TRIGGER progress_aggregates_update AFTER UPDATE ON progress
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_aggregates_after_write();
CREATE TRIGGER progress_aggregates_delete AFTER DELETE ON progress
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_aggregates_after_write();

-- The cells of a scope, summed from a base of counts: the aggregates (from_rows false) or
-- the pupil rows (true). One roll-up for both, so they cannot drift apart.
CREATE FUNCTION progress_cells_src(t bigint, y text, tm text, only_urns text[], from_rows boolean)
RETURNS TABLE (urn text, subject text, year_group text, grp text, n bigint, k bigint, gd bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH base AS (
        SELECT c.urn, c.subject, c.year_group, c.n0, c.k0, c.g0, c.n1, c.k1, c.g1, c.n2, c.k2, c.g2, c.n3, c.k3, c.g3, c.n4, c.k4, c.g4, c.n5, c.k5, c.g5, c.n6, c.k6, c.g6, c.n7, c.k7, c.g7, c.n8, c.k8, c.g8, c.n9, c.k9, c.g9, c.n10, c.k10, c.g10, c.n11, c.k11, c.g11, c.n12, c.k12, c.g12
          FROM progress_counts c
         WHERE NOT from_rows AND c.trust_id = t AND c.year = y AND c.term = tm
           AND (only_urns IS NULL OR c.urn = ANY (only_urns))
        UNION ALL
        SELECT r.* FROM progress_base_from_rows(t, y, tm, only_urns) r WHERE from_rows
    )
    SELECT a.urn, a.subject, a.year_group, g.grp, g.n, g.k, g.gd
    FROM (
        SELECT b.urn, b.subject, b.year_group,
            sum(b.n0)::bigint AS n0,
            sum(b.k0)::bigint AS k0,
            sum(b.g0)::bigint AS g0,
            sum(b.n1)::bigint AS n1,
            sum(b.k1)::bigint AS k1,
            sum(b.g1)::bigint AS g1,
            sum(b.n2)::bigint AS n2,
            sum(b.k2)::bigint AS k2,
            sum(b.g2)::bigint AS g2,
            sum(b.n3)::bigint AS n3,
            sum(b.k3)::bigint AS k3,
            sum(b.g3)::bigint AS g3,
            sum(b.n4)::bigint AS n4,
            sum(b.k4)::bigint AS k4,
            sum(b.g4)::bigint AS g4,
            sum(b.n5)::bigint AS n5,
            sum(b.k5)::bigint AS k5,
            sum(b.g5)::bigint AS g5,
            sum(b.n6)::bigint AS n6,
            sum(b.k6)::bigint AS k6,
            sum(b.g6)::bigint AS g6,
            sum(b.n7)::bigint AS n7,
            sum(b.k7)::bigint AS k7,
            sum(b.g7)::bigint AS g7,
            sum(b.n8)::bigint AS n8,
            sum(b.k8)::bigint AS k8,
            sum(b.g8)::bigint AS g8,
            sum(b.n9)::bigint AS n9,
            sum(b.k9)::bigint AS k9,
            sum(b.g9)::bigint AS g9,
            sum(b.n10)::bigint AS n10,
            sum(b.k10)::bigint AS k10,
            sum(b.g10)::bigint AS g10,
            sum(b.n11)::bigint AS n11,
            sum(b.k11)::bigint AS k11,
            sum(b.g11)::bigint AS g11,
            sum(b.n12)::bigint AS n12,
            sum(b.k12)::bigint AS k12,
            sum(b.g12)::bigint AS g12
        FROM base b
        GROUP BY GROUPING SETS ((b.urn, b.subject, b.year_group), (b.urn, b.subject),
                                (b.subject, b.year_group), (b.subject))
    ) a
    CROSS JOIN LATERAL (VALUES
        ('all', a.n0, a.k0, a.g0), ('disadvantaged', a.n1, a.k1, a.g1),
        ('not_disadvantaged', a.n2, a.k2, a.g2), ('send', a.n3, a.k3, a.g3),
        ('send_support', a.n4, a.k4, a.g4), ('ehcp', a.n5, a.k5, a.g5),
        ('eal', a.n6, a.k6, a.g6), ('looked_after', a.n7, a.k7, a.g7),
        ('girls', a.n8, a.k8, a.g8), ('boys', a.n9, a.k9, a.g9),
        ('prior_low', a.n10, a.k10, a.g10), ('prior_middle', a.n11, a.k11, a.g11),
        ('prior_high', a.n12, a.k12, a.g12)) g(grp, n, k, gd)
    WHERE g.n > 0
$$;

CREATE OR REPLACE FUNCTION progress_cells(t bigint, y text, tm text, only_urns text[])
RETURNS TABLE (urn text, subject text, year_group text, grp text, n bigint, k bigint, gd bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM progress_cells_src(t, y, tm, only_urns, false)
$$;

CREATE FUNCTION progress_cells_from_rows(t bigint, y text, tm text, only_urns text[])
RETURNS TABLE (urn text, subject text, year_group text, grp text, n bigint, k bigint, gd bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM progress_cells_src(t, y, tm, only_urns, true)
$$;

-- The data already held.
SELECT progress_aggregates_refresh(d.trust_id, d.urn, d.year, d.term)
  FROM (SELECT DISTINCT trust_id, urn, year, term FROM progress) d;
