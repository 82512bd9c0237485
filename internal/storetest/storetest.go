// Package storetest is the conformance suite of refreshing.Store: Run checks
// every method's contract against a Store implementation, the same way for
// every backend, in the manner of testing/fstest.TestFS.
//
// A store's own tests call it:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) refreshing.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// Run runs the conformance suite as subtests of t. It calls open once per
// subtest; open must return a fresh, empty, migrated Store and register its
// cleanup with t.Cleanup. Run never asks which backend it is testing.
func Run(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("Ping", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			if err := open(t).Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("CreateUser", func(t *testing.T) { testCreateUser(t, open) })
	t.Run("UserByID", func(t *testing.T) { testUserByID(t, open) })
	t.Run("UserByEmail", func(t *testing.T) { testUserByEmail(t, open) })
	t.Run("UserByUsername", func(t *testing.T) { testUserByUsername(t, open) })
	t.Run("UpdateUser", func(t *testing.T) { testUpdateUser(t, open) })
	t.Run("DeleteUser", func(t *testing.T) { testDeleteUser(t, open) })
	t.Run("ListUsers", func(t *testing.T) { testListUsers(t, open) })
	t.Run("UsernameKey", func(t *testing.T) { testUsernameKey(t, open) })

	t.Run("CreateSession", func(t *testing.T) { testCreateSession(t, open) })
	t.Run("Session", func(t *testing.T) { testSession(t, open) })
	t.Run("SessionWithUser", func(t *testing.T) { testSessionWithUser(t, open) })
	t.Run("RotateSession", func(t *testing.T) { testRotateSession(t, open) })
	t.Run("RotateMatching", func(t *testing.T) { testRotateMatching(t, open) })
	// The stores' SQL against the rotation rule's pure functions.
	t.Run("RotateMatchingJudge", func(t *testing.T) { testRule(t, open) })
	t.Run("RotateSessionRotated", func(t *testing.T) { testRotatedRule(t, open) })
	t.Run("AuthRevision", func(t *testing.T) { testAuthRevision(t, open) })
	t.Run("TouchSession", func(t *testing.T) { testTouchSession(t, open) })
	t.Run("SetAuthTime", func(t *testing.T) { testSetAuthTime(t, open) })
	t.Run("RevokeSession", func(t *testing.T) { testRevokeSession(t, open) })
	t.Run("RevokeSessions", func(t *testing.T) { testRevokeSessions(t, open) })
	t.Run("UserSessions", func(t *testing.T) { testUserSessions(t, open) })
	t.Run("ListSessions", func(t *testing.T) { testListSessions(t, open) })
	t.Run("ByteOrder", func(t *testing.T) { testByteOrder(t, open) })

	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("InitSettings", func(t *testing.T) { testInitSettings(t, open) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("AddSigningKey", func(t *testing.T) { testAddSigningKey(t, open) })
	t.Run("DeleteSigningKey", func(t *testing.T) { testDeleteSigningKey(t, open) })
	t.Run("Secret", func(t *testing.T) { testSecret(t, open) })

	t.Run("CreateClient", func(t *testing.T) { testCreateClient(t, open) })
	t.Run("Client", func(t *testing.T) { testClient(t, open) })

	t.Run("Admin", func(t *testing.T) { runAdmin(t, open) })
	t.Run("Manage", func(t *testing.T) { runManage(t, open) })

	// Provider identities (oidc, issue 22).
	t.Run("AddIdentity", func(t *testing.T) { testAddIdentity(t, open) })
	t.Run("IdentityBySubject", func(t *testing.T) { testIdentityBySubject(t, open) })
	t.Run("UserIdentities", func(t *testing.T) { testUserIdentities(t, open) })
	t.Run("SignInProviders", func(t *testing.T) { testSignInProviders(t, open) })

	t.Run("PurgeSessions", func(t *testing.T) { testPurgeSessions(t, open) })
	t.Run("CountActiveSessions", func(t *testing.T) { testCountActiveSessions(t, open) })
	t.Run("AcquireLease", func(t *testing.T) { testAcquireLease(t, open) })
	t.Run("ImportUser", func(t *testing.T) { testImportUser(t, open) })
	t.Run("ImportSession", func(t *testing.T) { testImportSession(t, open) })
	t.Run("HasImportedSessions", func(t *testing.T) { testHasImportedSessions(t, open) })

	// The account life cycle's outbox and codes (mail.go).
	t.Run("Mail", func(t *testing.T) { runMail(t, open) })
}

// t0 is the suite's reference time: in UTC and at microsecond precision, the
// precision every Store must round-trip. The suite never reads the clock,
// because a Store never does either.
var t0 = time.Date(2025, time.March, 1, 12, 30, 45, 123456000, time.UTC)

// at returns t0 plus d, which tests keep at microsecond precision.
func at(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Microsecond) }

// hash returns a SHA-256 digest of s, standing in for a refresh token hash.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newUser returns an unsaved user whose unique fields derive from name.
func newUser(name string) *refreshing.User {
	return &refreshing.User{
		DocumentID:   "u_" + name,
		Username:     name,
		Email:        name + "@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		Provider:     "local",
		Role:         "authenticated",
		Confirmed:    true,
		CreatedAt:    at(0),
		UpdatedAt:    at(time.Second),
	}
}

// createUser stores newUser(name) in st and returns it with its ID set.
func createUser(t *testing.T, st refreshing.Store, name string) *refreshing.User {
	t.Helper()
	u := newUser(name)
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

// newSession returns an unsaved, unrotated session of userID, created and
// last active at created, expiring 30 days later.
func newSession(userID int64, id string, created time.Time) *refreshing.Session {
	return &refreshing.Session{
		ID:           id,
		UserID:       userID,
		ClientID:     "web",
		Description:  "session " + id,
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
		IP:           "192.0.2.7",
		CreatedAt:    created,
		LastActivity: created,
		ExpiresAt:    created.Add(720 * time.Hour),
		TokenHash:    hash(id + "/0"),
	}
}

// createSession stores s in st without a session limit.
func createSession(t *testing.T, st refreshing.Store, s *refreshing.Session) {
	t.Helper()
	if err := st.CreateSession(t.Context(), s, 0); err != nil {
		t.Fatalf("CreateSession(%q): %v", s.ID, err)
	}
}

// getSession reads session id from st, failing the test if it cannot.
func getSession(t *testing.T, st refreshing.Store, id string) *refreshing.Session {
	t.Helper()
	s, err := st.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%q): %v", id, err)
	}
	return s
}

// getUser reads user id from st, failing the test if it cannot.
func getUser(t *testing.T, st refreshing.Store, id int64) *refreshing.User {
	t.Helper()
	u, err := st.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%d): %v", id, err)
	}
	return u
}

