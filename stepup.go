package refreshing

import (
	"context"
	"errors"
	"fmt"
)

// Step-up: every access token says when its user last proved who they are
// (auth_time, with amr), rotations keep it, and a client asks for a recent
// one with max_age at the token endpoint (CheckMaxAge). When it is too old,
// the user re-authenticates in the session they are in (Reauthenticate)
// instead of signing in again, which would start another session.

// ErrNoPassword: the account has no password to re-authenticate with (it
// signs in through an external provider only); the user must sign in again
// with the provider, which starts a new session.
var ErrNoPassword = errors.New("the account has no password: sign in again with its provider")

// AuditReauthenticate records a successful re-authentication; a wrong
// password is recorded as AuditLoginFailed.
const AuditReauthenticate = "reauthenticate"

// Reauthenticate is step-up without ending the session: the caller p (an
// access token of a session) proves again who they are with their password.
// The session's AuthTime becomes now, and the grant carries a new access
// token of the same session whose auth_time is now, bound to the DPoP key
// the presented token was bound to, if any (the caller proved it holds that
// key). It carries no refresh token: the session's own goes on, and every
// exchange of it from now on carries the new auth_time.
//
// It refuses, changing nothing: a malformed password (a FieldError); an
// access token that names no session (ErrUnauthenticated); an account
// without a password (ErrNoPassword); a wrong password (ErrWrongPassword,
// audited as a failed sign-in); a session ended meanwhile
// (ErrUnauthenticated).
func (s *Service) Reauthenticate(ctx context.Context, p *Principal, password string, ci ClientInfo) (*Grant, error) {
	if err := checkPassword("password", password, 1); err != nil {
		return nil, err
	}
	if p.SessionID == "" {
		return nil, fmt.Errorf("%w: the access token names no session to re-authenticate", ErrUnauthenticated)
	}
	u := p.User
	if u.PasswordHash == "" {
		return nil, ErrNoPassword
	}
	ok, _, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.audit(ctx, AuditEvent{Type: AuditLoginFailed, UserID: u.ID, SessionID: p.SessionID, IP: ci.IP, UserAgent: ci.UserAgent,
			Detail: "re-authentication: wrong password"})
		return nil, ErrWrongPassword
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if err := s.store.SetAuthTime(ctx, p.SessionID, now); err != nil {
		if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: session ended", ErrUnauthenticated)
		}
		return nil, fmt.Errorf("re-authenticate: %w", err)
	}
	sess, err := s.store.Session(ctx, p.SessionID)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	access, exp, err := s.sign(u, sess, now, st, p.Claims.JKT)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, AuditEvent{Type: AuditReauthenticate, UserID: u.ID, SessionID: sess.ID, IP: ci.IP, UserAgent: ci.UserAgent})
	return &Grant{AccessToken: access, AccessExpiresAt: exp, User: u, Session: sess}, nil
}
