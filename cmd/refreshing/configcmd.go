package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/refreshing/refreshing"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serveFlags defines the bootstrap flags of serve (config shows them too).
func (a *app) serveFlags(fs *pflag.FlagSet) {
	a.envFlag(fs, &a.c.addr, "addr", "REFRESHING_ADDR", ":1337", "listen address")
	a.envFlag(fs, &a.c.trustedProxies, "trusted-proxies", "REFRESHING_TRUSTED_PROXIES", "", "comma-separated proxies (CIDRs or addresses) whose X-Forwarded-For and X-Forwarded-Proto are believed")
	a.envFlag(fs, &a.c.redis, "redis", "REFRESHING_REDIS", "", "redis://... URL whose Redis shares the rate-limit budgets between instances (unset: each instance keeps its own)")
	a.envFlag(fs, &a.c.logFormat, "log-format", "REFRESHING_LOG_FORMAT", "text", "log format: text or json")
	a.envFlag(fs, &a.c.logLevel, "log-level", "REFRESHING_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	// oidc (issue 22): external sign-in providers, a JSON list (docs/oidc.md).
	a.envFlag(fs, &a.c.oidcProviders, "oidc-providers", "REFRESHING_OIDC_PROVIDERS", "", `JSON list of sign-in providers: [{"name":"google","type":"google","clientId":"...","clientSecret":"..."}] (docs/oidc.md)`)
	// Pairing with a Strapi app that runs the refreshing plugin (integrations/strapi).
	a.envFlag(fs, &a.c.strapiURL, "strapi-url", "REFRESHING_STRAPI_URL", "", "base URL of the paired Strapi app (with REFRESHING_BRIDGE_SECRET)")
	a.envFlag(fs, &a.c.bridgeSecret, "bridge-secret", "REFRESHING_BRIDGE_SECRET", "", "secret shared with the Strapi plugin, at least 32 characters (prefer the variable: flags show in ps)")
	// Cutover from Strapi (docs/strapi-import.md): the secrets that verify
	// the refresh tokens of imported Strapi 5 sessions and refresh-token plugin rows.
	a.envFlag(fs, &a.c.strapiSessionSecret, "strapi-jwt-secret", "REFRESHING_STRAPI_JWT_SECRET", "", "Strapi's users-permissions jwtSecret: imported Strapi 5 session tokens verify with it (prefer the variable)")
	a.envFlag(fs, &a.c.strapiPluginSecret, "strapi-refresh-secret", "REFRESHING_STRAPI_REFRESH_SECRET", "", "the Strapi refresh-token plugin's refreshTokenSecret: its imported tokens verify with it (prefer the variable)")
}

// runtimeEnvHelp is the help's account of every variable, ending the help
// of the commands that read them (serve, config, and the root).
func runtimeEnvHelp() string {
	var b strings.Builder
	b.WriteString(`Configuration (docs/operations.md):
  Bootstrap values (the flags, each with its variable) come from the
  flag, else the variable, else the default, and are never stored.
  Runtime settings are stored in the database and edited on /admin; a
  variable below that is set (not empty) replaces the stored value at every
  start of serve, which logs each value it replaced. Precedence:
  flags > environment > stored settings > defaults. 'refreshing config'
  prints what is in force and where each value comes from.

Bootstrap variables (flag, default):
`)
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	var x app
	fs := pflag.NewFlagSet("", pflag.ContinueOnError)
	x.commonFlags(fs)
	x.serveFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		def := f.DefValue
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(tw, "  %s\t--%s\t%s\n", f.Annotations["env"][0], f.Name, def)
	})
	tw.Flush()
	b.WriteString(`
Runtime settings (variable, default):
`)
	for _, v := range refreshing.SettingVars() {
		if v.Env != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", v.Env, v.Default)
		}
	}
	tw.Flush()
	b.WriteString(`  Durations are Go durations (90s, 15m, 720h); 0 turns a rate limit off
  and means "never" or "unlimited" for lifetimes, idle time and sessions.

Other variables:
  GOMAXPROCS  threads for requests; serve adds low-priority ones for password hashing
  REFRESHING_SMTP_URL  smtp://user:pass@host:port (STARTTLS when offered), smtp+starttls://
              (required) or smtps:// (implicit TLS): the mail server (docs/email.md)
  REFRESHING_MAIL_FROM  the sender of password-reset and confirmation mail
  REFRESHING_MAIL_POLL, REFRESHING_MAIL_RETRY, REFRESHING_MAIL_MAX_ATTEMPTS
              the mail sender's pace (2s), first retry delay (30s) and tries (10)
`)
	return b.String()
}

