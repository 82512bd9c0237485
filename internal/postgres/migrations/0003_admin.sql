-- 0003: the admin screens. Same numbering and content as internal/sqlite/migrations.

-- Administrators of /admin, apart from end users.
CREATE TABLE admins (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

-- Signed-in administrators: only the SHA-256 of the cookie's token is kept.
CREATE TABLE admin_sessions (
    token_hash bytea PRIMARY KEY,
    admin_id   bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    ip         text NOT NULL,
    user_agent text NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen);

-- Roles and their allowed actions (a JSON array of action names). The
-- built-in roles are stored only once an administrator changes them.
CREATE TABLE roles (
    name        text PRIMARY KEY,
    description text NOT NULL,
    permissions text NOT NULL
);

-- The audit log. user_id is not a foreign key: events outlive their users.
CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text NOT NULL,
    actor      text NOT NULL,
    user_id    bigint NOT NULL,
    session_id text NOT NULL,
    ip         text NOT NULL,
    user_agent text NOT NULL,
    detail     text NOT NULL
);
-- The keyset order of the audit screen, and one index per filter so that a
-- filtered page reads only its own rows.
CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_type ON audit_events (type, at DESC, id DESC);
CREATE INDEX audit_events_user ON audit_events (user_id, at DESC, id DESC);
CREATE INDEX audit_events_ip ON audit_events (ip, at DESC, id DESC);

-- The sessions screen's filters, in its keyset order: by client address,
-- and revoked sessions only (a small share of all, so a partial index).
CREATE INDEX sessions_ip_activity ON sessions (ip, last_activity DESC, id DESC);
CREATE INDEX sessions_revoked_activity ON sessions (last_activity DESC, id DESC) WHERE revoked_at IS NOT NULL;
