package postgres_test

import (
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
