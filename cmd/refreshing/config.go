package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"strings"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/metrics"
	"github.com/refreshing/refreshing/internal/postgres"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// config is the bootstrap configuration: what must be known before the
// database is open. Runtime policy lives in refreshing.Settings.
type config struct {
	addr           string
	db             string
	issuer         string
	jwtSecret      string
	trustedProxies string
	logFormat      string
	logLevel       string

	// metrics, when set (serve), times the store and hears the Service.
	metrics *metrics.Metrics
}

// flags returns a FlagSet for cmd whose defaults come from the environment,
// so that a flag wins over its REFRESHING_* variable, which wins over the default.
func flags(cmd string, getenv func(string) string, c *config) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.db, "db", env("REFRESHING_DB", "sqlite:data/refreshing.db"), "storage DSN")
	fs.StringVar(&c.issuer, "issuer", env("REFRESHING_ISSUER", "http://localhost:1337"), "JWT issuer")
	fs.StringVar(&c.jwtSecret, "jwt-secret", env("REFRESHING_JWT_SECRET", ""), "HS256 secret (Strapi-compatible mode)")
	c.logFormat = env("REFRESHING_LOG_FORMAT", "text")
	c.logLevel = env("REFRESHING_LOG_LEVEL", "info")
	return fs
}

// check refuses, as usage errors and before any storage is opened, the
// values refreshing.New would refuse.
func (c *config) check() error {
	if err := refreshing.ValidateIssuer(c.issuer); c.issuer != "" && err != nil { // "" is New's default
		return usagef("--issuer (REFRESHING_ISSUER): %v", err)
	}
	if n := len(c.jwtSecret); n > 0 && n < refreshing.MinJWTSecretLen {
		return usagef("--jwt-secret (REFRESHING_JWT_SECRET): the secret is %d bytes long, short enough to be found offline from a single token; use at least %d (Strapi generates 24 characters)", n, refreshing.MinJWTSecretLen)
	}
	return nil
}

// parse parses args into fs, turning errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
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
	st, err := openStore(ctx, c.db)
	if err != nil {
		return nil, nil, fmt.Errorf("open storage: %w", err)
	}
	cfg := refreshing.Config{Store: st, Issuer: c.issuer, JWTSecret: []byte(c.jwtSecret), Settings: &seed, Mailer: mailer}
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
