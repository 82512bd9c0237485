package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The standard OAuth 2.0 surface: /oauth/token (RFC 6749 sections 4.3 and
// 6), /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662). Bodies are
// form-encoded; errors take RFC 6749 section 5.2's shape,
// {"error": "...", "error_description": "..."}, and oauthErrors is the one
// table that turns the Service's errors into them (errorTable in encode.go
// does the same for the Strapi-shaped /api surface).

// oauthError is an error in an OAuth client's terms.
type oauthError struct {
	status      int
	code        string // RFC 6749 section 5.2's "error"
	description string
}

// Error implements error.
func (e *oauthError) Error() string { return e.code + ": " + e.description }

// oauthErrors maps the Service's sentinel errors to what an OAuth client is
// told; the first match wins.
var oauthErrors = []struct {
	err error
	oauthError
}{
	{refreshing.ErrClientRequired, oauthError{http.StatusUnauthorized, "invalid_client", "The token was issued to a client: authenticate as that client (client_id, with its secret if it has one)"}},
	{refreshing.ErrWrongClient, oauthError{http.StatusBadRequest, "unauthorized_client", "The token was not issued to this client"}},
	{refreshing.ErrInvalidClient, oauthError{http.StatusUnauthorized, "invalid_client", "Client authentication failed"}},
	{refreshing.ErrUnauthorizedClient, oauthError{http.StatusBadRequest, "unauthorized_client", "The client is not allowed to use this grant type"}},
	{refreshing.ErrDPoPProofRequired, oauthError{http.StatusBadRequest, "invalid_dpop_proof", "The refresh token is bound to a DPoP key: send a DPoP proof of that key"}},
	{refreshing.ErrDPoPKeyMismatch, oauthError{http.StatusBadRequest, "invalid_grant", "The refresh token is bound to another DPoP key"}},
	{refreshing.ErrInvalidToken, oauthError{http.StatusBadRequest, "invalid_grant", "The refresh token is invalid, expired or revoked"}},
	{refreshing.ErrLoginRequired, oauthError{http.StatusBadRequest, "invalid_grant", "The user's last authentication is older than max_age: re-authenticate the session (POST /api/auth/reauthenticate) or sign in again"}},
	{refreshing.ErrInvalidCredentials, oauthError{http.StatusBadRequest, "invalid_grant", "Invalid username or password"}},
	{refreshing.ErrBlocked, oauthError{http.StatusBadRequest, "invalid_grant", "Your account has been blocked by an administrator"}},
	{refreshing.ErrNotConfirmed, oauthError{http.StatusBadRequest, "invalid_grant", "Your account email is not confirmed"}},
	{refreshing.ErrForbidden, oauthError{http.StatusForbidden, "access_denied", "Forbidden"}},
	{refreshing.ErrBusy, oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "Service temporarily unavailable"}},
	{refreshing.ErrUnavailable, oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "Service temporarily unavailable"}},
}

// Errors of the OAuth surface itself.
var (
	errOAuthInternal  = &oauthError{http.StatusInternalServerError, "server_error", "Internal server error"}
	errOAuthCancelled = &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "Request cancelled"}
	errOAuthNoRoute   = &oauthError{http.StatusNotFound, "invalid_request", "No such endpoint"}
	errOAuthNoMethod  = &oauthError{http.StatusMethodNotAllowed, "invalid_request", "Method not allowed: use POST"}
)

// invalidRequest is RFC 6749's invalid_request with a description.
func invalidRequest(format string, args ...any) error {
	return &oauthError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

// oauthFail answers r with err in RFC 6749 section 5.2's shape. As fail does
// for /api, it logs errors the table does not know, once, and shows the
// client a generic server_error.
func (s *server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	var fe *refreshing.FieldError
	switch {
	case errors.As(err, &oe):
		writeOAuthError(w, oe)
		return
	case errors.As(err, &fe):
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", fe.Message})
		return
	}
	for _, e := range oauthErrors {
		if errors.Is(err, e.err) {
			if e.status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			writeOAuthError(w, &e.oauthError)
			return
		}
	}
	if s.unknownError(r, err) {
		writeOAuthError(w, errOAuthCancelled)
		return
	}
	writeOAuthError(w, errOAuthInternal)
}

// writeOAuthError writes e; invalid_client carries the WWW-Authenticate
// challenge RFC 6749 section 5.2 asks for with a 401.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="refreshing"`)
	}
	writeJSON(w, e.status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{e.code, e.description})
}

// oauth wraps every handler of /oauth: their answers carry tokens or say
// whether a token is live, so no cache may keep them (RFC 6749 section 5.1).
func oauth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// handleOAuthUnknown answers what the /oauth routes do not: an unknown path
// (404) or another method than POST on a known one (405), in OAuth's shape.
func (s *server) handleOAuthUnknown() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth/token", "/oauth/revoke", "/oauth/introspect":
			w.Header().Set("Allow", http.MethodPost)
			writeOAuthError(w, errOAuthNoMethod)
		default:
			writeOAuthError(w, errOAuthNoRoute)
		}
	})
}

