package refreshing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Input limits. Anything longer is refused before any work is done.
const (
	MaxIdentifierLen = 1024 // bytes, for identifiers, emails and usernames
	MaxPasswordLen   = 256  // characters
	MinPasswordLen   = 6    // characters, as Strapi's users-permissions: the least Settings.PasswordMinLength may be
	MinUsernameLen   = 3    // characters, as Strapi's users-permissions
	MaxTextLen       = 1024 // bytes, for descriptions, device ids and user agents
)

// checkText validates a required (or optional) text field.
func checkText(field, v string, required bool, maxBytes int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return Invalid(field, "%s must not be empty", field)
	case len(v) > maxBytes:
		return Invalid(field, "%s must be at most %d bytes", field, maxBytes)
	case strings.ContainsRune(v, 0):
		return Invalid(field, "%s must not contain NUL characters", field)
	case !utf8.ValidString(v):
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	return nil
}

// checkPassword validates a password field.
func checkPassword(field, v string, minLen int) error {
	if err := checkText(field, v, true, 4*MaxPasswordLen); err != nil {
		return err
	}
	switch n := utf8.RuneCountInString(v); {
	case n > MaxPasswordLen:
		return Invalid(field, "%s must be at most %d characters", field, MaxPasswordLen)
	case n < minLen:
		return Invalid(field, "%s must be at least %d characters", field, minLen)
	}
	return nil
}

// clampInfo trims client-supplied session metadata to the stored limits.
func clampInfo(ci ClientInfo) (ClientInfo, error) {
	if err := checkText("description", ci.Description, false, MaxTextLen); err != nil {
		return ci, err
	}
	if err := checkText("deviceId", ci.DeviceID, false, MaxTextLen); err != nil {
		return ci, err
	}
	if len(ci.UserAgent) > MaxTextLen {
		ci.UserAgent = ci.UserAgent[:MaxTextLen]
	}
	ci.UserAgent = strings.ToValidUTF8(strings.ReplaceAll(ci.UserAgent, "\x00", ""), "")
	return ci, nil
}

// Registration is the input of Register.
type Registration struct {
	Username string
	Email    string
	Password string
	// Fields are the other members of the registration body. With a paired
	// Strapi app (Config.Profiles) the custom ones reach the user's Strapi
	// profile; otherwise they are ignored.
	Fields map[string]json.RawMessage
}