// configEntry is one line of `refreshing config`.
type configEntry struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Env    string `json:"env,omitempty"`
	Stored string `json:"stored,omitempty"` // the stored value a variable replaces at the next start
}

// configReport is `refreshing config --json`.
type configReport struct {
	Database  string        `json:"database"`
	Exists    bool          `json:"exists"`
	Bootstrap []configEntry `json:"bootstrap"`
	Settings  []configEntry `json:"settings"`
	// Providers names the sign-in providers saved in the database
	// (`refreshing providers list` shows them).
	Providers []string `json:"savedProviders"`
}

func (a *app) configCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the configuration in force and where each value comes from (secrets masked)",
		Long: `Print the effective configuration: the bootstrap values (flags, variables,
defaults) and the runtime settings serve would use if it started now with
this environment (the variables over the stored settings), each with its
source. Secrets are masked. The database is read, never created.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.config(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, rep)
			}
			tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "BOOTSTRAP\tVALUE\tSOURCE")
			for _, e := range rep.Bootstrap {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, orUnset(e.Value), e.Source)
			}
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "RUNTIME SETTING\tVALUE\tSOURCE")
			for _, e := range rep.Settings {
				src := e.Source
				if e.Stored != "" {
					src += " (stored " + e.Stored + ": replaced at the next start of serve)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, orUnset(e.Value), src)
			}
			if len(rep.Providers) > 0 {
				fmt.Fprintln(tw)
				fmt.Fprintf(tw, "SAVED SIGN-IN PROVIDERS\t%s\t(refreshing providers list)\n", strings.Join(rep.Providers, ", "))
			}
			return tw.Flush()
		},
	}
	a.serveFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Annotations = map[string]string{"env": runtimeEnvHelp()}
	return cmd
}

// config gathers the effective configuration.
func (a *app) config(ctx context.Context, cmd *cobra.Command) (*configReport, error) {
	rep := &configReport{Database: redactDSN(a.c.db)}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		env := f.Annotations["env"]
		if len(env) != 1 {
			return
		}
		v := f.Value.String()
		switch f.Name {
		case "jwt-secret", "bridge-secret", "strapi-jwt-secret", "strapi-refresh-secret":
			if v != "" {
				v = fmt.Sprintf("(set, %d bytes, not shown)", len(v))
			}
		case "db":
			v = redactDSN(v)
		case "redis":
			v = redactURL(v)
		case "oidc-providers":
			v = refreshing.MaskProviders(v)
		}
		rep.Bootstrap = append(rep.Bootstrap, configEntry{Name: f.Name, Value: v, Source: a.sources[f.Name], Env: env[0]})
	})
	if err := a.c.check(); err != nil {
		return nil, err
	}
	mail, err := a.mailConfig()
	if err != nil {
		return nil, err
	}
	rep.Bootstrap = append(rep.Bootstrap, mail...)
	stored := refreshing.DefaultSettings()
	source := "default"
	err = a.existing(ctx, a.c.db)
	switch {
	case errors.Is(err, errNoDatabase):
		fmt.Fprintln(a.stderr, "the database does not exist yet: the runtime settings shown are the defaults and the environment's")
	case err != nil:
		return nil, err
	default:
		rep.Exists = true
		st, err := openStore(ctx, a.c.db)
		if err != nil {
			return nil, fmt.Errorf("open storage: %w", err)
		}
		s, err := st.Settings(ctx)
		if err == nil || errors.Is(err, refreshing.ErrNotFound) {
			var ps []refreshing.SignInProvider
			if ps, err = st.SignInProviders(ctx); err == nil {
				for _, p := range ps {
					rep.Providers = append(rep.Providers, p.Config.Name)
				}
				s, err = st.Settings(ctx)
			}
		}
		st.Close()
		switch {
		case errors.Is(err, refreshing.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("read settings: %w", err)
		default:
			stored, source = s, "stored"
		}
	}
	effective, err := stored.WithEnv(a.getenv)
	if err != nil {
		return nil, usagef("%v", err)
	}
	envOf := map[string]string{}
	for _, v := range refreshing.SettingVars() {
		envOf[v.Name] = v.Env
	}
	before := refreshing.SettingsFields(stored)
	for i, f := range refreshing.SettingsFields(effective) {
		e := configEntry{Name: f.Name, Value: f.Value, Source: source, Env: envOf[f.Name]}
		if e.Env != "" && a.getenv(e.Env) != "" {
			e.Source = "environment " + e.Env
			if rep.Exists && i < len(before) && before[i].Value != f.Value && source == "stored" {
				e.Stored = before[i].Value
			}
		}
		if secretName.MatchString(f.Name) && e.Value != "" {
			e.Value = "(set, not shown)"
			if e.Stored != "" {
				e.Stored = "(not shown)"
			}
		}
		rep.Settings = append(rep.Settings, e)
	}
	return rep, nil
}

// mailConfig is the mail server and sender of serve (mail.go), which only
// variables set: REFRESHING_SMTP_URL (its password not shown),
// REFRESHING_MAIL_FROM and the sender's pace, with the defaults in force
// where they are unset. A value serve would refuse is refused here too.
func (a *app) mailConfig() ([]configEntry, error) {
	if _, err := mailerFromEnv(a.getenv); err != nil {
		return nil, err
	}
	m, err := mailSenderFromEnv(a.getenv, "config", nil)
	if err != nil {
		return nil, err
	}
	m = m.WithDefaults()
	var out []configEntry
	for _, e := range []struct{ name, env, value string }{
		{"smtp-url", "REFRESHING_SMTP_URL", redactURL(a.getenv("REFRESHING_SMTP_URL"))},
		{"mail-from", "REFRESHING_MAIL_FROM", a.getenv("REFRESHING_MAIL_FROM")},
		{"mail-poll", "REFRESHING_MAIL_POLL", m.Interval.String()},
		{"mail-retry", "REFRESHING_MAIL_RETRY", m.Backoff.String()},
		{"mail-max-attempts", "REFRESHING_MAIL_MAX_ATTEMPTS", strconv.Itoa(m.MaxAttempts)},
	} {
		src := "default"
		if a.getenv(e.env) != "" {
			src = "environment " + e.env
		}
		out = append(out, configEntry{Name: e.name, Value: e.value, Source: src, Env: e.env})
	}
	return out, nil
}

// orUnset shows an empty value as "(unset)", and a long one (a mail
// template) by its start and length: --json prints it whole.
func orUnset(v string) string {
	switch {
	case v == "":
		return "(unset)"
	case len(v) > 60 || strings.ContainsAny(v, "\n\t"):
		short := []rune(strings.Join(strings.Fields(v), " "))
		if len(short) > 40 {
			short = short[:40]
		}
		return fmt.Sprintf("%s... (%d bytes)", string(short), len(v))
	}
	return v
}

// secretName matches the names of settings whose values are never printed
// (a password, not the password policy: passwordMinLength is shown).
var secretName = regexp.MustCompile(`(?i)secret|password$|passwd|apikey|privatekey|token$`)

// redactURL hides the password of a URL (redis://:pw@host).
func redactURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(not shown: does not parse as a URL)"
	}
	return u.Redacted()
}

// writeJSON writes v as indented JSON.
func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
