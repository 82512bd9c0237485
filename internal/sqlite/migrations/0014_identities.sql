-- 0014: provider identities for external sign-in (OpenID Connect; see
-- docs/oidc.md). One row links the account subject at provider to a local
-- user; a user may have several. Same numbering and content as
-- internal/postgres/migrations.
CREATE TABLE user_identities (
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
