-- Termly data: term dates, national benchmarks, submissions, SEF and SIP versions, the
-- derived monitoring items, and pupil progress (pseudonymous keys only).

CREATE FUNCTION academic_year_valid(y text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT y ~ '^[0-9]{4}-[0-9]{2}$'
       AND (substr(y, 1, 4)::int + 1) % 100 = substr(y, 6, 2)::int
$$;

CREATE TABLE terms (
    trust_id   bigint NOT NULL REFERENCES trusts (id),
    year       text NOT NULL CHECK (academic_year_valid(year)),
    autumn     date NOT NULL,
    spring     date NOT NULL,
    summer     date NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, year),
    CHECK (autumn < spring AND spring < summer)
);

-- Published national figures: reference data shared by every trust (a replicated table
-- under Citus). A trust's own PUT /v1/benchmarks/{year} replaces them for that trust.
CREATE TABLE national_benchmarks (
    year          text NOT NULL CHECK (academic_year_valid(year)),
    subject       text NOT NULL,
    grp           text NOT NULL,
    expected      numeric(6, 4) NOT NULL CHECK (expected BETWEEN 0 AND 1),
    greater_depth numeric(6, 4) CHECK (greater_depth BETWEEN 0 AND 1),
    source        text NOT NULL,
    PRIMARY KEY (year, subject, grp)
);

CREATE TABLE benchmarks (
    trust_id      bigint NOT NULL REFERENCES trusts (id),
    year          text NOT NULL CHECK (academic_year_valid(year)),
    subject       text NOT NULL,
    grp           text NOT NULL,
    expected      numeric(6, 4) NOT NULL CHECK (expected BETWEEN 0 AND 1),
    greater_depth numeric(6, 4) CHECK (greater_depth BETWEEN 0 AND 1),
    PRIMARY KEY (trust_id, year, subject, grp)
);
-- Which years a trust has set itself (an empty PUT still overrides the national table).
CREATE TABLE benchmark_years (
    trust_id   bigint NOT NULL REFERENCES trusts (id),
    year       text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, year)
);

-- KS2 national headline figures (DfE "Key stage 2 attainment", 2023-24 and 2024-25
-- releases): % of pupils meeting the expected standard. Per-group figures we could not
-- source are deliberately absent; priorities fall back as SPEC §6.1 says.
INSERT INTO national_benchmarks (year, subject, grp, expected, source) VALUES
    ('2023-24', 'reading', 'all', 0.74, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'writing', 'all', 0.72, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'maths',   'all', 0.73, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'gps',     'all', 0.72, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'science', 'all', 0.81, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'rwm',     'all', 0.61, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'rwm',     'disadvantaged', 0.45, 'DfE KS2 attainment 2023-24'),
    ('2023-24', 'rwm',     'not_disadvantaged', 0.67, 'DfE KS2 attainment 2023-24 (other pupils)'),
    ('2024-25', 'reading', 'all', 0.75, 'DfE KS2 attainment 2024-25'),
    ('2024-25', 'writing', 'all', 0.72, 'DfE KS2 attainment 2024-25'),
    ('2024-25', 'maths',   'all', 0.74, 'DfE KS2 attainment 2024-25'),
    ('2024-25', 'gps',     'all', 0.73, 'DfE KS2 attainment 2024-25'),
    ('2024-25', 'science', 'all', 0.82, 'DfE KS2 attainment 2024-25'),
    ('2024-25', 'rwm',     'all', 0.62, 'DfE KS2 attainment 2024-25');

-- The benchmark table in force for a trust and year.
CREATE FUNCTION benchmarks_for(t bigint, y text)
RETURNS TABLE (subject text, grp text, expected numeric, greater_depth numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.subject, b.grp, b.expected, b.greater_depth FROM benchmarks b
     WHERE b.trust_id = t AND b.year = y
    UNION ALL
    SELECT n.subject, n.grp, n.expected, n.greater_depth FROM national_benchmarks n
     WHERE n.year = y AND NOT EXISTS (SELECT 1 FROM benchmark_years k
                                       WHERE k.trust_id = t AND k.year = y)
$$;

CREATE TABLE submissions (
    trust_id     bigint NOT NULL REFERENCES trusts (id),
    id           bigserial,
    urn          text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('progress', 'sef', 'sip')),
    year         text NOT NULL,
    term         text CHECK (term IN ('autumn', 'spring', 'summer')),
    principal_id bigint,
    received_at  timestamptz NOT NULL DEFAULT now(),
    body_sha256  text NOT NULL,
    row_count    integer NOT NULL DEFAULT 0,
    outcome      text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'unchanged')),
    content_type text,
    PRIMARY KEY (trust_id, id),
    FOREIGN KEY (trust_id, urn) REFERENCES schools (trust_id, urn)
);
CREATE INDEX submissions_latest ON submissions (trust_id, urn, kind, year, term, id DESC);

CREATE TABLE sef_versions (
    trust_id      bigint NOT NULL,
    urn           text NOT NULL,
    year          text NOT NULL CHECK (academic_year_valid(year)),
    version       integer NOT NULL,
    framework     text NOT NULL CHECK (framework IN ('ofsted_2025', 'ofsted_2019')),
    body          jsonb NOT NULL,
    submission_id bigint,
    principal_id  bigint,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, urn, year, version),
    FOREIGN KEY (trust_id, urn) REFERENCES schools (trust_id, urn)
);

