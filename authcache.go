package refreshing

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// authCache remembers the sessions Authenticate found active, with their
// users, and the users of exchanges, for at most authCacheLife, so that a
// burst of requests an app makes with one access token costs one read of
// the store instead of one each.
//
// It only ever answers "active": a session it does not hold, holds for too
// long, or holds but finds ended by the clock is read from the store again,
// so it can never refuse a token the store would accept. What it must not do
// is accept a token whose session was revoked, and it forgets everything
// when that may have happened:
//   - at once, for the writes of this Service: every write that can end a
//     session or change a user goes through invalidating, which bumps the
//     cache's epoch, and an entry is served only if no bump happened since
//     before the read that filled it;
//   - within authRevisionBound, for the writes of any other process (an
//     instance on the same PostgreSQL database, the CLI, an operator's
//     SQL): triggers bump Store.AuthRevision in each such write's
//     transaction, and the cache reads it every authRevisionEvery; it
//     serves nothing while its last successful read of it began
//     authRevisionBound ago or more, and bumps its epoch when it changed.
type authCache struct {
	epoch    atomic.Uint64
	sessions memo[string, sessionUser] // by session id
	users    memo[int64, User]         // by user id: the users of exchanges

	polling  sync.Mutex   // held by the one request reading the revision
	revision atomic.Int64 // the store's AuthRevision as last read
	checked  atomic.Int64 // when its last successful read began, on clock's scale; 0: never
}

// The cache's bounds. A revocation made by another process is in force here
// at most authRevisionBound after it committed: a twentieth of a second,
// shorter than any CLI command takes to run, so "revoke, then call" from a
// script is refused every time. An entry lives at most authCacheLife, a
// bound for the changes the revision cannot see (none through this
// program: the store's triggers count every one).
const (
	authRevisionEvery = 20 * time.Millisecond
	authRevisionBound = 50 * time.Millisecond
	authCacheLife     = 5 * time.Second
)

// authClock is the monotonic clock of authCache.checked.
var authClock = time.Now()

// current reports whether entries may be served now: whether the last read
// of the store's revision began less than authRevisionBound ago. When it
// began authRevisionEvery ago or more and no other request is reading it,
// the caller reads it (one small read of the store, a few dozen times a
// second whatever the traffic); a failed read serves nothing.
func (c *authCache) current(ctx context.Context, store Store) bool {
	checked := c.checked.Load()
	age := time.Duration(time.Since(authClock).Nanoseconds() - checked)
	if checked != 0 && age < authRevisionEvery {
		return true
	}
	if !c.polling.TryLock() {
		return checked != 0 && age < authRevisionBound
	}
	defer c.polling.Unlock()
	began := time.Since(authClock).Nanoseconds()
	n, err := store.AuthRevision(ctx)
	if err != nil {
		return false
	}
	if c.checked.Load() == 0 || n != c.revision.Load() {
		// Entries read before this moment may be of sessions that ended.
		c.invalidate()
		c.revision.Store(n)
	}
	c.checked.Store(max(began, 1))
	return true
}

// sessionUser is a session and its user as one read returned them.
type sessionUser struct {
	sess Session
	user User
}

// get returns copies of the session sid and its user if they were read
// less than authCacheLife ago, no invalidation happened since, and the
// cache is current (see current; store is where it reads the revision).
func (c *authCache) get(ctx context.Context, store Store, sid string) (*Session, *User, bool) {
	if !c.current(ctx, store) {
		return nil, nil, false
	}
	su, ok := c.sessions.get(sid, c.epoch.Load(), authCacheLife)
	if !ok {
		return nil, nil, false
	}
	return &su.sess, &su.user, true
}

// put remembers sess and u, read by a read that began at read, in epoch.
func (c *authCache) put(sess *Session, u *User, read time.Time, epoch uint64) {
	c.sessions.put(sess.ID, sessionUser{*sess, *u}, read, epoch)
}

// user returns a copy of user id as get would.
func (c *authCache) user(ctx context.Context, store Store, id int64) (*User, bool) {
	if !c.current(ctx, store) {
		return nil, false
	}
	u, ok := c.users.get(id, c.epoch.Load(), authCacheLife)
	return &u, ok
}

