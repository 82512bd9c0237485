-- 0006: a number that every change which can end a session or change a user
-- increases, in that change's own transaction, whichever process makes it.
-- Same numbering as internal/postgres/migrations (where the same triggers
-- are written for PostgreSQL).
--
-- A Service remembers, for a short while, the sessions it found active
-- (refreshing.authCache); it reads this number a few dozen times a second,
-- and forgets everything when it changed. Triggers rather than the store's
-- code bump it, so that no path is missed: the CLI, an import, a cascade
-- from a deleted user, or an operator's own SQL.
--
-- A rotation (token_hash, generation, last_activity) and a new session
-- leave it alone: neither ends an active session.
CREATE TABLE auth_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
INSERT INTO auth_revision (id, n) VALUES (1, 0);

CREATE TRIGGER sessions_auth_revision_update
AFTER UPDATE OF revoked_at, expires_at, user_id, client_id ON sessions
WHEN OLD.revoked_at IS NOT NEW.revoked_at OR OLD.expires_at IS NOT NEW.expires_at
    OR OLD.user_id IS NOT NEW.user_id OR OLD.client_id IS NOT NEW.client_id
BEGIN
    UPDATE auth_revision SET n = n + 1 WHERE id = 1;
END;

-- Deleting a revoked session changes nothing a cache could hold.
CREATE TRIGGER sessions_auth_revision_delete
AFTER DELETE ON sessions
WHEN OLD.revoked_at IS NULL
BEGIN
    UPDATE auth_revision SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_auth_revision_update
AFTER UPDATE ON users
BEGIN
    UPDATE auth_revision SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_auth_revision_delete
AFTER DELETE ON users
BEGIN
    UPDATE auth_revision SET n = n + 1 WHERE id = 1;
END;
