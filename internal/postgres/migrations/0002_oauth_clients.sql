-- 0002: OAuth 2.0 clients. Same numbering as internal/sqlite/migrations.
-- Only a SHA-256 of a confidential client's secret is kept (see
-- refreshing.Client); a public client has none.

CREATE TABLE oauth_clients (
    id          text PRIMARY KEY,
    secret_hash bytea,               -- NULL: a public client
    grants      text NOT NULL,       -- grants allowed beyond refresh_token, space-separated
    created_at  timestamptz NOT NULL
);
