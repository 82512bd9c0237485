package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop"
)

// DPoP (RFC 9449) at the token endpoint: a request with a DPoP header gets
// an access token bound to the proof's key (cnf.jkt, token_type DPoP), and
// a public client's new session is bound to it too (see
// refreshing.ClientInfo.DPoPJKT). A request without the header costs
// nothing more than the header lookup.

// dpopReplayMax bounds this instance's replay cache (shared through Redis
// too when the limiter is on Redis, see onceRecorder): proofs are remembered for
// dpop.Past+dpop.Future (65 s), so this is about 1,500 proofs a second
// before the endpoint refuses proofs (fails closed) rather than forget one.
const dpopReplayMax = 100_000

// invalidDPoPProof is RFC 9449 section 7.1's error for a refused proof.
func invalidDPoPProof(desc string) error {
	return &oauthError{http.StatusBadRequest, "invalid_dpop_proof", desc}
}

// dpopProof checks r's DPoP header, if any, for the token endpoint and
// returns the thumbprint of its key ("" without a header). A client
// configured to require DPoP must send one. The answer to a request with a
// DPoP header carries the current nonce (sendNonce, called before).
func (s *server) dpopProof(r *http.Request, c *refreshing.Client) (string, error) {
	vs := r.Header.Values("DPoP")
	switch {
	case len(vs) == 0:
		if c != nil && c.RequireDPoP {
			return "", invalidDPoPProof("This client must send a DPoP proof")
		}
		return "", nil
	case len(vs) > 1:
		return "", invalidDPoPProof("Send one DPoP header")
	}
	want, err := s.dpopWant(r)
	if err != nil {
		return "", err
	}
	p, err := s.checkProof(r, vs[0], want)
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		return "", &oauthError{http.StatusBadRequest, "use_dpop_nonce", "Send a DPoP proof with the nonce of the DPoP-Nonce header"}
	case errors.Is(err, dpop.ErrInvalidProof):
		return "", invalidDPoPProof("The DPoP proof is invalid: " + proofProblem(err))
	case err != nil:
		return "", err
	}
	return p.JKT, nil
}

