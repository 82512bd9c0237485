-- 0017: sign-in providers saved at run time (the admin screen, the admin
-- API, `refreshing providers`; docs/oidc.md). One row per provider: its
-- name and its whole configuration as JSON, client secret included, as the
-- signing keys' private material is kept in signing_keys. Same numbering
-- and content as internal/postgres/migrations.
CREATE TABLE sign_in_providers (
    name       TEXT    PRIMARY KEY,
    config     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
