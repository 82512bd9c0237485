-- 0006: a number that every change which can end a session or change a user
-- increases, in that change's own transaction, whichever process makes it.
-- Same numbering as internal/sqlite/migrations (where the same triggers are
-- written for SQLite).
--
-- Every instance remembers, for a short while, the sessions it found active
-- (refreshing.authCache); it reads this number a few dozen times a second,
-- and forgets everything when it changed. Triggers rather than the store's
-- code bump it, so that no path is missed: another instance, the CLI, an
-- import, a cascade from a deleted user, or an operator's own SQL.
--
-- A rotation (token_hash, generation, last_activity) and a new session
-- leave it alone: neither ends an active session.
CREATE TABLE auth_revision (
    id integer PRIMARY KEY CHECK (id = 1),
    n  bigint  NOT NULL
);
INSERT INTO auth_revision (id, n) VALUES (1, 0);

-- The triggers are deferred to the commit, so that the row lock on the one
-- auth_revision row is the last lock a transaction takes: two revoking
-- transactions cannot deadlock over it. The transaction-local setting makes
-- it one bump per transaction, however many rows it changed.
CREATE FUNCTION bump_auth_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('refreshing.auth_revision_bumped', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('refreshing.auth_revision_bumped', 'yes', true);
    UPDATE auth_revision SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER sessions_auth_revision_update
AFTER UPDATE OF revoked_at, expires_at, user_id, client_id ON sessions
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
    OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.client_id IS DISTINCT FROM NEW.client_id)
EXECUTE FUNCTION bump_auth_revision();

-- Deleting a revoked session changes nothing a cache could hold.
CREATE CONSTRAINT TRIGGER sessions_auth_revision_delete
AFTER DELETE ON sessions
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (OLD.revoked_at IS NULL)
EXECUTE FUNCTION bump_auth_revision();

CREATE CONSTRAINT TRIGGER users_auth_revision_change
AFTER UPDATE OR DELETE ON users
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
EXECUTE FUNCTION bump_auth_revision();
