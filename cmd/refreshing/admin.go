package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
)

// migrate opens the store, which applies pending migrations, and exits.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c config
	if err := parse(flags("migrate", getenv, &c), args); err != nil {
		return err
	}
	st, err := openStore(ctx, c.db)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied:", redactDSN(c.db))
	return nil
}

// subcommand splits "users create ..." into its verb and the rest.
func subcommand(group string, args []string, verbs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("%s: missing command (one of %v)", group, verbs)
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usagef("%s: unknown command %q (one of %v)", group, args[0], verbs)
}

func users(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	verb, args, err := subcommand("users", args, "create", "block", "unblock")
	if err != nil {
		return err
	}
	var c config
	var username, email, password string
	fs := flags("users "+verb, getenv, &c)
	fs.StringVar(&email, "email", "", "the user's email")
	if verb == "create" {
		fs.StringVar(&username, "username", "", "the username")
		fs.StringVar(&password, "password", "", "the password")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if email == "" {
		return usagef("users %s: --email is required", verb)
	}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	if verb == "create" {
		u, err := svc.CreateUser(ctx, username, email, password)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "created user %d (%s)\n", u.ID, u.Email)
		return nil
	}
	u, err := svc.UserByEmail(ctx, email)
	if errors.Is(err, refreshing.ErrNotFound) {
		return fmt.Errorf("users %s: %w: %s", verb, errNoUser, email)
	}
	if err != nil {
		return err
	}
	if _, err := svc.SetBlocked(ctx, u.ID, verb == "block"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%sed user %d (%s)\n", verb, u.ID, u.Email)
	return nil
}

func sessions(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	verb, args, err := subcommand("sessions", args, "list", "revoke")
	if err != nil {
		return err
	}
	var c config
	var email, id string
	var all bool
	var limit int
	fs := flags("sessions "+verb, getenv, &c)
	fs.StringVar(&email, "email", "", "only this user's sessions")
	if verb == "list" {
		fs.BoolVar(&all, "all", false, "include revoked and expired sessions")
		fs.IntVar(&limit, "limit", 100, "at most this many")
	} else {
		fs.StringVar(&id, "id", "", "the session id")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if verb == "revoke" && (id == "") == (email == "") {
		return usagef("sessions revoke: give exactly one of --id or --email")
	}
	if limit < 0 || limit > 100000 {
		return usagef("sessions list: --limit must be between 0 and 100000")
	}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	var userID int64
	if email != "" {
		u, err := svc.UserByEmail(ctx, email)
		if errors.Is(err, refreshing.ErrNotFound) {
			return fmt.Errorf("sessions %s: %w: %s", verb, errNoUser, email)
		}
		if err != nil {
			return err
		}
		userID = u.ID
	}
	switch {
	case verb == "revoke" && id != "":
		if err := svc.RevokeSession(ctx, id); err != nil {
			return cliError(err)
		}
		fmt.Fprintln(stdout, "revoked session", id)
		return nil
	case verb == "revoke":
		n, err := svc.SignOutEverywhere(ctx, userID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %d sessions of %s\n", n, email)
		return nil
	}
	list, err := svc.ListSessions(ctx, refreshing.SessionFilter{UserID: userID, Active: !all, Limit: limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tDEVICE\tIP\tCREATED\tLAST ACTIVITY\tSTATE")
	for _, s := range list {
		state := "active"
		if s.Revoked() {
			state = "revoked (" + s.RevokeReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.UserID, refreshing.DeviceName(s.UserAgent), s.IP,
			s.CreatedAt.Format(time.RFC3339), s.LastActivity.Format(time.RFC3339), state)
	}
	return tw.Flush()
}

func keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	_, args, err := subcommand("keys", args, "rotate")
	if err != nil {
		return err
	}
	var c config
	if err := parse(flags("keys rotate", getenv, &c), args); err != nil {
		return err
	}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	kid, err := svc.RotateKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "new signing key:", kid)
	pruned, err := svc.PruneKeys(ctx)
	for _, id := range pruned {
		fmt.Fprintln(stdout, "forgot signing key (no live token can use it):", id)
	}
	return err
}

// cliError turns domain errors into the sentences a CLI user needs.
func cliError(err error) error {
	var fe *refreshing.FieldError
	switch {
	case errors.As(err, &fe):
		return usagef("--%s: %s", fe.Field, fe.Message)
	case errors.Is(err, refreshing.ErrTaken):
		return fmt.Errorf("that email or username is already taken")
	case errors.Is(err, refreshing.ErrNotFound):
		return fmt.Errorf("not found")
	}
	return err
}
