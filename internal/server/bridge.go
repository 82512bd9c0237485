package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/refreshing/refreshing"
)

// The Strapi bridge (refreshing's bridge.go): the calls of the "refreshing"
// Strapi plugin, authenticated by the shared bridge secret. Without a secret
// configured, every bridge route answers 404, as if it did not exist.

// errBridgeAuth answers a bridge call without the right secret.
var errBridgeAuth = &apiError{http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials"}

// bridge admits only calls that present the bridge secret as a bearer token.
// The comparison is of SHA-256 digests in constant time, so neither the
// secret's content nor its length leaks through timing.
func (s *server) bridge(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.bridgeDigest == nil {
			writeError(w, errNoRoute)
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		d := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(d[:], s.bridgeDigest) != 1 {
			writeError(w, errBridgeAuth)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bridgeUserID reads the {id} of a bridge path.
func bridgeUserID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// handleBridgeCheck serves GET /api/bridge/users/{id}?session=: the user if
// the user and (when given) the session still stand, 401 otherwise.
func (s *server) handleBridgeCheck() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := bridgeUserID(r)
		if !ok {
			s.fail(w, r, refreshing.ErrUnauthenticated)
			return
		}
		u, err := s.svc.BridgeCheck(r.Context(), id, r.URL.Query().Get("session"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, userOf(u))
	})
}

// handleBridgeCreateUser serves POST /api/bridge/users: a user created in
// Strapi's admin, with Strapi's password hash.
func (s *server) handleBridgeCreateUser() http.Handler {
	type request struct {
		DocumentID   string `json:"documentId"`
		Username     string `json:"username"`
		Email        string `json:"email"`
		PasswordHash string `json:"passwordHash"`
		Confirmed    bool   `json:"confirmed"`
		Blocked      bool   `json:"blocked"`
		Provider     string `json:"provider"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			s.fail(w, r, err)
			return
		}
		u, err := s.svc.BridgeCreateUser(r.Context(), refreshing.BridgeUser(req))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, userOf(u))
	})
}

// handleBridgeUpdateUser serves PATCH /api/bridge/users/{id}: a change made
// in Strapi's admin; a new password or a block ends every session.
func (s *server) handleBridgeUpdateUser() http.Handler {
	type request struct {
		Username     *string `json:"username"`
		Email        *string `json:"email"`
		PasswordHash *string `json:"passwordHash"`
		Confirmed    *bool   `json:"confirmed"`
		Blocked      *bool   `json:"blocked"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := bridgeUserID(r)
		if !ok {
			s.fail(w, r, refreshing.ErrNotFound)
			return
		}
		var req request
		if err := decode(w, r, &req, false); err != nil {
			s.fail(w, r, err)
			return
		}
		u, err := s.svc.BridgeUpdateUser(r.Context(), id, refreshing.BridgeChange(req))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, userOf(u))
	})
}

// handleBridgeDeleteUser serves DELETE /api/bridge/users/{id}: the user and
// every session of theirs.
func (s *server) handleBridgeDeleteUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := bridgeUserID(r)
		if !ok {
			s.fail(w, r, refreshing.ErrNotFound)
			return
		}
		if err := s.svc.DeleteUser(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleBridgeSignIn serves POST /api/bridge/sign-in: a sign-in the Strapi
// app verified with one of its own providers; the answer is the local
// login's ({jwt, refreshToken, user}, the cookie in cookie mode). The plugin
// passes on the client's User-Agent, X-Forwarded-For and cookie-mode header.
func (s *server) handleBridgeSignIn() http.Handler {
	type request struct {
		Provider   string `json:"provider"`
		UserID     int64  `json:"id"`
		DocumentID string `json:"documentId"`
		Username   string `json:"username"`
		Email      string `json:"email"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			s.fail(w, r, err)
			return
		}
		if req.UserID < 0 {
			s.fail(w, r, refreshing.Invalid("id", "id must be a user id, or 0 for a Strapi user not linked yet"))
			return
		}
		g, err := s.svc.BridgeProviderSignIn(r.Context(), refreshing.BridgeSignIn(req), s.clientInfo(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		s.writeGrant(w, r, g)
	})
}
