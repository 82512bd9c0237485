-- 0008: what a rotation remembers of the tokens it retired recently, so
-- that each token retired within the reuse grace window is served, not only
-- the last one (three tabs: one rotates T0 to T1, another T1 to T2, and a
-- third, slow, still presents T0). Same numbering and content as
-- internal/postgres/migrations.
--
-- Every token of a generation from grace_generation to generation - 1 was
-- retired at grace_since (microseconds since the epoch) or later; see
-- refreshing.Store.RotateSession for how a rotation keeps them. NULL until
-- a session's next rotation: then only the last retired token is served, as
-- before. No index holds them, so a rotation moves no index entry for them.
ALTER TABLE sessions ADD COLUMN grace_generation INTEGER;
ALTER TABLE sessions ADD COLUMN grace_since INTEGER;
