package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// Cookie mode (the contract's Strapi 5 section): for browser apps the
// refresh token travels in an HttpOnly cookie that page scripts cannot read,
// instead of in the JSON body. A client asks for it with the header
// x-strapi-refresh-cookie: httpOnly, or the CookieMode setting turns it on
// for everyone. /api/auth/refresh and /api/auth/logout read the cookie, and
// logout clears it. Because a browser attaches the cookie by itself, a call
// authenticated by it must come from a page of this origin (or of one the
// AllowedOrigins setting names): otherwise 403 ForbiddenError.

// refreshCookie is Strapi 5's cookie name; its path covers /api/auth only.
const (
	refreshCookie     = "strapi_up_refresh"
	refreshCookiePath = "/api/auth"
	// maxCookieAge is what browsers keep a cookie for at most (400 days),
	// used for sessions that never expire.
	maxCookieAge = 400 * 24 * time.Hour
)

// cookieMode reports whether the answer to r carries the refresh token in
// the cookie rather than the body.
func (s *server) cookieMode(r *http.Request) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("x-strapi-refresh-cookie")), "httpOnly") {
		return true, nil
	}
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		return false, err
	}
	return st.CookieMode, nil
}

// setRefreshCookie puts token in the refresh cookie, for as long as the
// session lives. crossSite (the request came from a page of a listed other
// origin: see server.crossOrigin) makes it SameSite=None and Partitioned:
// a Lax cookie is never sent on a page's fetch to another site, and a
// partitioned one (CHIPS) is kept apart per top-level site, so it keeps
// working where browsers block unpartitioned third-party cookies, and
// pages of other sites do not send it there. A browser without
// partitioning that allows third-party cookies sends it from any site;
// the Origin check (checkOrigin) is what refuses those requests.
func setRefreshCookie(w http.ResponseWriter, token string, sess *refreshing.Session, now time.Time, crossSite bool) {
	age := maxCookieAge
	if sess != nil && !sess.ExpiresAt.IsZero() {
		age = min(sess.ExpiresAt.Sub(now), maxCookieAge)
	}
	c := &http.Cookie{Name: refreshCookie, Value: token, Path: refreshCookiePath,
		MaxAge: max(int(age.Seconds()), 1), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if crossSite {
		c.SameSite, c.Partitioned = http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
}

// clearRefreshCookie tells the browser to forget the refresh cookie (the
// partitioned one too when crossSite: browsers keep the two apart).
func clearRefreshCookie(w http.ResponseWriter, crossSite bool) {
	c := &http.Cookie{Name: refreshCookie, Value: "", Path: refreshCookiePath,
		MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if crossSite {
		c.SameSite, c.Partitioned = http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
}

// cookieToken returns the refresh token r's cookie carries, "" if none. A
// cookie sent from a page of another origin is refused (ErrForbidden).
func (s *server) cookieToken(r *http.Request) (string, error) {
	c, err := r.Cookie(refreshCookie)
	if err != nil || c.Value == "" {
		return "", nil
	}
	if err := s.checkOrigin(r); err != nil {
		return "", err
	}
	return c.Value, nil
}

// checkOrigin accepts r only if its Origin header names this server (the
// host the request was sent to, with the scheme it was sent with when that
// is known: see scheme) or one of the allowed origins. A request without
// Origin is refused too: browsers send it on every POST, so only a
// non-browser client would omit it, and such a client has no business
// authenticating with a browser's cookie. The refresh cookie itself is
// always Secure (setRefreshCookie), whatever the scheme.
func (s *server) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return refreshing.ErrForbidden
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return refreshing.ErrForbidden
	}
	if strings.EqualFold(u.Host, r.Host) {
		// http://host and https://host are different origins: a page
		// served over plain HTTP, which anyone on the path can rewrite,
		// is not this HTTPS server's.
		if scheme := s.scheme(r); scheme == "" || strings.EqualFold(u.Scheme, scheme) {
			return nil
		}
	}
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		return err
	}
	allowed, _ := refreshing.ParseOrigins(st.AllowedOrigins)
	for _, a := range allowed {
		if strings.EqualFold(a, strings.TrimSuffix(origin, "/")) {
			return nil
		}
	}
	return refreshing.ErrForbidden
}

// writeGrant answers a login, a registration or a password change: in
// cookie mode the refresh token goes to the cookie and not the body.
func (s *server) writeGrant(w http.ResponseWriter, r *http.Request, g *refreshing.Grant) {
	out := grantOf(g)
	if cookie, err := s.cookieMode(r); err != nil {
		s.fail(w, r, err)
		return
	} else if cookie && out.RefreshToken != "" {
		setRefreshCookie(w, out.RefreshToken, g.Session, s.svc.Now(), s.crossOrigin(r))
		out.RefreshToken = ""
	}
	writeJSON(w, http.StatusOK, out)
}

// refreshExchange serves Strapi 5's exchange: the token from the body or,
// when the body has none, from the cookie. In cookie mode, or when the
// token came from the cookie, the next token goes back in the cookie and
// the body carries only {jwt}.
func (s *server) refreshExchange(w http.ResponseWriter, r *http.Request, token string) {
	fromCookie := false
	if token == "" {
		t, err := s.cookieToken(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		token, fromCookie = t, t != ""
	}
	cookie, err := s.cookieMode(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.svc.Exchange(r.Context(), token, s.clientInfo(r))
	if err != nil {
		if fromCookie && refreshing.ExchangeOutcome(err) != "" {
			clearRefreshCookie(w, s.crossOrigin(r)) // the cookie's token is dead: forget it
		}
		s.fail(w, r, err)
		return
	}
	if cookie || fromCookie {
		setRefreshCookie(w, g.RefreshToken, g.Session, s.svc.Now(), s.crossOrigin(r))
		writeJSON(w, http.StatusOK, struct {
			JWT string `json:"jwt"`
		}{g.AccessToken})
		return
	}
	writeJSON(w, http.StatusOK, tokensJSON{JWT: g.AccessToken, RefreshToken: g.RefreshToken})
}
