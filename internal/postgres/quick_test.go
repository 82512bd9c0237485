package postgres_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

var q0 = time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)

func qat(d time.Duration) time.Time { return q0.Add(d) }

func TestQuick(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	u := &refreshing.User{DocumentID: "u_a", Username: "alice", Email: "a@x", PasswordHash: "h", Provider: "local", Role: "authenticated", CreatedAt: q0, UpdatedAt: q0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	u2 := *u
	u2.Username = "bob"
	u2.DocumentID = ""
	if err := st.CreateUser(ctx, &u2); !errors.Is(err, refreshing.ErrConflict) {
		t.Fatalf("dup email: %v", err)
	}
	got, err := st.UserByEmail(ctx, "a@x")
	if err != nil || *got != *u {
		t.Fatalf("UserByEmail: %+v %v, want %+v", got, err, u)
	}
	if _, err := st.UserByID(ctx, 999); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("UserByID(999): %v", err)
	}

	sess := &refreshing.Session{ID: "s1", UserID: u.ID, DeviceID: "d", CreatedAt: q0, LastActivity: q0, TokenHash: []byte{1}}
	if err := st.CreateSession(ctx, sess, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, sess, 0); !errors.Is(err, refreshing.ErrConflict) {
		t.Fatalf("dup session: %v", err)
	}
	bad := *sess
	bad.ID, bad.UserID = "s9", 999
	if err := st.CreateSession(ctx, &bad, 0); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("session of missing user: %v", err)
	}
	gs, err := st.Session(ctx, "s1")
	if err != nil || gs.PrevHash != nil || !gs.ExpiresAt.IsZero() || !gs.CreatedAt.Equal(q0) || gs.CreatedAt.Location() != time.UTC {
		t.Fatalf("Session: %+v %v", gs, err)
	}
	// Same device replaces.
	s2 := &refreshing.Session{ID: "s2", UserID: u.ID, DeviceID: "d", CreatedAt: qat(time.Minute), LastActivity: qat(time.Minute), TokenHash: []byte{2}}
	if err := st.CreateSession(ctx, s2, 0); err != nil {
		t.Fatal(err)
	}
	gs, _ = st.Session(ctx, "s1")
	if gs.RevokeReason != refreshing.ReasonReplaced || !gs.RevokedAt.Equal(qat(time.Minute)) {
		t.Fatalf("s1 not replaced: %+v", gs)
	}
	// Limit 2: s3, s4 added; s2 evicted on s4.
	for i, id := range []string{"s3", "s4"} {
		d := time.Duration(i+2) * time.Minute
		s := &refreshing.Session{ID: id, UserID: u.ID, CreatedAt: qat(d), LastActivity: qat(d), ExpiresAt: qat(time.Hour), TokenHash: []byte{3}}
		if err := st.CreateSession(ctx, s, 2); err != nil {
			t.Fatal(err)
		}
	}
	live, err := st.UserSessions(ctx, u.ID, qat(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range live {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"s4", "s3"}) {
		t.Fatalf("UserSessions: %v", ids)
	}
	// Rotation.
	if err := st.RotateSession(ctx, refreshing.Rotation{SessionID: "s4", Generation: 0, NewHash: []byte{9}, At: qat(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.RotateSession(ctx, refreshing.Rotation{SessionID: "s4", Generation: 0, NewHash: []byte{9}, At: qat(time.Hour)}); !errors.Is(err, refreshing.ErrStale) {
		t.Fatalf("second rotate: %v", err)
	}
	if err := st.RotateSession(ctx, refreshing.Rotation{SessionID: "nope", At: qat(time.Hour)}); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("rotate missing: %v", err)
	}
	gs, _ = st.Session(ctx, "s4")
	if gs.Generation != 1 || !bytes.Equal(gs.PrevHash, []byte{3}) || !bytes.Equal(gs.TokenHash, []byte{9}) || !gs.RotatedAt.Equal(qat(time.Hour)) {
		t.Fatalf("rotated: %+v", gs)
	}
	// Touch.
	if err := st.TouchSession(ctx, "s4", qat(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchSession(ctx, "s1", qat(2*time.Hour)); !errors.Is(err, refreshing.ErrStale) {
		t.Fatalf("touch revoked: %v", err)
	}
	if err := st.TouchSession(ctx, "nope", qat(2*time.Hour)); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("touch missing: %v", err)
	}
	// Revoke.
	if err := st.RevokeSession(ctx, "s1", "admin", qat(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSession(ctx, "nope", "admin", qat(3*time.Hour)); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatal(err)
	}
	gs, _ = st.Session(ctx, "s1")
	if gs.RevokeReason != refreshing.ReasonReplaced {
		t.Fatalf("revoke reason changed: %+v", gs)
	}
	n, err := st.RevokeSessions(ctx, refreshing.Revocation{UserID: u.ID, Except: "s4", Reason: "x", At: qat(4 * time.Hour)})
	if err != nil || n != 1 {
		t.Fatalf("RevokeSessions: %d %v", n, err)
	}
	// List with keyset.
	page, err := st.ListSessions(ctx, refreshing.SessionFilter{Limit: 2})
	if err != nil || len(page) != 2 {
		t.Fatalf("ListSessions: %v %v", page, err)
	}
	last := page[1]
	page2, err := st.ListSessions(ctx, refreshing.SessionFilter{BeforeActivity: last.LastActivity, BeforeID: last.ID, UserID: u.ID})
	if err != nil || len(page2) != 2 {
		t.Fatalf("ListSessions page 2: %v %v", page2, err)
	}
	active, err := st.ListSessions(ctx, refreshing.SessionFilter{Active: true, ActiveAt: qat(0)})
	if err != nil || len(active) != 1 || active[0].ID != "s4" {
		t.Fatalf("ListSessions active: %v %v", active, err)
	}
	users, err := st.ListUsers(ctx, 0, 10)
	if err != nil || len(users) != 1 {
		t.Fatalf("ListUsers: %v %v", users, err)
	}

	// Settings.
	if _, err := st.Settings(ctx); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("Settings before save: %v", err)
	}
	d := refreshing.DefaultSettings()
	got1, err := st.InitSettings(ctx, d)
	if err != nil || got1 != d {
		t.Fatalf("InitSettings: %+v %v", got1, err)
	}
	d2 := d
	d2.MaxSessions = 3
	got2, err := st.InitSettings(ctx, d2)
	if err != nil || got2 != d {
		t.Fatalf("InitSettings again: %+v %v", got2, err)
	}
	if err := st.SaveSettings(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Settings(ctx); err != nil || got != d2 {
		t.Fatalf("Settings: %+v %v", got, err)
	}

	// Keys and secrets.
	if err := st.AddSigningKey(ctx, refreshing.SigningKey{ID: "k1", Algorithm: "EdDSA", Material: []byte{1}, CreatedAt: q0}, true); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSigningKey(ctx, refreshing.SigningKey{ID: "k2", Algorithm: "EdDSA", Material: []byte{1}, CreatedAt: q0}, true); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSigningKey(ctx, refreshing.SigningKey{ID: "k1", Algorithm: "EdDSA", Material: []byte{1}, CreatedAt: q0}, false); !errors.Is(err, refreshing.ErrConflict) {
		t.Fatalf("dup key: %v", err)
	}
	if err := st.AddSigningKey(ctx, refreshing.SigningKey{ID: "k3", Algorithm: "EdDSA", Material: []byte{1}, CreatedAt: qat(time.Hour)}, false); err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != "k3" {
		t.Fatalf("SigningKeys: %+v %v", keys, err)
	}
	if err := st.DeleteSigningKey(ctx, "k2"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("delete missing key: %v", err)
	}
	v, err := st.Secret(ctx, "x", []byte("one"))
	if err != nil || string(v) != "one" {
		t.Fatalf("Secret: %q %v", v, err)
	}
	v, err = st.Secret(ctx, "x", []byte("two"))
	if err != nil || string(v) != "one" {
		t.Fatalf("Secret again: %q %v", v, err)
	}
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Session(ctx, "s4"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("session after user delete: %v", err)
	}
}
