package server

import (
	"errors"
	"net/http"

	"github.com/refreshing/refreshing"
)

// The handlers of the Strapi-compatible /api surface. Each decodes its body
// (decode), asks the Service, and writes the answer or returns the error,
// which api answers (fail).

// errAnswered is returned by a handler that has written its answer already
// (a rate limit's 429): api writes nothing more.
var errAnswered = errors.New("answered")

// api makes an /api handler of h, whose error fail answers: the skeleton
// every handler of this surface shares (decode, ask the Service, write).
func (s *server) api(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil && err != errAnswered {
			s.fail(w, r, err)
		}
	})
}

// handleRegister serves POST /api/auth/local/register.
func (s *server) handleRegister() http.Handler {
	type request struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
		DeviceID string `json:"deviceId"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		members, err := decodeMembers(w, r, &req, false)
		if err != nil {
			return err
		}
		if !s.limitIdentifier(w, r, req.Email) {
			return errAnswered
		}
		ci := s.clientInfo(r)
		ci.DeviceID = req.DeviceID
		g, err := s.svc.Register(r.Context(), refreshing.Registration{
			Username: req.Username, Email: req.Email, Password: req.Password, Fields: members,
		}, ci)
		if err != nil {
			return err
		}
		s.writeGrant(w, r, g)
		return nil
	})
}

// handleLogin serves POST /api/auth/local.
func (s *server) handleLogin() http.Handler {
	type request struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
		DeviceID   string `json:"deviceId"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if !s.limitIdentifier(w, r, req.Identifier) {
			return errAnswered
		}
		ci := s.clientInfo(r)
		ci.DeviceID = req.DeviceID
		g, err := s.svc.Login(r.Context(), req.Identifier, req.Password, ci)
		if err != nil {
			return err
		}
		s.writeGrant(w, r, g)
		return nil
	})
}

// handleMe serves GET /api/users/me.
func (s *server) handleMe() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.bearer(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, userOf(p.User))
		return nil
	})
}

// handleChangePassword serves POST /api/auth/change-password.
func (s *server) handleChangePassword() http.Handler {
	type request struct {
		CurrentPassword      string `json:"currentPassword"`
		Password             string `json:"password"`
		PasswordConfirmation string `json:"passwordConfirmation"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		p, ok := s.passwordCaller(w, r, &req)
		if !ok {
			return errAnswered // passwordCaller answered
		}
		g, err := s.svc.ChangePassword(r.Context(), p, refreshing.PasswordChange{
			Current: req.CurrentPassword, New: req.Password, Confirmation: req.PasswordConfirmation,
		}, s.clientInfo(r))
		if err != nil {
			return err
		}
		s.writeGrant(w, r, g)
		return nil
	})
}

// passwordCaller authenticates the caller of a request that checks their
// password (change-password, reauthenticate), decodes its body into req,
// and charges the account's budget, shared with sign-in by email, whichever
// token the caller holds. When it returns false it has answered.
func (s *server) passwordCaller(w http.ResponseWriter, r *http.Request, req any) (*refreshing.Principal, bool) {
	p, err := s.bearer(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if err := decode(w, r, req, false); err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return p, s.limitIdentifier(w, r, p.User.Email)
}

// handleTokenRequest serves POST /api/auth/token/request: a new session for
// these credentials, whatever issue-on-login says.
func (s *server) handleTokenRequest() http.Handler {
	type request struct {
		Identifier  string `json:"identifier"`
		Password    string `json:"password"`
		Description string `json:"description"`
		DeviceID    string `json:"deviceId"`
	}
	type response struct {
		RefreshToken string `json:"refreshToken"`
		// The original plugin's clients read refresh_token.
		LegacyRefreshToken string `json:"refresh_token"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if !s.limitIdentifier(w, r, req.Identifier) {
			return errAnswered
		}
		ci := s.clientInfo(r)
		ci.DeviceID, ci.Description = req.DeviceID, req.Description
		g, err := s.svc.RequestToken(r.Context(), req.Identifier, req.Password, ci)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{RefreshToken: g.RefreshToken, LegacyRefreshToken: g.RefreshToken})
		return nil
	})
}