// decodeForm reads r's form-encoded body, the only way parameters reach
// /oauth (the query string is ignored). It refuses another content type
// (415), a body over maxBodyBytes (413), a malformed body and a repeated
// parameter (400, RFC 6749 section 3.2), and a name or value that checkWire
// refuses (400).
func decodeForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &oauthError{http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &oauthError{http.StatusRequestEntityTooLarge, "invalid_request", "Request body is larger than 64 KiB"}
		}
		return nil, fmt.Errorf("read form body: %w", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("Malformed form body")
	}
	if err := checkValues(form); err != nil {
		// In OAuth's terms, as every error decodeForm returns.
		if fe := (*refreshing.FieldError)(nil); errors.As(err, &fe) {
			return nil, invalidRequest("%s", fe.Message)
		}
		return nil, invalidRequest("Malformed parameter")
	}
	for k, v := range form {
		if len(v) > 1 {
			if known := strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") == "" && len(k) <= 32; known {
				return nil, invalidRequest("Parameter %s must not be repeated", k)
			}
			return nil, invalidRequest("A parameter must not be repeated")
		}
	}
	return form, nil
}

// oauthClient authenticates the client calling: with HTTP Basic
// (client_secret_basic), with client_id and client_secret in the body
// (client_secret_post), or, for a public client, by client_id alone. It
// returns nil and no error when the request names no client, and an error
// that is ErrInvalidClient when the credentials are wrong. Only one method
// may be used at once.
//
// RFC 6749 section 2.3.1 has clients form-encode the id and secret before
// HTTP Basic encoding, as golang.org/x/oauth2 does, but many clients (curl -u)
// do not: a secret with '+' or '%' in it is tried decoded, then as sent.
func (s *server) oauthClient(r *http.Request, form url.Values) (*refreshing.Client, error) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Basic") {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, fmt.Errorf("%w: malformed Basic credentials", refreshing.ErrInvalidClient)
		}
		if secret != "" {
			return nil, invalidRequest("Use one client authentication method: HTTP Basic or client_secret, not both")
		}
		basicID, err := url.QueryUnescape(user)
		if err != nil {
			basicID = user
		}
		if err := checkWire("client_id", basicID); err != nil {
			return nil, err
		}
		if id != "" && id != basicID {
			return nil, fmt.Errorf("%w: client_id differs from the Basic credentials", refreshing.ErrInvalidClient)
		}
		decoded, err := url.QueryUnescape(pass)
		if err != nil {
			decoded = pass
		}
		c, err := s.svc.AuthenticateClient(r.Context(), basicID, decoded)
		if errors.Is(err, refreshing.ErrInvalidClient) && decoded != pass {
			c, err = s.svc.AuthenticateClient(r.Context(), basicID, pass)
		}
		return c, err
	}
	if id == "" {
		if secret != "" {
			return nil, invalidRequest("client_secret requires client_id")
		}
		return nil, nil
	}
	return s.svc.AuthenticateClient(r.Context(), id, secret)
}

// tokenResponse is RFC 6749 section 5.1's successful token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// handleOAuthToken serves POST /oauth/token: the refresh grant (RFC 6749
// section 6), which is Service.Exchange with /api/auth/token's rules, and the
// password grant (section 4.3) for clients allowed to use it.
func (s *server) handleOAuthToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := decodeForm(w, r)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		c, err := s.oauthClient(r, form)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		ci := s.clientInfo(r)
		if ci.DPoPJKT, err = s.dpopProof(r, c); err != nil {
			s.oauthFail(w, r, err)
			return
		}
		name := form.Get("grant_type")
		gt, ok := refreshing.LookupGrantType(name)
		serve := grantHandlers[name]
		switch {
		case name == "":
			err = invalidRequest("grant_type is required")
		case !ok || serve == nil:
			err = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "grant_type must be " + strings.Join(refreshing.GrantNames(false), " or ")}
		default:
			for _, p := range gt.Params {
				if form.Get(p) == "" {
					err = invalidRequest("%s is required", p)
					break
				}
			}
		}
		var g *refreshing.Grant
		if err == nil {
			var answered bool
			if g, answered, err = serve(s, w, r, form, c, ci); answered {
				return
			}
		}
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		tokenType := "Bearer"
		if ci.DPoPJKT != "" {
			tokenType = "DPoP" // RFC 9449 section 5
		}
		res := tokenResponse{AccessToken: g.AccessToken, TokenType: tokenType, ExpiresIn: g.ExpiresIn(s.svc.Now())}
		if gt.RefreshToken {
			res.RefreshToken = g.RefreshToken
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// grantFunc serves one grant type once its parameters (GrantType.Params)
// are known to be present. It returns answered when it has written the
// response itself (a 429).
type grantFunc func(s *server, w http.ResponseWriter, r *http.Request, form url.Values, c *refreshing.Client, ci refreshing.ClientInfo) (g *refreshing.Grant, answered bool, err error)

// grantHandlers serve the grants of refreshing.GrantTypes, by name: a
// grant without a handler here is unsupported (TestGrantTable says each
// has one).
var grantHandlers = map[string]grantFunc{
	refreshing.GrantRefreshToken: (*server).refreshGrant,
	refreshing.GrantPassword:     (*server).passwordGrant,
}

// refreshGrant is the refresh grant (RFC 6749 section 6), with step-up: a
// resource server that wants a recent sign-in has its client pass max_age
// (seconds, as OpenID Connect's).
func (s *server) refreshGrant(_ http.ResponseWriter, r *http.Request, form url.Values, c *refreshing.Client, ci refreshing.ClientInfo) (*refreshing.Grant, bool, error) {
	token := form.Get("refresh_token")
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			return nil, false, invalidRequest("max_age must be a non-negative number of seconds")
		}
		if err := s.svc.CheckMaxAge(r.Context(), token, time.Duration(n)*time.Second); err != nil {
			return nil, false, err
		}
	}
	g, err := s.svc.RefreshGrant(r.Context(), c, token, ci)
	return g, false, err
}

