-- 0008: what a rotation remembers of the tokens it retired recently, so
-- that each token retired within the reuse grace window is served, not only
-- the last one (three tabs: one rotates T0 to T1, another T1 to T2, and a
-- third, slow, still presents T0). Same numbering and content as
-- internal/sqlite/migrations.
--
-- Every token of a generation from grace_generation to generation - 1 was
-- retired at grace_since or later; see refreshing.Store.RotateSession for
-- how a rotation keeps them. NULL until a session's next rotation: then
-- only the last retired token is served, as before. No index holds them, so
-- a rotation that sets them can still be a HOT update. Adding a nullable
-- column without a default rewrites nothing.
ALTER TABLE sessions ADD COLUMN grace_generation bigint;
ALTER TABLE sessions ADD COLUMN grace_since timestamptz;
