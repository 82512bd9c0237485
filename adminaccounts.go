package refreshing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// Admin session timeouts: a session ends after AdminIdleTimeout without a
// request and AdminSessionLifetime after sign-in, whichever comes first.
const (
	AdminIdleTimeout     = 30 * time.Minute
	AdminSessionLifetime = 12 * time.Hour
	// adminTouchGap: LastSeen is written at most this often per session.
	adminTouchGap = time.Minute
)

// Failed admin logins are limited per email and per client IP: after
// adminMaxFailures (per email) or adminMaxIPFailures (per IP) failures
// within adminFailureWindow, further attempts are refused with
// ErrTooManyAttempts until the window has passed. An attempt in progress
// counts as a failure until its password is found right, so at most
// adminMaxFailures passwords are checked per email and window, however many
// requests run at once.
const (
	adminMaxFailures   = 5
	adminMaxIPFailures = 20
	adminFailureWindow = 15 * time.Minute
	adminLimiterMax    = 10000 // keys tracked at most; older ones are forgotten first
)

// AdminAuth is a signed-in administrator.
type AdminAuth struct {
	Admin   *Admin
	Session *AdminSession
}

// adminState is the Service's state for the admin features: the role cache,
// the audit writer and the admin login limiter. Its zero value is ready.
type adminState struct {
	mu      sync.Mutex
	roles   map[string]Role
	rolesAt time.Time
	fails   map[string]failures

	audit auditor
}

// failures counts failed attempts for one key since first.
type failures struct {
	n     int
	first time.Time
}

// adminLimit is one budget of failed admin logins: a key ("email:…" or
// "ip:…") and the failures it allows per adminFailureWindow.
type adminLimit struct {
	key string
	max int
}

// reserve counts one attempt against every limit at now, before the
// password is checked, or counts nothing and reports false when one of them
// is used up. Counting first, under the lock, is what bounds the password
// checks per key: parallel requests cannot all pass a check made before
// any of them has failed. It returns the start of each limit's window, for
// release.
func (a *adminState) reserve(now time.Time, limits ...adminLimit) (firsts []time.Time, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range limits {
		if f, ok := a.fails[l.key]; ok && now.Sub(f.first) < adminFailureWindow && f.n >= l.max {
			return nil, false
		}
	}
	if a.fails == nil {
		a.fails = map[string]failures{}
	}
	if len(a.fails) >= adminLimiterMax {
		for k, f := range a.fails {
			if now.Sub(f.first) >= adminFailureWindow {
				delete(a.fails, k)
			}
		}
		if len(a.fails) >= adminLimiterMax {
			clear(a.fails) // under a flood of keys, forget rather than grow
		}
	}
	firsts = make([]time.Time, len(limits))
	for i, l := range limits {
		f := a.fails[l.key]
		if f.n == 0 || now.Sub(f.first) >= adminFailureWindow {
			f = failures{first: now}
		}
		f.n++
		a.fails[l.key] = f
		firsts[i] = f.first
	}
	return firsts, true
}

// release gives back the attempt reserve counted against each limit, for
// an attempt that did not fail (a right password, or an error before any
// verdict). A limit whose window has restarted since is left alone: the
// attempt was counted in a window that no longer counts.
func (a *adminState) release(firsts []time.Time, limits ...adminLimit) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, l := range limits {
		f, ok := a.fails[l.key]
		if !ok || !f.first.Equal(firsts[i]) {
			continue
		}
		if f.n--; f.n <= 0 {
			delete(a.fails, l.key)
		} else {
			a.fails[l.key] = f
		}
	}
}

