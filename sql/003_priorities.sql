-- Priorities: per-trust thresholds, and a data version per trust that every write to an
-- input of the calculation bumps (in the writer's transaction), so a cached result is
-- served only while its version is current: true across any number of matd instances.

CREATE TABLE priority_thresholds (
    trust_id     bigint PRIMARY KEY REFERENCES trusts (id),
    min_cohort   integer NOT NULL DEFAULT 6 CHECK (min_cohort BETWEEN 1 AND 1000),
    z_crit       double precision NOT NULL DEFAULT 1.96 CHECK (z_crit > 0 AND z_crit <= 10),
    gap_points   double precision NOT NULL DEFAULT 10 CHECK (gap_points > 0 AND gap_points <= 100),
    trend_points double precision NOT NULL DEFAULT 10 CHECK (trend_points > 0 AND trend_points <= 100),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trust_data_versions (
    trust_id bigint PRIMARY KEY REFERENCES trusts (id),
    version  bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION bump_trust_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Statement-level: one bump per statement for every trust the statement touched.
    INSERT INTO trust_data_versions AS v (trust_id, version)
    SELECT DISTINCT trust_id, 1 FROM changed
    ON CONFLICT (trust_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['progress', 'sef_versions', 'sip_versions', 'benchmarks',
                             'benchmark_years', 'schools', 'priority_thresholds'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION bump_trust_data_version()',
                       t || '_bump_ins', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION bump_trust_data_version()',
                       t || '_bump_upd', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION bump_trust_data_version()',
                       t || '_bump_del', t);
    END LOOP;
END $$;
