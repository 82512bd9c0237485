package postgres_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/storetest"
)

// testDSN returns the DSN of the test server, from REFRESHING_TEST_POSTGRES.
// Without it the test is skipped; CI sets it, and then a server that does
// not answer fails the test (see freshSchema).
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("REFRESHING_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("REFRESHING_TEST_POSTGRES is not set; skipping the PostgreSQL tests " +
			"(set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// withParam returns dsn, in URL or keyword/value form, with the connection
// parameter key set to value.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("REFRESHING_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	// In keyword/value form a later setting overrides an earlier one.
	return dsn + " " + key + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value) + "'"
}

// freshSchema creates an empty schema on the test server and returns a DSN
// whose search_path selects it, so that tests running in parallel each have
// their own tables. The schema is dropped when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	schema := "rt_" + strings.ToLower(rand.Text())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("REFRESHING_TEST_POSTGRES is set but the server does not answer: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(t, dsn, "search_path", schema)
}

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
	return openDSN(t, freshSchema(t))
}

// TestStore runs the conformance suite, each subtest in a schema of its own.
func TestStore(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) refreshing.Store { return openStore(t) })
}