// Register creates a local account and signs it in (unless email
// confirmation is required, in which case the Grant carries only the user).
func (s *Service) Register(ctx context.Context, r Registration, ci ClientInfo) (*Grant, error) {
	if err := checkText("username", r.Username, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	username, err := normalizeUsername(r.Username)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(username) < MinUsernameLen {
		return nil, Invalid("username", "username must be at least %d characters", MinUsernameLen)
	}
	if err := checkText("email", r.Email, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email {
		return nil, Invalid("email", "email must be a valid email address")
	}
	ci, err = clampInfo(ci)
	if err != nil {
		return nil, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkNewPassword("password", r.Password, st, 0); err != nil {
		return nil, err
	}
	if !st.Registration {
		return nil, ErrRegistrationClosed
	}
	var fields map[string]json.RawMessage
	if s.profiles != nil {
		if fields, err = profileFields(r.Fields); err != nil {
			return nil, err
		}
	}
	u, err := s.createUser(ctx, username, r.Email, r.Password, !st.EmailConfirmation)
	if err != nil {
		return nil, err
	}
	if err := s.saveProfile(ctx, u, fields); err != nil {
		return nil, err
	}
	s.audit(ctx, AuditEvent{Type: AuditRegister, UserID: u.ID, IP: ci.IP, UserAgent: ci.UserAgent})
	if !u.Confirmed {
		// The confirmation mail (lifecycle.go); the account stays created
		// if it cannot be sent, as in Strapi.
		if err := s.sendConfirmation(ctx, u); err != nil {
			return nil, err
		}
		return &Grant{User: u}, nil
	}
	return s.issue(ctx, u, st, ci, st.IssueOnLogin)
}

// createUser hashes the password and stores a new local user; username is
// already normalized (normalizeUsername) and unique by its UsernameKey.
func (s *Service) createUser(ctx context.Context, username, email, password string, confirmed bool) (*User, error) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	u := &User{
		DocumentID: "u_" + strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(randomString(15))),
		Username:   username, UsernameKey: UsernameKey(username), Email: strings.ToLower(email), PasswordHash: hash,
		Provider: "local", Role: "authenticated", Confirmed: confirmed, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrTaken
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// findUser resolves an identifier: an email (case-insensitive) or a username
// (exactly, as Strapi does; then in its NFKC form, the form usernames are
// stored in, when that differs). It returns a nil user, not an error, when
// there is no such account.
func (s *Service) findUser(ctx context.Context, identifier string) (*User, error) {
	u, err := s.store.UserByEmail(ctx, strings.ToLower(identifier))
	if errors.Is(err, ErrNotFound) {
		u, err = s.store.UserByUsername(ctx, identifier)
	}
	if n := strings.TrimSpace(norm.NFKC.String(identifier)); errors.Is(err, ErrNotFound) && n != identifier {
		u, err = s.store.UserByUsername(ctx, n)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// authenticate checks credentials. Unknown identifiers cost one password
// verification against a dummy hash, like a wrong password, and both yield
// ErrInvalidCredentials. Blocked and unconfirmed are said only after the
// password was verified.
func (s *Service) authenticate(ctx context.Context, identifier, password string, st Settings) (_ *User, err error) {
	defer func() { s.obs.LoggedIn(LoginOutcomeOf(err)) }()
	if err := checkText("identifier", identifier, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if err := checkPassword("password", password, 1); err != nil {
		return nil, err
	}
	u, err := s.findUser(ctx, identifier)
	if err != nil {
		return nil, err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, rehash, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return nil, err
	}
	if !ok || u == nil {
		return nil, ErrInvalidCredentials
	}
	if u.Blocked {
		return nil, ErrBlocked
	}
	if st.EmailConfirmation && !u.Confirmed {
		return nil, ErrNotConfirmed
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			u.PasswordHash, u.UpdatedAt = h, s.clock()
			if err := s.store.UpdateUser(ctx, u, nil); err != nil {
				return nil, fmt.Errorf("rehash password: %w", err)
			}
		}
	}
	return u, nil
}

// Login checks credentials and signs the user in: an access token and, when
// issue-on-login is on, a new session with its refresh token.
func (s *Service) Login(ctx context.Context, identifier, password string, ci ClientInfo) (*Grant, error) {
	return s.signIn(ctx, identifier, password, ci, false)
}

// RequestToken checks credentials and always starts a new session, whatever
// issue-on-login says (the plugin's /api/auth/token/request).
func (s *Service) RequestToken(ctx context.Context, identifier, password string, ci ClientInfo) (*Grant, error) {
	return s.signIn(ctx, identifier, password, ci, true)
}

// signIn authenticates and issues; a session is created when withSession or
// issue-on-login says so.
func (s *Service) signIn(ctx context.Context, identifier, password string, ci ClientInfo, withSession bool) (*Grant, error) {
	ci, err := clampInfo(ci)
	if err != nil {
		return nil, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.authenticate(ctx, identifier, password, st)
	if err != nil {
		s.auditLoginFailed(ctx, identifier, ci, err)
		return nil, err
	}
	g, err := s.issue(ctx, u, st, ci, withSession || st.IssueOnLogin)
	if err == nil {
		s.audit(ctx, AuditEvent{Type: AuditLogin, UserID: u.ID, SessionID: g.sessionID(), IP: ci.IP, UserAgent: ci.UserAgent})
	}
	return g, err
}

// newPassword returns u with password set (hashed, UpdatedAt now) and the
// revocation of all u's sessions for reason, which the caller stores
// together: a changed or reset password ends every session.
func (s *Service) newPassword(ctx context.Context, u *User, password, reason string) (*User, *Revocation, error) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, nil, err
	}
	now := s.clock()
	changed := *u
	changed.PasswordHash, changed.UpdatedAt = hash, now
	return &changed, &Revocation{UserID: u.ID, Reason: reason, At: now}, nil
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	Current      string
	New          string
	Confirmation string
}

// ChangePassword replaces the caller's password after checking the current
// one, revokes every session of the user, and starts a fresh session for the
// caller's device, so that only the caller stays signed in.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, pc PasswordChange, ci ClientInfo) (*Grant, error) {
	if err := checkPassword("currentPassword", pc.Current, 1); err != nil {
		return nil, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkNewPassword("password", pc.New, st, 0); err != nil {
		return nil, err
	}
	if pc.New != pc.Confirmation {
		return nil, Invalid("passwordConfirmation", "Passwords do not match")
	}
	ci, err = clampInfo(ci)
	if err != nil {
		return nil, err
	}
	u := p.User
	ok, _, err := s.hasher.Verify(ctx, pc.Current, u.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrWrongPassword
	}
	if pc.Current == pc.New {
		return nil, ErrSamePassword
	}
	// The caller's new session stands for the same device as the old one.
	if p.SessionID != "" {
		if cur, err := s.store.Session(ctx, p.SessionID); err == nil {
			if ci.DeviceID == "" {
				ci.DeviceID = cur.DeviceID
			}
			if ci.Description == "" {
				ci.Description = cur.Description
			}
			ci.ClientID = cur.ClientID
			ci.bindJKT = cur.DPoPJKT // a DPoP-bound session's successor stays bound
		} else if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("load session: %w", err)
		}
	}
	changed, rev, err := s.newPassword(ctx, u, pc.New, ReasonPasswordChange)
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdateUser(ctx, changed, rev); err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	return s.issue(ctx, changed, st, ci, true)
}
