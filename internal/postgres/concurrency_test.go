package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing/internal/pgtest"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/postgres"
)

// t0 is the reference time of these tests, at microsecond precision.
var t0 = time.Date(2025, time.March, 1, 12, 30, 45, 123456000, time.UTC)

// TestOpenConcurrent starts several instances at once against one empty
// schema, as a deployment of several replicas does: every Open must succeed
// and each migration must be applied exactly once.
func TestOpenConcurrent(t *testing.T) {
	dsn := pgtest.Schema(t)
	const instances = 4
	errs := make(chan error, instances)
	var wg sync.WaitGroup
	for range instances {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}

	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, versions int
	if err := conn.QueryRow(t.Context(),
		`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || versions != len(files) {
		t.Fatalf("schema_migrations has %d rows of %d versions, want %d of each", rows, versions, len(files))
	}
}

// TestInstances runs the race-prone operations from two stores sharing one
// schema, standing for two server processes: the guarantees must hold across
// connections, not just within one pool.
func TestInstances(t *testing.T) {
	pgtest.DSN(t)
	// open returns two stores over one fresh schema.
	open := func(t *testing.T) [2]*postgres.Store {
		dsn := pgtest.Schema(t)
		return [2]*postgres.Store{openDSN(t, dsn), openDSN(t, dsn)}
	}
	// race runs f(i, store) for i in [0, n) concurrently, alternating stores.
	race := func(n int, stores [2]*postgres.Store, f func(i int, s *postgres.Store) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = f(i, stores[i%2]) })
		}
		wg.Wait()
		return errs
	}
	newUser := func(t *testing.T, s *postgres.Store) *refreshing.User {
		u := &refreshing.User{DocumentID: "u_alice", Username: "alice", Email: "alice@example.com",
			PasswordHash: "x", Provider: "local", Role: "authenticated", CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		return u
	}

	t.Run("RotateSessionOneWinner", func(t *testing.T) {
		stores := open(t)
		u := newUser(t, stores[0])
		sess := &refreshing.Session{ID: "s", UserID: u.ID, CreatedAt: t0, LastActivity: t0, TokenHash: []byte("0")}
		if err := stores[0].CreateSession(t.Context(), sess, 0); err != nil {
			t.Fatal(err)
		}
		errs := race(16, stores, func(i int, s *postgres.Store) error {
			return s.RotateSession(t.Context(), refreshing.Rotation{
				SessionID: "s", Generation: 0, NewHash: fmt.Appendf(nil, "%d", i), At: t0.Add(time.Second)})
		})
		winners := 0
		for _, err := range errs {
			switch {
			case err == nil:
				winners++
			case !errors.Is(err, refreshing.ErrStale):
				t.Errorf("RotateSession: got %v, want nil or ErrStale", err)
			}
		}
		if winners != 1 {
			t.Fatalf("%d callers won the rotation, want 1", winners)
		}
		got, err := stores[1].Session(t.Context(), "s")
		if err != nil {
			t.Fatal(err)
		}
		if got.Generation != 1 || string(got.PrevHash) != "0" {
			t.Fatalf("after the race: generation %d, prev hash %q; want 1, %q", got.Generation, got.PrevHash, "0")
		}
	})

	t.Run("CreateSessionLimitHolds", func(t *testing.T) {
		stores := open(t)
		u := newUser(t, stores[0])
		const limit = 3
		errs := race(12, stores, func(i int, s *postgres.Store) error {
			at := t0.Add(time.Duration(i) * time.Millisecond)
			return s.CreateSession(t.Context(), &refreshing.Session{ID: fmt.Sprint("s", i), UserID: u.ID,
				CreatedAt: at, LastActivity: at, TokenHash: []byte("0")}, limit)
		})
		for _, err := range errs {
			if err != nil {
				t.Errorf("CreateSession: %v", err)
			}
		}
		live, err := stores[0].UserSessions(t.Context(), u.ID, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(live); got != limit {
			t.Fatalf("%d live sessions after the race, want %d", got, limit)
		}
	})

	t.Run("SecretOneValue", func(t *testing.T) {
		stores := open(t)
		values := make([]string, 16)
		errs := race(16, stores, func(i int, s *postgres.Store) error {
			v, err := s.Secret(t.Context(), "hmac", fmt.Appendf(nil, "value %d", i))
			values[i] = string(v)
			return err
		})
		for i := range values {
			if errs[i] != nil {
				t.Fatalf("Secret: %v", errs[i])
			}
			if values[i] != values[0] {
				t.Fatalf("callers got different secrets: %q and %q", values[0], values[i])
			}
		}
	})

	t.Run("AddSigningKeyOnlyIfNoneStoresOne", func(t *testing.T) {
		stores := open(t)
		errs := race(16, stores, func(i int, s *postgres.Store) error {
			return s.AddSigningKey(t.Context(), refreshing.SigningKey{ID: fmt.Sprint("k", i), Algorithm: "EdDSA",
				Material: []byte("seed"), CreatedAt: t0}, true)
		})
		for _, err := range errs {
			if err != nil {
				t.Errorf("AddSigningKey: %v", err)
			}
		}
		keys, err := stores[0].SigningKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("%d keys stored, want 1", len(keys))
		}
	})

	t.Run("InitSettingsOneValue", func(t *testing.T) {
		stores := open(t)
		got := make([]refreshing.Settings, 16)
		errs := race(16, stores, func(i int, s *postgres.Store) error {
			st := refreshing.DefaultSettings()
			st.MaxSessions = i + 1
			var err error
			got[i], err = s.InitSettings(t.Context(), st)
			return err
		})
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("InitSettings: %v", errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("callers got different settings: %+v and %+v", got[0], got[i])
			}
		}
	})
}
