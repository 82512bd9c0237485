package refreshing

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Sign-in through external providers (OpenID Connect and OAuth 2.0; see
// docs/oidc.md). The protocol itself (discovery, PKCE, state, nonce, ID
// token verification) is internal/idp's; the Service receives an identity
// the provider vouched for and decides which local account it signs in.

// Audit event types of provider sign-in.
const (
	AuditProviderLogin       = "login.provider"        // signed in through a provider (Detail: provider and whether the account was created or linked)
	AuditProviderLoginFailed = "login.provider.failed" // a provider sign-in refused after the provider vouched for the identity
	AuditIdentityLink        = "identity.link"         // a provider identity joined an existing account by its verified email
)

// ExternalIdentity is what a provider vouched for: its verified answer
// about the account that signed in there.
type ExternalIdentity struct {
	Provider      string // the provider's configured name
	Subject       string // its stable id of the account ("sub")
	Email         string
	EmailVerified bool   // the provider says it verified Email
	Username      string // a preferred username, if any (a suggestion)
	// LinkByEmail lets a new identity join the existing account with the
	// same email, when EmailVerified. The provider's configuration decides.
	LinkByEmail bool
}

// ProviderSignIn signs in the local user linked to id, linking or creating
// one on first sign-in, and issues tokens exactly as Login does. The rules:
// an identity is found by (provider, subject) only; a new one needs a
// verified email; it joins the account with that email only when
// id.LinkByEmail, else is refused (ErrIdentityEmailTaken); otherwise a new
// account is created (when registration is open). Blocked users are refused.
func (s *Service) ProviderSignIn(ctx context.Context, id ExternalIdentity, ci ClientInfo) (*Grant, error) {
	u, how, st, ci, err := s.providerAccount(ctx, id, ci)
	if err != nil {
		return nil, err
	}
	return s.issueProviderLogin(ctx, u, st, ci, fmt.Sprintf("provider %s (%s)", id.Provider, how))
}

// providerAccount checks id and ci and returns the account id signs in
// (providerUser, with refusals in the audit log), how it was found, the
// settings and the clamped ci.
func (s *Service) providerAccount(ctx context.Context, id ExternalIdentity, ci ClientInfo) (*User, string, Settings, ClientInfo, error) {
	var st Settings
	if err := checkText("provider", id.Provider, true, MaxIdentifierLen); err != nil {
		return nil, "", st, ci, err
	}
	if err := checkText("sub", id.Subject, true, MaxIdentifierLen); err != nil {
		return nil, "", st, ci, err
	}
	if err := checkText("email", id.Email, false, MaxIdentifierLen); err != nil {
		return nil, "", st, ci, err
	}
	ci, err := clampInfo(ci)
	if err != nil {
		return nil, "", st, ci, err
	}
	if st, err = s.Settings(ctx); err != nil {
		return nil, "", st, ci, err
	}
	u, how, err := s.providerUser(ctx, id, st)
	if err != nil {
		s.auditProviderRefusal(ctx, ci, u, "provider "+id.Provider, err)
	}
	return u, how, st, ci, err
}

// issueProviderLogin issues u's tokens as Login does and audits a provider
// sign-in with detail.
func (s *Service) issueProviderLogin(ctx context.Context, u *User, st Settings, ci ClientInfo, detail string) (*Grant, error) {
	g, err := s.issue(ctx, u, st, ci, st.IssueOnLogin)
	if err == nil {
		s.audit(ctx, AuditEvent{Type: AuditProviderLogin, UserID: u.ID, SessionID: g.sessionID(), IP: ci.IP,
			UserAgent: ci.UserAgent, Detail: detail})
	}
	return g, err
}

// auditProviderRefusal records a provider sign-in refused with err (of
// user u, when known), unless the store was down.
func (s *Service) auditProviderRefusal(ctx context.Context, ci ClientInfo, u *User, what string, err error) {
	if errors.Is(err, ErrUnavailable) {
		return
	}
	e := AuditEvent{Type: AuditProviderLoginFailed, IP: ci.IP, UserAgent: ci.UserAgent, Detail: fmt.Sprintf("%s: %v", what, err)}
	if u != nil {
		e.UserID = u.ID
	}
	s.audit(ctx, e)
}

// providerUser finds, links or creates the user of id. It returns the user
// it found along with ErrBlocked, for the audit log.
func (s *Service) providerUser(ctx context.Context, id ExternalIdentity, st Settings) (*User, string, error) {
	for range 3 { // another round only after losing a race to link the same identity
		link, err := s.store.IdentityBySubject(ctx, id.Provider, id.Subject)
		switch {
		case err == nil:
			u, err := s.store.UserByID(ctx, link.UserID)
			if err != nil {
				return nil, "", fmt.Errorf("identity's user: %w", err)
			}
			return checkProviderUser(u, "existing identity")
		case !errors.Is(err, ErrNotFound):
			return nil, "", fmt.Errorf("find identity: %w", err)
		}
		// A new identity: only a verified email may create or join an account.
		email := strings.ToLower(id.Email)
		if a, err := mail.ParseAddress(email); !id.EmailVerified || err != nil || a.Address != email {
			return nil, "", ErrEmailNotVerified
		}
		now := s.clock()
		ident := Identity{Provider: id.Provider, Subject: id.Subject, Email: email, CreatedAt: now}
		u, err := s.store.UserByEmail(ctx, email)
		switch {
		case err == nil:
			if !id.LinkByEmail {
				return nil, "", ErrIdentityEmailTaken
			}
			if u.Blocked {
				return u, "", ErrBlocked
			}
			ident.UserID = u.ID
			if err := s.store.AddIdentity(ctx, ident); errors.Is(err, ErrConflict) {
				continue
			} else if err != nil {
				return nil, "", fmt.Errorf("link identity: %w", err)
			}
			s.audit(ctx, AuditEvent{Type: AuditIdentityLink, UserID: u.ID,
				Detail: fmt.Sprintf("provider %s identity linked by verified email", id.Provider)})
			return checkProviderUser(u, "linked by verified email")
		case !errors.Is(err, ErrNotFound):
			return nil, "", fmt.Errorf("find user by email: %w", err)
		}
		if !st.Registration {
			return nil, "", ErrRegistrationClosed
		}
		u, err = s.createProviderUser(ctx, id, email)
		if errors.Is(err, errEmailRace) {
			continue // created meanwhile, most likely by a racing sign-in of this identity
		}
		if err != nil {
			return nil, "", err
		}
		ident.UserID = u.ID
		if err := s.store.AddIdentity(ctx, ident); err != nil {
			// Another sign-in of the same identity won the race: drop
			// this account and sign in the one it linked.
			if derr := s.store.DeleteUser(ctx, u.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
				return nil, "", fmt.Errorf("undo user: %w", derr)
			}
			if errors.Is(err, ErrConflict) {
				continue
			}
			return nil, "", fmt.Errorf("link identity: %w", err)
		}
		return checkProviderUser(u, "account created")
	}
	return nil, "", ErrIdentityEmailTaken
}

// errEmailRace: the email was free a moment ago and is taken now.
var errEmailRace = errors.New("email taken during sign-in")

// checkProviderUser refuses blocked users.
func checkProviderUser(u *User, how string) (*User, string, error) {
	if u.Blocked {
		return u, "", ErrBlocked
	}
	return u, how, nil
}

// createProviderUser stores a new confirmed account without a password
// (local login cannot reach it) whose provider is id.Provider. Its username
// is the provider's suggestion, or the email's local part, made unique.
func (s *Service) createProviderUser(ctx context.Context, id ExternalIdentity, email string) (*User, error) {
	base, err := normalizeUsername(strings.TrimSpace(id.Username))
	if err != nil || base == "" || len(base) > 100 {
		base, _, _ = strings.Cut(email, "@")
		if b, err := normalizeUsername(base); err == nil {
			base = b
		}
	}
	for utf8.RuneCountInString(base) < MinUsernameLen {
		base += "_"
	}
	now := s.clock()
	for i := range 4 {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s_%s", base, strings.ToLower(randomString(4)))
		}
		u := &User{
			DocumentID: "u_" + strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(randomString(15))),
			Username:   name, UsernameKey: UsernameKey(name), Email: email, Provider: id.Provider, Role: "authenticated",
			Confirmed: true, CreatedAt: now, UpdatedAt: now,
		}
		err := s.store.CreateUser(ctx, u)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("create user: %w", err)
		}
		// The email was taken meanwhile, or the username: retry with
		// another name only in the second case.
		if _, err := s.store.UserByEmail(ctx, email); err == nil {
			return nil, errEmailRace
		}
	}
	return nil, ErrTaken
}

// SignInStateKey returns the server secret that signs provider sign-in
// state (internal/idp), created at first use and shared by every instance.
func (s *Service) SignInStateKey(ctx context.Context) ([]byte, error) {
	return s.store.Secret(ctx, "oidc-state-key", []byte(randomString(32)))
}
