package refreshing_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestAdminTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a, err := e.svc.CreateAdmin(ctx, "ops@example.com", "a long admin password")
	if err != nil {
		t.Fatal(err)
	}
	tok, token, err := e.svc.CreateAdminToken(ctx, a.ID, "deploy", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, refreshing.AdminTokenPrefix) || len(token) < 40 {
		t.Fatalf("token %q", token)
	}
	t.Run("OK", func(t *testing.T) {
		got, gotTok, err := e.svc.AuthenticateAdminToken(ctx, token)
		if err != nil || got.ID != a.ID || gotTok.ID != tok.ID {
			t.Fatalf("AuthenticateAdminToken = %v, %v, %v", got, gotTok, err)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		for _, bad := range []string{"", "rfa_", token[:len(token)-1], token + "x", strings.TrimPrefix(token, "rfa_"), "rfa_" + strings.Repeat("a", 300)} {
			if _, _, err := e.svc.AuthenticateAdminToken(ctx, bad); !errors.Is(err, refreshing.ErrUnauthenticated) {
				t.Errorf("AuthenticateAdminToken(%.20q…) = %v, want ErrUnauthenticated", bad, err)
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		e.clock.Add(time.Hour)
		if _, _, err := e.svc.AuthenticateAdminToken(ctx, token); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("an expired token: %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		_, forever, err := e.svc.CreateAdminToken(ctx, a.ID, "forever", 0)
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.AdminTokens(ctx, a.ID)
		if err != nil || len(list) != 2 || !list[1].ExpiresAt.IsZero() {
			t.Fatalf("AdminTokens = %+v, %v", list, err)
		}
		if err := e.svc.RevokeAdminToken(ctx, list[1].ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.AuthenticateAdminToken(ctx, forever); !errors.Is(err, refreshing.ErrUnauthenticated) {
			t.Fatalf("a revoked token: %v, want ErrUnauthenticated", err)
		}
		if err := e.svc.RevokeAdminToken(ctx, list[1].ID); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("revoking twice: %v, want ErrNotFound", err)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, c := range []struct {
			admin int64
			name  string
			ttl   time.Duration
		}{{a.ID, "", 0}, {a.ID, "x", -time.Second}, {a.ID, "x", refreshing.MaxAdminTokenTTL + 1}, {a.ID + 99, "x", 0}} {
			var fe *refreshing.FieldError
			if _, _, err := e.svc.CreateAdminToken(ctx, c.admin, c.name, c.ttl); !errors.As(err, &fe) {
				t.Errorf("CreateAdminToken(%d, %q, %s) = %v, want a field error", c.admin, c.name, c.ttl, err)
			}
		}
	})
}

func TestFindUsersPages(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	var ids []int64
	for i := range 7 {
		u, err := e.svc.CreateUser(ctx, fmt.Sprintf("user%d", i), fmt.Sprintf("user%d@example.com", i), "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	page := func(q refreshing.UserQuery) ([]int64, bool, bool) {
		t.Helper()
		p, err := e.svc.FindUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, u := range p.Users {
			got = append(got, u.ID)
		}
		return got, p.HasPrev, p.HasNext
	}
	desc := slices.Clone(ids)
	slices.Reverse(desc)
	got, prev, next := page(refreshing.UserQuery{Limit: 3})
	if !slices.Equal(got, desc[:3]) || prev || !next {
		t.Fatalf("first page %v prev=%v next=%v, want %v false true", got, prev, next, desc[:3])
	}
	got, prev, next = page(refreshing.UserQuery{Limit: 3, After: desc[5]})
	if !slices.Equal(got, desc[6:]) || !prev || next {
		t.Fatalf("last page %v prev=%v next=%v, want %v true false", got, prev, next, desc[6:])
	}
	got, prev, next = page(refreshing.UserQuery{Limit: 3, Before: desc[6]})
	if !slices.Equal(got, desc[3:6]) || !prev || !next {
		t.Fatalf("previous page %v prev=%v next=%v, want %v true true", got, prev, next, desc[3:6])
	}
	got, prev, _ = page(refreshing.UserQuery{Limit: 3, Before: desc[3]})
	if !slices.Equal(got, desc[:3]) || prev {
		t.Fatalf("back to the first page %v prev=%v, want %v false", got, prev, desc[:3])
	}
	got, _, _ = page(refreshing.UserQuery{Limit: 2, Oldest: true})
	if !slices.Equal(got, ids[:2]) {
		t.Fatalf("oldest first %v, want %v", got, ids[:2])
	}
	for _, q := range []refreshing.UserQuery{{Limit: -1}, {Limit: 501}, {After: 1, Before: 2}, {After: -1}} {
		var fe *refreshing.FieldError
		if _, err := e.svc.FindUsers(ctx, q); !errors.As(err, &fe) {
			t.Errorf("FindUsers(%+v) = %v, want a field error", q, err)
		}
	}
}

func TestDeleteLastAdmin(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a, err := e.svc.CreateAdmin(ctx, "ops@example.com", "a long admin password")
	if err != nil {
		t.Fatal(err)
	}
	var fe *refreshing.FieldError
	if err := e.svc.DeleteAdmin(ctx, a.ID); !errors.As(err, &fe) {
		t.Fatalf("deleting the last administrator: %v, want a field error", err)
	}
	b, err := e.svc.CreateAdmin(ctx, "second@example.com", "a long admin password")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteAdmin(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetAdminPassword(ctx, b.ID, "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.AdminLogin(ctx, "second@example.com", "a new long password", refreshing.ClientInfo{IP: "127.0.0.1"}); err != nil {
		t.Fatalf("sign in with the reset password: %v", err)
	}
}
