package server

import (
	"context"
	"net/http"

	"github.com/refreshing/refreshing"
)

// principalKey carries the caller permit authenticated, so that the handler
// does not verify the same bearer token twice.
type principalKey struct{}

// permit wraps h, which serves action (refreshing.Actions), with its
// permission check, as Strapi's Users & Permissions does per role:
//   - an authenticated action needs a valid access token (401 otherwise:
//     bearer, or DPoP with its proof, see bearer) and is checked against
//     the user's role;
//   - any other action is checked against the public role, except that a
//     valid bearer token sent to logout makes the user's role the one checked.
//
// A refused caller gets 403 ForbiddenError. The defaults (refreshing.DefaultRoles)
// allow every endpoint exactly as the contract describes.
func (s *server) permit(action string, h http.Handler) http.Handler {
	a, ok := refreshing.ActionByName(action)
	if !ok {
		panic("permit: unknown action " + action)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *refreshing.Principal
		token, dpopScheme := accessToken(r)
		if dpopScheme && token != "" {
			// Every answer to a DPoP request carries the current nonce
			// (RFC 9449 section 9), so a client keeps a valid one.
			if err := s.sendNonce(w, r); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if a.Authenticated || (action == refreshing.ActionLogout && token != "") {
			var err error
			p, err = s.bearer(r)
			switch {
			case err == nil:
				r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			case a.Authenticated:
				s.fail(w, r, err)
				return
			}
		}
		if err := s.svc.Authorize(r.Context(), p, action); err != nil {
			s.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// permitted returns the caller permit already authenticated for r, if any.
func permitted(r *http.Request) (*refreshing.Principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(*refreshing.Principal)
	return p, ok
}
