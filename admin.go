package refreshing

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The operations below are for administrators (the CLI and, later, the admin
// screens). Callers are trusted; inputs are still validated.

// CreateUser creates a confirmed local user, as an administrator would.
func (s *Service) CreateUser(ctx context.Context, username, email, password string) (*User, error) {
	if err := checkText("username", username, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	username, err := normalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if username == "" {
		return nil, Invalid("username", "username must not be empty")
	}
	if err := checkText("email", email, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if !strings.Contains(email, "@") {
		return nil, Invalid("email", "email must be a valid email address")
	}
	if err := s.CheckPassword(ctx, "password", password); err != nil {
		return nil, err
	}
	u, err := s.createUser(ctx, username, email, password, true)
	if err == nil {
		s.audit(ctx, AuditEvent{Type: AuditUserCreate, UserID: u.ID, Detail: "created " + u.Email})
	}
	return u, err
}

// UserByEmail returns the user with that email (case-insensitive), or ErrNotFound.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	return s.store.UserByEmail(ctx, strings.ToLower(email))
}

// SetBlocked blocks or unblocks a user. Blocking revokes every session of
// theirs in the same transaction, so access ends at once.
func (s *Service) SetBlocked(ctx context.Context, userID int64, blocked bool) (*User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	now := s.clock()
	u.Blocked, u.UpdatedAt = blocked, now
	var rev *Revocation
	if blocked {
		rev = &Revocation{UserID: u.ID, Reason: ReasonBlocked, At: now}
	}
	if err := s.store.UpdateUser(ctx, u, rev); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	if blocked {
		s.audit(ctx, AuditEvent{Type: AuditBlock, UserID: u.ID, Detail: "blocked; every session revoked"})
	} else {
		s.audit(ctx, AuditEvent{Type: AuditUnblock, UserID: u.ID})
	}
	return u, nil
}

// SignOutEverywhere revokes every session of a user.
func (s *Service) SignOutEverywhere(ctx context.Context, userID int64) (int, error) {
	n, err := s.store.RevokeSessions(ctx, Revocation{UserID: userID, Reason: ReasonAdmin, At: s.clock()})
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminRevoke, UserID: userID, Detail: fmt.Sprintf("signed out everywhere (%d sessions)", n)})
	return n, nil
}

// DeleteUser deletes a user and every session of theirs.
func (s *Service) DeleteUser(ctx context.Context, userID int64) error {
	if err := s.store.DeleteUser(ctx, userID); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditUserDelete, UserID: userID, Detail: "user and sessions deleted"})
	return nil
}

// ListSessions lists sessions for administrators (see SessionFilter).
func (s *Service) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	if f.Active && f.ActiveAt.IsZero() {
		f.ActiveAt = s.clock()
	}
	return s.store.ListSessions(ctx, f)
}

// RevokeSession revokes any session, as an administrator.
func (s *Service) RevokeSession(ctx context.Context, id string) error {
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	if err := s.store.RevokeSession(ctx, id, ReasonAdmin, s.clock()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminRevoke, UserID: sess.UserID, SessionID: id, Detail: "session revoked"})
	return nil
}
