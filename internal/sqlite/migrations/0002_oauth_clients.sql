-- 0002: OAuth 2.0 clients. Same numbering as internal/postgres/migrations.
-- Only a SHA-256 of a confidential client's secret is kept (see
-- refreshing.Client); a public client has none.

CREATE TABLE oauth_clients (
    id          TEXT PRIMARY KEY,
    secret_hash BLOB,             -- NULL: a public client
    grants      TEXT NOT NULL,    -- grants allowed beyond refresh_token, space-separated
    created_at  INTEGER NOT NULL  -- unix microseconds UTC
) STRICT;
