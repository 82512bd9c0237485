package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Initialized reports whether the database (and schema, through the DSN's
// search_path) that dsn names holds Refreshing's tables, without creating
// anything: the commands other than serve and migrate use it to refuse a
// database nobody set up, rather than migrating it by surprise. It returns
// an error wrapping refreshing.ErrUnavailable if the server cannot be reached.
func Initialized(ctx context.Context, dsn string) (bool, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn.ParseConfigError masks the password in its message.
		return false, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, wrap("open", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var ok bool
	// to_regclass resolves the name through search_path, as the store does.
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&ok); err != nil {
		return false, wrap("initialized", err)
	}
	return ok, nil
}
