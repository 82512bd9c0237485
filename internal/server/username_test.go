package server_test

import (
	"net/http"
	"testing"

	"github.com/refreshing/refreshing"
)

// TestLookAlikeUsernames registers "atk_x" and then names that read the
// same: each is refused, on both stores, with Strapi's "already taken" or a
// ValidationError naming the username; the fullwidth spelling signs in to
// the account it was stored as.
func TestLookAlikeUsernames(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		register := func(username, email string) response {
			return e.post("/api/auth/local/register", map[string]any{"username": username, "email": email, "password": "a-long-passphrase"})
		}
		register("atk_x", "atk@example.com").want(t, http.StatusOK, "", "")
		for name, username := range map[string]string{
			"Case":           "Atk_x",
			"UpperCase":      "ATK_X",
			"Fullwidth":      "ａｔｋ＿ｘ",
			"FullwidthUpper": "ＡＴＫ＿Ｘ",
			"TrailingSpace":  "atk_x ",
			"KelvinSignIsAK": "atk_\u212a", // the Kelvin sign is K, not x: another name
		} {
			t.Run("ErrTaken/"+name, func(t *testing.T) {
				r := register(username, name+"@example.com")
				if name == "KelvinSignIsAK" {
					r.want(t, http.StatusOK, "", "")
					return
				}
				r.want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
			})
		}
		for name, username := range map[string]string{
			"ZeroWidthSpace":  "atk\u200b_x",
			"SoftHyphen":      "atk\u00ad_x",
			"ZeroWidthJoiner": "atk\u200d_x",
			"BOM":             "\ufeffatk_x",
			"RightToLeft":     "atk\u202e_x",
			"HangulFiller":    "atk\u3164_x",
			"Variation":       "atk\ufe0f_x",
			"LineSeparator":   "atk\u2028_x",
		} {
			t.Run("ErrInvisible/"+name, func(t *testing.T) {
				register(username, name+"@example.com").wantField(t, "username")
			})
		}
		t.Run("FullwidthSignsIn", func(t *testing.T) {
			register("ｂｏｂ＿ｙ", "bob@example.com").want(t, http.StatusOK, "", "")
			for _, id := range []string{"bob_y", "ｂｏｂ＿ｙ"} {
				e.post("/api/auth/local", map[string]any{"identifier": id, "password": "a-long-passphrase"}).want(t, http.StatusOK, "", "")
			}
			r := e.post("/api/auth/local", map[string]any{"identifier": "bob_y", "password": "a-long-passphrase"})
			if got := r.json(t)["user"].(map[string]any)["username"]; got != "bob_y" {
				t.Errorf("stored username %q, want its NFKC form bob_y", got)
			}
		})
	})
}

// TestUsernameKeyBackfill: users stored without a key (as before migration
// 0012) get one from BackfillUsernameKeys; two old look-alikes both keep
// their accounts and the later one is reported; after the backfill a new
// look-alike of an old user is refused.
func TestUsernameKeyBackfill(t *testing.T) {
	stores(t, func(t *testing.T, su setup) {
		e := start(t, su)
		ctx := t.Context()
		st := e.fault.Store
		legacy := func(username string) *refreshing.User {
			u := &refreshing.User{DocumentID: "u_" + username, Username: username, Email: username + "@legacy.example.com",
				PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
				Provider:     "local", Role: "authenticated", Confirmed: true, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			return u
		}
		carol, carolAgain, dave := legacy("carol"), legacy("Carol"), legacy("dave")
		n, collisions, err := e.svc.BackfillUsernameKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || len(collisions) != 1 || collisions[0].UserID != carolAgain.ID || collisions[0].OtherUserID != carol.ID {
			t.Fatalf("backfill: %d keys, collisions %+v; want 2 and Carol (%d) colliding with carol (%d)", n, collisions, carolAgain.ID, carol.ID)
		}
		// Again: nothing new, the same collision reported, nothing fails.
		if n, collisions, err := e.svc.BackfillUsernameKeys(ctx); err != nil || n != 0 || len(collisions) != 1 {
			t.Fatalf("second backfill: %d, %+v, %v", n, collisions, err)
		}
		for _, u := range []*refreshing.User{carol, carolAgain, dave} {
			if _, err := e.svc.User(ctx, u.ID); err != nil {
				t.Errorf("user %s after the backfill: %v", u.Username, err)
			}
		}
		e.post("/api/auth/local/register", map[string]any{"username": "DAVE", "email": "d2@example.com", "password": "a-long-passphrase"}).
			want(t, http.StatusBadRequest, "ApplicationError", "Email or Username are already taken")
	})
}
