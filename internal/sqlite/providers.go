package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/refreshing/refreshing"
)

// SignInProviders implements refreshing.Store.
func (s *Store) SignInProviders(ctx context.Context) ([]refreshing.SignInProvider, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT config, updated_at FROM sign_in_providers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sign-in providers: %w", classify(err))
	}
	defer rows.Close()
	var out []refreshing.SignInProvider
	for rows.Next() {
		var config string
		var updated int64
		if err := rows.Scan(&config, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: sign-in providers: %w", classify(err))
		}
		p := refreshing.SignInProvider{UpdatedAt: fromMicros(updated)}
		if err := json.Unmarshal([]byte(config), &p.Config); err != nil {
			return nil, fmt.Errorf("sqlite: sign-in providers: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: sign-in providers: %w", classify(err))
	}
	return out, nil
}

// SaveSignInProvider implements refreshing.Store.
func (s *Store) SaveSignInProvider(ctx context.Context, p refreshing.SignInProvider) error {
	b, err := json.Marshal(p.Config)
	if err != nil {
		return fmt.Errorf("sqlite: save sign-in provider: %w", err)
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sign_in_providers (name, config, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`,
			p.Config.Name, string(b), micros(p.UpdatedAt))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: save sign-in provider: %w", err)
	}
	return nil
}

// DeleteSignInProvider implements refreshing.Store.
func (s *Store) DeleteSignInProvider(ctx context.Context, name string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sign_in_providers WHERE name = ?`, name)
		if err != nil {
			return classify(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete sign-in provider: %w", err)
	}
	return nil
}
