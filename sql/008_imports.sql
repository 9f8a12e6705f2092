-- Pushes as schools' systems send them (SPEC 4.3, issue 13).
--
-- 1. The "other codes" of statutory assessment are stored as such, in place of a band:
--    A (absent or no judgement), L (left), F (future key stage), P (past key stage),
--    D (disapplied). A row holds a band or a code, never both.
-- 2. Cells count them as the DfE's headline measures do (docs/validation.md has the
--    sources): A and D stay in the cohort (in n) as not meeting the expected standard;
--    L, F and P are outside this year's cohort (not in n). progress_cells() is the one
--    place cells are computed, so it is replaced here with that rule; nothing else in it
--    changes.
ALTER TABLE progress ADD COLUMN code text CHECK (code IN ('A', 'L', 'F', 'P', 'D'));
ALTER TABLE progress ALTER COLUMN band DROP NOT NULL;
ALTER TABLE progress ADD CONSTRAINT progress_band_or_code CHECK ((band IS NULL) <> (code IS NULL));

CREATE OR REPLACE FUNCTION progress_cells(t bigint, y text, tm text, only_urns text[])
RETURNS TABLE (urn text, subject text, year_group text, grp text, n bigint, k bigint, gd bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH base AS (
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
               WHERE q.trust_id = t AND q.year = y AND q.term = tm
                 AND (only_urns IS NULL OR q.urn = ANY (only_urns))
                 AND (q.code IS NULL OR q.code IN ('A', 'D'))) p
        GROUP BY p.urn, p.subject, p.year_group
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

-- 3. Import profiles: how to read a school's own export (PUT /v1/import-profiles/{name}).
--    The body is the profile as the admin sent it, already validated; pushes name it with
--    ?profile=NAME.
CREATE TABLE import_profiles (
    trust_id   bigint NOT NULL REFERENCES trusts (id),
    name       text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    body       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, name)
);