// passwordGrant is the password grant (RFC 6749 section 4.3), charged to
// the budgets of the other endpoints that check a password.
func (s *server) passwordGrant(w http.ResponseWriter, r *http.Request, form url.Values, c *refreshing.Client, ci refreshing.ClientInfo) (*refreshing.Grant, bool, error) {
	username := form.Get("username")
	if !s.limitPasswordGrant(w, r, username) {
		return nil, true, nil // answered 429
	}
	g, err := s.svc.PasswordGrant(r.Context(), c, username, form.Get("password"), ci)
	return g, false, err
}

// limitPasswordGrant charges a password grant to the same budgets as the
// other endpoints that check a password: the client IP's (kept apart from
// the refresh grant's, which shares the route) and the identifier's.
func (s *server) limitPasswordGrant(w http.ResponseWriter, r *http.Request, username string) bool {
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		s.oauthFail(w, r, err)
		return false
	}
	if !s.allow(w, r, "ip|"+r.Pattern+"|password|"+ipKey(s.clientIP(r)), st.RateLimitIP, st.RateWindow) {
		return false
	}
	return s.limitIdentifier(w, r, username)
}

// handleOAuthRevoke serves POST /oauth/revoke (RFC 7009). It answers 200
// when the token's session is now ended: it was live and is revoked, or it
// was already revoked, unknown or malformed. Wrong client credentials, a
// missing token, and a live token of a client other than the one that
// authenticated (or of a client, when none did) are errors, and revoke
// nothing. The token_type_hint is not needed: the two kinds of token cannot
// be mistaken for each other.
func (s *server) handleOAuthRevoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, token, err := s.oauthTokenForm(w, r)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		if err := s.svc.RevokeToken(r.Context(), c, token); err != nil {
			s.oauthFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// oauthTokenForm reads what /oauth/revoke and /oauth/introspect both take:
// the form, the client (oauthClient) and the required token.
func (s *server) oauthTokenForm(w http.ResponseWriter, r *http.Request) (*refreshing.Client, string, error) {
	form, err := decodeForm(w, r)
	if err != nil {
		return nil, "", err
	}
	c, err := s.oauthClient(r, form)
	if err != nil {
		return nil, "", err
	}
	token := form.Get("token")
	if token == "" {
		return nil, "", invalidRequest("token is required")
	}
	return c, token, nil
}

// introspectionResponse is RFC 7662 section 2.2's answer. Only "active" is
// present for a token that is not.
type introspectionResponse struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type,omitempty"`
	Subject   string `json:"sub,omitempty"`
	SessionID string `json:"sid,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	AuthTime  int64  `json:"auth_time,omitempty"` // when the user signed in (the session's start)
	Cnf       *struct {
		JKT string `json:"jkt"`
	} `json:"cnf,omitempty"` // the DPoP key the token is bound to (RFC 9449 section 6.2)
}

// handleOAuthIntrospect serves POST /oauth/introspect (RFC 7662), for
// confidential clients only (the Service says so).
func (s *server) handleOAuthIntrospect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, token, err := s.oauthTokenForm(w, r)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		in, err := s.svc.Introspect(r.Context(), c, token)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		out := introspectionResponse{Active: in.Active}
		if in.Active {
			out.TokenType, out.Subject, out.SessionID, out.ClientID, out.Issuer =
				in.TokenType, in.Subject, in.SessionID, in.ClientID, in.Issuer
			out.IssuedAt, out.ExpiresAt = unixOrZero(in.IssuedAt), unixOrZero(in.ExpiresAt)
			out.AuthTime = unixOrZero(in.AuthTime)
			if in.DPoPJKT != "" {
				out.Cnf = &struct {
					JKT string `json:"jkt"`
				}{in.DPoPJKT}
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// unixOrZero is t in seconds since the epoch, 0 (omitted) for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
