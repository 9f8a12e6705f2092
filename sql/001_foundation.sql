-- Foundation: trusts, the school registry, bearer tokens and the audit log.
-- Every table carries trust_id (the distribution column if the database is sharded).

CREATE TABLE trusts (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schools (
    trust_id       bigint NOT NULL REFERENCES trusts (id),
    urn            text NOT NULL CHECK (urn ~ '^[0-9]{6}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    laestab        text CHECK (laestab ~ '^[0-9]{7}$'),
    phase          text NOT NULL CHECK (phase IN ('nursery', 'primary', 'middle', 'secondary',
                                                  'all_through', 'special', 'alternative_provision')),
    postcode       text,
    lat            double precision CHECK (lat BETWEEN -90 AND 90),
    lon            double precision CHECK (lon BETWEEN -180 AND 180),
    pupils_on_roll integer CHECK (pupils_on_roll >= 0),
    joined_on      date,
    left_on        date CHECK (left_on IS NULL OR joined_on IS NULL OR left_on >= joined_on),
    category       boolean NOT NULL DEFAULT false,
    executive_head text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trust_id, urn)
);

CREATE TABLE tokens (
    trust_id     bigint NOT NULL REFERENCES trusts (id),
    id           bigserial,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role         text NOT NULL CHECK (role IN ('admin', 'ceo', 'executive_head', 'school')),
    name         text NOT NULL DEFAULT '',
    urns         text[] NOT NULL DEFAULT '{}',
    cert_subject text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   bigint,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (trust_id, id),
    CHECK (role <> 'school' OR cardinality(urns) = 1)
);
CREATE UNIQUE INDEX tokens_cert_subject ON tokens (trust_id, cert_subject) WHERE cert_subject IS NOT NULL;

CREATE TABLE audit_log (
    trust_id       bigint NOT NULL REFERENCES trusts (id),
    id             bigserial,
    at             timestamptz NOT NULL DEFAULT now(),
    principal_id   bigint,
    principal_role text,
    method         text NOT NULL,
    path           text NOT NULL,
    status         integer NOT NULL,
    client_addr    text,
    request_id     text,
    PRIMARY KEY (trust_id, id)
);

-- The API's representation of a school, in one place (json keeps key order).
CREATE FUNCTION school_json(s schools) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('urn', s.urn, 'name', s.name, 'laestab', s.laestab,
        'phase', s.phase, 'postcode', s.postcode, 'lat', s.lat, 'lon', s.lon,
        'pupils_on_roll', s.pupils_on_roll, 'joined_on', s.joined_on, 'left_on', s.left_on,
        'category', s.category, 'executive_head', s.executive_head,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
