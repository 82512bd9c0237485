package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/metrics"
	"github.com/refreshing/refreshing/internal/server"
	"github.com/spf13/cobra"
)

// shutdownGrace is how long in-flight requests may take to finish after
// SIGINT or SIGTERM before the server stops waiting for them.
const shutdownGrace = 15 * time.Second

// keyReload is how often signing keys are re-read, so that a key rotated by
// the CLI or another instance is used for signing within a second, without a restart
// (one small query a second; an unknown kid on a token to verify reloads at once).
const keyReload = time.Second

// keyPrune is how often signing keys that can no longer verify a live token
// are deleted (they leave the JWKS at the first reload after that already).
const keyPrune = time.Minute

func (a *app) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP service (the default command)",
		Long: `Run the HTTP service until SIGINT or SIGTERM, then shut down gracefully.
It creates the database (and applies migrations) if needed, and applies the
runtime settings the environment sets (see below), logging each change.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), &a.c, a.getenv, a.stderr)
		},
	}
	a.serveFlags(cmd.Flags())
	cmd.Annotations = map[string]string{"env": runtimeEnvHelp()}
	return cmd
}

// serve runs the HTTP service until ctx is done, then shuts down gracefully:
// the listener closes, in-flight requests finish, and the store is closed.
// Everything it says goes through one slog logger on stderr; the line that
// says it listens ("listening", with addr and url) comes once the listener
// accepts connections.
func serve(ctx context.Context, c *config, getenv func(string) string, stderr io.Writer) (err error) {
	proxies, err := parseProxies(c.trustedProxies)
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	// From here on the logger says why serve stops, so that JSON logs stay
	// JSON to the last line; main then prints nothing more.
	defer func() {
		if err != nil {
			logger.Error("serve stopped", "err", err)
			err = loggedError{err}
		}
	}()
	c.metrics = metrics.New()
	c.metrics.SetBuildInfo(version(), runtime.Version())
	svc, st, err := openService(ctx, c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	defer svc.Close()
	c.metrics.WatchAuditDropped(svc.AuditDropped)
	warnExposed(logger, c.db)
	// The environment wins over the stored settings: say what it replaced.
	changes, err := svc.ApplyEnvSettings(ctx, getenv)
	if err != nil {
		return usagef("%v", err)
	}
	for _, ch := range changes {
		logger.Info("runtime setting from the environment replaces the stored value",
			"setting", ch.Name, "env", ch.Env, "stored", ch.From, "value", ch.To)
	}
	if refreshing.InsecureIssuer(c.issuer) {
		logger.Warn("the issuer is plain http: OAuth clients reading the metadata will send tokens and secrets unencrypted unless TLS ends in front of this service under that name", "issuer", c.issuer)
	}
	if c.jwtSecret != "" && c.strapiURL == "" {
		// Issue 16: without the refreshing Strapi plugin, a Strapi server in
		// legacy-support mode reads these tokens' numeric id as one of its
		// own users', who may be someone else.
		logger.Warn("HS256 tokens and no paired Strapi app: a Strapi server given this secret would read the tokens' id claim as one of its own user ids, which names the wrong person once the ids differ; install the refreshing Strapi plugin and set REFRESHING_STRAPI_URL and REFRESHING_BRIDGE_SECRET")
	}
	if c.strapiURL != "" {
		logger.Info("paired with a Strapi app", "strapi_url", c.strapiURL)
	}
	limiter, closeLimiter, err := openLimiter(ctx, c.redis, logger)
	if err != nil {
		return err
	}
	defer closeLimiter()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           server.New(svc, server.Options{Logger: logger, TrustedProxies: proxies, Limiter: limiter, Metrics: c.metrics, BridgeSecret: c.bridgeSecret}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String(),
		"db", redactDSN(c.db), "alg", svc.SigningAlgorithm(), "version", version())
	stopBackground := background(ctx, svc, c.metrics, logger)
	// The mail sender (mail.go), stopped before the store closes.
	host, _ := os.Hostname()
	stopMail, err := startMailSender(ctx, svc, getenv, fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano()), logger)
	if err != nil {
		stopBackground()
		srv.Close()
		return err
	}
	defer stopMail()
	backfilled := backfillUsernameKeys(ctx, svc, logger)
	defer func() { <-backfilled }()

	reload := time.NewTicker(keyReload)
	defer reload.Stop()
	prune := time.NewTicker(keyPrune)
	defer prune.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-reload.C:
			if err := svc.ReloadKeys(ctx); err != nil {
				logger.Warn("reload signing keys", "err", err)
			}
			continue
		case <-prune.C:
			ids, err := svc.PruneKeys(ctx)
			if err != nil {
				logger.Warn("prune signing keys", "err", err)
			}
			for _, id := range ids {
				logger.Info("pruned signing key", "kid", id)
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	logger.Info("shutting down")
	stopBackground()
	stopMail()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	svc.Close() // write the audit events still buffered, then close the store
	if err := st.Close(); err != nil {
		return fmt.Errorf("close storage: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// newLogger returns a text (or JSON) slog logger at the given level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level (REFRESHING_LOG_LEVEL): %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format (REFRESHING_LOG_FORMAT): want text or json, have %q", format)
}

// redactDSN hides the passwords in a DSN before it is logged. In a
// postgres:// or postgresql:// URL it masks the user info's password and
// every query parameter whose name contains "password" (pgx reads password
// and sslpassword there); a URL that does not parse, or whose "@" did not
// end up in the user info (a password with an unescaped '/', '?' or '#'), is
// not shown beyond its scheme. Anything else --db takes for a SQLite path;
// there it masks a libpq-style password=value, in case a keyword DSN was
// passed by mistake.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok || (scheme != "postgres" && scheme != "postgresql") {
		return keywordPassword.ReplaceAllString(dsn, "${1}xxxxx")
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.User == nil && strings.Contains(rest, "@")) || strings.ContainsRune(u.Path+u.RawQuery+u.Fragment, '@') {
		return scheme + "://(not shown)"
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			raw, _, _ := strings.Cut(p, "=")
			k, err := url.QueryUnescape(raw)
			if err != nil || strings.Contains(strings.ToLower(k), "password") {
				params[i] = raw + "=xxxxx"
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	return u.Redacted()
}

// keywordPassword matches password=value (sslpassword too) in a libpq
// keyword DSN: the value is single-quoted, with backslash escapes, or runs
// to the next space.
var keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// backfillUsernameKeys gives the users created before migration 0012 their
// username keys (refreshing.BackfillUsernameKeys), in the background so that
// a large database does not delay the start; it costs one indexed query once
// every user has a key. Look-alike usernames among those users are logged
// as warnings, one line each, and never stop the service. The channel is
// closed when it is done (or ctx is).
func backfillUsernameKeys(ctx context.Context, svc *refreshing.Service, logger *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, collisions, err := svc.BackfillUsernameKeys(ctx)
		if n > 0 {
			logger.Info("username keys backfilled", "users", n)
		}
		for _, c := range collisions {
			logger.Warn("look-alike usernames: this user's username reads as another's; both accounts keep working, but consider renaming one",
				"user_id", c.UserID, "username", c.Username, "other_user_id", c.OtherUserID)
		}
		if err != nil && ctx.Err() == nil {
			logger.Warn("username key backfill", "err", err)
		}
	}()
	return done
}
