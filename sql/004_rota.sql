-- Triad peer review: rotas (draft, then published), their triads per term, and the
-- review reports the other members write on the focus (host) school.

CREATE TABLE rotas (
    trust_id     bigint NOT NULL REFERENCES trusts (id),
    id           bigserial,
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    source       text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'scheduler', 'replan')),
    request      jsonb NOT NULL,      -- the planner input as given (terms, constraints, seed)
    plan         jsonb NOT NULL,      -- the planner output (terms, groups, metrics)
    replaces     bigint,              -- a re-plan: the rota it re-plans
    changes      jsonb,               -- a re-plan: what moved
    created_by   bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (trust_id, id)
);

CREATE TABLE rota_terms (
    trust_id  bigint NOT NULL,
    rota_id   bigint NOT NULL,
    year      text NOT NULL,
    term      text NOT NULL CHECK (term IN ('autumn', 'spring', 'summer')),
    published boolean NOT NULL DEFAULT false,
    PRIMARY KEY (trust_id, rota_id, year, term),
    FOREIGN KEY (trust_id, rota_id) REFERENCES rotas (trust_id, id) ON DELETE CASCADE
);
-- At most one published rota covers a term.
CREATE UNIQUE INDEX rota_terms_one_published ON rota_terms (trust_id, year, term) WHERE published;

CREATE TABLE triads (
    trust_id bigint NOT NULL,
    rota_id  bigint NOT NULL,
    triad    integer NOT NULL,     -- 1.. within the rota, across its terms
    year     text NOT NULL,
    term     text NOT NULL,
    host     text NOT NULL,
    members  text[] NOT NULL CHECK (cardinality(members) BETWEEN 3 AND 5),
    PRIMARY KEY (trust_id, rota_id, triad),
    FOREIGN KEY (trust_id, rota_id) REFERENCES rotas (trust_id, id) ON DELETE CASCADE
);
CREATE INDEX triads_members ON triads USING gin (members);

CREATE TABLE triad_reviews (
    trust_id     bigint NOT NULL,
    rota_id      bigint NOT NULL,
    triad        integer NOT NULL,
    urn          text NOT NULL,       -- the focus school
    version      integer NOT NULL,
    body         jsonb NOT NULL,
    principal_id bigint,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, rota_id, triad, urn, version),
    FOREIGN KEY (trust_id, rota_id, triad) REFERENCES triads (trust_id, rota_id, triad)
);

CREATE TABLE scheduler_runs (
    trust_id bigint NOT NULL,
    year     text NOT NULL,
    term     text NOT NULL,
    rota_id  bigint,
    ran_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, year, term)
);

-- Review actions join the monitoring schedule beside SIP milestones.
CREATE FUNCTION review_refresh_monitoring(t bigint, r bigint, tr integer, u text)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM monitoring_items WHERE trust_id = t AND urn = u AND source = 'review_action'
        AND ref LIKE 'R' || r || '/T' || tr || '/%';
    INSERT INTO monitoring_items (trust_id, urn, year, source, ref, priority_ref, description,
                                  due, owner, status, evidence, done)
    SELECT t, u, x.year, 'review_action', 'R' || r || '/T' || tr || '/' || (a->>'ref'),
           NULL, a->>'action', (a->>'due')::date, a->>'owner', a->>'status', NULL,
           a->>'status' IN ('complete', 'done', 'met')
      FROM triads x,
           (SELECT body FROM triad_reviews WHERE trust_id = t AND rota_id = r AND triad = tr
              AND urn = u ORDER BY version DESC LIMIT 1) v,
           jsonb_array_elements(coalesce(v.body->'actions', '[]')) a
     WHERE x.trust_id = t AND x.rota_id = r AND x.triad = tr;
$$;

