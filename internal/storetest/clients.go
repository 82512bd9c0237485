package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func testCreateClient(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		for _, want := range []*refreshing.Client{
			{ID: "cli", SecretHash: hash("secret"), Grants: []string{refreshing.GrantPassword}, CreatedAt: at(time.Second)},
			{ID: "spa", CreatedAt: at(2 * time.Second)},
			{ID: "dpop-spa", CreatedAt: at(3 * time.Second), RequireDPoP: true},
		} {
			if err := st.CreateClient(t.Context(), want); err != nil {
				t.Fatalf("CreateClient(%q): %v", want.ID, err)
			}
			got, err := st.Client(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("Client(%q): %v", want.ID, err)
			}
			equalClient(t, got, want)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		first := &refreshing.Client{ID: "cli", SecretHash: hash("one"), CreatedAt: at(0)}
		if err := st.CreateClient(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		second := &refreshing.Client{ID: "cli", SecretHash: hash("two"), Grants: []string{refreshing.GrantPassword}, CreatedAt: at(time.Second)}
		if err := st.CreateClient(t.Context(), second); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("CreateClient with a taken id: got %v, want ErrConflict", err)
		}
		got, err := st.Client(t.Context(), "cli")
		if err != nil {
			t.Fatal(err)
		}
		equalClient(t, got, first)
	})
}

func testClient(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if err := st.CreateClient(t.Context(), &refreshing.Client{ID: "cli", CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"", "CLI", "cli ", "other"} {
			if _, err := st.Client(t.Context(), id); !errors.Is(err, refreshing.ErrNotFound) {
				t.Errorf("Client(%q): got %v, want ErrNotFound", id, err)
			}
		}
	})
}

// equalClient reports every field in which got differs from want; a public
// client's SecretHash and an empty Grants read back as nil.
func equalClient(t *testing.T, got, want *refreshing.Client) {
	t.Helper()
	if got.ID != want.ID || !bytes.Equal(got.SecretHash, want.SecretHash) || (got.SecretHash == nil) != (want.SecretHash == nil) ||
		!slices.Equal(got.Grants, want.Grants) || !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
		got.RequireDPoP != want.RequireDPoP {
		t.Errorf("client differs:\n got %+v\nwant %+v", *got, *want)
	}
}
