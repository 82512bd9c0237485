package server

import "net/http"

// routes registers the whole HTTP surface on mux.
func (s *server) routes(mux *http.ServeMux) {
	// Accounts (users-permissions compatible).
	mux.Handle("POST /api/auth/local/register", s.limit(limitCredential, s.handleRegister()))
	mux.Handle("POST /api/auth/local", s.limit(limitCredential, s.handleLogin()))
	mux.Handle("GET /api/users/me", s.handleMe())
	mux.Handle("POST /api/auth/change-password", s.handleChangePassword())

	// Refresh tokens and sessions (the "refreshing" plugin).
	mux.Handle("POST /api/auth/token/request", s.limit(limitCredential, s.handleTokenRequest()))
	mux.Handle("POST /api/auth/token", s.limit(limitExchange, s.handleToken()))
	mux.Handle("POST /api/auth/revoke", s.handleRevoke())
	mux.Handle("GET /api/users/me/sessions", s.handleSessions())
	mux.Handle("DELETE /api/users/me/sessions/{id}", s.handleDeleteSession())
	mux.Handle("DELETE /api/users/me/sessions", s.handleDeleteSessions())

	// Strapi 5's refresh mode.
	mux.Handle("POST /api/auth/refresh", s.limit(limitExchange, s.handleRefresh()))
	mux.Handle("POST /api/auth/logout", s.handleLogout())

	// Operations.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
}
