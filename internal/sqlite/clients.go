package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/refreshing/refreshing"
)

// CreateClient implements refreshing.Store.
func (s *Store) CreateClient(ctx context.Context, c *refreshing.Client) error {
	var secret any // NULL for a public client
	if len(c.SecretHash) > 0 {
		secret = c.SecretHash
	}
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients (id, secret_hash, grants, created_at, require_dpop)
			VALUES (?, ?, ?, ?, ?)`, c.ID, secret, strings.Join(c.Grants, " "), micros(c.CreatedAt), c.RequireDPoP)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create client %q: %w", c.ID, err)
	}
	return nil
}

// Client implements refreshing.Store.
func (s *Store) Client(ctx context.Context, id string) (*refreshing.Client, error) {
	var (
		c       = refreshing.Client{ID: id}
		grants  string
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT secret_hash, grants, created_at, require_dpop FROM oauth_clients WHERE id = ?`, id).
		Scan(&c.SecretHash, &grants, &created, &c.RequireDPoP)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: client %q: %w", id, refreshing.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite: client %q: %w", id, classify(err))
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	c.Grants = strings.Fields(grants)
	c.CreatedAt = fromMicros(created)
	return &c, nil
}
