package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/bridge"
	"github.com/refreshing/refreshing/internal/metrics"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// config is the bootstrap configuration: what must be known before the
// database is open. Every value comes from its flag, else its REFRESHING_*
// variable, else the default, and is never stored. Runtime policy lives in
// refreshing.Settings (see Service.ApplyEnvSettings).
type config struct {
	addr           string
	db             string
	issuer         string
	jwtSecret      string
	trustedProxies string
	redis          string
	logFormat      string
	logLevel       string
	oidcProviders  string // JSON list of sign-in providers (refreshing.ParseProviders)
	// The Strapi bridge (integrations/strapi).
	strapiURL    string
	bridgeSecret string

	// Cutover from Strapi: the secrets that verify the refresh tokens of
	// imported Strapi 5 sessions and refresh-token plugin rows.
	strapiSessionSecret string
	strapiPluginSecret  string

	// metrics, when set (serve), times the store and hears the Service.
	metrics *metrics.Metrics
}

// defaultDB is the database when neither --db nor REFRESHING_DB names one.
const defaultDB = "sqlite:data/refreshing.db"

// envFlag defines a string flag whose variable stands in for it when it is
// not given (see resolve): the default shown in help is the built-in one,
// never the environment's, which may be a secret.
func (a *app) envFlag(fs *pflag.FlagSet, p *string, name, env, def, usage string) {
	fs.StringVar(p, name, def, usage+" [$"+env+"]")
	fs.SetAnnotation(name, "env", []string{env}) //nolint:errcheck // the flag was just defined
}

// resolve fills every flag the command line left unset from its variable,
// and records where each value came from.
func (a *app) resolve(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		env := f.Annotations["env"]
		switch {
		case err != nil:
		case f.Changed:
			a.sources[f.Name] = "flag --" + f.Name
		case len(env) == 1 && a.getenv(env[0]) != "":
			if e := f.Value.Set(a.getenv(env[0])); e != nil {
				err = usagef("%s: %v", env[0], e)
			}
			a.sources[f.Name] = "environment " + env[0]
		default:
			a.sources[f.Name] = "default"
		}
	})
	return err
}

// check refuses, as usage errors and before any storage is opened, the
// values refreshing.New would refuse.
func (c *config) check() error {
	if err := refreshing.ValidateIssuer(c.issuer); c.issuer != "" && err != nil { // "" is New's default
		return usagef("--issuer (REFRESHING_ISSUER): %v", err)
	}
	if _, err := refreshing.ParseProviders(c.oidcProviders); err != nil {
		return usagef("--oidc-providers (REFRESHING_OIDC_PROVIDERS): %v", err)
	}
	if n := len(c.jwtSecret); n > 0 && n < refreshing.MinJWTSecretLen {
		return usagef("--jwt-secret (REFRESHING_JWT_SECRET): the secret is %d bytes long, short enough to be found offline from a single token; use at least %d (Strapi generates 24 characters)", n, refreshing.MinJWTSecretLen)
	}
	// The Strapi bridge: both variables or neither; the secret never appears in a message.
	switch n := len(c.bridgeSecret); {
	case c.strapiURL != "" && n == 0:
		return usagef("REFRESHING_STRAPI_URL is set but REFRESHING_BRIDGE_SECRET is not: set the secret shared with the refreshing Strapi plugin")
	case n > 0 && n < refreshing.MinBridgeSecretLen:
		return usagef("REFRESHING_BRIDGE_SECRET is %d bytes long; at least %d are required (generate one with: openssl rand -base64 48)", n, refreshing.MinBridgeSecretLen)
	case n > 0 && c.strapiURL == "":
		return usagef("REFRESHING_BRIDGE_SECRET is set but REFRESHING_STRAPI_URL is not: set Strapi's base URL")
	}
	// Cutover from Strapi: a Strapi session's id is in every access token
	// Strapi issued for it, so the secret alone stands between an access
	// token and a forged refresh token.
	if n := len(c.strapiSessionSecret); n > 0 && n < refreshing.MinJWTSecretLen {
		return usagef("--strapi-jwt-secret (REFRESHING_STRAPI_JWT_SECRET): the secret is %d bytes long; Strapi's generated jwtSecret has 24 characters and at least %d are required", n, refreshing.MinJWTSecretLen)
	}
	if c.strapiURL != "" {
		if _, err := bridge.New(c.strapiURL, c.bridgeSecret, nil); err != nil {
			return usagef("REFRESHING_STRAPI_URL: %v", err)
		}
	}
	return nil
}

// openStore opens the store a DSN names: postgres:// or postgresql:// URLs
// select PostgreSQL; sqlite:PATH (or a bare path) selects SQLite.
func openStore(ctx context.Context, dsn string) (refreshing.Store, error) {
	path, ok := sqlitePath(dsn)
	if !ok {
		return postgres.Open(ctx, dsn)
	}
	if path == "" {
		return nil, usagef("--db: empty SQLite path")
	}
	return sqlite.Open(ctx, path)
}

// sqlitePath returns what sqlite.Open takes for a DSN that selects SQLite,
// and false for one that selects PostgreSQL.
func sqlitePath(dsn string) (string, bool) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "", false
	case strings.HasPrefix(dsn, "sqlite:"):
		dsn = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	}
	return dsn, true
}

