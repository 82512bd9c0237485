package main

import (
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn, want string
	}{
		// What --db and --from take: postgres URLs and SQLite paths.
		{"postgres://app:hunter2@db.internal:5432/refreshing?sslmode=require", "postgres://app:xxxxx@db.internal:5432/refreshing?sslmode=require"},
		{"postgresql://app:hunter2@db/refreshing", "postgresql://app:xxxxx@db/refreshing"},
		{"postgres://app@db/refreshing?password=hunter2", "postgres://app@db/refreshing?password=xxxxx"},
		{"postgres://db/refreshing?user=app&password=hunter2&sslmode=verify-full", "postgres://db/refreshing?user=app&password=xxxxx&sslmode=verify-full"},
		{"postgres://db/refreshing?sslpassword=hunter2&PASSWORD=hunter2", "postgres://db/refreshing?sslpassword=xxxxx&PASSWORD=xxxxx"},
		{"postgres://db/refreshing?pass%77ord=hunter2", "postgres://db/refreshing?pass%77ord=xxxxx"},
		{"postgres://app:old@db/refreshing?password=hunter2", "postgres://app:xxxxx@db/refreshing?password=xxxxx"},
		{"postgres://app:p%40ss%2Fhunter2@h1:5432,h2:5432/refreshing", "postgres://app:xxxxx@h1:5432,h2:5432/refreshing"},
		{"postgres://app@db/refreshing?sslmode=disable", "postgres://app@db/refreshing?sslmode=disable"},
		{"postgres://db/refreshing", "postgres://db/refreshing"},
		// Passwords that break the URL: not shown at all.
		{"postgres://app:hunter2%zz@db/refreshing", "postgres://(not shown)"},
		{"postgres://app:12/hunter2@db/refreshing", "postgres://(not shown)"},
		{"postgres://app:hu@nter2/x@db/refreshing", "postgres://(not shown)"},
		{"postgres://app:12?hunter2@db/refreshing", "postgres://(not shown)"},
		// SQLite paths are shown, except a keyword DSN passed by mistake.
		{"sqlite:data/refreshing.db", "sqlite:data/refreshing.db"},
		{"data/refreshing.db", "data/refreshing.db"},
		{"host=db user=app password=hunter2 dbname=refreshing", "host=db user=app password=xxxxx dbname=refreshing"},
		{"host=db password = 'hunter2 \\' x' dbname=refreshing", "host=db password = xxxxx dbname=refreshing"},
		{"host=db sslpassword=hunter2", "host=db sslpassword=xxxxx"},
	} {
		got := redactDSN(tt.dsn)
		if got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("redactDSN(%q) = %q shows the password", tt.dsn, got)
		}
	}
}
