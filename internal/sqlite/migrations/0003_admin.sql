-- 0003: the admin screens. Same numbering and content as internal/postgres/migrations.

-- Administrators of /admin, apart from end users.
CREATE TABLE admins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- Signed-in administrators: only the SHA-256 of the cookie's token is kept.
CREATE TABLE admin_sessions (
    token_hash BLOB PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL
) STRICT;
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen);

-- Roles and their allowed actions (a JSON array of action names). The
-- built-in roles are stored only once an administrator changes them.
CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    permissions TEXT NOT NULL
) STRICT;

-- The audit log. user_id is not a foreign key: events outlive their users.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail     TEXT NOT NULL
) STRICT;
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
