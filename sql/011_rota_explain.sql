-- Why a rota is as it is (issue 10, GET /v1/rotas/{id}/explain): per term the planner's
-- metrics (SPEC §7 output) and which term of the kept cycle it is (the cycle kept with a plan
-- past the repeat-free run holds its windows one after another: window 2 term 1 is the term
-- after the run), the planner's mode, and for
-- each school of each term its partners' last meeting and its place in the host rotation.
-- Everything is read from the stored triads on the termly timeline the planner uses (gaps
-- count): the history is every published triad of another rota before this rota's first term
-- (what the planner was given), then this rota's own terms.

-- A term's place on the termly timeline: three a year, autumn first.
CREATE FUNCTION rota_term_index(y text, tm text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(y, 1, 4)::int * 3 + array_position(ARRAY['autumn', 'spring', 'summer'], tm) - 1
$$;

CREATE FUNCTION rota_explain(t bigint, rid bigint) RETURNS json LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT * FROM rotas WHERE trust_id = t AND id = rid),
    mine AS (
        SELECT x.triad, x.year, x.term, x.host, x.members, rota_term_index(x.year, x.term) ti
          FROM triads x WHERE x.trust_id = t AND x.rota_id = rid),
    span AS (SELECT min(ti) AS first, max(ti) AS last FROM mine),
    -- every meeting before or in this rota's terms, with its host
    met AS (
        SELECT x.members, x.host, rota_term_index(x.year, x.term) ti
          FROM triads x JOIN rota_terms rt ON rt.trust_id = x.trust_id AND rt.rota_id = x.rota_id
           AND rt.year = x.year AND rt.term = x.term AND rt.published
         WHERE x.trust_id = t AND x.rota_id <> rid
           AND rota_term_index(x.year, x.term) < (SELECT first FROM span)
        UNION ALL SELECT members, host, ti FROM mine),
    -- hosts: the meetings, then the kept cycle's terms after this rota's last
    hosting AS (
        SELECT host AS urn, ti FROM met
        UNION ALL
        SELECT g->>'host', rota_term_index(c->>'year', c->>'term')
          FROM r, jsonb_array_elements(coalesce(r.plan->'cycle'->'terms', '[]')) c,
               jsonb_array_elements(c->'groups') g
         WHERE rota_term_index(c->>'year', c->>'term') > (SELECT last FROM span)),
    cyc AS (
        SELECT c->>'year' AS year, c->>'term' AS term, n::int AS n
          FROM r, jsonb_array_elements(coalesce(r.plan->'cycle'->'terms', '[]')) WITH ORDINALITY ct(c, n)),
    schools AS (
        SELECT m.year, m.term, m.ti, m.triad, u AS urn,
               json_build_object('urn', u, 'triad', m.triad,
                   'role', CASE WHEN m.host = u THEN 'host' ELSE 'reviewer' END,
                   'partners', (SELECT json_agg(json_build_object('urn', p,
                           'last_met_terms_ago', (SELECT m.ti - max(e.ti) FROM met e
                                                   WHERE e.ti < m.ti AND u = ANY (e.members)
                                                     AND p = ANY (e.members))) ORDER BY p)
                       FROM unnest(m.members) p WHERE p <> u),
                   'last_hosted_terms_ago', (SELECT m.ti - max(h.ti) FROM hosting h
                                              WHERE h.urn = u AND h.ti < m.ti),
                   'hosts_next_terms_ahead', (SELECT min(h.ti) - m.ti FROM hosting h
                                               WHERE h.urn = u AND h.ti > m.ti)) AS doc
          FROM mine m, unnest(m.members) u)
    SELECT json_build_object('id', r.id, 'status', r.status,
        'planner', json_build_object('mode', r.plan->'planner'->'mode',
            'cycle_terms', r.plan->'planner'->'cycle_terms',
            'cycle', (SELECT coalesce(json_agg(json_build_object('year', year, 'term', term)
                                               ORDER BY n), '[]') FROM cyc)),
        'terms', (SELECT coalesce(json_agg(json_build_object('year', rt.year, 'term', rt.term,
                'cycle_term', (SELECT (n - 1) % nullif((r.plan->'planner'->>'cycle_terms')::int, 0) + 1
                                 FROM cyc WHERE cyc.year = rt.year AND cyc.term = rt.term),
                'cycle_window', (SELECT (n - 1) / nullif((r.plan->'planner'->>'cycle_terms')::int, 0) + 1
                                   FROM cyc WHERE cyc.year = rt.year AND cyc.term = rt.term),
                'metrics', (SELECT pt->'metrics' FROM jsonb_array_elements(r.plan->'terms') pt
                             WHERE pt->>'year' = rt.year AND pt->>'term' = rt.term),
                'schools', (SELECT json_agg(s.doc ORDER BY s.urn) FROM schools s
                             WHERE s.year = rt.year AND s.term = rt.term))
                ORDER BY rota_term_index(rt.year, rt.term)), '[]')
            FROM rota_terms rt WHERE rt.trust_id = t AND rt.rota_id = r.id),
        'metrics', r.plan->'metrics')
      FROM r
$$;