// handleToken serves POST /api/auth/token, the plugin's exchange. The token
// comes as {token} or, as Strapi 5 spells it, {refreshToken}.
func (s *server) handleToken() http.Handler {
	type request struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refreshToken"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		token := req.Token
		if token == "" {
			token = req.RefreshToken
		}
		s.exchange(w, r, token)
		return nil
	})
}

// handleRefresh serves POST /api/auth/refresh, Strapi 5's exchange. The
// body is optional (in cookie mode the token is in the cookie, see
// cookie.go); without a token the answer is the usual 401.
func (s *server) handleRefresh() http.Handler {
	type request struct {
		RefreshToken string `json:"refreshToken"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		s.refreshExchange(w, r, req.RefreshToken)
		return nil
	})
}

// exchange trades token for {jwt, refreshToken}.
func (s *server) exchange(w http.ResponseWriter, r *http.Request, token string) {
	g, err := s.svc.Exchange(r.Context(), token, s.clientInfo(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokensJSON{JWT: g.AccessToken, RefreshToken: g.RefreshToken})
}

// handleRevoke serves POST /api/auth/revoke. Unknown and already revoked
// tokens answer the same as live ones: nothing is revealed.
func (s *server) handleRevoke() http.Handler {
	type request struct {
		Token string `json:"token"`
	}
	type response struct {
		Revoked bool `json:"revoked"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if err := s.svc.Revoke(r.Context(), req.Token); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{Revoked: true})
		return nil
	})
}

// handleSessions serves GET /api/users/me/sessions.
func (s *server) handleSessions() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.bearer(r)
		if err != nil {
			return err
		}
		list, err := s.svc.Sessions(r.Context(), p)
		if err != nil {
			return err
		}
		out := make([]sessionJSON, 0, len(list))
		for i := range list {
			out = append(out, sessionOf(&list[i], p.SessionID))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// handleDeleteSession serves DELETE /api/users/me/sessions/{id}.
func (s *server) handleDeleteSession() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.bearer(r)
		if err != nil {
			return err
		}
		if err := s.svc.RevokeOwnSession(r.Context(), p, r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleDeleteSessions serves DELETE /api/users/me/sessions?scope=others|all.
func (s *server) handleDeleteSessions() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.bearer(r)
		if err != nil {
			return err
		}
		if _, err := s.svc.RevokeOwnSessions(r.Context(), p, r.URL.Query().Get("scope")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleLogout serves POST /api/auth/logout (Strapi 5). The caller is named
// by a bearer access token or by {refreshToken}; an access token that no
// longer verifies (it has typically expired by logout time) gives way to the
// refresh token when one is given.
func (s *server) handleLogout() http.Handler {
	type request struct {
		RefreshToken string `json:"refreshToken"`
		DeviceID     string `json:"deviceId"`
		Scope        string `json:"scope"`
	}
	type response struct {
		OK bool `json:"ok"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		if req.Scope != "" && req.Scope != refreshing.ScopeAll {
			return refreshing.Invalid("scope", `scope must be "all" when given`)
		}
		token, _ := accessToken(r)
		hasBearer := token != "" // Bearer, or DPoP
		_, cookieErr := r.Cookie(refreshCookie)
		if req.RefreshToken == "" && !hasBearer {
			t, err := s.cookieToken(r) // cookie mode: the token is in the cookie
			if err != nil {
				return err
			}
			req.RefreshToken = t
		}
		l := refreshing.Logout{RefreshToken: req.RefreshToken, DeviceID: req.DeviceID, All: req.Scope == refreshing.ScopeAll}
		if hasBearer {
			p, err := s.bearer(r)
			switch {
			case err == nil:
				l.Principal = p
			case !errors.Is(err, refreshing.ErrUnauthenticated) || req.RefreshToken == "":
				return err
			}
		}
		if err := s.svc.Logout(r.Context(), l); err != nil {
			if cookieErr == nil && errors.Is(err, refreshing.ErrInvalidToken) {
				clearRefreshCookie(w, s.crossOrigin(r)) // the cookie's token is dead: forget it
			}
			return err
		}
		if cookieErr == nil {
			clearRefreshCookie(w, s.crossOrigin(r))
		}
		writeJSON(w, http.StatusOK, response{OK: true})
		return nil
	})
}
