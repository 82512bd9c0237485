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
	mux.Handle("POST /api/auth/reauthenticate", s.limit(limitCredential, s.permit(refreshing.ActionReauthenticate, s.handleReauthenticate())))

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

	// The Strapi bridge (bridge.go): the "refreshing" Strapi plugin's calls,
	// authenticated by REFRESHING_BRIDGE_SECRET; 404 when no secret is set.
	mux.Handle("GET /api/bridge/users/{id}", s.bridge(s.handleBridgeCheck()))
	mux.Handle("POST /api/bridge/users", s.bridge(s.handleBridgeCreateUser()))
	mux.Handle("PATCH /api/bridge/users/{id}", s.bridge(s.handleBridgeUpdateUser()))
	mux.Handle("DELETE /api/bridge/users/{id}", s.bridge(s.handleBridgeDeleteUser()))
	mux.Handle("POST /api/bridge/sign-in", s.bridge(s.handleBridgeSignIn()))

	// Cutover from Strapi: the Strapi 5 refresh-token plugin's exchange
	// (cutover.go), for clients holding its tokens or ours since.
	mux.Handle("POST /api/auth/local/refresh", s.limit(limitExchange, s.permit(refreshing.ActionPluginRefresh, s.handlePluginRefresh())))
	// The account life cycle (lifecycle.go): password reset and email
	// confirmation by mail, and Strapi 5.54's session list and revocation.
	mux.Handle("POST /api/auth/forgot-password", s.limit(limitCredential, s.permit(refreshing.ActionForgotPassword, s.handleForgotPassword())))
	mux.Handle("POST /api/auth/reset-password", s.limit(limitCredential, s.permit(refreshing.ActionResetPassword, s.handleResetPassword())))
	mux.Handle("GET /api/auth/email-confirmation", s.limit(limitCredential, s.permit(refreshing.ActionEmailConfirmation, s.handleEmailConfirmation())))
	mux.Handle("POST /api/auth/send-email-confirmation", s.limit(limitCredential, s.permit(refreshing.ActionSendEmailConfirmation, s.handleSendEmailConfirmation())))
	mux.Handle("GET /api/auth/sessions", s.permit(refreshing.ActionAuthSessions, s.handleAuthSessions()))
	mux.Handle("DELETE /api/auth/sessions/{sessionId}", s.permit(refreshing.ActionAuthRevokeSession, s.handleAuthRevokeSession()))

	// OAuth 2.0 (oauth.go) and its discovery documents (wellknown.go).
	mux.Handle("POST /oauth/token", oauth(s.withNonce(s.limit(limitExchange, s.handleOAuthToken()))))
	mux.Handle("POST /oauth/revoke", oauth(s.handleOAuthRevoke()))
	mux.Handle("POST /oauth/introspect", oauth(s.handleOAuthIntrospect()))
	mux.Handle("/oauth/", oauth(s.handleOAuthUnknown()))
	mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	mux.Handle("GET /.well-known/oauth-authorization-server", s.handleMetadata())

	// Sign-in through external providers (signin.go; oidc, issue 22). The
	// callback is Strapi's "callback" action, like the local login.
	mux.Handle("GET /api/connect/{provider}", s.limit(limitCredential, s.handleConnect()))
	mux.Handle("GET /api/auth/{provider}/callback", s.limit(limitCredential, s.permit(refreshing.ActionLogin, s.handleProviderCallback())))
	mux.Handle("POST /api/auth/code", s.limit(limitCredential, s.permit(refreshing.ActionLogin, s.handleSignInCode())))

	// The admin screens (admin.go lists their routes).
	s.adminRoutes(mux)

	// The admin HTTP API (adminapi.go): JSON, an administrator's API token
	// (Authorization: Bearer rfa_…), never the admin cookie, never CORS.
	mux.Handle("GET /admin/api/users", s.adminAPI(s.apiListUsers))
	mux.Handle("POST /admin/api/users", s.adminAPI(s.apiCreateUser))
	mux.Handle("GET /admin/api/users/{id}", s.adminAPI(s.apiUser))
	mux.Handle("DELETE /admin/api/users/{id}", s.adminAPI(s.apiDeleteUser))
	mux.Handle("POST /admin/api/users/{id}/block", s.adminAPI(s.apiUserAction("block")))
	mux.Handle("POST /admin/api/users/{id}/unblock", s.adminAPI(s.apiUserAction("unblock")))
	mux.Handle("POST /admin/api/users/{id}/password", s.adminAPI(s.apiUserAction("password")))
	mux.Handle("DELETE /admin/api/users/{id}/sessions", s.adminAPI(s.apiRevokeUserSessions))
	mux.Handle("GET /admin/api/sessions", s.adminAPI(s.apiListSessions))
	mux.Handle("GET /admin/api/sessions/{id}", s.adminAPI(s.apiSession))
	mux.Handle("DELETE /admin/api/sessions/{id}", s.adminAPI(s.apiRevokeSession))
	mux.Handle("GET /admin/api/clients", s.adminAPI(s.apiListClients))
	mux.Handle("POST /admin/api/clients", s.adminAPI(s.apiCreateClient))
	mux.Handle("GET /admin/api/clients/{id}", s.adminAPI(s.apiClient))
	mux.Handle("PATCH /admin/api/clients/{id}", s.adminAPI(s.apiUpdateClient))
	mux.Handle("DELETE /admin/api/clients/{id}", s.adminAPI(s.apiDeleteClient))
	mux.Handle("GET /admin/api/providers", s.adminAPI(s.apiListProviders))
	mux.Handle("GET /admin/api/providers/{name}", s.adminAPI(s.apiProvider))
	mux.Handle("PUT /admin/api/providers/{name}", s.adminAPI(s.apiSaveProvider))
	mux.Handle("DELETE /admin/api/providers/{name}", s.adminAPI(s.apiDeleteProvider))
	mux.Handle("GET /admin/api/admins", s.adminAPI(s.apiListAdmins))
	mux.Handle("POST /admin/api/admins", s.adminAPI(s.apiCreateAdmin))
	mux.Handle("GET /admin/api/admins/{id}", s.adminAPI(s.apiAdmin))
	mux.Handle("DELETE /admin/api/admins/{id}", s.adminAPI(s.apiDeleteAdmin))
	mux.Handle("POST /admin/api/admins/{id}/password", s.adminAPI(s.apiAdminPassword))
	mux.Handle("GET /admin/api/tokens", s.adminAPI(s.apiListTokens))
	mux.Handle("POST /admin/api/tokens", s.adminAPI(s.apiCreateToken))
	mux.Handle("DELETE /admin/api/tokens/{id}", s.adminAPI(s.apiRevokeToken))
	mux.Handle("GET /admin/api/keys", s.adminAPI(s.apiListKeys))
	mux.Handle("POST /admin/api/keys/rotate", s.adminAPI(s.apiRotateKey))
	mux.Handle("GET /admin/api/audit", s.adminAPI(s.apiAudit))

	// Operations.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle("GET /openapi.json", handleOpenAPI())
}
