package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/refreshing/refreshing"
)

// Settings implements refreshing.Store.
func (s *Store) Settings(ctx context.Context) (refreshing.Settings, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE id = 1`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return refreshing.Settings{}, fmt.Errorf("sqlite: settings: %w", refreshing.ErrNotFound)
	case err != nil:
		return refreshing.Settings{}, fmt.Errorf("sqlite: settings: %w", classify(err))
	}
	var st refreshing.Settings
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return refreshing.Settings{}, fmt.Errorf("sqlite: settings: %w", err)
	}
	return st, nil
}

// SaveSettings implements refreshing.Store.
func (s *Store) SaveSettings(ctx context.Context, st refreshing.Settings) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sqlite: save settings: %w", err)
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (id, value) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET value = excluded.value`, string(b))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: save settings: %w", err)
	}
	return nil
}

// InitSettings implements refreshing.Store.
func (s *Store) InitSettings(ctx context.Context, st refreshing.Settings) (refreshing.Settings, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return refreshing.Settings{}, fmt.Errorf("sqlite: init settings: %w", err)
	}
	var v string
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (id, value) VALUES (1, ?)
			ON CONFLICT (id) DO NOTHING`, string(b)); err != nil {
			return classify(err)
		}
		return classify(tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE id = 1`).Scan(&v))
	})
	if err != nil {
		return refreshing.Settings{}, fmt.Errorf("sqlite: init settings: %w", err)
	}
	var out refreshing.Settings
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return refreshing.Settings{}, fmt.Errorf("sqlite: init settings: %w", err)
	}
	return out, nil
}

// SigningKeys implements refreshing.Store. Keys created at the same
// microsecond come in descending id order.
func (s *Store) SigningKeys(ctx context.Context) ([]refreshing.SigningKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, algorithm, material, created_at FROM signing_keys
		ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", classify(err))
	}
	defer rows.Close()
	var keys []refreshing.SigningKey
	for rows.Next() {
		var (
			k       refreshing.SigningKey
			created int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Material, &created); err != nil {
			return nil, fmt.Errorf("sqlite: signing keys: %w", classify(err))
		}
		k.CreatedAt = fromMicros(created)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", classify(err))
	}
	return keys, nil
}

// AddSigningKey implements refreshing.Store. The check for existing keys and
// the insert are one statement in one write transaction, so of several
// processes racing with onlyIfNone exactly one stores its key.
func (s *Store) AddSigningKey(ctx context.Context, k refreshing.SigningKey, onlyIfNone bool) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, material, created_at)
			SELECT ?, ?, ?, ? WHERE NOT ? OR NOT EXISTS (SELECT 1 FROM signing_keys)`,
			k.ID, k.Algorithm, notNullBytes(k.Material), micros(k.CreatedAt), onlyIfNone)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add signing key %q: %w", k.ID, err)
	}
	return nil
}

// DeleteSigningKey implements refreshing.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete signing key %q: %w", id, err)
	}
	return nil
}

// Secret implements refreshing.Store. It refuses to create a secret from an
// empty value; an existing secret is returned whatever value says.
func (s *Store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored []byte
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&stored)
		if !errors.Is(err, sql.ErrNoRows) {
			return classify(err)
		}
		if len(value) == 0 {
			return errors.New("no value to create it with")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)`, name, value); err != nil {
			return classify(err)
		}
		stored = bytes.Clone(value)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
	}
	return stored, nil
}