// equalUser reports every field in which got differs from want.
func equalUser(t *testing.T, got, want *refreshing.User) {
	t.Helper()
	if got == nil {
		t.Fatalf("user is nil, want %+v", want)
	}
	for _, d := range []struct {
		name string
		ok   bool
	}{
		{"ID", got.ID == want.ID},
		{"DocumentID", got.DocumentID == want.DocumentID},
		{"Username", got.Username == want.Username},
		{"Email", got.Email == want.Email},
		{"PasswordHash", got.PasswordHash == want.PasswordHash},
		{"Provider", got.Provider == want.Provider},
		{"Role", got.Role == want.Role},
		{"Confirmed", got.Confirmed == want.Confirmed},
		{"Blocked", got.Blocked == want.Blocked},
		{"CreatedAt", got.CreatedAt.Equal(want.CreatedAt)},
		{"UpdatedAt", got.UpdatedAt.Equal(want.UpdatedAt)},
	} {
		if !d.ok {
			t.Errorf("user %d: %s differs:\n got %+v\nwant %+v", want.ID, d.name, *got, *want)
		}
	}
}

// equalSession reports every field in which got differs from want. Times are
// compared with Equal, hashes byte for byte, and a nil PrevHash must stay nil.
func equalSession(t *testing.T, got, want *refreshing.Session) {
	t.Helper()
	if got == nil {
		t.Fatalf("session is nil, want %s", fmtSession(want))
	}
	for _, d := range []struct {
		name string
		ok   bool
	}{
		{"ID", got.ID == want.ID},
		{"UserID", got.UserID == want.UserID},
		{"ClientID", got.ClientID == want.ClientID},
		{"DeviceID", got.DeviceID == want.DeviceID},
		{"Description", got.Description == want.Description},
		{"UserAgent", got.UserAgent == want.UserAgent},
		{"IP", got.IP == want.IP},
		{"CreatedAt", got.CreatedAt.Equal(want.CreatedAt)},
		{"LastActivity", got.LastActivity.Equal(want.LastActivity)},
		{"ExpiresAt", got.ExpiresAt.Equal(want.ExpiresAt) && got.ExpiresAt.IsZero() == want.ExpiresAt.IsZero()},
		{"RevokedAt", got.RevokedAt.Equal(want.RevokedAt) && got.RevokedAt.IsZero() == want.RevokedAt.IsZero()},
		{"RevokeReason", got.RevokeReason == want.RevokeReason},
		{"Generation", got.Generation == want.Generation},
		{"TokenHash", bytes.Equal(got.TokenHash, want.TokenHash)},
		{"PrevHash", bytes.Equal(got.PrevHash, want.PrevHash) && (got.PrevHash == nil) == (want.PrevHash == nil)},
		{"RotatedAt", got.RotatedAt.Equal(want.RotatedAt) && got.RotatedAt.IsZero() == want.RotatedAt.IsZero()},
		{"GraceGeneration", got.GraceGeneration == want.GraceGeneration},
		{"GraceSince", got.GraceSince.Equal(want.GraceSince) && got.GraceSince.IsZero() == want.GraceSince.IsZero()},
		{"DPoPJKT", got.DPoPJKT == want.DPoPJKT},
		{"AuthTime", got.AuthTime.Equal(authTimeOf(want))},
	} {
		if !d.ok {
			t.Errorf("session %q: %s differs:\n got %s\nwant %s", want.ID, d.name, fmtSession(got), fmtSession(want))
		}
	}
}