// CreateAdmin creates an administrator with a password hashed by the
// Service's Hasher.
func (s *Service) CreateAdmin(ctx context.Context, email, password string) (*Admin, error) {
	if err := checkText("email", email, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, Invalid("email", "email must be a valid email address")
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkNewPassword("password", password, st, 10); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	a := &Admin{Email: strings.ToLower(email), PasswordHash: hash, CreatedAt: s.clock()}
	if err := s.store.CreateAdmin(ctx, a); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrTaken
		}
		return nil, fmt.Errorf("create admin: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminCreate, Detail: "administrator " + a.Email + " created"})
	return a, nil
}

// AdminLogin checks an administrator's credentials and starts an admin
// session. It returns the session token for the cookie; only its hash is
// stored. Wrong credentials are ErrInvalidCredentials (an unknown email
// costs the same as a wrong password); too many failures for the email or
// the IP are ErrTooManyAttempts.
func (s *Service) AdminLogin(ctx context.Context, email, password string, ci ClientInfo) (string, *AdminAuth, error) {
	if err := checkText("email", email, true, MaxIdentifierLen); err != nil {
		return "", nil, err
	}
	if err := checkPassword("password", password, 1); err != nil {
		return "", nil, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	ci, _ = clampInfo(ClientInfo{UserAgent: ci.UserAgent, IP: ci.IP})
	now := s.clock()
	a, err := s.store.AdminByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", nil, fmt.Errorf("find admin: %w", err)
	}
	// The audit log names an administrator only if one has this email: what
	// was typed into the field may be a password.
	actor, hash := "unknown admin", ""
	if a != nil {
		actor, hash = "admin "+a.Email, a.PasswordHash
	}
	// The attempt counts as a failure from here on, before the password is
	// checked; it is given back unless the password turns out wrong.
	limits := []adminLimit{{"email:" + email, adminMaxFailures}, {"ip:" + ci.IP, adminMaxIPFailures}}
	firsts, allowed := s.adm.reserve(now, limits...)
	if !allowed {
		s.audit(ctx, AuditEvent{Type: AuditAdminLoginFailed, Actor: actor, IP: ci.IP, UserAgent: ci.UserAgent, Detail: "refused: too many failed attempts"})
		return "", nil, ErrTooManyAttempts
	}
	failed := false
	defer func() {
		if !failed {
			s.adm.release(firsts, limits...)
		}
	}()
	ok, _, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return "", nil, err
	}
	if !ok || a == nil {
		failed = true
		s.audit(ctx, AuditEvent{Type: AuditAdminLoginFailed, Actor: actor, IP: ci.IP, UserAgent: ci.UserAgent, Detail: "wrong email or password"})
		return "", nil, ErrInvalidCredentials
	}
	token := rand.Text() + rand.Text() // 2 x 128 bits, base32
	sess := &AdminSession{TokenHash: hashToken(token), AdminID: a.ID, CreatedAt: now, LastSeen: now, IP: ci.IP, UserAgent: ci.UserAgent}
	if err := s.store.CreateAdminSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("create admin session: %w", err)
	}
	// Forget sessions that timed out, so the table stays small.
	if _, err := s.store.DeleteAdminSessions(ctx, now.Add(-AdminIdleTimeout), now.Add(-AdminSessionLifetime)); err != nil {
		return "", nil, fmt.Errorf("prune admin sessions: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminLogin, Actor: "admin " + a.Email, IP: ci.IP, UserAgent: ci.UserAgent})
	return token, &AdminAuth{Admin: a, Session: sess}, nil
}

// AdminAuthenticate returns the administrator whose session token this is.
// Unknown tokens and sessions past their idle or absolute timeout are
// ErrUnauthenticated.
func (s *Service) AdminAuthenticate(ctx context.Context, token string) (*AdminAuth, error) {
	if token == "" || len(token) > 200 {
		return nil, ErrUnauthenticated
	}
	h := hashToken(token)
	sess, err := s.store.AdminSession(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("load admin session: %w", err)
	}
	now := s.clock()
	if now.Sub(sess.LastSeen) >= AdminIdleTimeout || now.Sub(sess.CreatedAt) >= AdminSessionLifetime {
		if err := s.store.DeleteAdminSession(ctx, h); err != nil {
			return nil, fmt.Errorf("end admin session: %w", err)
		}
		return nil, fmt.Errorf("%w: admin session timed out", ErrUnauthenticated)
	}
	a, err := s.store.AdminByID(ctx, sess.AdminID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("load admin: %w", err)
	}
	if now.Sub(sess.LastSeen) >= adminTouchGap {
		if err := s.store.TouchAdminSession(ctx, h, now); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("touch admin session: %w", err)
		}
		sess.LastSeen = now
	}
	return &AdminAuth{Admin: a, Session: sess}, nil
}

// AdminLogout ends the admin session of token (a no-op for unknown tokens).
func (s *Service) AdminLogout(ctx context.Context, token string) error {
	if token == "" || len(token) > 200 {
		return nil
	}
	if err := s.store.DeleteAdminSession(ctx, hashToken(token)); err != nil {
		return fmt.Errorf("end admin session: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminLogout})
	return nil
}
