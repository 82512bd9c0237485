package refreshing_test

import (
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestJudge(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	st := refreshing.DefaultSettings()
	st.Rotation, st.RefreshIdle, st.ReuseGrace = true, time.Hour, 10*time.Second
	// A session rotated three times, the last time 5 s ago, whose tokens
	// from generation 1 on were retired within the window.
	row := func(mod func(s *refreshing.Session)) *refreshing.Session {
		s := &refreshing.Session{ID: "s", ClientID: "web", LastActivity: now.Add(-5 * time.Second), ExpiresAt: now.Add(time.Hour),
			Generation: 3, RotatedAt: now.Add(-5 * time.Second), GraceGeneration: 1, GraceSince: now.Add(-8 * time.Second)}
		if mod != nil {
			mod(s)
		}
		return s
	}
	live := refreshing.Presentation{Standing: refreshing.StandingLive, Generation: 3, ClientID: "web"}
	retired := func(gen int64) refreshing.Presentation {
		return refreshing.Presentation{Standing: refreshing.StandingRetired, Generation: gen, ClientID: "web"}
	}
	for _, tt := range []struct {
		name string
		sess *refreshing.Session
		p    refreshing.Presentation
		st   func(*refreshing.Settings)
		want refreshing.Verdict
	}{
		{"Rotate", row(nil), live, nil, refreshing.VerdictRotate},
		{"KeepWithRotationOff", row(nil), live, func(st *refreshing.Settings) { st.Rotation = false }, refreshing.VerdictKeep},
		{"GraceLastRetired", row(nil), retired(2), nil, refreshing.VerdictGrace},
		{"GraceRunOfRetired", row(nil), retired(1), nil, refreshing.VerdictGrace},
		{"ReuseBeforeTheRun", row(nil), retired(0), nil, refreshing.VerdictReuse},
		{"ReuseAfterTheWindow", row(nil), retired(2), func(st *refreshing.Settings) { st.ReuseGrace = time.Second }, refreshing.VerdictReuse},
		{"UnknownFirst", row(func(s *refreshing.Session) { s.RevokedAt = now }), refreshing.Presentation{ClientID: "other"}, nil, refreshing.VerdictUnknown},
		{"WrongClientBeforeState", row(func(s *refreshing.Session) { s.RevokedAt = now }), refreshing.Presentation{Standing: refreshing.StandingLive, Generation: 3, ClientID: "other"}, nil, refreshing.VerdictWrongClient},
		{"UnboundAnyClient", row(func(s *refreshing.Session) { s.ClientID = "" }), refreshing.Presentation{Standing: refreshing.StandingLive, Generation: 3, ClientID: "other"}, nil, refreshing.VerdictRotate},
		{"DPoPRequired", row(func(s *refreshing.Session) { s.DPoPJKT = "a" }), live, nil, refreshing.VerdictDPoPRequired},
		{"DPoPMismatch", row(func(s *refreshing.Session) { s.DPoPJKT = "a" }), refreshing.Presentation{Standing: refreshing.StandingLive, Generation: 3, ClientID: "web", DPoPJKT: "b"}, nil, refreshing.VerdictDPoPMismatch},
		{"Revoked", row(func(s *refreshing.Session) { s.RevokedAt = now }), retired(0), nil, refreshing.VerdictRevoked},
		{"ExpiredAtItsExpiry", row(func(s *refreshing.Session) { s.ExpiresAt = now }), live, nil, refreshing.VerdictExpired},
		{"IdleAtTheTimeout", row(func(s *refreshing.Session) { s.LastActivity = now.Add(-time.Hour) }), live, nil, refreshing.VerdictIdle},
		{"NoIdleTimeout", row(func(s *refreshing.Session) { s.LastActivity = now.Add(-time.Hour) }), live, func(st *refreshing.Settings) { st.RefreshIdle = 0 }, refreshing.VerdictRotate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := st
			if tt.st != nil {
				tt.st(&st)
			}
			if got := refreshing.Judge(tt.sess, tt.p, now, st); got != tt.want {
				t.Errorf("Judge = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRotated(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r := refreshing.Rotation{SessionID: "s", Generation: 3, NewHash: []byte("new"), At: now, GraceFrom: now.Add(-10 * time.Second)}
	for _, tt := range []struct {
		name             string
		rotatedAt, since time.Time
		wantGen          int64
		wantSince        time.Time
	}{
		{"RunGoesOn", now.Add(-2 * time.Second), now.Add(-10 * time.Second), 1, now.Add(-10 * time.Second)},
		{"LastRetiredStartsTheRun", now.Add(-10 * time.Second), now.Add(-11 * time.Second), 2, now.Add(-10 * time.Second)},
		{"ThisOneStartsTheRun", now.Add(-11 * time.Second), time.Time{}, 3, now},
		{"FirstRotation", time.Time{}, time.Time{}, 3, now},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sess := refreshing.Session{ID: "s", Generation: 3, TokenHash: []byte("live"), RotatedAt: tt.rotatedAt, GraceGeneration: 1, GraceSince: tt.since}
			got := refreshing.Rotated(sess, r)
			if got.Generation != 4 || string(got.PrevHash) != "live" || string(got.TokenHash) != "new" || !got.RotatedAt.Equal(now) || !got.LastActivity.Equal(now) {
				t.Errorf("Rotated = %+v, want generation 4, the hashes swapped, rotated and active now", got)
			}
			if got.GraceGeneration != tt.wantGen || !got.GraceSince.Equal(tt.wantSince) {
				t.Errorf("grace = %d since %v, want %d since %v", got.GraceGeneration, got.GraceSince, tt.wantGen, tt.wantSince)
			}
		})
	}
}
