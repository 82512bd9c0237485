package server

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/refreshing/refreshing"
)

// clientInfo describes the caller for the session record: its User-Agent and
// its IP address (see clientIP).
func (s *server) clientInfo(r *http.Request) refreshing.ClientInfo {
	return refreshing.ClientInfo{UserAgent: r.UserAgent(), IP: s.clientIP(r)}
}

// clientIP returns the socket peer's address, unless the peer is a trusted
// proxy: then it walks X-Forwarded-For from the right (the entries trusted
// proxies appended) and returns the first address that is not a trusted
// proxy's. Entries left of that one were written by the client and prove
// nothing. An unparsable entry stops the walk at the last proxy seen.
func (s *server) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	addr := peer.Addr().Unmap()
	if !s.isTrusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break
		}
		addr = hop
		if !s.isTrusted(hop) {
			break
		}
	}
	return addr.String()
}

// scheme returns the scheme the client reached this server with, "https"
// or "http", or "" when it is not known. A TLS connection says https.
// Behind a trusted proxy (see clientIP) X-Forwarded-Proto says, and its
// last entry counts: the one the proxy that talks to this server set or
// appended. A plain-HTTP request from any other peer may still have come
// through a TLS-terminating proxy that is not configured as trusted, so its
// scheme is unknown rather than http.
func (s *server) scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.isTrusted(peer.Addr().Unmap()) {
		return ""
	}
	vs := r.Header.Values("X-Forwarded-Proto")
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "https", "http":
		return v
	}
	return ""
}

// parseHop parses one X-Forwarded-For entry: an address, possibly with a port.
func parseHop(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// isTrusted reports whether a is in one of the trusted proxy networks.
func (s *server) isTrusted(a netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// bearer returns the caller behind the request's access token, or an
// error that is refreshing.ErrUnauthenticated when there is none or it is
// not valid. The token comes as "Authorization: Bearer <token>", or as
// "Authorization: DPoP <token>" with a DPoP proof when it is bound to a key
// (dpop.go); a bound token sent as a bearer token is refused.
func (s *server) bearer(r *http.Request) (*refreshing.Principal, error) {
	if p, ok := permitted(r); ok {
		return p, nil
	}
	token, dpopScheme := accessToken(r)
	switch {
	case token == "":
		return nil, refreshing.ErrUnauthenticated
	case dpopScheme:
		return s.dpopPrincipal(r, token)
	}
	p, err := s.svc.Authenticate(r.Context(), token)
	if err == nil && p.Claims.JKT != "" {
		return nil, errBoundAsBearer
	}
	return p, err
}

// accessToken extracts the token of an "Authorization: Bearer <token>" or
// "Authorization: DPoP <token>" header, and says which scheme it came
// with; "" when there is neither.
func accessToken(r *http.Request) (token string, dpopScheme bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return "", false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
	case strings.EqualFold(scheme, "DPoP"):
		dpopScheme = true
	default:
		return "", false
	}
	return strings.TrimSpace(token), dpopScheme
}
