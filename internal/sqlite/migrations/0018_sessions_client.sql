-- 0018: deleting an OAuth client revokes its sessions (Store.DeleteClient),
-- found by this index. Partial: the sessions of the /api endpoints (no
-- client) stay out of it, and a rotation never changes client_id, so the
-- exchange path does not maintain it. Same numbering and content as
-- internal/postgres/migrations.
CREATE INDEX sessions_client ON sessions (client_id) WHERE client_id <> '';
