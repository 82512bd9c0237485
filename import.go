package refreshing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Importing from another system (Strapi, see internal/strapi): users keep
// their numeric ids when free, their document ids and their password hashes
// (Strapi's bcrypt hashes verify at login and are rehashed to argon2id on the
// first successful one); refresh tokens issued by Strapi keep working.
//
// An imported token is not ours ("rt_..."): it becomes generation 0 of a new
// session, and the Store records the SHA-256 of its import key so that an
// exchange can find the session by it (only for tokens that do not parse as
// ours). From there the session lives like any other: the first exchange
// rotates it into our own chain, derived from the import key, so the grace
// window and reuse detection apply to the imported token too. Only hashes
// are stored; no plain token ever is.
//
// The import key depends on the kind of token (ImportKind):
//   - the Strapi v4 "refreshing" plugin stores its tokens in plain text:
//     the key is the token itself;
//   - Strapi 5's session manager (jwtManagement "refresh") stores session
//     ids, and its refresh tokens are HS256 JWTs naming one
//     ({userId, sessionId, type: "refresh"}), signed with the
//     users-permissions jwtSecret: the key is derived from the user and
//     session ids, and a presented token counts only once its signature,
//     expiry and type verified under Config.StrapiSessionSecret;
//   - the Strapi 5 refresh-token plugin stores rows named by a document id,
//     and its tokens are HS256 JWTs ({userId, secret: documentId}) signed
//     with its refreshTokenSecret: likewise, under Config.StrapiPluginSecret.
//
// Derived keys hold a NUL byte, which no presented token may, so that no
// client can name an imported session without a verified token.
//
// Imports are idempotent: a user whose email is already stored, or a token
// whose key is, is left alone.

// ImportResult says what an import did (or, in a dry run, would do).
type ImportResult string

// Import results.
const (
	ImportCreated  ImportResult = "created"  // stored (would be, in a dry run)
	ImportExisting ImportResult = "existing" // already there: nothing changed
	ImportConflict ImportResult = "conflict" // another user has that username: skipped
	ImportExpired  ImportResult = "expired"  // a token past its expiry: skipped
)

// ImportKind says what ImportedToken.Token holds (see the comment at the top
// of import.go).
type ImportKind string

// Kinds of imported tokens.
const (
	// ImportPlain: Token is the refresh token itself (the Strapi v4
	// "refreshing" plugin).
	ImportPlain ImportKind = ""
	// ImportStrapiSession: Token is "<Strapi user id>:<sessionId>" of a
	// Strapi 5 session (table strapi_sessions).
	ImportStrapiSession ImportKind = "strapi-session"
	// ImportStrapiPlugin: Token is "<Strapi user id>:<documentId>" of a
	// Strapi 5 refresh-token plugin row (table refresh-token_token).
	ImportStrapiPlugin ImportKind = "strapi-refresh-token-plugin"
)

// MaxImportedTokenLen bounds an imported refresh token; longer strings are
// neither imported nor looked up.
const MaxImportedTokenLen = 1024

// importTime normalises an imported time: UTC at microsecond precision.
func importTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ImportUser stores u, a user from another system, as it comes: its numeric
// ID when no stored user has it (otherwise the Store assigns one), its
// document id (one is generated when empty), its password hash (bcrypt or
// argon2id; empty for accounts of other providers, which then cannot log in
// with a password), role, flags and times. Email is lower-cased.
//
// A user whose email is already stored is left alone (ImportExisting), and so
// is one whose username belongs to another email (ImportConflict). The
// returned user is the stored one (or, in a dry run, the one that would be).
func (s *Service) ImportUser(ctx context.Context, u User, dryRun bool) (*User, ImportResult, error) {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if err := checkText("email", u.Email, true, MaxIdentifierLen); err != nil {
		return nil, "", err
	}
	if !strings.Contains(u.Email, "@") {
		return nil, "", Invalid("email", "email must be a valid email address")
	}
	if err := checkText("username", u.Username, true, MaxIdentifierLen); err != nil {
		return nil, "", err
	}
	if err := checkText("documentId", u.DocumentID, false, MaxTextLen); err != nil {
		return nil, "", err
	}
	switch h := u.PasswordHash; {
	case h == "", strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"),
		strings.HasPrefix(h, "$argon2id$"):
	default:
		return nil, "", Invalid("password", "password hash must be bcrypt or argon2id")
	}
	if u.ID < 0 {
		return nil, "", Invalid("id", "id must not be negative")
	}
	existing, err := s.store.UserByEmail(ctx, u.Email)
	switch {
	case err == nil:
		return existing, ImportExisting, nil
	case !errors.Is(err, ErrNotFound):
		return nil, "", fmt.Errorf("find user: %w", err)
	}
	other, err := s.store.UserByUsername(ctx, u.Username)
	switch {
	case err == nil:
		return other, ImportConflict, nil
	case !errors.Is(err, ErrNotFound):
		return nil, "", fmt.Errorf("find user: %w", err)
	}
	// Kept as Strapi had it, but unique by its key: an imported look-alike
	// of a user here is a conflict (username.go).
	u.UsernameKey = UsernameKey(u.Username)
	if other, err := s.store.UserByUsernameKey(ctx, u.UsernameKey); err == nil {
		return other, ImportConflict, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, "", fmt.Errorf("find user: %w", err)
	}
	now := s.clock()
	if u.DocumentID == "" {
		u.DocumentID = "u_" + strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(randomString(15)))
	}
	if u.Provider == "" {
		u.Provider = "local"
	}
	if u.Role == "" {
		u.Role = "authenticated"
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.CreatedAt, u.UpdatedAt = importTime(u.CreatedAt), importTime(u.UpdatedAt)
	if dryRun {
		return &u, ImportCreated, nil
	}
	if taken, err := s.store.UserByID(ctx, u.ID); u.ID != 0 && err == nil && taken != nil {
		u.ID = 0 // the id belongs to someone else here: take a new one
	}
	if err := s.store.ImportUser(ctx, &u); errors.Is(err, ErrConflict) {
		// A concurrent writer took the email, username or id meanwhile.
		return nil, ImportConflict, nil
	} else if err != nil {
		return nil, "", fmt.Errorf("import user: %w", err)
	}
	return &u, ImportCreated, nil
}

