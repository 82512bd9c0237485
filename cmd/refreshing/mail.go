package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/mail"
	"github.com/spf13/cobra"
)

// Mail: the SMTP server serve sends through (REFRESHING_SMTP_URL and
// REFRESHING_MAIL_FROM), the mail sender's pace, and the commands of the
// account life cycle: users confirm / resend-confirmation and mail list /
// retry (users set-password is admins.go's).

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

// usersConfirmCmd is "users confirm": confirm a user's email as an operator.
func (a *app) usersConfirmCmd() *cobra.Command {
	var (
		ref    userRef
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "confirm",
		Short: "Confirm a user's email (the account life cycle, docs/email.md)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check("users confirm"); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				ctx := refreshing.WithActor(cmd.Context(), refreshing.Actor{Name: "cli"})
				u, err := ref.find(ctx, svc, "users confirm")
				if err != nil {
					return err
				}
				if u, err = svc.ConfirmUser(ctx, u.ID); err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, userView(u))
				}
				fmt.Fprintf(a.stdout, "confirmed user %d (%s)\n", u.ID, u.Email)
				return nil
			})
		},
	}
	ref.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

// usersResendCmd is "users resend-confirmation": mail a new confirmation link.
func (a *app) usersResendCmd() *cobra.Command {
	var (
		ref    userRef
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "resend-confirmation",
		Short: "Mail a user a new email-confirmation link (sent by a serve with REFRESHING_SMTP_URL)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check("users resend-confirmation"); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				ctx := refreshing.WithActor(cmd.Context(), refreshing.Actor{Name: "cli"})
				u, err := ref.find(ctx, svc, "users resend-confirmation")
				if err != nil {
					return err
				}
				if err := svc.ResendConfirmation(ctx, u.ID); errors.Is(err, refreshing.ErrAlreadyConfirmed) {
					return fmt.Errorf("users resend-confirmation: user %d (%s) is already confirmed", u.ID, u.Email)
				} else if err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, userView(u))
				}
				fmt.Fprintf(a.stdout, "enqueued a confirmation mail to %s (a serve instance with REFRESHING_SMTP_URL sends it)\n", u.Email)
				return nil
			})
		},
	}
	ref.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

// mailCmd is "mail list|retry": the outbox of the account life cycle's mail.
func (a *app) mailCmd() *cobra.Command {
	var (
		state string
		limit int
		id    int64
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the outbox: pending, sent, failed and dropped mail",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch state {
			case "", refreshing.MailPending, refreshing.MailSent, refreshing.MailFailed, refreshing.MailDropped:
			default:
				return usagef("mail list: --state must be pending, sent, failed or dropped")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				list, err := svc.ListMail(cmd.Context(), refreshing.MailFilter{State: state, Limit: limit})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
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
			})
		},
	}
	list.Flags().StringVar(&state, "state", "", "pending, sent, failed or dropped (default all)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many")
	retry := &cobra.Command{
		Use:   "retry",
		Short: "Send a failed mail again",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id <= 0 {
				return usagef("mail retry: --id is required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				ctx := refreshing.WithActor(cmd.Context(), refreshing.Actor{Name: "cli"})
				if err := svc.RetryMail(ctx, id); errors.Is(err, refreshing.ErrStale) {
					return fmt.Errorf("mail retry: mail %d has not failed", id)
				} else if err != nil {
					return cliError(err)
				}
				fmt.Fprintf(a.stdout, "mail %d is pending again\n", id)
				return nil
			})
		},
	}
	retry.Flags().Int64Var(&id, "id", 0, "the mail's id")
	return group("mail", "The outbox of password-reset and confirmation mail: list, retry", list, retry)
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
