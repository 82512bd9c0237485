-- 0014: provider identities for external sign-in (OpenID Connect; see
-- docs/oidc.md). One row links the account subject at provider to a local
-- user; a user may have several. Same numbering and content as
-- internal/sqlite/migrations.
CREATE TABLE user_identities (
    provider   text        NOT NULL COLLATE "C",
    subject    text        NOT NULL COLLATE "C",
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
