package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// Settings returns the persisted runtime settings, or ErrNotFound if none
// were ever saved.
func (s *Store) Settings(ctx context.Context) (refreshing.Settings, error) {
	var st refreshing.Settings
	err := s.run(ctx, "settings", func(ctx context.Context) error {
		var b []byte
		if err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE id = 1`).Scan(&b); err != nil {
			return err
		}
		return decodeSettings(b, &st)
	})
	return st, err
}

// SaveSettings replaces the persisted runtime settings.
func (s *Store) SaveSettings(ctx context.Context, st refreshing.Settings) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("postgres: save settings: %w", err)
	}
	return s.run(ctx, "save settings", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO settings (id, value) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET value = excluded.value`, string(b))
		return err
	})
}

// InitSettings saves st only if no settings were ever saved, and returns the
// settings in force afterwards.
func (s *Store) InitSettings(ctx context.Context, st refreshing.Settings) (refreshing.Settings, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return refreshing.Settings{}, fmt.Errorf("postgres: init settings: %w", err)
	}
	var out refreshing.Settings
	err = s.run(ctx, "init settings", func(ctx context.Context) error {
		var stored []byte
		err := s.pool.QueryRow(ctx, `INSERT INTO settings (id, value) VALUES (1, $1)
			ON CONFLICT (id) DO NOTHING RETURNING value`, string(b)).Scan(&stored)
		if err == nil {
			out = st
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Saved before (or by a concurrent caller, whose commit the insert
		// waited for). A new statement in READ COMMITTED sees it.
		if err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE id = 1`).Scan(&stored); err != nil {
			return err
		}
		return decodeSettings(stored, &out)
	})
	return out, err
}

// decodeSettings unmarshals the stored JSON form of the settings.
func decodeSettings(b []byte, st *refreshing.Settings) error {
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("decode stored settings: %w", err)
	}
	return nil
}

// SigningKeys returns every stored signing key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]refreshing.SigningKey, error) {
	return collect(ctx, s, "signing keys", func(row pgx.CollectableRow) (refreshing.SigningKey, error) {
		var k refreshing.SigningKey
		err := row.Scan(&k.ID, &k.Algorithm, &k.Material, &k.CreatedAt)
		k.CreatedAt = k.CreatedAt.UTC()
		return k, err
	}, `SELECT id, algorithm, material, created_at
			FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

// AddSigningKey stores k. If onlyIfNone is true and any key exists it stores
// nothing and returns nil. ErrConflict if k.ID is taken.
//
// Both forms take one advisory lock for the length of their transaction, so
// that an onlyIfNone check and its insert are not interleaved with another
// instance's: of several instances generating the first key at once, exactly
// one stores it.
func (s *Store) AddSigningKey(ctx context.Context, k refreshing.SigningKey, onlyIfNone bool) error {
	return s.tx(ctx, "add signing key", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keysLock); err != nil {
			return err
		}
		if onlyIfNone {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys)`).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, algorithm, material, created_at)
			VALUES ($1, $2, $3, $4)`, k.ID, k.Algorithm, notNil(k.Material), k.CreatedAt)
		return err
	})
}

// DeleteSigningKey removes the key with the given id (ErrNotFound if absent).
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.run(ctx, "delete signing key", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}

// Secret returns the server secret with the given name, creating it with
// value if it does not exist yet. However many callers race, in however many
// processes, they all get the value that was stored first: the insert waits
// for a concurrent one to commit and then does nothing, and the following
// read sees the winner's row. Like the SQLite store, it refuses to create a
// secret from an empty value; an existing secret is returned whatever value
// says.
func (s *Store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored []byte
	err := s.run(ctx, "secret", func(ctx context.Context) error {
		if len(value) == 0 {
			err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&stored)
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoSecretValue
			}
			return err
		}
		err := s.pool.QueryRow(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING RETURNING value`, name, value).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			err = s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&stored)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// errNoSecretValue is Secret's answer to an empty value for a secret that
// does not exist.
var errNoSecretValue = errors.New("no value to create it with")
