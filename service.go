package refreshing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refreshing/refreshing/internal/jwt"
)

// Config configures a Service. Store is required; everything else has a default.
type Config struct {
	Store Store
	// Issuer is the JWT "iss" and the OAuth issuer, whose URL the metadata's
	// endpoints are named under; default "http://localhost:1337". It must
	// pass ValidateIssuer.
	Issuer string
	// JWTSecret, when not empty, selects Strapi-compatible HS256 signing;
	// it must then be at least MinJWTSecretLen bytes long.
	JWTSecret []byte
	// Settings seed a new database (SettingsFromEnv); default DefaultSettings.
	// ApplyEnvSettings makes variables win over an existing database's.
	Settings *Settings
	// Hasher hashes passwords; default NewHasher(DefaultArgon2Params, 0).
	Hasher *Hasher
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observer hears how exchanges and logins end, for metrics; default none.
	Observer Observer
	// Profiles, when set, pairs the Service with a Strapi app running the
	// "refreshing" Strapi plugin (bridge.go): a registration here creates the
	// user's Strapi profile too, or fails. Default none.
	Profiles ProfileSync
	// SettingsTTL is how long the Service trusts the settings it read (other
	// instances' changes take at most this long to apply); default 1s.
	SettingsTTL time.Duration
	// StrapiSessionSecret verifies the refresh tokens of Strapi 5 sessions
	// that an import brought over (Strapi signs them HS256 with the
	// users-permissions jwtSecret); nil refuses them. See import.go.
	StrapiSessionSecret []byte
	// StrapiPluginSecret verifies the refresh tokens of the Strapi 5
	// refresh-token plugin that an import brought over (HS256 under the
	// plugin's refreshTokenSecret); nil refuses them.
	StrapiPluginSecret []byte
	// Mailer sends the account life cycle's mail (mailsender.go); nil when
	// no mail server is configured: the flows that need mail then answer
	// as Strapi does when its email provider fails.
	Mailer Mailer
	// Providers are the sign-in providers of the environment
	// (REFRESHING_OIDC_PROVIDERS, ParseProviders). They win over the
	// providers saved at run time with the same names (providers.go).
	Providers []ProviderConfig
}

// ValidateIssuer reports why issuer cannot be the OAuth issuer, or nil if
// it can: an absolute http or https URL with a host and no user
// information, query or fragment (RFC 8414 §2). A path, with or without a
// trailing slash, is fine. RFC 8414 wants https; plain http passes, for
// development and for networks where TLS ends in front of the service
// under an internal name, and InsecureIssuer tells a caller to warn.
func ValidateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("issuer %q is not a URL: %w", issuer, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http" || u.Opaque != "" || u.Host == "":
		return fmt.Errorf("issuer %q is not an https:// URL with a host", issuer)
	case u.User != nil:
		return fmt.Errorf("issuer %q has user information", issuer)
	case strings.Contains(issuer, "?"):
		return fmt.Errorf("issuer %q has a query component, which RFC 8414 forbids", issuer)
	case strings.Contains(issuer, "#"):
		return fmt.Errorf("issuer %q has a fragment component, which RFC 8414 forbids", issuer)
	}
	return nil
}

// InsecureIssuer reports whether a valid issuer is plain http on a host
// other than this machine's (localhost or a loopback address).
func InsecureIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && u.Scheme == "http" && !loopback(u.Hostname())
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// MinJWTSecretLen is the length, in bytes, of the shortest Config.JWTSecret
// New accepts: one HS256 token is enough to search for a shorter secret
// offline. Strapi's generated secrets (24 characters) are longer.
const MinJWTSecretLen = jwt.MinSecretLen

// Service enforces every rule of Refreshing: registration and login, the
// refresh-token life cycle (issue, rotate, grace, reuse detection, expiry,
// limits, revocation), access tokens, and the operations of administrators.
// It is safe for concurrent use.
type Service struct {
	store    Store
	signer   *jwt.Signer
	hasher   *Hasher
	now      func() time.Time
	chainKey []byte
	ttl      time.Duration
	obs      Observer
	issuer   string
	profiles ProfileSync // nil when no Strapi app is paired

	mu         sync.Mutex
	settings   Settings
	settingsAt time.Time         // when settings were read; zero forces a read
	reloadedAt time.Time         // when an unknown kid last caused a key reload
	envPinned  map[string]string // settings set by variables at start (ApplyEnvSettings)

	adm  adminState // the admin features: role cache, audit writer, admin login limits
	auth authCache  // sessions and users Authenticate found active, while no revocation could have ended them

	imports      importState // whether the store holds imported sessions (import.go)
	strapi       strapiSecrets
	mailer       Mailer           // nil: no mail server configured
	envProviders []ProviderConfig // Config.Providers, checked
	mailWake     chan struct{}    // an enqueue here wakes this process's mail sender at once
}

