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

	// The account life cycle (lifecycle.go): password reset and email
	// confirmation by mail, and Strapi 5.54's session list and revocation.
	mux.Handle("POST /api/auth/forgot-password", s.limit(limitCredential, s.permit(refreshing.ActionForgotPassword, s.handleForgotPassword())))
	mux.Handle("POST /api/auth/reset-password", s.limit(limitCredential, s.permit(refreshing.ActionResetPassword, s.handleResetPassword())))
	mux.Handle("GET /api/auth/email-confirmation", s.limit(limitCredential, s.permit(refreshing.ActionEmailConfirmation, s.handleEmailConfirmation())))
	mux.Handle("POST /api/auth/send-email-confirmation", s.limit(limitCredential, s.permit(refreshing.ActionSendEmailConfirmation, s.handleSendEmailConfirmation())))
	mux.Handle("GET /api/auth/sessions", s.permit(refreshing.ActionAuthSessions, s.handleAuthSessions()))
	mux.Handle("DELETE /api/auth/sessions/{sessionId}", s.permit(refreshing.ActionAuthRevokeSession, s.handleAuthRevokeSession()))

	// OAuth 2.0 (oauth.go) and its discovery documents (wellknown.go).
	mux.Handle("POST /oauth/token", oauth(s.limit(limitExchange, s.handleOAuthToken())))
	mux.Handle("POST /oauth/revoke", oauth(s.handleOAuthRevoke()))
	mux.Handle("POST /oauth/introspect", oauth(s.handleOAuthIntrospect()))
	mux.Handle("/oauth/", oauth(s.handleOAuthUnknown()))
	mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	mux.Handle("GET /.well-known/oauth-authorization-server", s.handleMetadata())

	// The admin screens (admin.go lists their routes).
	s.adminRoutes(mux)

	// Operations.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle("GET /openapi.json", handleOpenAPI())
}
