-- Web app sessions (SPEC §8): a bearer token pasted once becomes a cookie session.
-- Only the SHA-256 of the session id is stored; the session lives no longer than its
-- token, and a revoked or expired token ends it at once (the lookup joins the token).

CREATE TABLE sessions (
    trust_id     bigint NOT NULL REFERENCES trusts (id),
    id           bigserial,
    session_hash bytea NOT NULL UNIQUE CHECK (length(session_hash) = 32),
    token_id     bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (trust_id, id),
    FOREIGN KEY (trust_id, token_id) REFERENCES tokens (trust_id, id)
);

CREATE INDEX sessions_token ON sessions (trust_id, token_id);
