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
// first successful one); refresh tokens issued by the Strapi "refreshing"
// plugin keep working.
//
// An imported token is not ours ("rt_..."): it becomes generation 0 of a new
// session whose TokenHash is its SHA-256, and the Store records that hash so
// that an exchange can find the session by it (only for tokens that do not
// parse as ours). From there the session lives like any other: the first
// exchange rotates it into our own chain, derived from the imported token, so
// the grace window and reuse detection apply to the imported token too. Only
// the hash is stored; the plain token never is.
//
// Imports are idempotent: a user whose email is already stored, or a token
// whose hash is, is left alone.

// ImportResult says what an import did (or, in a dry run, would do).
type ImportResult string

// Import results.
const (
	ImportCreated  ImportResult = "created"  // stored (would be, in a dry run)
	ImportExisting ImportResult = "existing" // already there: nothing changed
	ImportConflict ImportResult = "conflict" // another user has that username: skipped
	ImportExpired  ImportResult = "expired"  // a token past its expiry: skipped
)

// MaxImportedTokenLen bounds an imported refresh token; longer strings are
// neither imported nor looked up.
const MaxImportedTokenLen = 1024

// importable reports whether token may be an imported token: not ours, not
// empty, not absurdly long.
func importable(token string) bool {
	return token != "" && len(token) <= MaxImportedTokenLen && !strings.HasPrefix(token, tokenPrefix)
}

// locate returns the session and generation a refresh token names. Ours
// carry them; an imported token is generation 0 of the session recorded with
// its hash. ok is false when the token names no session.
func (s *Service) locate(ctx context.Context, token string) (sid string, gen int64, ok bool, err error) {
	if sid, gen, ok := parseToken(token); ok {
		return sid, gen, true, nil
	}
	if !importable(token) {
		return "", 0, false, nil
	}
	sid, err = s.store.SessionIDByImportHash(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("find imported session: %w", err)
	}
	return sid, 0, true, nil
}

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

// ImportedToken is a refresh token issued by another system (the Strapi
// "refreshing" plugin) for a user already imported.
type ImportedToken struct {
	Token        string // the plain token, as its clients hold it; only its hash is stored
	UserID       int64  // the user's id here
	Description  string
	UserAgent    string
	IP           string
	CreatedAt    time.Time // default LastActivity
	LastActivity time.Time // default now
	ExpiresAt    time.Time // zero: as the settings say
}

// ImportToken makes an imported refresh token work here, as a session of its
// own (see the comment at the top of import.go). Its expiry is the earlier of
// its own and the session lifetime counted from now, so an import does not
// make tokens outlive this server's policy; a token already expired is
// skipped (ImportExpired), and one imported before is left alone
// (ImportExisting).
func (s *Service) ImportToken(ctx context.Context, t ImportedToken, dryRun bool) (ImportResult, error) {
	if !importable(t.Token) || !utf8.ValidString(t.Token) || strings.ContainsRune(t.Token, 0) {
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
	h := hashToken(t.Token)
	if _, err := s.store.SessionIDByImportHash(ctx, h); err == nil {
		return ImportExisting, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("find imported session: %w", err)
	}
	now := s.clock()
	exp := importTime(t.ExpiresAt) // zero: never
	if !exp.IsZero() && !now.Before(exp) {
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
		ID: newSessionID(), UserID: t.UserID, Description: ci.Description, UserAgent: ci.UserAgent, IP: t.IP,
		CreatedAt: created, LastActivity: last, ExpiresAt: exp, TokenHash: h,
	}
	switch err := s.store.ImportSession(ctx, sess, h); {
	case errors.Is(err, ErrConflict):
		return ImportExisting, nil
	case errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("import token: user %d: %w", t.UserID, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("import token: %w", err)
	}
	return ImportCreated, nil
}
