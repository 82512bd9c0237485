-- 0005: a rotation updates one index instead of four. Same numbering and
-- content as internal/sqlite/migrations.
--
-- Every exchange sets last_activity, and each index holding that column
-- then moves the session's entry: a delete and an insert, each a descent of
-- a B-tree that deepens with the number of sessions. Only the sessions
-- screen's keyset order (sessions_activity_id) needs it; the others now
-- index what never changes, and their users sort what they find:
--   - a user's sessions (UserSessions, the screen's user filter, the
--     per-user limit, ON DELETE CASCADE): a user has few;
--   - the screen's exact-address filter: an address shared by very many
--     sessions (a large NAT) makes that one filter slower;
--   - the live-session count reads last_activity from the table only when
--     an idle timeout is set (revoked_at, NULL in every entry, keeps the
--     index covering for SQLite's planner otherwise).
DROP INDEX sessions_user_activity;
CREATE INDEX sessions_user ON sessions (user_id);
DROP INDEX sessions_ip_activity;
CREATE INDEX sessions_ip ON sessions (ip);
DROP INDEX sessions_live;
CREATE INDEX sessions_live ON sessions (expires_at, revoked_at) WHERE revoked_at IS NULL;
