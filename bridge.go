package refreshing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The Strapi bridge pairs Refreshing with a Strapi app that runs the
// "refreshing" Strapi plugin (integrations/strapi). Refreshing owns
// credentials and sessions; Strapi keeps profiles and content. Identity is
// anchored on Refreshing's user id (the access token's subject), which the
// plugin links to a Strapi user by an explicit link record, never by
// matching numeric ids.
//
// Both directions are authenticated by one shared secret (at least
// MinBridgeSecretLen bytes). Refreshing calls Strapi through a ProfileSync
// (internal/bridge) when a user registers here, so that the Strapi profile,
// with the custom fields the client sent, exists before the first token is
// used, and so that a username or email Strapi already has is refused. Strapi
// calls the Bridge* methods below (through internal/server's /api/bridge
// routes) when users are created, changed or deleted in Strapi's admin, and
// to check that a token's session and user are still good.

// MinBridgeSecretLen is the length, in bytes, of the shortest bridge secret
// accepted: it authenticates calls that create users and end sessions.
const MinBridgeSecretLen = 32

// Profile is what Refreshing tells the paired Strapi app about a user.
type Profile struct {
	UserID     int64 // Refreshing's id: the access token's subject
	DocumentID string
	Username   string
	Email      string
	Confirmed  bool
	Blocked    bool
	// Fields are the members of the registration body that Refreshing does
	// not know (custom attributes of Strapi's user schema), as sent.
	Fields map[string]json.RawMessage
}

// ProfileSync keeps the paired Strapi app's profiles in step with users here.
type ProfileSync interface {
	// SaveProfile creates (or updates) the Strapi profile of p.UserID and
	// links it to that id. It returns ErrTaken if Strapi has another user
	// with that username or email, a *FieldError if Strapi refuses a field,
	// and an error wrapping ErrProfileSync if Strapi cannot be reached.
	SaveProfile(ctx context.Context, p Profile) error
}

// maxProfileFields bounds the custom fields a registration may carry.
const maxProfileFields = 64

// reservedFields are members of a registration body that are never custom
// profile fields: Refreshing's own, and attributes of Strapi's user that
// only the authority sets.
var reservedFields = map[string]bool{
	"username": true, "email": true, "password": true, "deviceId": true,
	"id": true, "documentId": true, "provider": true, "role": true, "confirmed": true,
	"blocked": true, "resetPasswordToken": true, "confirmationToken": true,
	"createdAt": true, "updatedAt": true, "publishedAt": true, "createdBy": true,
	"updatedBy": true, "locale": true, "localizations": true,
}

// profileFields keeps the custom fields of a registration.
func profileFields(in map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(in))
	for k, v := range in {
		if reservedFields[k] {
			continue
		}
		if len(out) == maxProfileFields {
			return nil, Invalid(k, "at most %d custom fields are accepted", maxProfileFields)
		}
		if k == "" || len(k) > 128 || !utf8.ValidString(k) {
			return nil, Invalid("body", "field names must be 1 to 128 bytes of UTF-8")
		}
		out[k] = v
	}
	return out, nil
}

// saveProfile asks the paired Strapi app to create u's profile. When it
// refuses, u is deleted again here, so that neither side keeps half a user.
func (s *Service) saveProfile(ctx context.Context, u *User, fields map[string]json.RawMessage) error {
	if s.profiles == nil {
		return nil
	}
	err := s.profiles.SaveProfile(ctx, Profile{
		UserID: u.ID, DocumentID: u.DocumentID, Username: u.Username, Email: u.Email,
		Confirmed: u.Confirmed, Blocked: u.Blocked, Fields: fields,
	})
	if err == nil {
		return nil
	}
	// The profile could not be made: undo the user, with a context that
	// outlives the client's, so that the undo is not lost to a hang-up.
	if derr := s.store.DeleteUser(context.WithoutCancel(ctx), u.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
		return fmt.Errorf("%w (and deleting the user again failed: %v)", err, derr)
	}
	return err
}

// BridgeUser is a user created in the paired Strapi app (its admin, or a
// sign-in with one of Strapi's providers).
type BridgeUser struct {
	DocumentID   string // Strapi's documentId; kept as the user's document id here
	Username     string
	Email        string
	PasswordHash string // Strapi's bcrypt hash; empty: the user cannot sign in with a password
	Confirmed    bool
	Blocked      bool
	Provider     string // Strapi's provider of the user ("github"); empty is "local"
}

// checkHash accepts the password hashes Strapi stores (bcrypt) and ours.
func checkHash(h string) error {
	switch {
	case h == "", strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"),
		strings.HasPrefix(h, "$argon2id$"):
		return checkText("passwordHash", h, false, MaxTextLen)
	}
	return Invalid("passwordHash", "passwordHash must be a bcrypt or argon2id hash")
}

