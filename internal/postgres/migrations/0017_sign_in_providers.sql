-- 0017: sign-in providers saved at run time (the admin screen, the admin
-- API, `refreshing providers`; docs/oidc.md). One row per provider: its
-- name and its whole configuration as JSON, client secret included, as the
-- signing keys' private material is kept in signing_keys. Same numbering
-- and content as internal/sqlite/migrations.
CREATE TABLE sign_in_providers (
    name       text        PRIMARY KEY COLLATE "C",
    config     text        NOT NULL,
    updated_at timestamptz NOT NULL
);
