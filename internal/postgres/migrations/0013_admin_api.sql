-- 0013: the admin API and the admin screens at scale (issue 19). Same
-- numbering and content as internal/sqlite/migrations.
--
-- The sessions screen lists sessions by sign-in time (created_at), which
-- never changes, instead of last activity, which every exchange sets: the
-- index that kept the old order was the last one a rotation had to move
-- (see 0005), a delete and an insert in a B-tree as deep as the number of
-- sessions, on the hot path, for a screen. Both listing indexes now hold
-- created_at; a rotation changes no indexed column at all (in PostgreSQL it
-- can then be a HOT update). Building the new index reads every session
-- once, under the migration's lock: seconds per million sessions.
DROP INDEX sessions_activity_id;
CREATE INDEX sessions_created_id ON sessions (created_at DESC, id DESC);
DROP INDEX sessions_revoked_activity;
CREATE INDEX sessions_revoked_created ON sessions (created_at DESC, id DESC) WHERE revoked_at IS NOT NULL;

-- Administrators' bearer tokens for the admin HTTP API (/admin/api): only
-- the SHA-256 of each is kept; deleting the row revokes the token.
CREATE TABLE admin_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id   bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    name       text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz            -- NULL: never expires
);
CREATE INDEX admin_tokens_admin ON admin_tokens (admin_id);
