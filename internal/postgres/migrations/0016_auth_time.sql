-- 0016: step-up (docs/security-hardening.md). A session remembers when its
-- user last proved who they are: the sign-in, or a later re-authentication
-- (POST /api/auth/reauthenticate). Access tokens carry it as auth_time,
-- through every rotation. NULL means the session's start (created_at), so
-- that existing sessions need no rewrite. Same numbering and content as
-- internal/sqlite/migrations.
ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMPTZ;