-- Both frameworks on one 1..5 ordinal (SPEC §4.1).
CREATE FUNCTION sef_ordinal(grade text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE grade
        WHEN 'urgent_improvement' THEN 1 WHEN 'needs_attention' THEN 2
        WHEN 'expected_standard' THEN 3 WHEN 'strong_standard' THEN 4 WHEN 'exceptional' THEN 5
        WHEN 'inadequate' THEN 1 WHEN 'requires_improvement' THEN 2
        WHEN 'good' THEN 4 WHEN 'outstanding' THEN 5 END
$$;

CREATE TABLE sip_versions (
    trust_id      bigint NOT NULL,
    urn           text NOT NULL,
    year          text NOT NULL CHECK (academic_year_valid(year)),
    version       integer NOT NULL,
    body          jsonb NOT NULL,
    submission_id bigint,
    principal_id  bigint,
    change        text NOT NULL DEFAULT 'put',
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, urn, year, version),
    FOREIGN KEY (trust_id, urn) REFERENCES schools (trust_id, urn)
);

-- The monitoring schedule: milestones and success criteria of each school's latest SIP
-- (and, later, triad review actions), rebuilt from the body on every change.
CREATE TABLE monitoring_items (
    trust_id     bigint NOT NULL,
    urn          text NOT NULL,
    year         text NOT NULL,
    source       text NOT NULL CHECK (source IN ('milestone', 'success_criterion', 'review_action')),
    ref          text NOT NULL,
    priority_ref text,
    description  text NOT NULL,
    due          date,
    owner        text,
    status       text NOT NULL,
    evidence     text,
    done         boolean NOT NULL,
    PRIMARY KEY (trust_id, urn, year, source, ref)
);
CREATE INDEX monitoring_due ON monitoring_items (trust_id, done, due);

CREATE FUNCTION sip_refresh_monitoring(t bigint, u text, y text) RETURNS void LANGUAGE sql AS $$
    DELETE FROM monitoring_items WHERE trust_id = t AND urn = u AND year = y
        AND source IN ('milestone', 'success_criterion');
    INSERT INTO monitoring_items (trust_id, urn, year, source, ref, priority_ref, description,
                                  due, owner, status, evidence, done)
    SELECT t, u, y, 'milestone', m->>'ref', p->>'ref', m->>'description', (m->>'due')::date,
           m->>'owner', m->>'status', m->>'evidence', m->>'status' = 'complete'
      FROM (SELECT body FROM sip_versions WHERE trust_id = t AND urn = u AND year = y
             ORDER BY version DESC LIMIT 1) s,
           jsonb_array_elements(s.body->'priorities') p,
           jsonb_array_elements(coalesce(p->'milestones', '[]')) m
    UNION ALL
    SELECT t, u, y, 'success_criterion', c->>'ref', p->>'ref', c->>'description',
           (c->>'due')::date, p->'lead'->>'name', c->>'status', c->>'evidence',
           c->>'status' = 'met'
      FROM (SELECT body FROM sip_versions WHERE trust_id = t AND urn = u AND year = y
             ORDER BY version DESC LIMIT 1) s,
           jsonb_array_elements(s.body->'priorities') p,
           jsonb_array_elements(coalesce(p->'success_criteria', '[]')) c;
$$;

CREATE TABLE progress (
    trust_id         bigint NOT NULL,
    urn              text NOT NULL,
    year             text NOT NULL,
    term             text NOT NULL CHECK (term IN ('autumn', 'spring', 'summer')),
    pupil_key        bytea NOT NULL CHECK (length(pupil_key) = 16),
    year_group       text NOT NULL,
    subject          text NOT NULL,
    band             text NOT NULL CHECK (band IN ('below', 'towards', 'expected', 'greater_depth')),
    score            numeric(6, 2),
    attendance_pct   numeric(5, 2) CHECK (attendance_pct BETWEEN 0 AND 100),
    disadvantaged    boolean NOT NULL DEFAULT false,
    send             text NOT NULL DEFAULT 'none' CHECK (send IN ('none', 'support', 'ehcp')),
    eal              boolean NOT NULL DEFAULT false,
    looked_after     boolean NOT NULL DEFAULT false,
    sex              text CHECK (sex IN ('f', 'm', 'x')),
    prior_attainment text CHECK (prior_attainment IN ('low', 'middle', 'high')),
    PRIMARY KEY (trust_id, year, term, urn, subject, pupil_key)
);

CREATE FUNCTION submission_json(s submissions) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', s.id, 'school', s.urn, 'kind', s.kind, 'year', s.year,
        'term', s.term, 'principal_id', s.principal_id, 'received_at', s.received_at,
        'sha256', s.body_sha256, 'row_count', s.row_count, 'outcome', s.outcome)
$$;

-- Cells (SPEC §6.1) for one term: counts per group as FILTER aggregates in one hash
-- aggregate over the term's rows at the finest grain (school x subject x year group), then
-- the grouping sets school x subject x year group, school x subject, trust x subject x
-- year group and trust x subject summed over that small result, and unpivoted. urn NULL =
-- the trust pooled pupil by pupil; year_group NULL = all year groups. only_urns NULL = all
-- schools.
CREATE FUNCTION progress_cells(t bigint, y text, tm text, only_urns text[])
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
        FROM (SELECT q.urn, q.subject, q.year_group, q.band IN ('expected', 'greater_depth') AS x,
                     q.band = 'greater_depth' AS gdx, q.disadvantaged AS d, q.send AS s,
                     q.eal AS e, q.looked_after AS l, q.sex AS sx, q.prior_attainment AS pa
                FROM progress q
               WHERE q.trust_id = t AND q.year = y AND q.term = tm
                 AND (only_urns IS NULL OR q.urn = ANY (only_urns))) p
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

-- Where a group's pupils were counted in the school cells, trust cells are the same
-- pupils pooled: sum over schools of n equals the trust n (a property the tests check).
