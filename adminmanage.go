package refreshing

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The operations of the admin HTTP API (/admin/api), the admin screens and
// the CLI (issue 19): the same calls for all three. Callers are trusted
// administrators; inputs are still validated, and each change is recorded in
// the audit log under the actor the context carries (WithActor), or "cli".

// Admin API tokens.
const (
	// AdminTokenPrefix starts every admin API token, so that one found in a
	// log or a repository is recognisable.
	AdminTokenPrefix = "rfa_"
	// MaxAdminTokenTTL caps an admin API token's lifetime; 0 asks for a
	// token that does not expire.
	MaxAdminTokenTTL = 5 * 365 * 24 * time.Hour
	maxAdminTokenLen = 200
)

// Page sizes of the admin listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// pageSize checks a requested page size: 0 is DefaultPageSize.
func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, Invalid("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return limit, nil
}

// UserQuery is what the users listing asks for.
type UserQuery struct {
	Query  string // email or username contains it; "" lists everyone
	Oldest bool   // oldest first; newest first otherwise
	// Keyset cursors (user ids), at most one of them: After asks for the
	// page after that user in the listing's order, Before for the page
	// before it (the previous page).
	After, Before int64
	Limit         int // 1 to MaxPageSize; 0 means DefaultPageSize
}

// UserPage is one page of FindUsers, in the listing's order.
type UserPage struct {
	Users []User
	// HasNext says that users follow the last one; HasPrev that users
	// precede the first one (the page was reached by a cursor).
	HasNext, HasPrev bool
}

