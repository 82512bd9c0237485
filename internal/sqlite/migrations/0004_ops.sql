-- 0004: operations. Same numbering and content as internal/postgres/migrations.

-- The janitor deletes sessions that ended long ago, in small batches; each
-- kind of end has an index so that a batch reads only what it deletes.
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at) WHERE expires_at IS NOT NULL;
-- The active-sessions gauge counts live sessions from this index alone
-- (revoked_at, always NULL here, makes it covering for SQLite's planner).
CREATE INDEX sessions_live ON sessions (expires_at, last_activity, revoked_at) WHERE revoked_at IS NULL;

-- Sessions imported from another system (the Strapi "refreshing" plugin)
-- start from a token that is not ours: import_hash is its SHA-256, looked up
-- only for tokens that do not parse as ours. NULL for every native session.
ALTER TABLE sessions ADD COLUMN import_hash BLOB;
CREATE UNIQUE INDEX sessions_import_hash ON sessions (import_hash) WHERE import_hash IS NOT NULL;

-- Leases make background work (the janitor) run on one instance at a time:
-- a holder owns the named lease until expires_at (unix microseconds, from
-- the application's clock) unless it renews it.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
