package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// testSignInProviders checks the saved sign-in providers: every field and
// the time round-trip, a save replaces the provider of the same name, the
// listing is in byte order of names, and deleting leaves the others and
// the identities linked through the provider.
func testSignInProviders(t *testing.T, open func(t *testing.T) refreshing.Store) {
	full := refreshing.ProviderConfig{Name: "corp", Type: "oidc", Issuer: "https://id.example/realms/x",
		ClientID: "client", ClientSecret: "s3cret ✓", Scopes: []string{"openid", "email"},
		CallbackURL: "https://auth.example/api/auth/corp/callback", RedirectURLs: []string{"https://app.example/a", "https://app.example/b"},
		RedirectWith: "code", LinkByEmail: true}
	t.Run("Empty", func(t *testing.T) {
		got, err := open(t).SignInProviders(t.Context())
		if err != nil || len(got) != 0 {
			t.Fatalf("SignInProviders on a new store = %+v, %v", got, err)
		}
	})
	t.Run("RoundTripAndOrder", func(t *testing.T) {
		st := open(t)
		gh := refreshing.ProviderConfig{Name: "gh", Type: "github", ClientID: "c", AuthURL: "https://ghe.example/login/oauth/authorize",
			TokenURL: "https://ghe.example/login/oauth/access_token", APIURL: "https://ghe.example/api/v3"}
		want := []refreshing.SignInProvider{
			{Config: full, UpdatedAt: at(time.Second)},
			{Config: gh, UpdatedAt: at(2 * time.Second)},
			{Config: refreshing.ProviderConfig{Name: "Zeta", Type: "google", ClientID: "z"}, UpdatedAt: at(3 * time.Second)},
		}
		for _, i := range []int{1, 2, 0} {
			if err := st.SaveSignInProvider(t.Context(), want[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.SignInProviders(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Byte order: "Zeta" < "corp" < "gh".
		want = []refreshing.SignInProvider{want[2], want[0], want[1]}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("SignInProviders =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("SaveReplaces", func(t *testing.T) {
		st := open(t)
		if err := st.SaveSignInProvider(t.Context(), refreshing.SignInProvider{Config: full, UpdatedAt: at(time.Second)}); err != nil {
			t.Fatal(err)
		}
		changed := refreshing.ProviderConfig{Name: "corp", Type: "google", Issuer: "https://accounts.google.com", ClientID: "other"}
		if err := st.SaveSignInProvider(t.Context(), refreshing.SignInProvider{Config: changed, UpdatedAt: at(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		got, err := st.SignInProviders(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := []refreshing.SignInProvider{{Config: changed, UpdatedAt: at(time.Minute)}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("after a second save: %+v, want %+v", got, want)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		st := open(t)
		for _, name := range []string{"a", "b"} {
			c := full
			c.Name = name
			if err := st.SaveSignInProvider(t.Context(), refreshing.SignInProvider{Config: c, UpdatedAt: at(0)}); err != nil {
				t.Fatal(err)
			}
		}
		u := createUser(t, st, "alice")
		if err := st.AddIdentity(t.Context(), refreshing.Identity{Provider: "a", Subject: "s", UserID: u.ID, CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSignInProvider(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSignInProvider(t.Context(), "a"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
		if err := st.DeleteSignInProvider(t.Context(), "A"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("delete of another case: %v, want ErrNotFound", err)
		}
		got, err := st.SignInProviders(t.Context())
		if err != nil || len(got) != 1 || got[0].Config.Name != "b" {
			t.Fatalf("after delete: %+v, %v", got, err)
		}
		if _, err := st.IdentityBySubject(t.Context(), "a", "s"); err != nil {
			t.Fatalf("the identity went with its provider: %v", err)
		}
	})
}
