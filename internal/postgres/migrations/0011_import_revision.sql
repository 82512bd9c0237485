-- 0011: importing a session increases the auth revision (migration 0006),
-- at the commit of the import's own transaction, whichever process makes
-- it. Same numbering as internal/sqlite/migrations.
--
-- A Service looks a refresh token that is not ours up among the imported
-- sessions only while the store holds some (HasImportedSessions), and it
-- remembers the answer for as long as the auth revision stays the same: a
-- database that never imported anything costs no read per such token. This
-- bump is what makes every instance ask again after an import.
CREATE CONSTRAINT TRIGGER sessions_auth_revision_import
AFTER INSERT ON sessions
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (NEW.import_hash IS NOT NULL)
EXECUTE FUNCTION bump_auth_revision();