// reloadAllowed rate-limits key reloads caused by unknown key ids.
func (s *Service) reloadAllowed() bool {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.reloadedAt) < time.Second && !now.Before(s.reloadedAt) {
		return false
	}
	s.reloadedAt = now
	return true
}

// Grant is what a successful login, registration or exchange hands out.
type Grant struct {
	AccessToken     string    // the JWT; empty when email confirmation is pending
	AccessExpiresAt time.Time // when AccessToken expires
	RefreshToken    string    // empty when none was issued
	User            *User
	Session         *Session // nil when no session was created
	Outcome         Outcome  // how an Exchange ended (rotated, kept or grace); "" for other grants
}

// ClientInfo describes the client making a request, for the session record.
type ClientInfo struct {
	UserAgent   string
	IP          string
	DeviceID    string // Strapi 5's deviceId: a new login from it replaces its previous session
	Description string // free text the client chose ("token/request")
	ClientID    string // the OAuth client; "" on /api
	// DPoPJKT is the thumbprint of the key of the request's valid DPoP
	// proof (RFC 9449), "" without one: the access token is bound to it
	// (cnf.jkt), and so is a public client's new session.
	DPoPJKT string
	// bindJKT is the key a new session is bound to: DPoPJKT for a public
	// client (or none), "" for a confidential one (its refresh tokens are
	// bound to its credentials already, RFC 9449 section 5).
	bindJKT string
}

// Principal is the caller behind a verified access token.
type Principal struct {
	User      *User
	SessionID string // "" when the token was issued without a session
	Claims    jwt.Claims
}

