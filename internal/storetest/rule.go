package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// ruleRows are session rows in the states the rotation rule tells apart,
// each a change to a fresh row of newSession at ruleNow: bound to client
// "web", last active half an hour ago, expiring in 30 days.
var ruleRows = []struct {
	name string
	mod  func(s *refreshing.Session)
}{
	{"Fresh", func(s *refreshing.Session) {}},
	{"RotatedWithinGrace", rotatedAt(-5*time.Second, -8*time.Second)},
	{"RotatedLongAgo", rotatedAt(-time.Hour, -time.Hour)},
	{"RotatedAtGraceEdge", rotatedAt(-10*time.Second, -11*time.Second)},
	{"GraceSinceAtEdge", rotatedAt(-2*time.Second, -10*time.Second)},
	{"RotatedNoGraceSince", rotatedAt(-2*time.Second, 0)},
	{"Revoked", func(s *refreshing.Session) {
		s.RevokedAt, s.RevokeReason = ruleNow.Add(-time.Minute), refreshing.ReasonLogout
	}},
	{"ExpiresNow", func(s *refreshing.Session) { s.ExpiresAt = ruleNow }},
	{"ExpiresNextMicrosecond", func(s *refreshing.Session) { s.ExpiresAt = ruleNow.Add(time.Microsecond) }},
	{"NeverExpires", func(s *refreshing.Session) { s.ExpiresAt = time.Time{} }},
	{"IdleForTheTimeout", func(s *refreshing.Session) { s.LastActivity = ruleNow.Add(-time.Hour) }},
	{"IdleAlmost", func(s *refreshing.Session) { s.LastActivity = ruleNow.Add(-time.Hour + time.Microsecond) }},
	{"Unbound", func(s *refreshing.Session) { s.ClientID = "" }},
	{"DPoPBound", func(s *refreshing.Session) { s.DPoPJKT = "jkt-A" }},
	{"RotatedAndRevoked", func(s *refreshing.Session) {
		rotatedAt(-5*time.Second, -5*time.Second)(s)
		s.RevokedAt, s.RevokeReason = ruleNow.Add(-time.Second), refreshing.ReasonAdmin
	}},
}

// ruleNow is when the rule's cases are judged and the stores told to act.
var ruleNow = at(2 * time.Hour)

// rotatedAt returns a change that makes a row rotated three times, the last
// time at ruleNow+last, with grace bookkeeping since ruleNow+since (none
// for 0): generation 3, tokens "<id>/<generation>".
func rotatedAt(last, since time.Duration) func(s *refreshing.Session) {
	return func(s *refreshing.Session) {
		s.Generation, s.PrevHash, s.TokenHash = 3, hash(s.ID+"/2"), hash(s.ID+"/3")
		s.RotatedAt = ruleNow.Add(last)
		if s.LastActivity.Before(s.RotatedAt) {
			s.LastActivity = s.RotatedAt
		}
		if since != 0 {
			s.GraceGeneration, s.GraceSince = 1, ruleNow.Add(since)
		}
	}
}

// rulePresentations are the tokens presented to each row: the live one from
// several clients and DPoP keys, one the row does not know, and the token
// the last rotation retired.
var rulePresentations = []struct {
	name           string
	standing       refreshing.Standing
	clientID, jkt  string
	retired, wrong bool
}{
	{name: "Live", standing: refreshing.StandingLive, clientID: "web"},
	{name: "LiveOtherClient", standing: refreshing.StandingLive, clientID: "other"},
	{name: "LiveNoClient", standing: refreshing.StandingLive},
	{name: "LiveWithKeyA", standing: refreshing.StandingLive, clientID: "web", jkt: "jkt-A"},
	{name: "LiveWithKeyB", standing: refreshing.StandingLive, clientID: "web", jkt: "jkt-B"},
	{name: "Unknown", standing: refreshing.StandingNone, clientID: "web", wrong: true},
	{name: "Retired", standing: refreshing.StandingRetired, clientID: "web", retired: true},
}

