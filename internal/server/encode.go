package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/idp"
)

// apiError is an error already in the client's terms: a status, a Strapi
// error name and a message. decode returns them for malformed requests.
type apiError struct {
	status  int
	name    string
	message string
}

// Error implements error.
func (e *apiError) Error() string { return e.message }

// errorTable maps the Service's sentinel errors to what a client is told. It
// is the one place where errors become statuses; the first match wins.
var errorTable = []struct {
	err error
	apiError
}{
	{refreshing.ErrInvalidCredentials, apiError{http.StatusBadRequest, "ValidationError", "Invalid identifier or password"}},
	{refreshing.ErrBlocked, apiError{http.StatusBadRequest, "ApplicationError", "Your account has been blocked by an administrator"}},
	{refreshing.ErrNotConfirmed, apiError{http.StatusBadRequest, "ApplicationError", "Your account email is not confirmed"}},
	{refreshing.ErrTaken, apiError{http.StatusBadRequest, "ApplicationError", "Email or Username are already taken"}},
	{refreshing.ErrRegistrationClosed, apiError{http.StatusBadRequest, "ApplicationError", "Register action is currently disabled"}},
	{refreshing.ErrInvalidToken, apiError{http.StatusUnauthorized, "UnauthorizedError", "Invalid refresh token"}},
	{refreshing.ErrUnauthenticated, apiError{http.StatusUnauthorized, "UnauthorizedError", "Missing or invalid credentials"}},
	{refreshing.ErrWrongPassword, apiError{http.StatusBadRequest, "ValidationError", "The provided current password is invalid"}},
	{refreshing.ErrSamePassword, apiError{http.StatusBadRequest, "ValidationError", "Your new password must be different than your current password"}},
	{refreshing.ErrNotFound, apiError{http.StatusNotFound, "NotFoundError", "Not Found"}},
	{refreshing.ErrForbidden, apiError{http.StatusForbidden, "ForbiddenError", "Forbidden"}},
	{refreshing.ErrBusy, apiError{http.StatusServiceUnavailable, "ServiceUnavailableError", "Service temporarily unavailable"}},
	{refreshing.ErrUnavailable, apiError{http.StatusServiceUnavailable, "ServiceUnavailableError", "Service temporarily unavailable"}},
	{refreshing.ErrProfileSync, apiError{http.StatusBadGateway, "BadGatewayError", "The paired Strapi app did not answer; try again later"}},
	{refreshing.ErrTooManyAttempts, apiError{http.StatusTooManyRequests, "RateLimitError", "Too many failed attempts; try again later"}},
	// Provider sign-in (signin.go; oidc, issue 22).
	{refreshing.ErrUnknownProvider, apiError{http.StatusNotFound, "NotFoundError", "This provider is not configured"}},
	{refreshing.ErrProviderState, apiError{http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in state: start again from /api/connect"}},
	{refreshing.ErrProviderDenied, apiError{http.StatusBadRequest, "ApplicationError", "The sign-in was cancelled or refused at the provider"}},
	{refreshing.ErrProviderToken, apiError{http.StatusBadRequest, "ValidationError", "The provider's answer could not be verified"}},
	{refreshing.ErrEmailNotVerified, apiError{http.StatusBadRequest, "ValidationError", "The provider has not verified this email address"}},
	{refreshing.ErrIdentityEmailTaken, apiError{http.StatusBadRequest, "ApplicationError", "An account with this email already exists; sign in with it instead"}},
	{refreshing.ErrBridgeLink, apiError{http.StatusBadRequest, "ApplicationError", "This account's link to the authentication service no longer holds; ask an administrator"}},
	{refreshing.ErrSignInCode, apiError{http.StatusBadRequest, "ValidationError", "Invalid or expired sign-in code"}},
	{idp.ErrDiscovery, apiError{http.StatusBadGateway, "ApplicationError", "The sign-in provider could not be reached"}},
	// The account life cycle (lifecycle.go), in Strapi's words.
	{refreshing.ErrIncorrectCode, apiError{http.StatusBadRequest, "ValidationError", "Incorrect code provided"}},
	{refreshing.ErrInvalidConfirmation, apiError{http.StatusBadRequest, "ValidationError", "Invalid token"}},
	{refreshing.ErrAlreadyConfirmed, apiError{http.StatusBadRequest, "ApplicationError", "Already confirmed"}},
	{refreshing.ErrUserBlocked, apiError{http.StatusBadRequest, "ApplicationError", "User blocked"}},
	{refreshing.ErrConfirmationMail, apiError{http.StatusBadRequest, "ApplicationError", "Error sending confirmation email"}},
	{refreshing.ErrNoMailer, apiError{http.StatusInternalServerError, "InternalServerError", "Internal Server Error"}},
	// Step-up (stepup.go).
	{refreshing.ErrNoPassword, apiError{http.StatusBadRequest, "ApplicationError", "This account has no password: sign in again with your provider instead"}},
}

// Errors of the routing layer itself.
var (
	errNoRoute   = &apiError{http.StatusNotFound, "NotFoundError", "Not Found"}
	errNoMethod  = &apiError{http.StatusMethodNotAllowed, "ApplicationError", "Method Not Allowed"}
	errInternal  = &apiError{http.StatusInternalServerError, "InternalServerError", "Internal Server Error"}
	errCancelled = &apiError{http.StatusServiceUnavailable, "ServiceUnavailableError", "Request cancelled"}
	// errRateLimited is Strapi's answer (koa2-ratelimit's message) to a
	// spent rate-limit budget; tooManyRequests adds Retry-After.
	errRateLimited = &apiError{http.StatusTooManyRequests, "RateLimitError", "Too many requests, please try again later."}
	// errSessionNotFound is Strapi 5.54's answer to revoking a session that
	// is not one of the caller's active ones (lifecycle.go).
	errSessionNotFound = &apiError{http.StatusNotFound, "NotFoundError", "Session not found"}
)

// errorBody is Strapi's error shape: {"data": null, "error": {...}}.
type errorBody struct {
	Data  *struct{}   `json:"data"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Status  int    `json:"status"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Details any    `json:"details"`
}

// fieldDetails is details for a ValidationError about fields.
type fieldDetails struct {
	Errors []fieldProblem `json:"errors"`
}

type fieldProblem struct {
	Path    []string `json:"path"`
	Message string   `json:"message"`
	Name    string   `json:"name"`
}

// fail answers r with err in Strapi's error shape. Errors the table does not
// know are internal: the client sees a generic 500 and the error is logged,
// once, with the request id. A request whose client has gone away is not an
// internal error and is not logged as one.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var fe *refreshing.FieldError
	var dc *dpopChallenge
	switch {
	case errors.As(err, &dc):
		dc.write(w)
		return
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: errorDetail{
			Status: http.StatusBadRequest, Name: "ValidationError", Message: fe.Message,
			Details: fieldDetails{Errors: []fieldProblem{{Path: []string{fe.Field}, Message: fe.Message, Name: "ValidationError"}}},
		}})
		return
	case errors.As(err, &ae):
		writeError(w, ae)
		return
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			if e.err == refreshing.ErrBusy {
				w.Header().Set("Retry-After", "1")
			}
			if e.err == refreshing.ErrUnavailable {
				s.storage.failed()
			}
			writeError(w, &e.apiError)
			return
		}
	}
	if s.unknownError(r, err) {
		writeError(w, errCancelled)
		return
	}
	writeError(w, errInternal)
}

