package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/storetest"
)

// icuDatabase returns the DSN of a new database whose default collation is
// ICU's en-US, as hosted PostgreSQL often creates them, or skips the test if
// the server has no ICU collations.
func icuDatabase(t *testing.T) string {
	t.Helper()
	dsn := pgtest.DSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("%s is set but the server does not answer: %v", pgtest.EnvVar, err)
	}
	var version int
	var icu bool
	err = conn.QueryRow(t.Context(), `SELECT current_setting('server_version_num')::int,
		EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i')`).Scan(&version, &icu)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case version < 150000:
		t.Skipf("PostgreSQL %d cannot create a database with an ICU default collation (LOCALE_PROVIDER needs 15); skipping", version)
	case !icu:
		t.Skip("this PostgreSQL was built without ICU (pg_collation has no ICU collation); skipping")
	}
	icuDSN, err := pgtest.Database(t, `TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`)
	if err != nil {
		t.Fatalf("create a database with the ICU en-US collation: %v", err)
	}
	return icuDSN
}

// TestICUCollation runs the store on a database whose default collation is
// not byte order (ICU en-US): ties in time must still be broken by id in
// byte order, as SQLite does, in listings, the keyset cursor and the
// session limit (the conformance suite's ByteOrder checks), and a database
// migrated before 0007 must come out of it the same.
func TestICUCollation(t *testing.T) {
	dsn := icuDatabase(t)
	// The premise: this collation does not order the suite's ids by bytes.
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	var linguistic bool
	err = conn.QueryRow(t.Context(), `SELECT 'a' < 'B' AND '_x' < '0x'`).Scan(&linguistic)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !linguistic {
		t.Fatal("the database's default collation orders 'a' < 'B' and '_x' < '0x' as bytes do; the test proves nothing")
	}

	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) refreshing.Store { return openDSN(t, pgtest.SchemaIn(t, dsn)) })
	})

	t.Run("Migration", func(t *testing.T) {
		// A schema as 0006 left it (the ids in the database's collation)
		// and holding sessions; opening the store applies 0007 to them.
		schema := pgtest.SchemaIn(t, dsn)
		s := openDSN(t, schema)
		execSQL(t, schema, `ALTER TABLE sessions ALTER COLUMN id TYPE text COLLATE "default";
			ALTER TABLE signing_keys ALTER COLUMN id TYPE text COLLATE "default";
			DELETE FROM schema_migrations WHERE version = 7`)
		u := &refreshing.User{Username: "alice", Email: "alice@example.com", CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		ids := []string{"b", "B", "a", "A", "_a", "-a", "0a"}
		for _, id := range ids {
			sess := &refreshing.Session{ID: id, UserID: u.ID, CreatedAt: t0, LastActivity: t0, TokenHash: []byte(id)}
			if err := s.CreateSession(t.Context(), sess, 0); err != nil {
				t.Fatal(err)
			}
		}
		want := slices.Clone(ids)
		slices.SortFunc(want, func(a, b string) int { return strings.Compare(b, a) })
		list := func(s refreshing.Store) []string {
			t.Helper()
			got, err := s.ListSessions(t.Context(), refreshing.SessionFilter{})
			if err != nil {
				t.Fatal(err)
			}
			listed := make([]string, len(got))
			for i, sess := range got {
				listed[i] = sess.ID
			}
			return listed
		}
		if got := list(s); slices.Equal(got, want) {
			t.Fatalf("before 0007 the sessions are listed in byte order %q already; the test proves nothing", got)
		}

		s2 := openDSN(t, schema)
		if got := list(s2); !slices.Equal(got, want) {
			t.Errorf("after 0007, ListSessions = %q, want %q", got, want)
		}
		// The store opened before the migration still works (its cached
		// statements return a column whose type changed).
		if got := list(s); !slices.Equal(got, want) {
			t.Errorf("after 0007, the earlier store lists %q, want %q", got, want)
		}
		// Every index on the ids was rebuilt in byte order.
		conn, err := pgx.Connect(t.Context(), schema)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, _ := conn.Query(t.Context(), `SELECT i.indexrelid::regclass::text, c.collname
			FROM pg_index i
			CROSS JOIN LATERAL unnest(i.indkey, i.indcollation) AS k(attnum, coll)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			JOIN pg_collation c ON c.oid = k.coll
			WHERE i.indrelid IN ('sessions'::regclass, 'signing_keys'::regclass) AND a.attname = 'id'
			ORDER BY 1`)
		type indexColl struct{ Index, Collation string }
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[indexColl])
		if err != nil {
			t.Fatal(err)
		}
		wantIdx := []indexColl{{"sessions_created_id", "C"}, {"sessions_pkey", "C"},
			{"sessions_revoked_created", "C"}, {"signing_keys_pkey", "C"}}
		if !slices.Equal(got, wantIdx) {
			t.Errorf("indexes on the ids and their collations = %v, want %v", got, wantIdx)
		}
	})
}