// proofProblem is what err, a refusal of dpop.Check, says is wrong.
func proofProblem(err error) string {
	msg := err.Error()
	for _, prefix := range []string{dpop.ErrInvalidProof.Error() + ": ", dpop.ErrUseNonce.Error() + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

// dpopWant is what a proof sent with r must match, but for the access
// token at a resource: r's method and URL (requestURLs), and the nonce the
// settings may require (dpopNonceRequired).
func (s *server) dpopWant(r *http.Request) (dpop.Want, error) {
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		return dpop.Want{}, err
	}
	ns, err := s.nonces(r.Context())
	if err != nil {
		return dpop.Want{}, err
	}
	return dpop.Want{Method: r.Method, URLs: s.requestURLs(r), Nonces: ns, NonceRequired: st.DPoPNonceRequired}, nil
}

// checkProof checks proof against want (dpop.Check, with this instance's
// replay cache) and then, when the limiter is on Redis, records its jti
// there, so that a proof used at one instance is refused at every other.
func (s *server) checkProof(r *http.Request, proof string, want dpop.Want) (*dpop.Proof, error) {
	p, err := dpop.Check(proof, want, s.svc.Now(), s.dpopReplay)
	if err != nil {
		return nil, err
	}
	if o, ok := s.limiter.(onceRecorder); ok {
		// If Redis does not answer, this instance's cache (checked above)
		// is all there is, as for the rate limits.
		fresh, err := o.Once(r.Context(), "dpop|"+p.JKT+"|"+p.JTI, dpop.Past+dpop.Future)
		switch {
		case err != nil:
			s.log.WarnContext(r.Context(), "DPoP replay check degraded to this instance", "request_id", requestIDFrom(r.Context()), "err", err)
		case !fresh:
			return nil, fmt.Errorf("%w: jti was already used", dpop.ErrInvalidProof)
		}
	}
	return p, nil
}

// sendNonce puts the current DPoP nonce in the DPoP-Nonce header of the
// answer to r, a request with a DPoP proof, whatever the answer will be
// (RFC 9449 section 8: the server may send a new nonce with any answer).
func (s *server) sendNonce(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nonces(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("DPoP-Nonce", ns.Issue(s.svc.Now()))
	return nil
}

// withNonce wraps the token endpoint: every answer to a request with a
// DPoP proof carries the current nonce, a refusal (429 included) as well
// as tokens.
func (s *server) withNonce(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("DPoP")) > 0 {
			if err := s.sendNonce(w, r); err != nil {
				s.oauthFail(w, r, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// nonces returns the DPoP nonces of this server, under the key every
// instance shares (read from the store once, at the first DPoP request).
func (s *server) nonces(ctx context.Context) (*dpop.Nonces, error) {
	if ns := s.dpopNonces.Load(); ns != nil {
		return ns, nil
	}
	key, err := s.svc.DPoPNonceKey(ctx)
	if err != nil {
		return nil, err
	}
	ns := dpop.NewNonces(key, dpop.NoncePeriod)
	s.dpopNonces.CompareAndSwap(nil, ns)
	return s.dpopNonces.Load(), nil
}

// onceRecorder is a rate limiter that also records one-time keys for every
// instance (ratelimit.Redis): the DPoP replay cache is then shared.
type onceRecorder interface {
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// requestURLs are the URLs a proof's htu may name for r: its path under
// the configured issuer (as the metadata names the token endpoint), and
// the URL the request reached (its Host, with the scheme it came with; both
// schemes when that is not known).
func (s *server) requestURLs(r *http.Request) []string {
	path := r.URL.EscapedPath()
	out := []string{strings.TrimSuffix(s.svc.Issuer(), "/") + path}
	if r.Host == "" {
		return out
	}
	switch sch := s.scheme(r); sch {
	case "":
		out = append(out, "https://"+r.Host+path, "http://"+r.Host+path)
	default:
		out = append(out, sch+"://"+r.Host+path)
	}
	return out
}

// DPoP at this server's own resources (RFC 9449 section 7): every endpoint
// authenticated by an access token (bearer, in client.go) accepts
// "Authorization: DPoP <token>" with a DPoP proof of the key the token is
// bound to, and refuses a bound token sent as a bearer token. The plain
// bearer path pays one comparison for it (the token's cnf.jkt is empty).

// dpopChallenge refuses an access token or its DPoP proof at a resource: 401
// with a DPoP challenge in WWW-Authenticate (RFC 9449 section 7.1) and the
// Strapi error shape (fail). It is ErrUnauthenticated, as every refusal of
// an access token is.
type dpopChallenge struct {
	code  string // invalid_token, invalid_dpop_proof or use_dpop_nonce
	desc  string // for the challenge and the body's message
	nonce string // the nonce to use, for use_dpop_nonce
}

// Error implements error.
func (e *dpopChallenge) Error() string { return e.code + ": " + e.desc }

// Unwrap makes a dpopChallenge ErrUnauthenticated.
func (e *dpopChallenge) Unwrap() error { return refreshing.ErrUnauthenticated }

// dpopAlgs is the algs parameter of the challenge: the algorithms a proof may use.
var dpopAlgs = strings.Join(dpop.AlgNames(), " ")

// challenge is e's WWW-Authenticate value.
func (e *dpopChallenge) challenge() string {
	return `DPoP error="` + e.code + `", error_description="` + e.desc + `", algs="` + dpopAlgs + `"`
}

// write answers e: its challenge, the nonce for use_dpop_nonce, and 401
// UnauthorizedError in Strapi's shape.
func (e *dpopChallenge) write(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", e.challenge())
	if e.nonce != "" {
		w.Header().Set("DPoP-Nonce", e.nonce)
	}
	writeError(w, &apiError{http.StatusUnauthorized, "UnauthorizedError", e.desc})
}

// errBoundAsBearer refuses a DPoP-bound access token sent as a bearer
// token: whoever holds it must also prove they hold its key (RFC 9449
// section 7.2).
var errBoundAsBearer = &dpopChallenge{code: "invalid_token", desc: "This access token is bound to a DPoP key: send it as Authorization: DPoP, with a DPoP proof"}

// dpopPrincipal authenticates r, which carries token with the DPoP scheme:
// a valid access token bound to a key, and one DPoP proof of that key for
// this request (method and URL), with ath the token's hash, a jti not seen
// before, and the nonce the settings may require.
func (s *server) dpopPrincipal(r *http.Request, token string) (*refreshing.Principal, error) {
	p, err := s.svc.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, refreshing.ErrUnauthenticated):
		return nil, &dpopChallenge{code: "invalid_token", desc: "The access token is invalid or expired"}
	case err != nil:
		return nil, err
	case p.Claims.JKT == "":
		return nil, &dpopChallenge{code: "invalid_token", desc: "This access token is not bound to a DPoP key: send it as a bearer token"}
	}
	vs := r.Header.Values("DPoP")
	if len(vs) != 1 {
		return nil, &dpopChallenge{code: "invalid_dpop_proof", desc: "Send one DPoP proof with a DPoP access token"}
	}
	want, err := s.dpopWant(r)
	if err != nil {
		return nil, err
	}
	want.AccessToken, want.JKT = token, p.Claims.JKT
	_, err = s.checkProof(r, vs[0], want)
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		return nil, &dpopChallenge{code: "use_dpop_nonce", desc: "Send a DPoP proof with the nonce of the DPoP-Nonce header", nonce: want.Nonces.Issue(s.svc.Now())}
	case errors.Is(err, dpop.ErrInvalidProof):
		return nil, &dpopChallenge{code: "invalid_dpop_proof", desc: "The DPoP proof is invalid: " + proofProblem(err)}
	case err != nil:
		return nil, err
	}
	return p, nil
}