// ImportedToken is a refresh token issued by another system (Strapi) for a
// user already imported.
type ImportedToken struct {
	Kind         ImportKind // what Token holds
	Token        string     // as Kind says; only the hash of its import key is stored
	UserID       int64      // the user's id here
	Description  string
	UserAgent    string
	IP           string
	DeviceID     string    // Strapi 5's deviceId, for logout by device
	CreatedAt    time.Time // default LastActivity
	LastActivity time.Time // default now
	ExpiresAt    time.Time // the session's end; zero: as the settings say
	// TokenExpiresAt is when the token itself stops working (Strapi 5's
	// idle window), zero for never: one past it is skipped. The session
	// lives on after its first exchange until ExpiresAt.
	TokenExpiresAt time.Time
}

// ImportToken makes an imported refresh token work here, as a session of its
// own (see the comment at the top of import.go). The session's expiry is the
// earlier of t.ExpiresAt and the session lifetime counted from now, so an
// import does not make tokens outlive this server's policy; a token already
// expired (t.ExpiresAt or t.TokenExpiresAt) is skipped (ImportExpired), and
// one imported before is left alone (ImportExisting). Strapi 5's tokens
// carry their own expiry too, which their exchange checks.
func (s *Service) ImportToken(ctx context.Context, t ImportedToken, dryRun bool) (ImportResult, error) {
	switch t.Kind {
	case ImportPlain, ImportStrapiSession, ImportStrapiPlugin:
	default:
		return "", Invalid("kind", "unknown kind of imported token %q", t.Kind)
	}
	if !importable(t.Token) || !utf8.ValidString(t.Token) {
		return "", Invalid("token", "token must be 1 to %d bytes of UTF-8 and not start with %q", MaxImportedTokenLen, tokenPrefix)
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return "", err
	}
	ci, err := clampInfo(ClientInfo{UserAgent: t.UserAgent, Description: t.Description})
	if err != nil {
		return "", err
	}
	if len(t.IP) > MaxTextLen || !utf8.ValidString(t.IP) {
		t.IP = ""
	}
	if err := checkText("deviceId", t.DeviceID, false, MaxTextLen); err != nil {
		return "", err
	}
	h := hashToken(importKey(t.Kind, t.Token))
	if _, err := s.store.SessionIDByImportHash(ctx, h); err == nil {
		return ImportExisting, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("find imported session: %w", err)
	}
	now := s.clock()
	exp := importTime(t.ExpiresAt) // zero: never
	if !exp.IsZero() && !now.Before(exp) || !t.TokenExpiresAt.IsZero() && !now.Before(t.TokenExpiresAt) {
		return ImportExpired, nil
	}
	if limit := now.Add(st.RefreshTTL); st.RefreshTTL > 0 && (exp.IsZero() || exp.After(limit)) {
		exp = limit
	}
	last := importTime(t.LastActivity)
	if last.IsZero() || last.After(now) {
		last = now
	}
	created := importTime(t.CreatedAt)
	if created.IsZero() || created.After(last) {
		created = last
	}
	if dryRun {
		return ImportCreated, nil
	}
	sess := &Session{
		ID: newSessionID(), UserID: t.UserID, DeviceID: t.DeviceID, Description: ci.Description, UserAgent: ci.UserAgent, IP: t.IP,
		CreatedAt: created, LastActivity: last, ExpiresAt: exp, TokenHash: h,
	}
	err = s.store.ImportSession(ctx, sess, h)
	s.imports.forget() // this process looks imported tokens up from now on, not within authRevisionBound
	switch {
	case errors.Is(err, ErrConflict):
		return ImportExisting, nil
	case errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("import token: user %d: %w", t.UserID, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("import token: %w", err)
	}
	return ImportCreated, nil
}