-- The planner input of SPEC §11 for a trust, from the database: the active schools with
-- phase, location, strength (leadership ordinal of the latest SEF) and category, and the
-- full history of published triads, oldest first.
CREATE FUNCTION rota_planner_input(t bigint, terms jsonb, constraints jsonb, seed bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'schools', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                'urn', s.urn, 'phase', s.phase, 'lat', s.lat, 'lon', s.lon,
                'strength', st.ordinal, 'category', s.category)) ORDER BY s.urn), '[]')
            FROM schools s
            LEFT JOIN LATERAL (
                SELECT sef_ordinal(v.body->'areas'->a->>'grade') AS ordinal
                  FROM sef_versions v,
                       unnest(ARRAY['leadership_and_governance', 'leadership_and_management']) a
                 WHERE v.trust_id = s.trust_id AND v.urn = s.urn AND v.body->'areas' ? a
                 ORDER BY v.year DESC, v.version DESC LIMIT 1) st ON true
            WHERE s.trust_id = t AND (s.left_on IS NULL OR s.left_on > current_date)),
        'history', (SELECT coalesce(jsonb_agg(jsonb_build_object('year', h.year, 'term', h.term,
                'groups', h.groups) ORDER BY h.year, h.ti), '[]')
            FROM (SELECT x.year, x.term, array_position(ARRAY['autumn', 'spring', 'summer'], x.term) ti,
                         jsonb_agg(jsonb_build_object('members', to_jsonb(x.members), 'host', x.host)
                                   ORDER BY x.triad) groups
                    FROM triads x JOIN rota_terms rt ON rt.trust_id = x.trust_id
                     AND rt.rota_id = x.rota_id AND rt.year = x.year AND rt.term = x.term
                   WHERE x.trust_id = t AND rt.published
                   GROUP BY x.year, x.term) h),
        'terms', terms,
        'constraints', coalesce(constraints, '{}'),
        'seed', seed)
$$;

-- Stores a plan (the planner's output JSON) as a draft rota with its triads; returns its id.
CREATE FUNCTION rota_store(t bigint, src text, request jsonb, plan jsonb, principal bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE rid bigint;
BEGIN
    INSERT INTO rotas (trust_id, source, request, plan, created_by)
    VALUES (t, src, request, plan, principal) RETURNING id INTO rid;
    INSERT INTO rota_terms (trust_id, rota_id, year, term)
    SELECT t, rid, x->>'year', x->>'term' FROM jsonb_array_elements(plan->'terms') x;
    INSERT INTO triads (trust_id, rota_id, triad, year, term, host, members)
    SELECT t, rid, row_number() OVER (ORDER BY tt.ti, gg.gi), tt.x->>'year', tt.x->>'term',
           gg.g->>'host', ARRAY(SELECT jsonb_array_elements_text(gg.g->'members'))
      FROM jsonb_array_elements(plan->'terms') WITH ORDINALITY tt(x, ti),
           jsonb_array_elements(tt.x->'groups') WITH ORDINALITY gg(g, gi);
    RETURN rid;
END $$;

-- The API's representation of a rota: its terms with numbered triads (the ids the review
-- routes use) and the planner's metrics.
CREATE FUNCTION rota_json(t bigint, rid bigint) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', r.id, 'status', r.status, 'source', r.source,
        'created_at', r.created_at, 'published_at', r.published_at,
        'terms', (SELECT coalesce(json_agg(json_build_object('year', rt.year, 'term', rt.term,
                'triads', (SELECT json_agg(json_build_object('triad', x.triad, 'host', x.host,
                                  'members', x.members) ORDER BY x.triad)
                             FROM triads x WHERE x.trust_id = t AND x.rota_id = r.id
                              AND x.year = rt.year AND x.term = rt.term))
                ORDER BY rt.year, array_position(ARRAY['autumn', 'spring', 'summer'], rt.term)), '[]')
            FROM rota_terms rt WHERE rt.trust_id = t AND rt.rota_id = r.id),
        'metrics', r.plan->'metrics')
      FROM rotas r WHERE r.trust_id = t AND r.id = rid
$$;

