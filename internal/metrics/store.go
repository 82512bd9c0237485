package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/refreshing/refreshing"
)

// Store returns st with every operation timed into the
// refreshing_store_operation_duration_seconds histogram, labelled with the
// operation and its result: the users, sessions, settings, keys and
// operations methods, which the requests use. The others (OAuth clients,
// administrators, roles, the audit log, the outbox) pass through untimed,
// and so would a method added to refreshing.Store later, but
// TestStoreTimesOrListsEveryMethod fails until it is timed here or listed
// as untimed. Unwrap returns st.
func (m *Metrics) Store(st refreshing.Store) refreshing.Store { return &store{Store: st, m: m} }

// store is the timing decorator Metrics.Store returns.
type store struct {
	refreshing.Store
	m *Metrics
}

// Unwrap returns the Store being timed.
func (d *store) Unwrap() refreshing.Store { return d.Store }

// result names the outcome of a Store call with the error contract's words,
// a small fixed set of label values.
func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, refreshing.ErrNotFound):
		return "not_found"
	case errors.Is(err, refreshing.ErrConflict):
		return "conflict"
	case errors.Is(err, refreshing.ErrStale):
		return "stale"
	case errors.Is(err, refreshing.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}

// done records one call of op that started at start and returned err.
func (d *store) done(op string, start time.Time, err error) {
	d.m.storeLatency.WithLabelValues(op, result(err)).Observe(time.Since(start).Seconds())
}

// Ping implements refreshing.Store, timed.
func (d *store) Ping(ctx context.Context) error {
	start := time.Now()
	err := d.Store.Ping(ctx)
	d.done("ping", start, err)
	return err
}

// CreateUser implements refreshing.Store, timed.
func (d *store) CreateUser(ctx context.Context, u *refreshing.User) error {
	start := time.Now()
	err := d.Store.CreateUser(ctx, u)
	d.done("create_user", start, err)
	return err
}

// UserByID implements refreshing.Store, timed.
func (d *store) UserByID(ctx context.Context, id int64) (*refreshing.User, error) {
	start := time.Now()
	v, err := d.Store.UserByID(ctx, id)
	d.done("user_by_id", start, err)
	return v, err
}

// UserByEmail implements refreshing.Store, timed.
func (d *store) UserByEmail(ctx context.Context, email string) (*refreshing.User, error) {
	start := time.Now()
	v, err := d.Store.UserByEmail(ctx, email)
	d.done("user_by_email", start, err)
	return v, err
}

// UserByUsername implements refreshing.Store, timed.
func (d *store) UserByUsername(ctx context.Context, username string) (*refreshing.User, error) {
	start := time.Now()
	v, err := d.Store.UserByUsername(ctx, username)
	d.done("user_by_username", start, err)
	return v, err
}

// UpdateUser implements refreshing.Store, timed.
func (d *store) UpdateUser(ctx context.Context, u *refreshing.User, revoke *refreshing.Revocation) error {
	start := time.Now()
	err := d.Store.UpdateUser(ctx, u, revoke)
	d.done("update_user", start, err)
	return err
}

// DeleteUser implements refreshing.Store, timed.
func (d *store) DeleteUser(ctx context.Context, id int64) error {
	start := time.Now()
	err := d.Store.DeleteUser(ctx, id)
	d.done("delete_user", start, err)
	return err
}

// ListUsers implements refreshing.Store, timed.
func (d *store) ListUsers(ctx context.Context, after int64, limit int) ([]refreshing.User, error) {
	start := time.Now()
	v, err := d.Store.ListUsers(ctx, after, limit)
	d.done("list_users", start, err)
	return v, err
}

// CreateSession implements refreshing.Store, timed.
func (d *store) CreateSession(ctx context.Context, s *refreshing.Session, limit int) error {
	start := time.Now()
	err := d.Store.CreateSession(ctx, s, limit)
	d.done("create_session", start, err)
	return err
}

// Session implements refreshing.Store, timed.
func (d *store) Session(ctx context.Context, id string) (*refreshing.Session, error) {
	start := time.Now()
	v, err := d.Store.Session(ctx, id)
	d.done("session", start, err)
	return v, err
}

// RotateSession implements refreshing.Store, timed.
func (d *store) RotateSession(ctx context.Context, r refreshing.Rotation) error {
	start := time.Now()
	err := d.Store.RotateSession(ctx, r)
	d.done("rotate_session", start, err)
	return err
}

// RotateMatching implements refreshing.Store, timed.
func (d *store) RotateMatching(ctx context.Context, r refreshing.MatchingRotation) (*refreshing.Session, error) {
	start := time.Now()
	sess, err := d.Store.RotateMatching(ctx, r)
	d.done("rotate_matching", start, err)
	return sess, err
}

// SetAuthTime implements refreshing.Store, timed.
func (d *store) SetAuthTime(ctx context.Context, id string, at time.Time) error {
	start := time.Now()
	err := d.Store.SetAuthTime(ctx, id, at)
	d.done("set_auth_time", start, err)
	return err
}

// TouchSession implements refreshing.Store, timed.
func (d *store) TouchSession(ctx context.Context, id string, at time.Time) error {
	start := time.Now()
	err := d.Store.TouchSession(ctx, id, at)
	d.done("touch_session", start, err)
	return err
}