// FindUsers lists users for the admin API and screens, newest first unless
// q.Oldest, one keyset page at a time in either direction. The page is
// always in the listing's order, whichever way it was reached.
func (s *Service) FindUsers(ctx context.Context, q UserQuery) (*UserPage, error) {
	if err := checkText("q", q.Query, false, MaxIdentifierLen); err != nil {
		return nil, err
	}
	limit, err := pageSize(q.Limit)
	if err != nil {
		return nil, err
	}
	if q.After < 0 || q.Before < 0 || (q.After != 0 && q.Before != 0) {
		return nil, Invalid("after", "give one page cursor at most, a user id")
	}
	// One more than asked for tells whether the listing goes on.
	f := UserFilter{Query: strings.TrimSpace(q.Query), Ascending: q.Oldest, AfterID: q.After, Limit: limit + 1}
	if q.Before != 0 {
		f.Ascending, f.AfterID = !q.Oldest, q.Before
	}
	users, err := s.store.FindUsers(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	more := len(users) > limit
	if more {
		users = users[:limit]
	}
	p := &UserPage{Users: users, HasNext: more, HasPrev: q.After != 0}
	if q.Before != 0 {
		slices.Reverse(users)
		p.HasNext, p.HasPrev = true, more
	}
	return p, nil
}

// CountUsers returns how many users exist.
func (s *Service) CountUsers(ctx context.Context) (int64, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UsersByID returns the users with these ids that exist, by id; for the
// screens that name users by email where the records hold ids.
func (s *Service) UsersByID(ctx context.Context, ids []int64) (map[int64]*User, error) {
	ids = distinct(ids)
	out := make(map[int64]*User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	users, err := s.store.UsersByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("users by id: %w", err)
	}
	for i := range users {
		out[users[i].ID] = &users[i]
	}
	return out, nil
}

// UserStats returns the live-session count and last sign-in of each of the
// given users (those without sessions are absent from the map).
func (s *Service) UserStats(ctx context.Context, ids []int64) (map[int64]UserStats, error) {
	ids = distinct(ids)
	out := make(map[int64]UserStats, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > MaxPageSize {
		return nil, Invalid("id", "at most %d users at once", MaxPageSize)
	}
	stats, err := s.store.UserStats(ctx, ids, s.clock())
	if err != nil {
		return nil, fmt.Errorf("user stats: %w", err)
	}
	for _, st := range stats {
		out[st.UserID] = st
	}
	return out, nil
}

// distinct returns the non-zero ids of ids, each once, in ascending order.
func distinct(ids []int64) []int64 {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	slices.Sort(ids)
	return slices.Compact(ids)
}

// SetUserPassword sets a user's password as an administrator and ends every
// session of theirs in the same transaction (the old password may be known
// to someone else).
func (s *Service) SetUserPassword(ctx context.Context, userID int64, password string) (*User, error) {
	if err := s.CheckPassword(ctx, "password", password); err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	u, rev, err := s.newPassword(ctx, u, password, ReasonPasswordChange)
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdateUser(ctx, u, rev); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditUserSetPassword, UserID: u.ID, Detail: "password set by an administrator; every session revoked"})
	return u, nil
}

// Admins returns every administrator, in id order.
func (s *Service) Admins(ctx context.Context) ([]Admin, error) {
	list, err := s.store.ListAdmins(ctx)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return list, nil
}

// Admin returns the administrator with that id, or ErrNotFound.
func (s *Service) Admin(ctx context.Context, id int64) (*Admin, error) {
	a, err := s.store.AdminByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return a, err
}

// FindAdmin returns the administrator with that email (case-insensitive),
// or ErrNotFound.
func (s *Service) FindAdmin(ctx context.Context, email string) (*Admin, error) {
	if err := checkText("email", email, true, MaxIdentifierLen); err != nil {
		return nil, err
	}
	a, err := s.store.AdminByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return a, err
}

// DeleteAdmin deletes an administrator with their sessions and API tokens.
// The last administrator cannot be deleted (400): nobody could sign in to
// the admin screens any more.
func (s *Service) DeleteAdmin(ctx context.Context, id int64) error {
	list, err := s.Admins(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(a Admin) bool { return a.ID == id })
	if i < 0 {
		return ErrNotFound
	}
	if len(list) == 1 {
		return Invalid("id", "the last administrator cannot be deleted; create another one first")
	}
	if err := s.store.DeleteAdmin(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("delete admin: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminDelete, Detail: "administrator " + list[i].Email + " deleted"})
	return nil
}

// SetAdminPassword sets an administrator's password (a lost one can be
// reset this way from the CLI) and ends their admin sessions.
func (s *Service) SetAdminPassword(ctx context.Context, id int64, password string) error {
	if err := checkPassword("password", password, 10); err != nil {
		return err
	}
	a, err := s.Admin(ctx, id)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.store.SetAdminPassword(ctx, id, hash); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("set admin password: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminPassword, Detail: "password of administrator " + a.Email + " reset; their sessions ended"})
	return nil
}

// CreateAdminToken creates an admin API token for the administrator adminID,
// valid for ttl (0: until revoked). It returns the token in plain text, the
// only time it is available; only its SHA-256 is stored.
func (s *Service) CreateAdminToken(ctx context.Context, adminID int64, name string, ttl time.Duration) (*AdminToken, string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, true, 100); err != nil {
		return nil, "", err
	}
	if ttl < 0 || ttl > MaxAdminTokenTTL {
		return nil, "", Invalid("ttl", "ttl must be between 0 (never expires) and %s", MaxAdminTokenTTL)
	}
	a, err := s.Admin(ctx, adminID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, "", Invalid("adminId", "no administrator has id %d", adminID)
		}
		return nil, "", err
	}
	token := AdminTokenPrefix + randomString(32)
	now := s.clock()
	t := &AdminToken{AdminID: adminID, Name: name, TokenHash: hashToken(token), CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.store.CreateAdminToken(ctx, t); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, "", Invalid("adminId", "no administrator has id %d", adminID)
		}
		return nil, "", fmt.Errorf("create admin token: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminTokenCreate, Detail: fmt.Sprintf("admin API token %d %q created for %s", t.ID, t.Name, a.Email)})
	return t, token, nil
}

// AdminTokens lists the admin API tokens of one administrator (of everyone
// when adminID is 0), without their values, which are never stored.
func (s *Service) AdminTokens(ctx context.Context, adminID int64) ([]AdminToken, error) {
	list, err := s.store.AdminTokens(ctx, adminID)
	if err != nil {
		return nil, fmt.Errorf("list admin tokens: %w", err)
	}
	return list, nil
}

// RevokeAdminToken deletes an admin API token; it stops working at once.
func (s *Service) RevokeAdminToken(ctx context.Context, id int64) error {
	if err := s.store.DeleteAdminToken(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("delete admin token: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditAdminTokenRevoke, Detail: fmt.Sprintf("admin API token %d revoked", id)})
	return nil
}

// AuthenticateAdminToken returns the administrator an admin API token
// belongs to. A malformed, unknown, expired or revoked token, or one whose
// administrator is gone, is ErrUnauthenticated.
func (s *Service) AuthenticateAdminToken(ctx context.Context, token string) (*Admin, *AdminToken, error) {
	if !strings.HasPrefix(token, AdminTokenPrefix) || len(token) > maxAdminTokenLen || !utf8.ValidString(token) {
		return nil, nil, ErrUnauthenticated
	}
	h := hashToken(token)
	t, err := s.store.AdminTokenByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load admin token: %w", err)
	}
	// The lookup was by hash; compare again in constant time so that no
	// store's index comparison is all that stands between a guess and access.
	if subtle.ConstantTimeCompare(t.TokenHash, h) != 1 {
		return nil, nil, ErrUnauthenticated
	}
	if !t.ExpiresAt.IsZero() && !s.clock().Before(t.ExpiresAt) {
		return nil, nil, fmt.Errorf("%w: admin token expired", ErrUnauthenticated)
	}
	a, err := s.store.AdminByID(ctx, t.AdminID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load admin: %w", err)
	}
	return a, t, nil
}

// Clients returns every OAuth client, in id order.
func (s *Service) Clients(ctx context.Context) ([]Client, error) {
	list, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return list, nil
}

// Client returns the OAuth client with that id, or ErrNotFound.
func (s *Service) Client(ctx context.Context, id string) (*Client, error) {
	if err := checkClientID(id); err != nil {
		return nil, ErrNotFound
	}
	c, err := s.store.Client(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return c, err
}

// DeleteClient deletes an OAuth client: its secret stops working at once,
// and every session issued to it is revoked, so that its refresh tokens and
// access tokens stop working too (RFC 7592 section 2.3).
func (s *Service) DeleteClient(ctx context.Context, id string) error {
	if err := checkClientID(id); err != nil {
		return ErrNotFound
	}
	n, err := s.store.DeleteClient(ctx, id, s.clock())
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete client: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditClientDelete, Detail: fmt.Sprintf("OAuth client %s deleted; %d session(s) of it revoked", id, n)})
	return nil
}

// SetClientDPoP sets whether every token request of the OAuth client id
// must carry a DPoP proof (RFC 9449), and returns the client as it now is;
// ErrNotFound if there is none. Sessions already bound stay bound, and
// unbound ones stay unbound: the setting decides what the next token
// request must carry.
func (s *Service) SetClientDPoP(ctx context.Context, id string, require bool) (*Client, error) {
	if err := checkClientID(id); err != nil {
		return nil, ErrNotFound
	}
	if err := s.store.SetClientDPoP(ctx, id, require); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("set client DPoP: %w", err)
	}
	detail := "OAuth client " + id + " no longer requires DPoP"
	if require {
		detail = "OAuth client " + id + " requires DPoP"
	}
	s.audit(ctx, AuditEvent{Type: AuditClientUpdate, Detail: detail})
	return s.Client(ctx, id)
}

// Signing key states, as the admin screens and API show them.
const (
	KeySigning   = "signing"   // the newest key: signs every new access token
	KeyVerifying = "verifying" // older, still in the JWKS for tokens it signed
	KeyRetired   = "retired"   // can no longer verify a live token; left the JWKS, pruned soon
)

// KeyInfo is what administrators see of a signing key: never its material.
type KeyInfo struct {
	ID        string
	Algorithm string
	CreatedAt time.Time
	State     string // KeySigning, KeyVerifying or KeyRetired
}

// SigningKeys lists the stored signing keys, newest first, with their state.
// With HS256 (a configured secret) there are none to list.
func (s *Service) SigningKeys(ctx context.Context) ([]KeyInfo, error) {
	stored, live, _, err := s.storedKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(stored))
	for i, k := range stored {
		state := KeyRetired
		switch {
		case i == 0:
			state = KeySigning
		case slices.ContainsFunc(live, func(l SigningKey) bool { return l.ID == k.ID }):
			state = KeyVerifying
		}
		out = append(out, KeyInfo{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, State: state})
	}
	return out, nil
}

// RotateSigningKey is RotateKey for administrators: it refuses with a 400
// when signing is HS256, and records the rotation in the audit log.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) {
	if s.SigningAlgorithm() != "EdDSA" {
		return "", Invalid("algorithm", "signing keys rotate only with EdDSA signing (HS256 uses the configured secret)")
	}
	id, err := s.RotateKey(ctx)
	if err != nil {
		return "", err
	}
	s.audit(ctx, AuditEvent{Type: AuditKeyRotate, Detail: "signing key " + id + " added; it signs from now on"})
	return id, nil
}