// authTimeOf is the AuthTime a store returns for s: its sign-in when s
// leaves it zero.
func authTimeOf(s *refreshing.Session) time.Time {
	if s.AuthTime.IsZero() {
		return s.CreatedAt
	}
	return s.AuthTime
}

// fmtSession formats s for a failure message, hashes in short hex.
func fmtSession(s *refreshing.Session) string {
	return fmt.Sprintf("{ID:%q UserID:%d ClientID:%q DeviceID:%q Description:%q UserAgent:%q IP:%q CreatedAt:%s LastActivity:%s ExpiresAt:%s RevokedAt:%s RevokeReason:%q Generation:%d TokenHash:%s PrevHash:%s RotatedAt:%s GraceGeneration:%d GraceSince:%s}",
		s.ID, s.UserID, s.ClientID, s.DeviceID, s.Description, s.UserAgent, s.IP,
		fmtTime(s.CreatedAt), fmtTime(s.LastActivity), fmtTime(s.ExpiresAt), fmtTime(s.RevokedAt), s.RevokeReason,
		s.Generation, fmtHash(s.TokenHash), fmtHash(s.PrevHash), fmtTime(s.RotatedAt), s.GraceGeneration, fmtTime(s.GraceSince))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtHash(b []byte) string {
	switch {
	case b == nil:
		return "nil"
	case len(b) > 4:
		return fmt.Sprintf("%x…", b[:4])
	}
	return fmt.Sprintf("%x", b)
}

// sessionIDs returns the ids of ss in order.
func sessionIDs(ss []refreshing.Session) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}