// putUser remembers u, read by a read that began at read, in epoch.
func (c *authCache) putUser(u *User, read time.Time, epoch uint64) {
	c.users.put(u.ID, *u, read, epoch)
}

// memo is a map of values read from the store, each with when the read
// began (monotonic) and the cache's epoch before it. It holds at most
// authCacheMax of them; a full memo starts afresh.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]remembered[V]
}

type remembered[V any] struct {
	v     V
	read  time.Time
	epoch uint64
}

// authCacheMax bounds each memo of an authCache.
const authCacheMax = 100_000

// get returns the value of k if it was read less than ttl ago in epoch.
func (m *memo[K, V]) get(k K, epoch uint64, ttl time.Duration) (V, bool) {
	m.mu.Lock()
	r, ok := m.m[k]
	m.mu.Unlock()
	if !ok || r.epoch != epoch || time.Since(r.read) >= ttl {
		var zero V
		return zero, false
	}
	return r.v, true
}

// put remembers v as k's value, read by a read that began at read, in epoch.
func (m *memo[K, V]) put(k K, v V, read time.Time, epoch uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= authCacheMax {
		m.m = make(map[K]remembered[V])
	}
	m.m[k] = remembered[V]{v: v, read: read, epoch: epoch}
}

// invalidate makes every entry stale.
func (c *authCache) invalidate() { c.epoch.Add(1) }

// invalidating is the Service's view of its Store: every write that can end
// a session or change a user invalidates the authentication cache once it
// returned (whatever it returned: a failed write may still have happened).
// Rotations and touches are not among them: they leave a session active.
//
// It embeds Store, so a method added to Store passes through without
// invalidating unless it is listed here. TestInvalidatingCoversStore makes
// that a decision, not an accident: it fails for a Store method that is
// neither listed as session-ending (and then checked to invalidate, on a
// real store) nor listed with the reason it cannot end a session or change
// a user, and for a store.go doc that disagrees with the list.
type invalidating struct {
	Store
	cache *authCache
}

// UpdateUser implements Store and invalidates.
func (s invalidating) UpdateUser(ctx context.Context, u *User, revoke *Revocation) error {
	defer s.cache.invalidate()
	return s.Store.UpdateUser(ctx, u, revoke)
}

// DeleteUser implements Store and invalidates.
func (s invalidating) DeleteUser(ctx context.Context, id int64) error {
	defer s.cache.invalidate()
	return s.Store.DeleteUser(ctx, id)
}

// CreateSession implements Store and invalidates when it may revoke other
// sessions (same device, or the per-user limit).
func (s invalidating) CreateSession(ctx context.Context, sess *Session, limit int) error {
	if sess.DeviceID != "" || limit > 0 {
		defer s.cache.invalidate()
	}
	return s.Store.CreateSession(ctx, sess, limit)
}

// RevokeSession implements Store and invalidates.
func (s invalidating) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	defer s.cache.invalidate()
	return s.Store.RevokeSession(ctx, id, reason, at)
}

// RevokeSessions implements Store and invalidates.
func (s invalidating) RevokeSessions(ctx context.Context, r Revocation) (int, error) {
	defer s.cache.invalidate()
	return s.Store.RevokeSessions(ctx, r)
}

// ImportSession implements Store and invalidates (a re-import may change a
// session's state).
func (s invalidating) ImportSession(ctx context.Context, sess *Session, importHash []byte) error {
	defer s.cache.invalidate()
	return s.Store.ImportSession(ctx, sess, importHash)
}

// ImportUser implements Store and invalidates.
func (s invalidating) ImportUser(ctx context.Context, u *User) error {
	defer s.cache.invalidate()
	return s.Store.ImportUser(ctx, u)
}

// DeleteClient implements Store and invalidates: it revokes the client's sessions.
func (s invalidating) DeleteClient(ctx context.Context, id string, at time.Time) (int, error) {
	defer s.cache.invalidate()
	return s.Store.DeleteClient(ctx, id, at)
}

// RedeemCode implements Store and invalidates the authentication cache: it
// changes a user and may revoke their sessions.
func (s invalidating) RedeemCode(ctx context.Context, id string, u *User, revoke *Revocation) error {
	defer s.cache.invalidate()
	return s.Store.RedeemCode(ctx, id, u, revoke)
}
