-- 0001: the initial schema. Same numbering as internal/postgres/migrations.
-- Times are INTEGER unix microseconds UTC, always supplied by the application
-- (never the database clock); optional times are NULL when unset. Tables are
-- STRICT so that a wrongly typed value is an error, not a silent conversion.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after a delete
    -- NULL when the caller supplied no document id, so that uniqueness only
    -- applies to real ones.
    document_id   TEXT UNIQUE,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    provider      TEXT NOT NULL,
    role          TEXT NOT NULL,
    confirmed     INTEGER NOT NULL,
    blocked       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    description   TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    ip            TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_activity INTEGER NOT NULL,
    expires_at    INTEGER,              -- NULL: never expires
    revoked_at    INTEGER,              -- NULL: not revoked
    revoke_reason TEXT NOT NULL DEFAULT '',
    generation    INTEGER NOT NULL,
    token_hash    BLOB NOT NULL,        -- SHA-256 of the live refresh token
    prev_hash     BLOB,                 -- SHA-256 of the retired one; NULL before the first rotation
    rotated_at    INTEGER               -- NULL before the first rotation
) STRICT;

-- A user's sessions, most recently active first: UserSessions, CreateSession's
-- limit eviction, RevokeSessions, ListSessions filtered by user. It also
-- serves the ON DELETE CASCADE lookup by user_id.
CREATE INDEX sessions_user_activity ON sessions (user_id, last_activity DESC, id DESC);
-- The keyset order of ListSessions.
CREATE INDEX sessions_activity_id ON sessions (last_activity DESC, id DESC);
-- CreateSession's same-device replacement looks only at live sessions.
CREATE INDEX sessions_user_device ON sessions (user_id, device_id) WHERE revoked_at IS NULL;

-- The runtime settings: at most one row, JSON as refreshing.Settings marshals it.
CREATE TABLE settings (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value TEXT NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    material   BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
