package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
)

// execSQL runs sql on a connection of its own to the database dsn names.
func execSQL(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestSchemaChangedUnderneath changes the type of columns that the store's
// cached statements return, from another connection, as a migration applied
// by another instance does while this one runs: PostgreSQL then refuses each
// cached statement once ("cached plan must not change result type"), and the
// store must run the operation again rather than fail it.
func TestSchemaChangedUnderneath(t *testing.T) {
	dsn := pgtest.Schema(t)
	// One connection, so that the second call meets the statement the first
	// one cached.
	s := openDSN(t, pgtest.WithParam(t, dsn, "pool_max_conns", "1"))
	u := &refreshing.User{Username: "alice", Email: "alice@example.com", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	sess := &refreshing.Session{ID: "s", UserID: u.ID, CreatedAt: t0, LastActivity: t0, TokenHash: []byte("0")}
	if err := s.CreateSession(t.Context(), sess, 0); err != nil {
		t.Fatal(err)
	}
	key := refreshing.SigningKey{ID: "k", Algorithm: "EdDSA", Material: []byte("m"), CreatedAt: t0}
	if err := s.AddSigningKey(t.Context(), key, false); err != nil {
		t.Fatal(err)
	}
	// calls returns every call's error; each reads a changed column.
	calls := func() map[string]error {
		_, errList := s.ListSessions(t.Context(), refreshing.SessionFilter{})
		_, errUser := s.UserSessions(t.Context(), u.ID, t0)
		_, errSession := s.Session(t.Context(), "s")
		_, errKeys := s.SigningKeys(t.Context())
		return map[string]error{"ListSessions": errList, "UserSessions": errUser, "Session": errSession, "SigningKeys": errKeys}
	}
	for name, err := range calls() {
		if err != nil {
			t.Fatalf("%s before the change: %v", name, err)
		}
	}
	execSQL(t, dsn, `ALTER TABLE sessions ALTER COLUMN description TYPE text COLLATE "POSIX";
		ALTER TABLE signing_keys ALTER COLUMN algorithm TYPE text COLLATE "POSIX"`)
	for name, err := range calls() {
		if err != nil {
			t.Errorf("%s after the change: %v", name, err)
		}
	}
}