// unknownError logs an error that neither error table (errorTable,
// oauthErrors) knows, once, with the request id, and reports whether it is
// the request's cancellation (its client has gone away: logged at debug
// level, not as an internal error). fail and oauthFail then answer it each
// in its own shape; what comes before differs (the error types and tables of
// each surface), so only this part is shared.
func (s *server) unknownError(r *http.Request, err error) (cancelled bool) {
	if ctxErr := r.Context().Err(); ctxErr != nil || errors.Is(err, context.Canceled) {
		s.log.DebugContext(r.Context(), "request cancelled", "request_id", requestIDFrom(r.Context()), "err", err)
		return true
	}
	s.log.ErrorContext(r.Context(), "internal error", "request_id", requestIDFrom(r.Context()), "err", err)
	return false
}

// writeError writes e in Strapi's error shape with empty details.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{Error: errorDetail{Status: e.status, Name: e.name, Message: e.message, Details: struct{}{}}})
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only programming errors get here: every response type marshals.
		status = http.StatusInternalServerError
		b = []byte(`{"data":null,"error":{"status":500,"name":"InternalServerError","message":"Internal Server Error","details":{}}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// timestamp formats t as an RFC 3339 UTC string.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// userJSON is the Strapi user object. It never carries the password hash.
type userJSON struct {
	ID         int64  `json:"id"`
	DocumentID string `json:"documentId"`
	Username   string `json:"username"`
	Email      string `json:"email"`
	Provider   string `json:"provider"`
	Confirmed  bool   `json:"confirmed"`
	Blocked    bool   `json:"blocked"`
	CreatedAt  string `json:"createdAt"`
	UpdatedAt  string `json:"updatedAt"`
}

func userOf(u *refreshing.User) *userJSON {
	return &userJSON{
		ID: u.ID, DocumentID: u.DocumentID, Username: u.Username, Email: u.Email,
		Provider: u.Provider, Confirmed: u.Confirmed, Blocked: u.Blocked,
		CreatedAt: timestamp(u.CreatedAt), UpdatedAt: timestamp(u.UpdatedAt),
	}
}

// grantJSON is the answer of login, register and change-password:
// {jwt, refreshToken, user}, without refreshToken when none was issued and
// with only the user while email confirmation is pending.
type grantJSON struct {
	JWT          string    `json:"jwt,omitempty"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	User         *userJSON `json:"user"`
}

func grantOf(g *refreshing.Grant) grantJSON {
	out := grantJSON{User: userOf(g.User)}
	if g.AccessToken != "" {
		out.JWT, out.RefreshToken = g.AccessToken, g.RefreshToken
	}
	return out
}

// tokensJSON is the answer of an exchange: {jwt, refreshToken}.
type tokensJSON struct {
	JWT          string `json:"jwt"`
	RefreshToken string `json:"refreshToken"`
}

// sessionJSON is one entry of the caller's session list; never a token.
type sessionJSON struct {
	ID           string  `json:"id"`
	Description  string  `json:"description"`
	UserAgent    string  `json:"userAgent"`
	Device       string  `json:"device"`
	IP           string  `json:"ip"`
	CreatedAt    string  `json:"createdAt"`
	LastActivity string  `json:"lastActivity"`
	ExpiresAt    *string `json:"expiresAt"`
	Current      bool    `json:"current"`
}

func sessionOf(sess *refreshing.Session, currentID string) sessionJSON {
	out := sessionJSON{
		ID: sess.ID, Description: sess.Description, UserAgent: sess.UserAgent,
		Device: refreshing.DeviceName(sess.UserAgent), IP: sess.IP,
		CreatedAt: timestamp(sess.CreatedAt), LastActivity: timestamp(sess.LastActivity),
		Current: currentID != "" && sess.ID == currentID,
	}
	if !sess.ExpiresAt.IsZero() {
		exp := timestamp(sess.ExpiresAt)
		out.ExpiresAt = &exp
	}
	return out
}
