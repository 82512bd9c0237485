// Command resource-server is an API that accepts Refreshing's access tokens,
// in a few lines: client.Verifier checks each token offline against the
// issuer's published keys, and its Middleware turns away requests without a
// valid one (401) and hands the caller's claims to the handler.
//
//	go run ./examples/resource-server --issuer http://localhost:1337
//	curl -H "Authorization: Bearer $JWT" localhost:8080/hello
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/refreshing/refreshing/client"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "listen address")
	issuer := flag.String("issuer", "http://localhost:1337", "Refreshing's URL, as the tokens' iss claim says")
	flag.Parse()
	log.Printf("serving on %s, trusting access tokens issued by %s", *addr, *issuer)
	srv := &http.Server{Addr: *addr, Handler: newHandler(*issuer), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newHandler returns the API: GET /hello, for signed-in users only.
func newHandler(issuer string) http.Handler {
	verifier := client.NewVerifier(issuer) // keys from issuer + "/.well-known/jwks.json"
	verifier.Leeway = 5 * time.Second      // this server's clock is not the issuer's
	mux := http.NewServeMux()
	mux.Handle("GET /hello", verifier.Middleware(http.HandlerFunc(hello)))
	return mux
}

func hello(w http.ResponseWriter, r *http.Request) {
	c, _ := client.ClaimsFrom(r.Context())
	fmt.Fprintf(w, "hello, user %d (session %s); your access token expires at %s\n",
		c.UserID, c.SessionID, c.ExpiresAt.Format(time.RFC3339))
}
