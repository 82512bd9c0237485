package refreshing

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Audit event types.
const (
	AuditLogin            = "login"
	AuditLoginFailed      = "login.failed"
	AuditRegister         = "register"
	AuditExchange         = "exchange"        // a refresh token was exchanged (Detail: the outcome)
	AuditExchangeFailed   = "exchange.failed" // refused, not a reuse (Detail: the outcome)
	AuditReuseDetected    = "reuse_detected"  // a retired token was replayed; Detail names both IPs
	AuditRevoke           = "revoke"          // sessions ended by their user (logout, revoke, sign out)
	AuditPasswordChange   = "password.change"
	AuditAdminRevoke      = "admin.revoke" // sessions ended by an administrator
	AuditBlock            = "block"
	AuditUnblock          = "unblock"
	AuditUserCreate       = "user.create"
	AuditUserDelete       = "user.delete"
	AuditSettingsChange   = "settings.change"
	AuditRoleChange       = "role.change"
	AuditAdminLogin       = "admin.login"
	AuditAdminLoginFailed = "admin.login.failed"
	AuditAdminLogout      = "admin.logout"
	AuditAdminCreate      = "admin.create"
	// The admin API and screens of issue 19.
	AuditAdminDelete      = "admin.delete"
	AuditAdminPassword    = "admin.password"     // an administrator's password was reset
	AuditAdminTokenCreate = "admin.token.create" // Detail names the token, never its value
	AuditAdminTokenRevoke = "admin.token.revoke"
	AuditClientCreate     = "client.create"
	AuditClientDelete     = "client.delete"
	AuditClientUpdate     = "client.update" // Detail says what changed (require DPoP)
	AuditKeyRotate        = "key.rotate"
	AuditProviderSave     = "provider.save"   // a sign-in provider saved at run time; Detail never holds its secret
	AuditProviderDelete   = "provider.delete" // a saved sign-in provider deleted
)

// byAdmin are the event types only an administrator causes.
var byAdmin = map[string]bool{AuditAdminRevoke: true, AuditBlock: true, AuditUnblock: true, AuditUserCreate: true,
	AuditUserDelete: true, AuditSettingsChange: true, AuditRoleChange: true, AuditAdminCreate: true,
	AuditAdminDelete: true, AuditAdminPassword: true, AuditAdminTokenCreate: true, AuditAdminTokenRevoke: true,
	AuditClientCreate: true, AuditClientDelete: true, AuditClientUpdate: true, AuditKeyRotate: true,
	AuditProviderSave: true, AuditProviderDelete: true,
	AuditUserConfirm: true, AuditUserSetPassword: true, AuditMailResend: true, AuditMailRetried: true}

// AuditTypes lists every event type, for filters.
func AuditTypes() []string {
	return []string{AuditLogin, AuditLoginFailed, AuditRegister, AuditExchange, AuditExchangeFailed,
		AuditReuseDetected, AuditRevoke, AuditPasswordChange, AuditAdminRevoke, AuditBlock, AuditUnblock,
		AuditUserCreate, AuditUserDelete, AuditSettingsChange, AuditRoleChange, AuditAdminLogin,
		AuditAdminLoginFailed, AuditAdminLogout, AuditAdminCreate,
		AuditProviderLogin, AuditProviderLoginFailed, AuditIdentityLink, // provider sign-in (provider.go)
		AuditAdminDelete, AuditAdminPassword, AuditAdminTokenCreate, AuditAdminTokenRevoke,
		AuditClientCreate, AuditClientDelete, AuditClientUpdate, AuditKeyRotate,
		AuditProviderSave, AuditProviderDelete,
		// The account life cycle (lifecycle.go).
		AuditResetRequested, AuditPasswordReset, AuditEmailConfirmed, AuditUserConfirm, AuditUserSetPassword,
		AuditMailResend, AuditMailFailed, AuditMailRetried,
		AuditReauthenticate} // step-up (stepup.go)
}

// Actor names who acts, for the audit log: an administrator on the admin
// screens, or "cli". The HTTP layer attaches it to a request's context with
// WithActor; events recorded without one name the end user or "anonymous".
type Actor struct {
	Name      string
	IP        string
	UserAgent string
}

type actorKey struct{}

// WithActor returns ctx carrying a, so that the Service's audit records name
// the administrator behind an operation.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorFrom returns the Actor in ctx, if any.
func actorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// clip shortens v to at most n bytes of valid UTF-8.
func clip(v string, n int) string {
	if len(v) > n {
		v = v[:n]
	}
	return strings.ToValidUTF8(v, "")
}

// Audit log writing. Recording never blocks the caller and never fails it:
// events go to a bounded buffer that one goroutine writes in batches (one
// transaction per batch), so an exchange costs a channel send, not a write.
// When the buffer is full (the store is down or far behind) events are
// dropped and counted (AuditDropped) rather than slowing the hot path.
const (
	auditBuffer   = 8192
	auditBatch    = 512
	auditInterval = 200 * time.Millisecond
	auditPruneGap = time.Hour // how often expired events are deleted
	auditPruneMax = 1000      // events deleted per statement
)

// auditor is the audit log's background writer.
type auditor struct {
	once    sync.Once
	ch      chan AuditEvent
	flush   chan chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	dropped atomic.Int64
	closed  atomic.Bool
}

