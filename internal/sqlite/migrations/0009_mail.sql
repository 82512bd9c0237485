-- 0009: the account life cycle's mail: the outbox and one-time codes (see
-- refreshing.MailStore). Same numbering and content as
-- internal/postgres/migrations.

-- The outbox holds what to send to whom and how sending went, never a code
-- or a message body: the sender makes the code and renders the message
-- when it sends. Times are unix microseconds from the application's clock.
-- user_id has no foreign key: a mail for a user deleted meanwhile is
-- dropped at send time, and stays listed.
CREATE TABLE mail_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    user_id      INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    lease_holder TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
) STRICT;
-- A claim walks the pending mails in due order.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt, id) WHERE state = 'pending';
-- The admin listing by state, newest first, and the counts by state.
CREATE INDEX mail_outbox_state ON mail_outbox (state, id);
-- The purge of finished mails.
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at) WHERE finished_at IS NOT NULL;

-- One-time codes: the public id and the SHA-256 of the secret part only.
CREATE TABLE account_codes (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX account_codes_user ON account_codes (user_id, purpose);
CREATE INDEX account_codes_expires ON account_codes (expires_at);
