-- 0012: look-alike usernames (refreshing/username.go). username_key is the
-- username's UsernameKey (NFKC, case-folded), computed by the service: a
-- new user gets it on insert, and users created before this migration get
-- it when the service starts (Service.BackfillUsernameKeys), since neither
-- database computes NFKC case folding as Go does. It stays NULL for a user
-- whose key an earlier user already holds (two old accounts that read
-- alike): both keep working, the service reports them, and NULLs do not
-- collide in a unique index. Same numbering and content as the other
-- store's migrations. (The index is not named users_username_key: PostgreSQL
-- gave that name to the UNIQUE constraint on username in 0001.)
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_by_username_key ON users (username_key);