// audit records e, filling in the time and, when absent, the actor from
// ctx. It never blocks.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = s.clock()
	}
	if a, ok := actorFrom(ctx); ok {
		if e.Actor == "" {
			e.Actor = a.Name
		}
		if e.IP == "" {
			e.IP, e.UserAgent = a.IP, a.UserAgent
		}
	}
	if e.Actor == "" {
		switch {
		case byAdmin[e.Type]:
			e.Actor = "cli" // an administrator's operation without a signed-in administrator
		case e.UserID != 0:
			e.Actor = fmt.Sprintf("user %d", e.UserID)
		default:
			e.Actor = "anonymous"
		}
	}
	e.UserAgent = clip(e.UserAgent, MaxTextLen)
	e.Detail = clip(e.Detail, MaxTextLen)
	a := &s.adm.audit
	if a.closed.Load() {
		a.dropped.Add(1)
		return
	}
	a.once.Do(func() { s.startAuditor() })
	select {
	case a.ch <- e:
	default:
		a.dropped.Add(1)
	}
}

// startAuditor starts the writer goroutine.
func (s *Service) startAuditor() {
	a := &s.adm.audit
	a.ch = make(chan AuditEvent, auditBuffer)
	a.flush = make(chan chan struct{})
	a.stop = make(chan struct{})
	a.stopped = make(chan struct{})
	go s.writeAudit()
}

// writeAudit is the writer loop: it writes what the buffer holds every
// auditInterval (or as soon as a batch is full), on request (FlushAudit),
// and once more when stopped; and it deletes expired events every hour.
func (s *Service) writeAudit() {
	a := &s.adm.audit
	defer close(a.stopped)
	tick := time.NewTicker(auditInterval)
	defer tick.Stop()
	var batch []AuditEvent
	var lastPrune time.Time
	write := func() {
		for {
		drain:
			for len(batch) < auditBatch {
				select {
				case e := <-a.ch:
					batch = append(batch, e)
				default:
					break drain
				}
			}
			if len(batch) == 0 {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.store.AppendAudit(ctx, batch); err != nil {
				a.dropped.Add(int64(len(batch)))
			}
			cancel()
			batch = batch[:0]
		}
	}
	for {
		select {
		case e := <-a.ch:
			batch = append(batch, e)
			if len(batch) >= auditBatch {
				write()
			}
		case <-tick.C:
			write()
			if now := time.Now(); now.Sub(lastPrune) >= auditPruneGap {
				lastPrune = now
				s.pruneAudit()
			}
		case done := <-a.flush:
			write()
			close(done)
		case <-a.stop:
			write()
			return
		}
	}
}

// pruneAudit deletes events older than the retention the settings name.
func (s *Service) pruneAudit() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := s.Settings(ctx)
	if err != nil || st.AuditRetention <= 0 {
		return
	}
	if _, err := s.PruneAudit(ctx, st.AuditRetention); err != nil {
		return
	}
}

// PruneAudit deletes the audit events older than retention, in small
// batches so that other writers are never held up for long, and reports how
// many it deleted. The Service calls it every hour with the retention the
// settings name.
func (s *Service) PruneAudit(ctx context.Context, retention time.Duration) (int, error) {
	before := s.clock().Add(-retention)
	total := 0
	for {
		n, err := s.store.DeleteAuditBefore(ctx, before, auditPruneMax)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune audit log: %w", err)
		}
		if n < auditPruneMax {
			return total, nil
		}
	}
}

// FlushAudit waits until every event recorded so far is written (or ctx is
// done).
func (s *Service) FlushAudit(ctx context.Context) {
	a := &s.adm.audit
	a.once.Do(func() { s.startAuditor() })
	if a.closed.Load() {
		return
	}
	done := make(chan struct{})
	select {
	case a.flush <- done:
	case <-a.stopped:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// AuditDropped reports how many audit events were lost because the buffer
// was full or the store refused them.
func (s *Service) AuditDropped() int64 { return s.adm.audit.dropped.Load() }

// Close stops the audit writer after writing what it holds. The Store is
// not closed: it belongs to the caller. Events recorded afterwards are
// dropped.
func (s *Service) Close() error {
	a := &s.adm.audit
	a.once.Do(func() { s.startAuditor() })
	if a.closed.Swap(true) {
		return nil
	}
	close(a.stop)
	<-a.stopped
	return nil
}

// ListAudit returns audit events as f selects them, newest first, after
// writing what is still buffered so the list is up to date.
func (s *Service) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	s.FlushAudit(ctx)
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	list, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return list, nil
}

// auditLoginFailed records a refused sign-in. The identifier itself is not
// kept (people type passwords into it); the user it names is, if any.
func (s *Service) auditLoginFailed(ctx context.Context, identifier string, ci ClientInfo, err error) {
	o := LoginOutcomeOf(err)
	if o == LoginBadInput || o == LoginError {
		return
	}
	e := AuditEvent{Type: AuditLoginFailed, IP: ci.IP, UserAgent: ci.UserAgent, Detail: string(o)}
	if u, ferr := s.findUser(ctx, identifier); ferr == nil && u != nil {
		e.UserID = u.ID
	} else {
		e.Detail += " (no such account)"
	}
	s.audit(ctx, e)
}
