package clienttest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/client"
)

// exampleRefreshing runs a Refreshing for an example, with the user ada and
// the first-party client "cli", which may use the password grant.
func exampleRefreshing() (issuer string, stop func()) {
	dir := mkdirTemp()
	s, err := startServer(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.svc.CreateUser(ctx, "ada", "ada@example.com", "correct horse"); err != nil {
		log.Fatal(err)
	}
	if _, _, err := s.svc.CreateClient(ctx, refreshing.ClientSpec{ID: "cli", Grants: []string{refreshing.GrantPassword}}); err != nil {
		log.Fatal(err)
	}
	return s.URL, func() { s.Close(); os.RemoveAll(dir) }
}

// A resource server admits only requests with a valid access token, and
// finds the caller in the request's context.
func Example_verifierMiddleware() {
	issuer, stop := exampleRefreshing()
	defer stop()

	verifier := client.NewVerifier(issuer) // keys from issuer + /.well-known/jwks.json
	api := http.NewServeMux()
	api.Handle("GET /hello", verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := client.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello, user %d", claims.UserID)
	})))
	rs := httptest.NewServer(api)
	defer rs.Close()

	// Without a token: 401.
	res, err := http.Get(rs.URL + "/hello")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate") != "")

	// With one, through a client.Transport.
	tr := &client.Transport{TokenURL: issuer + "/oauth/token", ClientID: "cli", Store: client.NewMemoryStore(nil)}
	if err := tr.SignIn(context.Background(), "ada", "correct horse"); err != nil {
		log.Fatal(err)
	}
	res, err = tr.Client().Get(rs.URL + "/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))
	// Output:
	// 401 true
	// 200 hello, user 1
}

// A command-line program signs in once; its token, kept in a file, is
// refreshed (and saved again) by the Transport as it expires, across runs.
func Example_transport() {
	issuer, stop := exampleRefreshing()
	defer stop()
	dir := mkdirTemp()
	defer os.RemoveAll(dir)

	tr := &client.Transport{
		TokenURL: issuer + "/oauth/token",
		ClientID: "cli",
		Store:    client.FileStore{Path: filepath.Join(dir, "token.json")},
	}
	ctx := context.Background()
	if tok, _ := tr.Store.Load(ctx); tok == nil {
		if err := tr.SignIn(ctx, "ada", "correct horse"); err != nil {
			log.Fatal(err)
		}
	}
	// Any number of goroutines may share tr.Client(); at most one refresh
	// is ever in flight.
	res, err := tr.Client().Get(issuer + "/api/users/me")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output: 200
}

// Token gives the current access token for other uses than HTTP requests
// (a WebSocket handshake, a gRPC call), refreshed if it is about to expire.
func Example_transportToken() {
	issuer, stop := exampleRefreshing()
	defer stop()
	tr := &client.Transport{TokenURL: issuer + "/oauth/token", ClientID: "cli", Store: client.NewMemoryStore(nil)}
	ctx := context.Background()
	if _, err := tr.Token(ctx); err != nil {
		fmt.Println(err)
	}
	if err := tr.SignIn(ctx, "ada", "correct horse"); err != nil {
		log.Fatal(err)
	}
	tok, err := tr.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Expiry.Sub(tok.IssuedAt))
	// Output:
	// signed out: sign in again
	// 15m0s
}

// With a DPoP key the tokens are bound to it (RFC 9449): the key, kept in a
// file beside the tokens, goes with every token request and every request
// the Transport sends, and a copy of the tokens is useless without it.
func ExampleTransport_dPoP() {
	issuer, stop := exampleRefreshing()
	defer stop()
	dir := mkdirTemp()
	defer os.RemoveAll(dir)

	key, err := client.FileDPoPKey(filepath.Join(dir, "dpop.pem"))
	if err != nil {
		log.Fatal(err)
	}
	tr := &client.Transport{
		TokenURL: issuer + "/oauth/token",
		ClientID: "cli",
		Store:    client.FileStore{Path: filepath.Join(dir, "token.json")},
		DPoP:     key,
	}
	ctx := context.Background()
	if err := tr.SignIn(ctx, "ada", "correct horse"); err != nil {
		log.Fatal(err)
	}
	tok, _ := tr.Token(ctx)
	fmt.Println(tok.TokenType)
	res, err := tr.Client().Get(issuer + "/api/users/me") // Authorization: DPoP, with a proof
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output:
	// DPoP
	// 200
}