// New returns a Service on cfg.Store. It creates on first start (and loads on
// every later one) the signing key, the token chain key and the settings.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("refreshing: Config.Store is required")
	}
	if n := len(cfg.JWTSecret); n > 0 && n < MinJWTSecretLen {
		// Before anything is written to the store.
		return nil, fmt.Errorf("refreshing: the JWT secret is %d bytes long; HS256 needs at least %d", n, MinJWTSecretLen)
	}
	s := &Service{hasher: cfg.Hasher, now: cfg.Now, ttl: cfg.SettingsTTL, profiles: cfg.Profiles, mailer: cfg.Mailer, mailWake: make(chan struct{}, 1)}
	for i, c := range cfg.Providers {
		if err := CheckProvider(&c); err != nil {
			return nil, fmt.Errorf("refreshing: provider %d: %w", i, err)
		}
		if slices.ContainsFunc(s.envProviders, func(o ProviderConfig) bool { return o.Name == c.Name }) {
			return nil, fmt.Errorf("refreshing: provider %s configured twice", c.Name)
		}
		s.envProviders = append(s.envProviders, c)
	}
	s.strapi = strapiSecrets{session: bytes.Clone(cfg.StrapiSessionSecret), plugin: bytes.Clone(cfg.StrapiPluginSecret)}
	s.store = invalidating{Store: cfg.Store, cache: &s.auth}
	if s.hasher == nil {
		s.hasher = NewHasher(DefaultArgon2Params, 0)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl == 0 {
		s.ttl = time.Second
	}
	if s.obs = cfg.Observer; s.obs == nil {
		s.obs = nopObserver{}
	}
	issuer := cfg.Issuer
	if issuer == "" {
		issuer = "http://localhost:1337"
	}
	if err := ValidateIssuer(issuer); err != nil {
		return nil, fmt.Errorf("refreshing: %w", err)
	}
	s.issuer = issuer
	seed := DefaultSettings()
	if cfg.Settings != nil {
		seed = *cfg.Settings
	}
	if err := seed.Validate(); err != nil {
		return nil, err
	}
	st, err := s.store.InitSettings(ctx, seed)
	if err != nil {
		return nil, fmt.Errorf("init settings: %w", err)
	}
	s.settings, s.settingsAt = st, s.clock()

	s.chainKey, err = s.store.Secret(ctx, "refresh-chain-key", []byte(randomString(32)))
	if err != nil {
		return nil, fmt.Errorf("load chain key: %w", err)
	}
	if len(cfg.JWTSecret) > 0 {
		s.signer, err = jwt.NewHS256(issuer, cfg.JWTSecret, s.clock)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	keys, err := s.loadKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		k, err := jwt.GenerateKey()
		if err != nil {
			return nil, err
		}
		sk := SigningKey{ID: k.ID, Algorithm: jwt.EdDSA, Material: k.Material(), CreatedAt: s.clock()}
		if err := s.store.AddSigningKey(ctx, sk, true); err != nil {
			return nil, fmt.Errorf("store first signing key: %w", err)
		}
		if keys, err = s.loadKeys(ctx); err != nil {
			return nil, err
		}
	}
	s.signer, err = jwt.NewEdDSA(issuer, keys, s.clock)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// loadKeys reads the stored Ed25519 keys, newest first.
func (s *Service) loadKeys(ctx context.Context) ([]jwt.Key, error) {
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	// Keys that can no longer have live tokens leave the JWKS (keys.go).
	if stored, err = s.liveKeys(ctx, stored); err != nil {
		return nil, err
	}
	keys := make([]jwt.Key, 0, len(stored))
	for _, sk := range stored {
		if sk.Algorithm != jwt.EdDSA {
			continue
		}
		k, err := jwt.KeyFromMaterial(sk.ID, sk.Material)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ReloadKeys re-reads the signing keys from the Store, so that a key rotated
// by another instance or by the CLI is used here too.
func (s *Service) ReloadKeys(ctx context.Context) error {
	if s.signer.Algorithm() != jwt.EdDSA {
		return nil
	}
	keys, err := s.loadKeys(ctx)
	if err != nil {
		return err
	}
	return s.signer.SetKeys(keys)
}

// RotateKey adds a new signing key, which signs every token from now on;
// older keys keep verifying. It returns the new key id.
func (s *Service) RotateKey(ctx context.Context) (string, error) {
	if s.signer.Algorithm() != jwt.EdDSA {
		return "", errors.New("key rotation applies to EdDSA signing only (HS256 uses --jwt-secret)")
	}
	k, err := jwt.GenerateKey()
	if err != nil {
		return "", err
	}
	// The newest key signs, so the new one must sort first even if the
	// clock stands still or stepped back since the last rotation.
	created := s.clock()
	existing, err := s.store.SigningKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("load signing keys: %w", err)
	}
	if len(existing) > 0 && !created.After(existing[0].CreatedAt) {
		created = existing[0].CreatedAt.Add(time.Microsecond)
	}
	sk := SigningKey{ID: k.ID, Algorithm: jwt.EdDSA, Material: k.Material(), CreatedAt: created}
	if err := s.store.AddSigningKey(ctx, sk, false); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return k.ID, s.ReloadKeys(ctx)
}

// JWKS returns the public signing keys as a JSON Web Key Set.
func (s *Service) JWKS() []byte { return s.signer.JWKS() }

// SigningAlgorithm returns the JWT algorithm in use ("EdDSA" or "HS256").
func (s *Service) SigningAlgorithm() string { return s.signer.Algorithm() }

// clock returns the current time in UTC at the microsecond precision every
// store round-trips.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Settings returns the settings in force, re-reading them from the Store
// when the cached copy is older than the settings TTL.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	s.mu.Lock()
	st, at := s.settings, s.settingsAt
	s.mu.Unlock()
	now := s.clock()
	if !at.IsZero() && now.Sub(at) < s.ttl && !now.Before(at) {
		return st, nil
	}
	st, err := s.store.Settings(ctx)
	if err != nil {
		return Settings{}, fmt.Errorf("read settings: %w", err)
	}
	s.mu.Lock()
	s.settings, s.settingsAt = st, now
	s.mu.Unlock()
	return st, nil
}

// UpdateSettings validates and persists st; it applies here at once and on
// other instances within the settings TTL.
func (s *Service) UpdateSettings(ctx context.Context, st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if err := s.store.SaveSettings(ctx, st); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	s.mu.Lock()
	s.settings, s.settingsAt = st, s.clock()
	s.mu.Unlock()
	return nil
}

// Ready reports whether the Store answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// issue creates a session and signs an access token for u in it; the
// grant carries the session's refresh token only when withRefresh. Every
// access token names its session (sid), even when no refresh token is
// handed out (IssueOnLogin off), so that every one can be ended by revoking
// its session: signing out, a block, an administrator's revoke. The session
// without a refresh token costs the write the login makes anyway in the
// common case, and lists as the device it is.
func (s *Service) issue(ctx context.Context, u *User, st Settings, ci ClientInfo, withRefresh bool) (*Grant, error) {
	now := s.clock()
	g := &Grant{User: u}
	sess, token := NewSession(u.ID, ci, now, st)
	if err := s.store.CreateSession(ctx, sess, st.MaxSessions); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	g.Session = sess
	if withRefresh {
		g.RefreshToken = token
	}
	var err error
	g.AccessToken, g.AccessExpiresAt, err = s.sign(u, sess, now, st, ci.DPoPJKT)
	return g, err
}

// AuthMethodPassword is the amr (RFC 8176) of a session started with a
// password: every session here is (sign-in, registration, token request,
// password grant, a password change's fresh session, a Strapi import).
const AuthMethodPassword = "pwd"

// sign returns an access token for u in session sess. Its auth_time is the
// session's last authentication (its start, or a re-authentication since)
// and its amr the method that started it, whatever the rotation that signs
// it: a refreshed token never looks like a fresh sign-in (step-up, see
// Service.CheckMaxAge and Service.Reauthenticate).
//
// jkt, when not "", binds the token to a DPoP key (cnf.jkt, RFC 9449).
func (s *Service) sign(u *User, sess *Session, now time.Time, st Settings, jkt string) (string, time.Time, error) {
	exp := now.Add(st.AccessTTL)
	tok, err := s.signer.Sign(jwt.Claims{
		Subject: strconv.FormatInt(u.ID, 10), UserID: u.ID, SessionID: sess.ID,
		AuthTime: sess.AuthTime, AMR: AuthMethodPassword, JKT: jkt,
		ID: randomString(12), IssuedAt: now, ExpiresAt: exp,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return tok, exp, nil
}

// Authenticate verifies an access token and returns its caller. Beyond the
// signature and lifetime, it rejects tokens of blocked or deleted users and
// of revoked or expired sessions. Every rejection is ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (*Principal, error) {
	if accessToken == "" {
		return nil, ErrUnauthenticated
	}
	c, err := s.signer.Verify(accessToken)
	if errors.Is(err, jwt.ErrUnknownKey) && s.reloadAllowed() {
		// Perhaps another instance rotated the key: look once, at most
		// once a second, so unknown kids cannot hammer the store.
		if rerr := s.ReloadKeys(ctx); rerr != nil {
			return nil, fmt.Errorf("reload signing keys: %w", rerr)
		}
		c, err = s.signer.Verify(accessToken)
	}
	if err != nil {
		return nil, ErrUnauthenticated
	}
	var u *User
	if c.SessionID == "" {
		u, err = s.store.UserByID(ctx, c.UserID)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: user gone", ErrUnauthenticated)
		}
		if err != nil {
			return nil, fmt.Errorf("load user: %w", err)
		}
	} else {
		if u, err = s.activeSession(ctx, c.SessionID, c.UserID); err != nil {
			return nil, err
		}
	}
	if u.Blocked {
		return nil, fmt.Errorf("%w: user blocked", ErrUnauthenticated)
	}
	return &Principal{User: u, SessionID: c.SessionID, Claims: c}, nil
}

// activeSession returns the user of session sid if the session is active and
// belongs to user id; otherwise ErrUnauthenticated. A blocked user is
// returned as is (the caller refuses it).
func (s *Service) activeSession(ctx context.Context, sid string, id int64) (*User, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	sess, cu, ok := s.auth.get(ctx, s.store, sid)
	if !ok || cu.ID != id || !sess.Active(now, st) || cu.Blocked {
		// The session and its user in one read: the session's end or
		// the user's, whichever came, ends the token.
		epoch, read := s.auth.epoch.Load(), time.Now()
		sess, cu, err = s.store.SessionWithUser(ctx, sid)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: session or user gone", ErrUnauthenticated)
		}
		if err != nil {
			return nil, fmt.Errorf("load session: %w", err)
		}
		if cu.ID != id || !sess.Active(now, st) {
			return nil, fmt.Errorf("%w: session ended", ErrUnauthenticated)
		}
		if !cu.Blocked {
			s.auth.put(sess, cu, read, epoch)
		}
	}
	return cu, nil
}
