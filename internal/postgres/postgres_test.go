package postgres_test

import (
	"errors"
	"testing"

	"github.com/refreshing/refreshing/internal/pgtest"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/storetest"
)

// openDSN opens a store on dsn, to be closed when the test ends.
func openDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openStore returns a fresh, empty, migrated store in its own schema.
func openStore(t testing.TB) *postgres.Store {
	t.Helper()
	return openDSN(t, pgtest.Schema(t))
}

// TestStore runs the conformance suite, each subtest in a schema of its own.
func TestStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.Run(t, func(t *testing.T) refreshing.Store { return openStore(t) })
}

// TestOpenReadOnly checks what a dry run relies on: a schema without
// Refreshing's tables is ErrNotFound and stays empty, and a migrated one is
// read through transactions that cannot write.
func TestOpenReadOnly(t *testing.T) {
	dsn := pgtest.Schema(t)
	if _, err := postgres.OpenReadOnly(t.Context(), dsn); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("OpenReadOnly of an empty schema = %v, want ErrNotFound", err)
	}
	if _, err := postgres.OpenReadOnly(t.Context(), dsn); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("OpenReadOnly created something: the second call = %v, want ErrNotFound", err)
	}
	s := openDSN(t, dsn)
	u := &refreshing.User{Username: "alice", Email: "alice@example.com"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	ro, err := postgres.OpenReadOnly(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.UserByEmail(t.Context(), "alice@example.com"); err != nil {
		t.Errorf("reading through OpenReadOnly: %v", err)
	}
	if err := ro.CreateUser(t.Context(), &refreshing.User{Username: "bob", Email: "bob@example.com"}); err == nil {
		t.Error("CreateUser through OpenReadOnly succeeded")
	}
	if _, err := s.UserByEmail(t.Context(), "bob@example.com"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Errorf("bob was stored through OpenReadOnly: %v", err)
	}
}