// RevokeSession implements refreshing.Store, timed.
func (d *store) RevokeSession(ctx context.Context, id string, reason string, at time.Time) error {
	start := time.Now()
	err := d.Store.RevokeSession(ctx, id, reason, at)
	d.done("revoke_session", start, err)
	return err
}

// RevokeSessions implements refreshing.Store, timed.
func (d *store) RevokeSessions(ctx context.Context, r refreshing.Revocation) (int, error) {
	start := time.Now()
	v, err := d.Store.RevokeSessions(ctx, r)
	d.done("revoke_sessions", start, err)
	return v, err
}

// UserSessions implements refreshing.Store, timed.
func (d *store) UserSessions(ctx context.Context, userID int64, now time.Time) ([]refreshing.Session, error) {
	start := time.Now()
	v, err := d.Store.UserSessions(ctx, userID, now)
	d.done("user_sessions", start, err)
	return v, err
}

// ListSessions implements refreshing.Store, timed.
func (d *store) ListSessions(ctx context.Context, f refreshing.SessionFilter) ([]refreshing.Session, error) {
	start := time.Now()
	v, err := d.Store.ListSessions(ctx, f)
	d.done("list_sessions", start, err)
	return v, err
}

// Settings implements refreshing.Store, timed.
func (d *store) Settings(ctx context.Context) (refreshing.Settings, error) {
	start := time.Now()
	v, err := d.Store.Settings(ctx)
	d.done("settings", start, err)
	return v, err
}

// SaveSettings implements refreshing.Store, timed.
func (d *store) SaveSettings(ctx context.Context, s refreshing.Settings) error {
	start := time.Now()
	err := d.Store.SaveSettings(ctx, s)
	d.done("save_settings", start, err)
	return err
}

// InitSettings implements refreshing.Store, timed.
func (d *store) InitSettings(ctx context.Context, s refreshing.Settings) (refreshing.Settings, error) {
	start := time.Now()
	v, err := d.Store.InitSettings(ctx, s)
	d.done("init_settings", start, err)
	return v, err
}

// SigningKeys implements refreshing.Store, timed.
func (d *store) SigningKeys(ctx context.Context) ([]refreshing.SigningKey, error) {
	start := time.Now()
	v, err := d.Store.SigningKeys(ctx)
	d.done("signing_keys", start, err)
	return v, err
}

// AddSigningKey implements refreshing.Store, timed.
func (d *store) AddSigningKey(ctx context.Context, k refreshing.SigningKey, onlyIfNone bool) error {
	start := time.Now()
	err := d.Store.AddSigningKey(ctx, k, onlyIfNone)
	d.done("add_signing_key", start, err)
	return err
}

// DeleteSigningKey implements refreshing.Store, timed.
func (d *store) DeleteSigningKey(ctx context.Context, id string) error {
	start := time.Now()
	err := d.Store.DeleteSigningKey(ctx, id)
	d.done("delete_signing_key", start, err)
	return err
}

// Secret implements refreshing.Store, timed.
func (d *store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	start := time.Now()
	v, err := d.Store.Secret(ctx, name, value)
	d.done("secret", start, err)
	return v, err
}

// PurgeSessions implements refreshing.Store, timed.
func (d *store) PurgeSessions(ctx context.Context, p refreshing.Purge) (int, error) {
	start := time.Now()
	v, err := d.Store.PurgeSessions(ctx, p)
	d.done("purge_sessions", start, err)
	return v, err
}

// CountActiveSessions implements refreshing.Store, timed.
func (d *store) CountActiveSessions(ctx context.Context, now time.Time, activeAfter time.Time) (int64, error) {
	start := time.Now()
	v, err := d.Store.CountActiveSessions(ctx, now, activeAfter)
	d.done("count_active_sessions", start, err)
	return v, err
}

// AcquireLease implements refreshing.Store, timed.
func (d *store) AcquireLease(ctx context.Context, name string, holder string, now time.Time, until time.Time) (bool, error) {
	start := time.Now()
	v, err := d.Store.AcquireLease(ctx, name, holder, now, until)
	d.done("acquire_lease", start, err)
	return v, err
}

// ImportUser implements refreshing.Store, timed.
func (d *store) ImportUser(ctx context.Context, u *refreshing.User) error {
	start := time.Now()
	err := d.Store.ImportUser(ctx, u)
	d.done("import_user", start, err)
	return err
}

// ImportSession implements refreshing.Store, timed.
func (d *store) ImportSession(ctx context.Context, s *refreshing.Session, importHash []byte) error {
	start := time.Now()
	err := d.Store.ImportSession(ctx, s, importHash)
	d.done("import_session", start, err)
	return err
}

// SessionIDByImportHash implements refreshing.Store, timed.
func (d *store) SessionIDByImportHash(ctx context.Context, importHash []byte) (string, error) {
	start := time.Now()
	v, err := d.Store.SessionIDByImportHash(ctx, importHash)
	d.done("session_id_by_import_hash", start, err)
	return v, err
}

// HasImportedSessions implements refreshing.Store, timed.
func (d *store) HasImportedSessions(ctx context.Context) (bool, error) {
	start := time.Now()
	v, err := d.Store.HasImportedSessions(ctx)
	d.done("has_imported_sessions", start, err)
	return v, err
}
