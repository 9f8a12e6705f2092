-- The trust's experts (SPEC 6.7): staff who support other schools, and the published
-- deployments of them against school-level priorities. Staff names are personal data:
-- the API shows them to admin, ceo and executive heads, and to a school only for the
-- experts deployed to it.
CREATE TABLE experts (
    trust_id      bigint NOT NULL REFERENCES trusts (id),
    id            text NOT NULL CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    role          text NOT NULL CHECK (role IN ('sle', 'lle', 'nle', 'moderator', 'subject_lead',
                                                'phase_lead', 'senco')),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    home_urn      text NOT NULL,
    expertise     jsonb NOT NULL,   -- {subjects, sef_areas, phases, groups}: arrays of names
    days_per_term integer NOT NULL CHECK (days_per_term BETWEEN 0 AND 60),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, id),
    FOREIGN KEY (trust_id, home_urn) REFERENCES schools (trust_id, urn)
);

-- One row per priority served in a published deployment of a term. A re-publish replaces
-- the term's rows; an expert deleted later keeps its history here.
CREATE TABLE deployments (
    trust_id     bigint NOT NULL REFERENCES trusts (id),
    year         text NOT NULL CHECK (academic_year_valid(year)),
    term         text NOT NULL CHECK (term IN ('autumn', 'spring', 'summer')),
    priority_id  text NOT NULL,
    expert_id    text NOT NULL,
    urn          text NOT NULL,
    sentence     text NOT NULL,
    published_by bigint,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, year, term, priority_id)
);
CREATE INDEX deployments_expert ON deployments (trust_id, expert_id, urn);

CREATE FUNCTION expert_json(e experts) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id, 'role', e.role, 'name', e.name, 'home_urn', e.home_urn,
        'expertise', json_build_object(
            'subjects', coalesce(e.expertise->'subjects', '[]'),
            'sef_areas', coalesce(e.expertise->'sef_areas', '[]'),
            'phases', coalesce(e.expertise->'phases', '[]'),
            'groups', coalesce(e.expertise->'groups', '[]')),
        'days_per_term', e.days_per_term, 'updated_at', e.updated_at)
$$;
