-- The rota's cycle (issue 10): the planner plans a whole repeat-free cycle even when asked for
-- one term, and its output carries that cycle ("cycle": {"constraints", "terms"}). It is kept
-- with the rota it came from, and the planner input of a later draft carries it, so the
-- scheduler and POST /v1/rotas draft each next term from the same cycle (term by term = all
-- at once) and re-plan only when schools joined or left or the constraints changed.

ALTER TABLE rotas ADD COLUMN cycle jsonb GENERATED ALWAYS AS (plan->'cycle') STORED;

-- The latest kept cycle that holds a term.
CREATE FUNCTION rota_cycle_for(t bigint, y text, tm text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT r.cycle FROM rotas r
     WHERE r.trust_id = t AND r.cycle IS NOT NULL
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(r.cycle->'terms') c
                    WHERE c->>'year' = y AND c->>'term' = tm)
     ORDER BY r.id DESC LIMIT 1
$$;

-- The planner input as before (004), plus the kept cycle that holds the first term asked for.
ALTER FUNCTION rota_planner_input(bigint, jsonb, jsonb, bigint) RENAME TO rota_planner_input_base;

CREATE FUNCTION rota_planner_input(t bigint, terms jsonb, constraints jsonb, seed bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT b || coalesce(jsonb_build_object('cycle',
                   rota_cycle_for(t, terms->0->>'year', terms->0->>'term')), '{}')
      FROM rota_planner_input_base(t, terms, constraints, seed) b
$$;
