package server

import (
	"context"
	"errors"
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
// configured to require DPoP must send one.
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
	p, err := dpop.Check(vs[0], http.MethodPost, s.tokenEndpointURLs(r), s.svc.Now(), s.dpopReplay)
	if err != nil {
		if errors.Is(err, dpop.ErrInvalidProof) {
			return "", invalidDPoPProof("The DPoP proof is invalid: " + strings.TrimPrefix(err.Error(), dpop.ErrInvalidProof.Error()+": "))
		}
		return "", err
	}
	if o, ok := s.limiter.(onceRecorder); ok {
		// Shared with the other instances: a proof used at one is refused
		// at every other. If Redis does not answer, this instance's cache
		// (checked above) is all there is, as for the rate limits.
		fresh, err := o.Once(r.Context(), "dpop|"+p.JKT+"|"+p.JTI, dpop.Past+dpop.Future)
		switch {
		case err != nil:
			s.log.WarnContext(r.Context(), "DPoP replay check degraded to this instance", "request_id", requestIDFrom(r.Context()), "err", err)
		case !fresh:
			return "", invalidDPoPProof("The DPoP proof is invalid: jti was already used")
		}
	}
	return p.JKT, nil
}

// onceRecorder is a rate limiter that also records one-time keys for every
// instance (ratelimit.Redis): the DPoP replay cache is then shared.
type onceRecorder interface {
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// tokenEndpointURLs are the URLs a proof's htu may name: the token endpoint
// under the configured issuer (as the metadata advertises it), and the URL
// the request reached (its Host, with the scheme it came with; both schemes
// when that is not known).
func (s *server) tokenEndpointURLs(r *http.Request) []string {
	out := []string{strings.TrimSuffix(s.svc.Issuer(), "/") + "/oauth/token"}
	if r.Host == "" {
		return out
	}
	switch sch := s.scheme(r); sch {
	case "":
		out = append(out, "https://"+r.Host+"/oauth/token", "http://"+r.Host+"/oauth/token")
	default:
		out = append(out, sch+"://"+r.Host+"/oauth/token")
	}
	return out
}
