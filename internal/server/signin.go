package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/idp"
)

// Sign-in through external providers, on Strapi's paths (docs/oidc.md):
// GET /api/connect/{provider} sends the browser to the provider with a
// signed state cookie; the provider sends it back to GET
// /api/auth/{provider}/callback, which verifies everything (internal/idp),
// asks the Service which account signs in, and answers like the local
// login, or redirects to an allowed front-end page with the tokens in the
// URL fragment.

// signInCookie carries the sealed idp.State; its path is the callback's only.
const signInCookie = "refreshing_signin"

func callbackPath(name string) string { return "/api/auth/" + name + "/callback" }

// provider returns the provider the path names, as configured now (the
// environment's, or one saved at run time), or ErrUnknownProvider.
func (s *server) provider(r *http.Request) (*idp.Provider, error) {
	c, err := s.svc.SignInProvider(r.Context(), r.PathValue("provider"))
	if err != nil {
		return nil, err
	}
	return s.providers.Provider(c), nil
}

// callbackURL is the redirect_uri registered at the provider: configured,
// else this request's scheme and host.
func (s *server) callbackURL(r *http.Request, p *idp.Provider) string {
	if c := p.Config().CallbackURL; c != "" {
		return c
	}
	scheme := s.scheme(r)
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + r.Host + callbackPath(p.Config().Name)
}

// checkProvider reads a just-saved provider's discovery document (at most
// 5 s), so that whoever saved it hears at once if its issuer is wrong or
// down; the failure is logged, and returned for the answer to say.
func (s *server) checkProvider(r *http.Request, c refreshing.ProviderConfig) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	err := s.providers.Provider(c).Check(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "sign-in provider saved, but its discovery document cannot be read",
			"request_id", requestIDFrom(r.Context()), "provider", c.Name, "err", err)
	}
	return err
}

// handleConnect serves GET /api/connect/{provider}[?redirect=URL].
func (s *server) handleConnect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.provider(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		redirect := r.URL.Query().Get("redirect")
		if redirect != "" && !p.AllowedRedirect(redirect) {
			s.fail(w, r, refreshing.Invalid("redirect", "redirect is not one of this provider's allowed front-end URLs"))
			return
		}
		key, err := s.svc.SignInStateKey(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		st := idp.NewState(p.Config().Name, redirect, s.svc.Now())
		target, err := p.AuthCodeURL(r.Context(), s.callbackURL(r, p), st.State, st.Nonce, st.Verifier)
		if err != nil {
			s.fail(w, r, errors.Join(idp.ErrDiscovery, err))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: idp.Seal(key, st), Path: callbackPath(p.Config().Name),
			MaxAge: int(idp.StateTTL.Seconds()), HttpOnly: true, Secure: s.scheme(r) == "https", SameSite: http.SameSiteLaxMode})
		w.Header().Set("Cache-Control", "no-store")
		redirectTo(w, target)
	})
}

// handleProviderCallback serves GET /api/auth/{provider}/callback?code&state.
func (s *server) handleProviderCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.provider(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		// The state is single-use: whatever happens next, the browser forgets it.
		c, _ := r.Cookie(signInCookie)
		http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: callbackPath(p.Config().Name),
			MaxAge: -1, HttpOnly: true, Secure: s.scheme(r) == "https", SameSite: http.SameSiteLaxMode})
		if c == nil {
			s.fail(w, r, refreshing.ErrProviderState)
			return
		}
		key, err := s.svc.SignInStateKey(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		q := r.URL.Query()
		st, err := idp.Open(key, c.Value, p.Config().Name, q.Get("state"), s.svc.Now())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if q.Get("error") != "" || q.Get("code") == "" {
			// The user declined, or the provider refused the request.
			s.fail(w, r, refreshing.ErrProviderDenied)
			return
		}
		id, err := p.Exchange(r.Context(), s.callbackURL(r, p), q.Get("code"), st.Verifier, st.Nonce)
		if err != nil {
			s.log.InfoContext(r.Context(), "provider sign-in refused", "request_id", requestIDFrom(r.Context()),
				"provider", p.Config().Name, "err", err)
			s.fail(w, r, err)
			return
		}
		if st.Redirect != "" && p.Config().RedirectWith == "code" {
			// Back to the front end with a one-time code in the fragment,
			// which the page redeems at POST /api/auth/code.
			code, err := s.svc.ProviderSignInCode(r.Context(), id, s.clientInfo(r))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			v := url.Values{"code": {code}, "provider": {p.Config().Name}}
			redirectTo(w, strings.TrimSuffix(st.Redirect, "#")+"#"+v.Encode())
			return
		}
		g, err := s.svc.ProviderSignIn(r.Context(), id, s.clientInfo(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if st.Redirect == "" {
			s.writeGrant(w, r, g)
			return
		}
		// Back to the front end, the tokens in the fragment (which
		// browsers send to no server); in cookie mode the refresh token
		// goes to the cookie instead.
		out := grantOf(g)
		if cookie, err := s.cookieMode(r); err != nil {
			s.fail(w, r, err)
			return
		} else if cookie && out.RefreshToken != "" {
			setRefreshCookie(w, out.RefreshToken, g.Session, s.svc.Now(), false) // a top-level navigation: first-party
			out.RefreshToken = ""
		}
		v := url.Values{}
		v.Set("jwt", out.JWT)
		if out.RefreshToken != "" {
			v.Set("refreshToken", out.RefreshToken)
		}
		v.Set("provider", p.Config().Name)
		redirectTo(w, strings.TrimSuffix(st.Redirect, "#")+"#"+v.Encode())
	})
}

// handleSignInCode serves POST /api/auth/code {code}: the one-time code a
// provider sign-in ended with on a front-end page, for the local login's
// answer. A used, late or unknown code is a 400 and issues nothing.
func (s *server) handleSignInCode() http.Handler {
	type request struct {
		Code string `json:"code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			s.fail(w, r, err)
			return
		}
		if req.Code == "" {
			s.fail(w, r, refreshing.Invalid("code", "code is a required field"))
			return
		}
		g, err := s.svc.RedeemSignInCode(r.Context(), req.Code, s.clientInfo(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		s.writeGrant(w, r, g)
	})
}

// redirectTo answers 302 to target without a body (http.Redirect would echo
// the URL, tokens included, in an HTML body).
func redirectTo(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}