// BridgeCreateUser creates a user that the paired Strapi app's admin created,
// with Strapi's password hash, and returns it (its ID is the subject the
// plugin links the Strapi user to). ErrTaken if the email or username is
// already registered here.
func (s *Service) BridgeCreateUser(ctx context.Context, b BridgeUser) (*User, error) {
	return s.bridgeCreate(ctx, b, "created in Strapi's admin: ")
}

// bridgeCreate creates the user b and audits it with detail and the email.
func (s *Service) bridgeCreate(ctx context.Context, b BridgeUser, detail string) (*User, error) {
	email := strings.ToLower(strings.TrimSpace(b.Email))
	if err := checkText("email", email, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if !strings.Contains(email, "@") {
		return nil, Invalid("email", "email must be a valid email address")
	}
	if err := checkText("username", b.Username, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	username, err := normalizeUsername(b.Username) // unique by its key, as at registration (username.go)
	if err != nil {
		return nil, err
	}
	if err := checkText("documentId", b.DocumentID, false, MaxTextLen); err != nil {
		return nil, err
	}
	if err := checkHash(b.PasswordHash); err != nil {
		return nil, err
	}
	if b.Provider == "" {
		b.Provider = "local"
	}
	if err := checkText("provider", b.Provider, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if _, err := s.store.UserByUsernameKey(ctx, UsernameKey(username)); err == nil {
		return nil, ErrTaken
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("find user: %w", err)
	}
	now := s.clock()
	u := &User{
		DocumentID: b.DocumentID, Username: username, UsernameKey: UsernameKey(username), Email: email,
		PasswordHash: b.PasswordHash, Provider: b.Provider, Role: "authenticated",
		Confirmed: b.Confirmed, Blocked: b.Blocked, CreatedAt: now, UpdatedAt: now,
	}
	if u.DocumentID == "" {
		u.DocumentID = "u_" + strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(randomString(15)))
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrTaken
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditUserCreate, UserID: u.ID, Detail: detail + u.Email})
	return u, nil
}

// BridgeChange is a change made to a user in the paired Strapi app's admin;
// nil fields are unchanged.
type BridgeChange struct {
	Username     *string
	Email        *string
	PasswordHash *string // a new password: every session of the user ends
	Confirmed    *bool
	Blocked      *bool // true: every session of the user ends
}

// BridgeUpdateUser applies a change made in the paired Strapi app's admin.
// A new password or a block revokes every session of the user in the same
// write, as SetBlocked and ChangePassword do. ErrNotFound if there is no such
// user, ErrTaken if the new email or username belongs to someone else.
func (s *Service) BridgeUpdateUser(ctx context.Context, id int64, c BridgeChange) (*User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	changed := *u
	if c.Username != nil {
		if err := checkText("username", *c.Username, true, MaxIdentifierLen); err != nil {
			return nil, err
		}
		changed.Username = strings.TrimSpace(*c.Username)
	}
	if c.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*c.Email))
		if err := checkText("email", e, true, MaxIdentifierLen); err != nil {
			return nil, err
		}
		if !strings.Contains(e, "@") {
			return nil, Invalid("email", "email must be a valid email address")
		}
		changed.Email = e
	}
	var rev *Revocation
	now := s.clock()
	if c.PasswordHash != nil && *c.PasswordHash != u.PasswordHash {
		if err := checkHash(*c.PasswordHash); err != nil {
			return nil, err
		}
		changed.PasswordHash = *c.PasswordHash
		rev = &Revocation{UserID: u.ID, Reason: ReasonPasswordChange, At: now}
	}
	if c.Confirmed != nil {
		changed.Confirmed = *c.Confirmed
	}
	if c.Blocked != nil {
		changed.Blocked = *c.Blocked
		if *c.Blocked {
			rev = &Revocation{UserID: u.ID, Reason: ReasonBlocked, At: now}
		}
	}
	changed.UpdatedAt = now
	if err := s.store.UpdateUser(ctx, &changed, rev); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrTaken
		}
		return nil, fmt.Errorf("update user: %w", err)
	}
	switch {
	case c.Blocked != nil && *c.Blocked != u.Blocked && *c.Blocked:
		s.audit(ctx, AuditEvent{Type: AuditBlock, UserID: u.ID, Detail: "blocked in Strapi's admin; every session revoked"})
	case c.Blocked != nil && *c.Blocked != u.Blocked:
		s.audit(ctx, AuditEvent{Type: AuditUnblock, UserID: u.ID, Detail: "unblocked in Strapi's admin"})
	case rev != nil:
		s.audit(ctx, AuditEvent{Type: AuditPasswordChange, UserID: u.ID, Detail: "password changed in Strapi's admin; every session revoked"})
	}
	return &changed, nil
}

