-- The schools a rota draft plans for (issue 10): those in the trust when the first term asked
-- for starts (term_start: the trust's term dates, else 1 September, 1 January, 15 April), not
-- those in it today. A school leaving at Easter (left_on before the summer term) was still put
-- into the summer term's triads when the draft was made before Easter, and a school joining in
-- September (joined_on ahead) into the spring before; a re-plan then had to undo the draft.
-- The planner input's "schools" (004's list, with its strengths) is now this list; the base
-- input still lists today's schools first (a migration cannot change 004), a few ms at most.

CREATE FUNCTION rota_planner_schools(t bigint, on_day date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'urn', s.urn, 'phase', s.phase, 'lat', s.lat, 'lon', s.lon,
               'strength', st.ordinal, 'category', s.category)) ORDER BY s.urn), '[]')
      FROM schools s
      LEFT JOIN LATERAL (
          SELECT sef_ordinal(v.body->'areas'->a->>'grade') AS ordinal
            FROM sef_versions v,
                 unnest(ARRAY['leadership_and_governance', 'leadership_and_management']) a
           WHERE v.trust_id = s.trust_id AND v.urn = s.urn AND v.body->'areas' ? a
           ORDER BY v.year DESC, v.version DESC LIMIT 1) st ON true
     WHERE s.trust_id = t AND (s.left_on IS NULL OR s.left_on > on_day)
       AND (s.joined_on IS NULL OR s.joined_on <= on_day)
$$;

CREATE OR REPLACE FUNCTION rota_planner_input(t bigint, terms jsonb, constraints jsonb,
                                              seed bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT b || jsonb_build_object('schools', rota_planner_schools(t,
                    term_start(t, terms->0->>'year', terms->0->>'term')))
              || coalesce(jsonb_build_object('cycle',
                    rota_cycle_for(t, terms->0->>'year', terms->0->>'term')), '{}')
      FROM rota_planner_input_base(t, terms, constraints, seed) b
$$;