-- rota_store, answering the stored rota as the API shows it. (A plpgsql statement sees the
-- rows its function inserted; a single SQL statement would not.)
CREATE FUNCTION rota_store_json(t bigint, src text, request jsonb, plan jsonb, principal bigint)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE rid bigint;
BEGIN
    rid := rota_store(t, src, request, plan, principal);
    RETURN rota_json(t, rid);
END $$;

-- The first day of a term: the configured date, else the SPEC defaults.
CREATE FUNCTION term_start(t bigint, y text, tm text) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT CASE tm
        WHEN 'autumn' THEN coalesce(x.autumn, make_date(substr(y, 1, 4)::int, 9, 1))
        WHEN 'spring' THEN coalesce(x.spring, make_date(substr(y, 1, 4)::int + 1, 1, 1))
        ELSE coalesce(x.summer, make_date(substr(y, 1, 4)::int + 1, 4, 15)) END
      FROM (SELECT 1) one LEFT JOIN terms x ON x.trust_id = t AND x.year = y
$$;

-- Re-planning a rota after schools joined or left: its terms not yet started, their current
-- groups as "previous", and the planner input without the rota's own triads in the history.
CREATE FUNCTION rota_replan_input(t bigint, rid bigint, seed bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH remaining AS (
        SELECT rt.year, rt.term FROM rota_terms rt
         WHERE rt.trust_id = t AND rt.rota_id = rid AND term_start(t, rt.year, rt.term) > current_date),
    previous AS (
        SELECT jsonb_agg(jsonb_build_object('year', r.year, 'term', r.term, 'groups',
                   (SELECT jsonb_agg(jsonb_build_object('members', to_jsonb(x.members), 'host', x.host)
                                     ORDER BY x.triad)
                      FROM triads x WHERE x.trust_id = t AND x.rota_id = rid
                       AND x.year = r.year AND x.term = r.term))
                 ORDER BY r.year, array_position(ARRAY['autumn', 'spring', 'summer'], r.term)) AS terms
          FROM remaining r)
    SELECT CASE WHEN (SELECT count(*) FROM remaining) = 0 THEN NULL ELSE
        jsonb_set(jsonb_set(base, '{history}', coalesce((
            SELECT jsonb_agg(h) FROM jsonb_array_elements(base->'history') h
             WHERE NOT EXISTS (SELECT 1 FROM remaining r WHERE r.year = h->>'year' AND r.term = h->>'term'
                               AND EXISTS (SELECT 1 FROM rota_terms rt WHERE rt.trust_id = t
                                            AND rt.rota_id = rid AND rt.published)
                               AND NOT EXISTS (SELECT 1 FROM rota_terms o WHERE o.trust_id = t
                                                AND o.rota_id <> rid AND o.published
                                                AND o.year = r.year AND o.term = r.term))), '[]')),
                  '{previous}', jsonb_build_object('terms', (SELECT terms FROM previous)))
      END
      FROM (SELECT rota_planner_input(t,
                (SELECT jsonb_agg(jsonb_build_object('year', year, 'term', term)
                                  ORDER BY year, array_position(ARRAY['autumn', 'spring', 'summer'], term))
                   FROM remaining),
                (SELECT request->'constraints' FROM rotas WHERE trust_id = t AND id = rid), seed) AS base) b
$$;

-- Stores a re-plan as a new draft that names the rota it replaces and what moved.
CREATE FUNCTION rota_store_replan(t bigint, rid bigint, request jsonb, plan jsonb, principal bigint)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE nid bigint;
BEGIN
    nid := rota_store(t, 'replan', request, plan, principal);
    UPDATE rotas SET replaces = rid, changes = rota_store_replan.plan->'changes'
     WHERE trust_id = t AND id = nid;
    RETURN (SELECT rota_json(t, nid)::jsonb || jsonb_build_object('replaces', rid,
                'changes', rota_store_replan.plan->'changes'));
END $$;
