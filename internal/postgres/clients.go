package postgres

import (
	"context"
	"strings"

	"github.com/refreshing/refreshing"
)

// CreateClient inserts c. It returns ErrConflict if c.ID is taken.
func (s *Store) CreateClient(ctx context.Context, c *refreshing.Client) error {
	var secret any // NULL for a public client
	if len(c.SecretHash) > 0 {
		secret = c.SecretHash
	}
	return s.run(ctx, "create client", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO oauth_clients (id, secret_hash, grants, created_at, require_dpop)
			VALUES ($1, $2, $3, $4, $5)`, c.ID, secret, strings.Join(c.Grants, " "), c.CreatedAt, c.RequireDPoP)
		return err
	})
}

// Client returns the client with the given id, or ErrNotFound.
func (s *Store) Client(ctx context.Context, id string) (*refreshing.Client, error) {
	c := refreshing.Client{ID: id}
	var grants string
	err := s.run(ctx, "client", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT secret_hash, grants, created_at, require_dpop FROM oauth_clients WHERE id = $1`, id).
			Scan(&c.SecretHash, &grants, &c.CreatedAt, &c.RequireDPoP)
	})
	if err != nil {
		return nil, err
	}
	c.SecretHash = bytesOf(c.SecretHash)
	c.Grants = strings.Fields(grants)
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}