// BridgeCheck tells the paired Strapi app whether an access token of user id
// in session sid ("" for a token issued without a session) still stands: the
// user exists and is not blocked, and the session is theirs and active. It
// returns the user, or ErrUnauthenticated. It uses Authenticate's cache, so
// the plugin's periodic checks cost no store read while nothing changed.
func (s *Service) BridgeCheck(ctx context.Context, id int64, sid string) (*User, error) {
	if sid == "" {
		u, err := s.store.UserByID(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: user gone", ErrUnauthenticated)
		}
		if err != nil {
			return nil, fmt.Errorf("load user: %w", err)
		}
		if u.Blocked {
			return nil, fmt.Errorf("%w: user blocked", ErrUnauthenticated)
		}
		return u, nil
	}
	u, err := s.activeSession(ctx, sid, id)
	if err != nil {
		return nil, err
	}
	if u.Blocked {
		return nil, fmt.Errorf("%w: user blocked", ErrUnauthenticated)
	}
	return u, nil
}

// ErrBridgeLink reports that the Strapi user a paired app signed in is
// linked to an account that is gone here, or that is another person's.
var ErrBridgeLink = errors.New("the Strapi user's link to an account here does not hold")

// BridgeSignIn is a sign-in that the paired Strapi app verified with one of
// its own providers (users-permissions' /api/auth/{provider}/callback):
// Strapi found or created the Strapi user; Refreshing issues the session.
type BridgeSignIn struct {
	Provider string // Strapi's name of the provider ("github")
	// UserID is the account here that the plugin's link record names for
	// the Strapi user; 0 when the Strapi user is not linked yet.
	UserID int64
	// DocumentID is, with UserID, the document id the link records for it
	// here; without, the Strapi user's documentId.
	DocumentID string
	// Username and Email are the Strapi user's: for finding (by email,
	// then checked by document id) or creating the account of a Strapi
	// user not linked yet.
	Username, Email string
}

// BridgeProviderSignIn signs in the account of a Strapi user whom the paired
// app's provider sign-in vouched for, and issues tokens exactly as Login
// does. One identity on both sides: a linked Strapi user signs in the
// account its link names, if that still has the link's document id (else
// ErrBridgeLink); an unlinked one signs in the account with its email only
// if that account also has its document id (users brought over by
// `refreshing import strapi` keep theirs; else ErrTaken), or gets a new
// account without a password. Never by email alone. Blocked accounts are
// refused. The audit log records it as a provider sign-in.
func (s *Service) BridgeProviderSignIn(ctx context.Context, b BridgeSignIn, ci ClientInfo) (*Grant, error) {
	if err := checkText("provider", b.Provider, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if err := checkText("documentId", b.DocumentID, true, MaxTextLen); err != nil {
		return nil, err
	}
	ci, err := clampInfo(ci)
	if err != nil {
		return nil, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	u, how, err := s.bridgeSignInUser(ctx, b)
	if err == nil && u.Blocked {
		err = ErrBlocked
	}
	what := "provider " + b.Provider + " of the paired Strapi app"
	if err != nil {
		s.auditProviderRefusal(ctx, ci, u, what, err)
		return nil, err
	}
	return s.issueProviderLogin(ctx, u, st, ci, what+" ("+how+")")
}

// bridgeSignInUser finds (or creates) the account of b; see
// BridgeProviderSignIn.
func (s *Service) bridgeSignInUser(ctx context.Context, b BridgeSignIn) (*User, string, error) {
	if b.UserID != 0 {
		u, err := s.store.UserByID(ctx, b.UserID)
		if errors.Is(err, ErrNotFound) {
			return nil, "", fmt.Errorf("%w: account %d is gone", ErrBridgeLink, b.UserID)
		}
		if err != nil {
			return nil, "", fmt.Errorf("load user: %w", err)
		}
		if u.DocumentID != b.DocumentID {
			return nil, "", fmt.Errorf("%w: account %d has another document id", ErrBridgeLink, b.UserID)
		}
		return u, "linked", nil
	}
	email := strings.ToLower(strings.TrimSpace(b.Email))
	if err := checkText("email", email, true, MaxIdentifierLen); err != nil {
		return nil, "", err
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case err == nil && u.DocumentID == b.DocumentID:
		return u, "found by document id", nil
	case err == nil:
		return nil, "", ErrTaken // another person's email here: never linked by email
	case !errors.Is(err, ErrNotFound):
		return nil, "", fmt.Errorf("find user by email: %w", err)
	}
	u, err = s.bridgeCreate(ctx, BridgeUser{DocumentID: b.DocumentID, Username: b.Username, Email: email,
		Confirmed: true, Provider: b.Provider}, "created by a sign-in with provider "+b.Provider+" of the paired Strapi app: ")
	if err != nil {
		return nil, "", err
	}
	return u, "account created", nil
}
