package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/mail"
)

// Mail: the SMTP server serve sends through (REFRESHING_SMTP_URL and
// REFRESHING_MAIL_FROM), the mail sender's pace, and the commands of the
// account life cycle: account confirm / set-password / resend-confirmation
// and mail list / retry.

// mailerFromEnv returns the Mailer REFRESHING_SMTP_URL configures, or nil
// (no mail server) when it is unset. A malformed URL or sender is a usage
// error, so that serve refuses to start; the error never holds the password.
func mailerFromEnv(getenv func(string) string) (refreshing.Mailer, error) {
	raw := getenv("REFRESHING_SMTP_URL")
	if raw == "" {
		return nil, nil
	}
	m, err := mail.New(raw, getenv("REFRESHING_MAIL_FROM"))
	if err != nil {
		return nil, usagef("%v", err)
	}
	return m, nil
}

// mailSenderFromEnv returns the mail sender's configuration: the defaults
// of refreshing.MailSender, overridden by REFRESHING_MAIL_POLL (time between
// rounds), REFRESHING_MAIL_RETRY (wait after the first failed attempt,
// doubling after each) and REFRESHING_MAIL_MAX_ATTEMPTS.
func mailSenderFromEnv(getenv func(string) string, holder string, logger *slog.Logger) (refreshing.MailSender, error) {
	m := refreshing.MailSender{Holder: holder, Logger: logger}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"REFRESHING_MAIL_POLL", &m.Interval}, {"REFRESHING_MAIL_RETRY", &m.Backoff}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return m, usagef("%s: %q is not a positive duration", d.name, v)
			}
			*d.dst = x
		}
	}
	if v := getenv("REFRESHING_MAIL_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return m, usagef("REFRESHING_MAIL_MAX_ATTEMPTS: %q is not a positive number", v)
		}
		m.MaxAttempts = n
	}
	return m, nil
}

// account runs "account confirm|set-password|resend-confirmation --email E".
func account(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	verb, args, err := subcommand("account", args, "confirm", "set-password", "resend-confirmation")
	if err != nil {
		return err
	}
	var c config
	var email, password string
	fs := flags("account "+verb, getenv, &c)
	fs.StringVar(&email, "email", "", "the user's email")
	if verb == "set-password" {
		fs.StringVar(&password, "password", "", "the new password")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if email == "" {
		return usagef("account %s: --email is required", verb)
	}
	if verb == "set-password" && password == "" {
		return usagef("account set-password: --password is required")
	}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	defer svc.Close() // flushes the audit events
	ctx = refreshing.WithActor(ctx, refreshing.Actor{Name: "cli"})
	u, err := svc.UserByEmail(ctx, email)
	if errors.Is(err, refreshing.ErrNotFound) {
		return fmt.Errorf("account %s: %w: %s", verb, errNoUser, email)
	}
	if err != nil {
		return err
	}
	switch verb {
	case "confirm":
		if _, err := svc.ConfirmUser(ctx, u.ID); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "confirmed user %d (%s)\n", u.ID, u.Email)
	case "set-password":
		if _, err := svc.SetPassword(ctx, u.ID, password); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "set the password of user %d (%s); every session of theirs was revoked\n", u.ID, u.Email)
	case "resend-confirmation":
		if err := svc.ResendConfirmation(ctx, u.ID); errors.Is(err, refreshing.ErrAlreadyConfirmed) {
			return fmt.Errorf("account resend-confirmation: user %d (%s) is already confirmed", u.ID, u.Email)
		} else if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "enqueued a confirmation mail to %s (a serve instance with REFRESHING_SMTP_URL sends it)\n", u.Email)
	}
	return nil
}

// mailCmd runs "mail list [--state S] [--limit N]" and "mail retry --id N".
func mailCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	verb, args, err := subcommand("mail", args, "list", "retry")
	if err != nil {
		return err
	}
	var c config
	var state string
	var limit int
	var id int64
	fs := flags("mail "+verb, getenv, &c)
	if verb == "list" {
		fs.StringVar(&state, "state", "", "pending, sent, failed or dropped (default all)")
		fs.IntVar(&limit, "limit", 50, "at most this many")
	} else {
		fs.Int64Var(&id, "id", 0, "the mail's id")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	switch state {
	case "", refreshing.MailPending, refreshing.MailSent, refreshing.MailFailed, refreshing.MailDropped:
	default:
		return usagef("mail list: --state must be pending, sent, failed or dropped")
	}
	if verb == "retry" && id <= 0 {
		return usagef("mail retry: --id is required")
	}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	defer svc.Close()
	if verb == "retry" {
		ctx = refreshing.WithActor(ctx, refreshing.Actor{Name: "cli"})
		if err := svc.RetryMail(ctx, id); errors.Is(err, refreshing.ErrStale) {
			return fmt.Errorf("mail retry: mail %d has not failed", id)
		} else if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "mail %d is pending again\n", id)
		return nil
	}
	list, err := svc.ListMail(ctx, refreshing.MailFilter{State: state, Limit: limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tTO\tSTATE\tATTEMPTS\tCREATED\tNEXT/FINISHED\tLAST ERROR")
	for _, m := range list {
		when := m.NextAttempt
		if !m.FinishedAt.IsZero() {
			when = m.FinishedAt
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Kind, m.To, m.State, m.Attempts,
			m.CreatedAt.Format(time.RFC3339), when.Format(time.RFC3339), m.LastError)
	}
	return tw.Flush()
}

// startMailSender starts serve's mail sender (when a mail server is
// configured) and returns the function that stops it and waits for the
// mail under way to be recorded; calling it again does nothing.
func startMailSender(ctx context.Context, svc *refreshing.Service, getenv func(string) string, holder string, logger *slog.Logger) (stop func(), err error) {
	cfg, err := mailSenderFromEnv(getenv, holder, logger)
	if err != nil {
		return nil, err
	}
	if !svc.MailConfigured() {
		logger.Info("no mail server configured (REFRESHING_SMTP_URL): forgot-password and email confirmation answer as Strapi does without an email provider")
		return func() {}, nil
	}
	if m, ok := mailerOf(getenv); ok {
		logger.Info("mail", "smtp", m.String(), "from", getenv("REFRESHING_MAIL_FROM"))
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunMailSender(ctx, cfg)
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }, nil
}

// mailerOf returns the SMTP mailer REFRESHING_SMTP_URL names, for logging
// where mail goes (without the password).
func mailerOf(getenv func(string) string) (*mail.Mailer, bool) {
	m, err := mail.New(getenv("REFRESHING_SMTP_URL"), getenv("REFRESHING_MAIL_FROM"))
	return m, err == nil
}
