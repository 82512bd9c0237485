package bridge_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/bridge"
)

const secret = "bridge-secret-for-tests-0123456789abcdef"

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct{ url, secret string }{
		{"http://strapi:1337", "short"},
		{"ftp://strapi", secret},
		{"strapi:1337", secret},
		{"http://strapi:1337/?x=1", secret},
		{"", secret},
	} {
		_, err := bridge.New(c.url, c.secret, nil)
		if err == nil {
			t.Errorf("New(%q, %d-byte secret) = nil error", c.url, len(c.secret))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error names the secret: %v", err)
		}
	}
}

func TestSaveProfileOutcomes(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   func(error) bool
	}{
		{"OK", http.StatusOK, `{"id":1}`, func(err error) bool { return err == nil }},
		{"ErrTaken", http.StatusConflict, `{}`, func(err error) bool { return errors.Is(err, refreshing.ErrTaken) }},
		{"FieldError", http.StatusBadRequest, `{"error":{"message":"bad","details":{"errors":[{"path":["shoeSize"],"message":"Invalid parameters: shoeSize"}]}}}`,
			func(err error) bool {
				var fe *refreshing.FieldError
				return errors.As(err, &fe) && fe.Field == "shoeSize"
			}},
		{"WrongSecret", http.StatusUnauthorized, `{}`, func(err error) bool { return errors.Is(err, refreshing.ErrProfileSync) }},
		{"NoPlugin", http.StatusNotFound, `{}`, func(err error) bool { return errors.Is(err, refreshing.ErrProfileSync) }},
		{"Fault", http.StatusInternalServerError, `{}`, func(err error) bool { return errors.Is(err, refreshing.ErrProfileSync) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != bridge.ProfilesPath || r.Header.Get("Authorization") != "Bearer "+secret {
					t.Errorf("call to %s with the wrong credentials", r.URL.Path)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			bc, err := bridge.New(srv.URL+"/", secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = bc.SaveProfile(context.Background(), refreshing.Profile{UserID: 1, Username: "u", Email: "u@example.com"})
			if !c.want(err) {
				t.Fatalf("SaveProfile = %v", err)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("the error names the secret: %v", err)
			}
		})
	}
}
