-- 0015: DPoP (RFC 9449, see docs/oauth.md). A session started with a DPoP
-- proof by a public client keeps the key's thumbprint (RFC 7638, "jkt"):
-- its refresh tokens are exchanged only with a proof of that key. '' means
-- unbound. A client may be configured to require DPoP. Same numbering and
-- content as internal/sqlite/migrations.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_clients ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
