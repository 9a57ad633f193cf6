-- Users, sessions and API tokens of the HTTP service (issue 6). Secrets are stored hashed only:
-- passwords with argon2id, session and API tokens (32 random bytes) with sha256.
CREATE TABLE users (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,             -- viewer | reviewer | admin
    password_hash VARCHAR NOT NULL,    -- argon2id encoded hash (salt and parameters included)
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);

CREATE TABLE sessions (
    token_hash VARCHAR PRIMARY KEY,    -- sha256 hex of the cookie value
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_by_user ON sessions (user_name);

CREATE TABLE api_tokens (
    token_id VARCHAR PRIMARY KEY,      -- 'tok-' + 8 hex characters: shown in lists, safe to log
    name VARCHAR NOT NULL,             -- the owner: reviewer identity of decisions made with it
    scopes VARCHAR NOT NULL,           -- JSON list of ingest | read | review | admin
    token_hash VARCHAR NOT NULL UNIQUE,-- sha256 hex of the token
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- Server-wide settings that must survive restarts (the CSRF secret).
CREATE TABLE server_state (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
