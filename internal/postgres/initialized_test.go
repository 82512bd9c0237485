package postgres_test

import (
	"errors"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/pgtest"
	"github.com/refreshing/refreshing/internal/postgres"
)

func TestInitialized(t *testing.T) {
	dsn := pgtest.Schema(t)
	if ok, err := postgres.Initialized(t.Context(), dsn); err != nil || ok {
		t.Fatalf("empty schema: Initialized = %v, %v; want false", ok, err)
	}
	if ok, err := postgres.Initialized(t.Context(), dsn); err != nil || ok {
		t.Fatalf("asking created something: Initialized = %v, %v", ok, err)
	}
	openDSN(t, dsn)
	if ok, err := postgres.Initialized(t.Context(), dsn); err != nil || !ok {
		t.Fatalf("after Open: Initialized = %v, %v; want true", ok, err)
	}
	t.Run("ErrUnavailable", func(t *testing.T) {
		_, err := postgres.Initialized(t.Context(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
		if !errors.Is(err, refreshing.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
}
