package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
	"github.com/refreshing/refreshing"
)

// SignInProviders implements refreshing.Store.
func (s *Store) SignInProviders(ctx context.Context) ([]refreshing.SignInProvider, error) {
	var out []refreshing.SignInProvider
	err := s.run(ctx, "sign-in providers", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, `SELECT config, updated_at FROM sign_in_providers ORDER BY name`)
		var err error
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (refreshing.SignInProvider, error) {
			var p refreshing.SignInProvider
			var config string
			if err := row.Scan(&config, &p.UpdatedAt); err != nil {
				return p, err
			}
			p.UpdatedAt = p.UpdatedAt.UTC()
			return p, json.Unmarshal([]byte(config), &p.Config)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveSignInProvider implements refreshing.Store.
func (s *Store) SaveSignInProvider(ctx context.Context, p refreshing.SignInProvider) error {
	b, err := json.Marshal(p.Config)
	if err != nil {
		return err
	}
	return s.run(ctx, "save sign-in provider", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO sign_in_providers (name, config, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`,
			p.Config.Name, string(b), p.UpdatedAt)
		return err
	})
}

// DeleteSignInProvider implements refreshing.Store.
func (s *Store) DeleteSignInProvider(ctx context.Context, name string) error {
	return s.run(ctx, "delete sign-in provider", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM sign_in_providers WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			err = refreshing.ErrNotFound
		}
		return err
	})
}