// warnExposed logs a warning when files of the SQLite database dsn names
// can be read or written by group or others: they hold the signing key and
// the refresh-chain key. New files are private; an existing file's mode is
// the operator's to change, so this says how rather than changing it.
func warnExposed(logger *slog.Logger, dsn string) {
	path, ok := sqlitePath(dsn)
	if !ok {
		return
	}
	files, err := sqlite.Exposed(path)
	if err != nil {
		logger.Warn("cannot check the database file's mode", "err", err)
		return
	}
	if len(files) > 0 {
		logger.Warn("the database is readable by group or others, and it holds the signing and refresh-chain keys: make it private with chmod 600 "+strings.Join(files, " "), "path", files[0])
	}
}

// errNoDatabase is the error of a command other than serve and migrate
// pointed at a SQLite database that does not exist.
var errNoDatabase = errors.New("database does not exist")

// existing checks, for commands other than serve and migrate, that the
// database dsn names exists (they never create one: a typo in --db or a
// command run from another directory must not start an empty database),
// and names it on stderr. A PostgreSQL database must have Refreshing's
// tables already, and so must a SQLite file: the command would otherwise
// create them.
func (a *app) existing(ctx context.Context, dsn string) error {
	path, ok := sqlitePath(dsn)
	if ok && path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s (start 'refreshing serve' or run 'refreshing migrate' to create it, or point --db or REFRESHING_DB at the right one)", errNoDatabase, abs)
		} else if err != nil {
			return fmt.Errorf("database %s: %w", abs, err)
		}
		// A file that is there but holds no Refreshing tables (an empty file,
		// another application's database) is refused as PostgreSQL's is.
		if ok, err := sqlite.Initialized(ctx, path); err != nil {
			return fmt.Errorf("database %s: %w", abs, err)
		} else if !ok {
			return fmt.Errorf("%w: %s has no Refreshing tables (start 'refreshing serve' or run 'refreshing migrate' to create them, or point --db or REFRESHING_DB at the right one)", errNoDatabase, abs)
		}
		fmt.Fprintln(a.stderr, "database: sqlite:"+abs)
		return nil
	}
	// PostgreSQL: the database exists (the server never creates one on
	// connect), but its schema must have been set up by serve or migrate.
	ok, err := postgres.Initialized(ctx, dsn)
	if err != nil {
		return fmt.Errorf("database %s: %w", redactDSN(dsn), err)
	}
	if !ok {
		return fmt.Errorf("%w: %s has no Refreshing tables (start 'refreshing serve' or run 'refreshing migrate' to create them, or point --db or REFRESHING_DB at the right database)", errNoDatabase, redactDSN(dsn))
	}
	fmt.Fprintln(a.stderr, "database:", redactDSN(dsn))
	return nil
}

// open opens the existing database and the Service on it, for a command
// other than serve and migrate. The caller closes both (the Service
// first, so that its buffered audit events are written).
func (a *app) open(ctx context.Context) (*refreshing.Service, refreshing.Store, error) {
	if err := a.c.check(); err != nil {
		return nil, nil, err
	}
	if err := a.existing(ctx, a.c.db); err != nil {
		return nil, nil, err
	}
	return openService(ctx, &a.c, a.getenv)
}

// openService opens the store and the Service on it, with settings seeded
// from the environment for a new database.
func openService(ctx context.Context, c *config, getenv func(string) string) (*refreshing.Service, refreshing.Store, error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	seed, err := refreshing.SettingsFromEnv(getenv)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	mailer, err := mailerFromEnv(getenv) // mail.go; nil without REFRESHING_SMTP_URL
	if err != nil {
		return nil, nil, err
	}
	providers, _ := refreshing.ParseProviders(c.oidcProviders) // checked by c.check
	st, err := openStore(ctx, c.db)
	if err != nil {
		return nil, nil, fmt.Errorf("open storage: %w", err)
	}
	cfg := refreshing.Config{Store: st, Issuer: c.issuer, JWTSecret: []byte(c.jwtSecret), Settings: &seed,
		StrapiSessionSecret: []byte(c.strapiSessionSecret), StrapiPluginSecret: []byte(c.strapiPluginSecret), Mailer: mailer,
		Providers: providers}
	if c.strapiURL != "" {
		bc, err := bridge.New(c.strapiURL, c.bridgeSecret, nil)
		if err != nil {
			st.Close()
			return nil, nil, usagef("REFRESHING_STRAPI_URL: %v", err)
		}
		cfg.Profiles = bc
	}
	if c.metrics != nil {
		cfg.Store, cfg.Observer = c.metrics.Store(st), c.metrics
	}
	svc, err := refreshing.New(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("start service: %w", err)
	}
	return svc, st, nil
}

// parseProxies parses a comma-separated list of CIDRs or addresses.
func parseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, usagef("--trusted-proxies: %q is not a CIDR or an address", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// version returns the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version // "(devel)" when built from a checkout, vX.Y.Z by go install
	var when, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if when != "" {
		v += " (" + when + modified + ")"
	}
	return v
}

var errNoUser = errors.New("no user with that email")
