package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// openDryRun opens the Service of a dry run (`import strapi --dry-run`),
// which writes nothing at all: the target database is opened read-only
// (sqlite.OpenReadOnly, postgres.OpenReadOnly: nothing created, nothing
// migrated) when it exists, and not at all when it does not; what the
// Service would write to start (settings, keys) stays in memory. The
// import's calls then only read (their dryRun argument). The returned
// function closes what was opened.
func openDryRun(ctx context.Context, c *config, getenv func(string) string) (*refreshing.Service, func() error, error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	seed, err := refreshing.SettingsFromEnv(getenv)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	var base refreshing.Store
	path, isSQLite := sqlitePath(c.db)
	switch {
	case isSQLite && path == "":
		return nil, nil, usagef("--db: empty SQLite path")
	case isSQLite:
		base, err = sqlite.OpenReadOnly(ctx, path)
	default:
		base, err = postgres.OpenReadOnly(ctx, c.db)
	}
	switch {
	case errors.Is(err, refreshing.ErrNotFound):
		base = nil // a new database: nothing to compare with
	case err != nil:
		return nil, nil, fmt.Errorf("open storage (read-only, for the dry run): %w", err)
	}
	st := &dryStore{Store: base, settings: seed}
	svc, err := refreshing.New(ctx, refreshing.Config{Store: st, Issuer: c.issuer, JWTSecret: []byte(c.jwtSecret), Settings: &seed})
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("start service: %w", err)
	}
	return svc, st.Close, nil
}

// dryStore is the Store of a dry run: the target opened read-only (nil when
// it does not exist yet) for what the import reads, and memory for what
// refreshing.New writes to start. Any other write reaches the read-only
// target, which refuses it.
type dryStore struct {
	refreshing.Store // nil: an empty database

	mu       sync.Mutex
	settings refreshing.Settings
	keys     []refreshing.SigningKey
}

// Close closes the target, if it was opened.
func (d *dryStore) Close() error {
	if d.Store == nil {
		return nil
	}
	return d.Store.Close()
}

// InitSettings returns the target's settings, or s for a new database,
// and saves nothing.
func (d *dryStore) InitSettings(ctx context.Context, s refreshing.Settings) (refreshing.Settings, error) {
	if d.Store != nil {
		st, err := d.Store.Settings(ctx)
		if !errors.Is(err, refreshing.ErrNotFound) {
			return st, err
		}
	}
	return s, nil
}

// Settings implements refreshing.Store.
func (d *dryStore) Settings(ctx context.Context) (refreshing.Settings, error) {
	if d.Store != nil {
		return d.Store.Settings(ctx)
	}
	return d.settings, nil
}

// Secret returns value: no token is signed or derived in a dry run.
func (d *dryStore) Secret(_ context.Context, _ string, value []byte) ([]byte, error) {
	return value, nil
}

// SigningKeys returns the keys AddSigningKey kept in memory.
func (d *dryStore) SigningKeys(context.Context) ([]refreshing.SigningKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]refreshing.SigningKey(nil), d.keys...), nil
}

// AddSigningKey keeps k in memory.
func (d *dryStore) AddSigningKey(_ context.Context, k refreshing.SigningKey, _ bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = append(d.keys, k)
	return nil
}

// UserByEmail implements refreshing.Store.
func (d *dryStore) UserByEmail(ctx context.Context, email string) (*refreshing.User, error) {
	if d.Store == nil {
		return nil, refreshing.ErrNotFound
	}
	return d.Store.UserByEmail(ctx, email)
}

// UserByUsername implements refreshing.Store.
func (d *dryStore) UserByUsername(ctx context.Context, username string) (*refreshing.User, error) {
	if d.Store == nil {
		return nil, refreshing.ErrNotFound
	}
	return d.Store.UserByUsername(ctx, username)
}

// UserByUsernameKey implements refreshing.Store.
func (d *dryStore) UserByUsernameKey(ctx context.Context, key string) (*refreshing.User, error) {
	if d.Store == nil {
		return nil, refreshing.ErrNotFound
	}
	return d.Store.UserByUsernameKey(ctx, key)
}

// UserByID implements refreshing.Store.
func (d *dryStore) UserByID(ctx context.Context, id int64) (*refreshing.User, error) {
	if d.Store == nil {
		return nil, refreshing.ErrNotFound
	}
	return d.Store.UserByID(ctx, id)
}

// SessionIDByImportHash implements refreshing.Store.
func (d *dryStore) SessionIDByImportHash(ctx context.Context, h []byte) (string, error) {
	if d.Store == nil {
		return "", refreshing.ErrNotFound
	}
	return d.Store.SessionIDByImportHash(ctx, h)
}

// ImportUser and ImportSession are never called in a dry run; they refuse.

// ImportUser implements refreshing.Store.
func (d *dryStore) ImportUser(context.Context, *refreshing.User) error {
	return errors.New("dry run: ImportUser called")
}

// ImportSession implements refreshing.Store.
func (d *dryStore) ImportSession(context.Context, *refreshing.Session, []byte) error {
	return errors.New("dry run: ImportSession called")
}