// ruleSettings are the settings the cases are judged under (rotation on,
// as RotateMatching assumes).
var ruleSettings = []struct {
	name string
	mod  func(st *refreshing.Settings)
}{
	{"IdleAndGrace", func(st *refreshing.Settings) { st.RefreshIdle, st.ReuseGrace = time.Hour, 10*time.Second }},
	{"NoIdleNoGrace", func(st *refreshing.Settings) { st.RefreshIdle, st.ReuseGrace = 0, 0 }},
}

// testRule checks the stores' SQL against the rotation rule, case by case:
// RotateMatching rotates exactly when refreshing.Judge says VerdictRotate,
// and then leaves, as RotateSession does for any unrevoked row, the row
// refreshing.Rotated computes; otherwise it changes nothing.
func testRule(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	u := createUser(t, st, "alice")
	n := 0
	for _, set := range ruleSettings {
		settings := refreshing.DefaultSettings()
		settings.Rotation = true
		set.mod(&settings)
		for _, row := range ruleRows {
			for _, p := range rulePresentations {
				n++
				id := fmt.Sprintf("rule-%03d", n)
				s := newSession(u.ID, id, at(0))
				s.LastActivity = ruleNow.Add(-30 * time.Minute)
				row.mod(s)
				if p.retired && s.Generation == 0 {
					continue // nothing retired yet
				}
				createSession(t, st, s)
				before := getSession(t, st, id)
				pres := refreshing.Presentation{Standing: p.standing, Generation: before.Generation, ClientID: p.clientID, DPoPJKT: p.jkt}
				tokenHash := before.TokenHash
				switch {
				case p.wrong:
					tokenHash = hash(id + "/forged")
				case p.retired:
					pres.Generation, tokenHash = before.Generation-1, before.PrevHash
				}
				verdict := refreshing.Judge(before, pres, ruleNow, settings)
				name := set.name + "/" + row.name + "/" + p.name
				r := refreshing.NewMatchingRotation(id, pres, tokenHash, hash(id+"/next"), ruleNow, settings)
				got, err := st.RotateMatching(t.Context(), r)
				switch {
				case verdict == refreshing.VerdictRotate && err != nil:
					t.Errorf("%s: Judge says %v, RotateMatching: %v", name, verdict, err)
				case verdict != refreshing.VerdictRotate && err == nil:
					t.Errorf("%s: Judge says %v, RotateMatching rotated", name, verdict)
				case err != nil && !errors.Is(err, refreshing.ErrStale):
					t.Errorf("%s: RotateMatching: %v, want ErrStale", name, err)
				case err == nil:
					want := refreshing.Rotated(*before, r.Rotation)
					equalSession(t, got, &want)
					equalSession(t, getSession(t, st, id), &want)
				default:
					equalSession(t, getSession(t, st, id), before)
				}
			}
		}
	}
}

// testRotatedRule checks RotateSession's grace bookkeeping against
// refreshing.Rotated for every row state of the rule's table: an unrevoked
// row becomes what Rotated computes; a revoked one is left alone.
func testRotatedRule(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	u := createUser(t, st, "alice")
	for i, set := range ruleSettings {
		settings := refreshing.DefaultSettings()
		set.mod(&settings)
		for j, row := range ruleRows {
			id := fmt.Sprintf("rotated-%d-%02d", i, j)
			s := newSession(u.ID, id, at(0))
			s.LastActivity = ruleNow.Add(-30 * time.Minute)
			row.mod(s)
			createSession(t, st, s)
			before := getSession(t, st, id)
			r := refreshing.NewRotation(id, before.Generation, hash(id+"/next"), ruleNow, settings)
			err := st.RotateSession(t.Context(), r)
			name := set.name + "/" + row.name
			switch {
			case before.Revoked():
				if !errors.Is(err, refreshing.ErrStale) {
					t.Errorf("%s: RotateSession of a revoked row: %v, want ErrStale", name, err)
				}
				equalSession(t, getSession(t, st, id), before)
			case err != nil:
				t.Errorf("%s: RotateSession: %v", name, err)
			default:
				want := refreshing.Rotated(*before, r)
				equalSession(t, getSession(t, st, id), &want)
			}
		}
	}
}
