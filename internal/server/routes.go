package server

import (
	"net/http"

	"github.com/refreshing/refreshing"
)

// routes registers the whole HTTP surface on mux.
func (s *server) routes(mux *http.ServeMux) {
	// Accounts (users-permissions compatible).
	mux.Handle("POST /api/auth/local/register", s.limit(limitCredential, s.permit(refreshing.ActionRegister, s.handleRegister())))
	mux.Handle("POST /api/auth/local", s.limit(limitCredential, s.permit(refreshing.ActionLogin, s.handleLogin())))
	mux.Handle("GET /api/users/me", s.permit(refreshing.ActionMe, s.handleMe()))
	mux.Handle("POST /api/auth/change-password", s.limit(limitCredential, s.permit(refreshing.ActionChangePassword, s.handleChangePassword())))

	// Refresh tokens and sessions (the "refreshing" plugin).
	mux.Handle("POST /api/auth/token/request", s.limit(limitCredential, s.permit(refreshing.ActionTokenRequest, s.handleTokenRequest())))
	mux.Handle("POST /api/auth/token", s.limit(limitExchange, s.permit(refreshing.ActionTokenExchange, s.handleToken())))
	mux.Handle("POST /api/auth/revoke", s.permit(refreshing.ActionTokenRevoke, s.handleRevoke()))
	mux.Handle("GET /api/users/me/sessions", s.permit(refreshing.ActionSessionsIndex, s.handleSessions()))
	mux.Handle("DELETE /api/users/me/sessions/{id}", s.permit(refreshing.ActionSessionDestroy, s.handleDeleteSession()))
	mux.Handle("DELETE /api/users/me/sessions", s.permit(refreshing.ActionSessionsPurge, s.handleDeleteSessions()))

	// Strapi 5's refresh mode.
	mux.Handle("POST /api/auth/refresh", s.limit(limitExchange, s.permit(refreshing.ActionRefresh, s.handleRefresh())))
	mux.Handle("POST /api/auth/logout", s.permit(refreshing.ActionLogout, s.handleLogout()))

	// OAuth 2.0 (oauth.go) and its discovery documents (wellknown.go).
	mux.Handle("POST /oauth/token", oauth(s.limit(limitExchange, s.handleOAuthToken())))
	mux.Handle("POST /oauth/revoke", oauth(s.handleOAuthRevoke()))
	mux.Handle("POST /oauth/introspect", oauth(s.handleOAuthIntrospect()))
	mux.Handle("/oauth/", oauth(s.handleOAuthUnknown()))
	mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	mux.Handle("GET /.well-known/oauth-authorization-server", s.handleMetadata())

	// Sign-in through external providers (signin.go; oidc, issue 22). The
	// callback is Strapi's "callback" action, like the local login.
	mux.Handle("GET /api/connect/{provider}", s.limit(limitCredential, s.handleConnect()))
	mux.Handle("GET /api/auth/{provider}/callback", s.limit(limitCredential, s.permit(refreshing.ActionLogin, s.handleProviderCallback())))

	// The admin screens (admin.go lists their routes).
	s.adminRoutes(mux)

	// Operations.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle("GET /openapi.json", handleOpenAPI())
}
