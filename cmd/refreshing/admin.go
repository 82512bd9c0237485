package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the database if needed, apply pending migrations, and exit",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), a.c.db)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			defer st.Close()
			fmt.Fprintln(a.stdout, "migrations applied:", redactDSN(a.c.db))
			return nil
		},
	}
}

// withService runs fn with the Service on the existing database, closing
// the Service (which writes its buffered audit events) and then the store.
func (a *app) withService(ctx context.Context, fn func(svc *refreshing.Service, st refreshing.Store) error) error {
	svc, st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	defer svc.Close()
	return fn(svc, st)
}

// userRef is how commands name a user: --email, --username or --id.
type userRef struct {
	email, username string
	id              int64
}

func (r *userRef) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.email, "email", "", "the user's email")
	cmd.Flags().StringVar(&r.username, "username", "", "the user's username (instead of --email)")
	cmd.Flags().Int64Var(&r.id, "id", 0, "the user's numeric id (instead of --email)")
}

// check is a usage error unless exactly one way of naming the user is given.
func (r *userRef) check(cmd string) error {
	n := 0
	for _, set := range []bool{r.email != "", r.username != "", r.id != 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usagef("%s: give one of --email, --username or --id", cmd)
	}
	return nil
}

// find returns the user r names.
func (r *userRef) find(ctx context.Context, svc *refreshing.Service, cmd string) (*refreshing.User, error) {
	var u *refreshing.User
	var err error
	switch {
	case r.id != 0:
		u, err = svc.User(ctx, r.id)
	case r.email != "":
		u, err = svc.UserByEmail(ctx, r.email)
	default:
		u, err = svc.FindUser(ctx, r.username)
	}
	if errors.Is(err, refreshing.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w: %s", cmd, errNoUser, r)
	}
	return u, err
}

func (r *userRef) String() string {
	switch {
	case r.id != 0:
		return "id " + strconv.FormatInt(r.id, 10)
	case r.email != "":
		return r.email
	}
	return r.username
}

// userJSON is a user as the CLI prints it: never the password hash.
type userJSON struct {
	ID         int64     `json:"id"`
	DocumentID string    `json:"documentId"`
	Username   string    `json:"username"`
	Email      string    `json:"email"`
	Provider   string    `json:"provider"`
	Role       string    `json:"role"`
	Confirmed  bool      `json:"confirmed"`
	Blocked    bool      `json:"blocked"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func userView(u *refreshing.User) userJSON {
	return userJSON{ID: u.ID, DocumentID: u.DocumentID, Username: u.Username, Email: u.Email, Provider: u.Provider,
		Role: u.Role, Confirmed: u.Confirmed, Blocked: u.Blocked, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (a *app) usersCmd() *cobra.Command {
	return group("users", "Manage end users: list, show, create, block, unblock, delete, set-password, confirm, resend-confirmation",
		a.usersListCmd(), a.usersShowCmd(), a.usersCreateCmd(), a.usersBlockCmd(true), a.usersBlockCmd(false),
		a.usersDeleteCmd(), a.usersSetPasswordCmd(), a.usersConfirmCmd(), a.usersResendCmd())
}

func (a *app) usersListCmd() *cobra.Command {
	var (
		query  string
		after  int64
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users in id order, a page at a time (--after ID for the next page)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				list, err := svc.SearchUsers(cmd.Context(), query, after, limit)
				if err != nil {
					return cliError(err)
				}
				if asJSON {
					out := make([]userJSON, len(list))
					for i := range list {
						out[i] = userView(&list[i])
					}
					return writeJSON(a.stdout, out)
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tROLE\tSTATE\tCREATED")
				for _, u := range list {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Email, u.Role, userState(&u), u.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&query, "query", "", "only users whose email or username contains this")
	cmd.Flags().Int64Var(&after, "after", 0, "start after this user id (the last id of the previous page)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (1 to 500)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// userState is "blocked", "unconfirmed" or "active".
func userState(u *refreshing.User) string {
	switch {
	case u.Blocked:
		return "blocked"
	case !u.Confirmed:
		return "unconfirmed"
	}
	return "active"
}

func (a *app) usersShowCmd() *cobra.Command {
	var (
		ref    userRef
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show one user and their active sessions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check("users show"); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				u, err := ref.find(cmd.Context(), svc, "users show")
				if err != nil {
					return err
				}
				sessions, err := svc.ListSessions(cmd.Context(), refreshing.SessionFilter{UserID: u.ID, Active: true, Limit: 100})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, struct {
						userJSON
						Sessions []sessionJSON `json:"sessions"`
					}{userView(u), sessionViews(sessions)})
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				v := userView(u)
				for _, kv := range [][2]string{{"id", strconv.FormatInt(v.ID, 10)}, {"documentId", v.DocumentID}, {"username", v.Username},
					{"email", v.Email}, {"provider", v.Provider}, {"role", v.Role}, {"state", userState(u)},
					{"created", v.CreatedAt.Format(time.RFC3339)}, {"updated", v.UpdatedAt.Format(time.RFC3339)},
					{"active sessions", strconv.Itoa(len(sessions))}} {
					fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(sessions) > 0 {
					fmt.Fprintln(a.stdout)
					return printSessions(a.stdout, sessions)
				}
				return nil
			})
		},
	}
	ref.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) usersCreateCmd() *cobra.Command {
	var (
		username, email, password string
		asJSON                    bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user (confirmed, role authenticated)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" {
				return usagef("users create: --email is required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				u, err := svc.CreateUser(cmd.Context(), username, email, password)
				if err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, userView(u))
				}
				fmt.Fprintf(a.stdout, "created user %d (%s)\n", u.ID, u.Email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the username")
	cmd.Flags().StringVar(&email, "email", "", "the email (required)")
	cmd.Flags().StringVar(&password, "password", "", "the password (flags show in ps: clear your shell history)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) usersBlockCmd(block bool) *cobra.Command {
	verb, short := "block", "Block a user and revoke their sessions"
	if !block {
		verb, short = "unblock", "Unblock a user"
	}
	var (
		ref    userRef
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check("users " + verb); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				u, err := ref.find(cmd.Context(), svc, "users "+verb)
				if err != nil {
					return err
				}
				if u, err = svc.SetBlocked(cmd.Context(), u.ID, block); err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, userView(u))
				}
				fmt.Fprintf(a.stdout, "%sed user %d (%s)\n", verb, u.ID, u.Email)
				return nil
			})
		},
	}
	ref.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) usersDeleteCmd() *cobra.Command {
	var (
		ref    userRef
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a user and every session of theirs",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check("users delete"); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				u, err := ref.find(cmd.Context(), svc, "users delete")
				if err != nil {
					return err
				}
				if err := svc.DeleteUser(cmd.Context(), u.ID); err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"deleted": true, "id": u.ID, "email": u.Email})
				}
				fmt.Fprintf(a.stdout, "deleted user %d (%s) and their sessions\n", u.ID, u.Email)
				return nil
			})
		},
	}
	ref.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// sessionJSON is a session as the CLI prints it: never a token hash.
type sessionJSON struct {
	ID           string     `json:"id"`
	UserID       int64      `json:"userId"`
	ClientID     string     `json:"clientId,omitempty"`
	Device       string     `json:"device"`
	UserAgent    string     `json:"userAgent"`
	IP           string     `json:"ip"`
	CreatedAt    time.Time  `json:"createdAt"`
	LastActivity time.Time  `json:"lastActivity"`
	ExpiresAt    *time.Time `json:"expiresAt"`
	RevokedAt    *time.Time `json:"revokedAt"`
	RevokeReason string     `json:"revokeReason,omitempty"`
}

func sessionViews(list []refreshing.Session) []sessionJSON {
	out := make([]sessionJSON, len(list))
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	for i, s := range list {
		out[i] = sessionJSON{ID: s.ID, UserID: s.UserID, ClientID: s.ClientID, Device: refreshing.DeviceName(s.UserAgent),
			UserAgent: s.UserAgent, IP: s.IP, CreatedAt: s.CreatedAt, LastActivity: s.LastActivity,
			ExpiresAt: opt(s.ExpiresAt), RevokedAt: opt(s.RevokedAt), RevokeReason: s.RevokeReason}
	}
	return out
}

// printSessions writes sessions as a table.
func printSessions(w io.Writer, list []refreshing.Session) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
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

func (a *app) sessionsCmd() *cobra.Command {
	return group("sessions", "List and revoke sessions", a.sessionsListCmd(), a.sessionsRevokeCmd())
}

func (a *app) sessionsListCmd() *cobra.Command {
	var (
		email  string
		all    bool
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List sessions, most recently active first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 || limit > 100000 {
				return usagef("sessions list: --limit must be between 0 and 100000")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				f := refreshing.SessionFilter{Active: !all, Limit: limit}
				if email != "" {
					u, err := svc.UserByEmail(cmd.Context(), email)
					if errors.Is(err, refreshing.ErrNotFound) {
						return fmt.Errorf("sessions list: %w: %s", errNoUser, email)
					}
					if err != nil {
						return err
					}
					f.UserID = u.ID
				}
				list, err := svc.ListSessions(cmd.Context(), f)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, sessionViews(list))
				}
				return printSessions(a.stdout, list)
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "only this user's sessions")
	cmd.Flags().BoolVar(&all, "all", false, "include revoked and expired sessions")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) sessionsRevokeCmd() *cobra.Command {
	var (
		email, id string
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke one session (--id) or every session of a user (--email)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (id == "") == (email == "") {
				return usagef("sessions revoke: give exactly one of --id or --email")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				if id != "" {
					if err := svc.RevokeSession(cmd.Context(), id); err != nil {
						return cliError(err)
					}
					if asJSON {
						return writeJSON(a.stdout, map[string]any{"revoked": 1, "id": id})
					}
					fmt.Fprintln(a.stdout, "revoked session", id)
					return nil
				}
				u, err := svc.UserByEmail(cmd.Context(), email)
				if errors.Is(err, refreshing.ErrNotFound) {
					return fmt.Errorf("sessions revoke: %w: %s", errNoUser, email)
				}
				if err != nil {
					return err
				}
				n, err := svc.SignOutEverywhere(cmd.Context(), u.ID)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"revoked": n, "userId": u.ID})
				}
				fmt.Fprintf(a.stdout, "revoked %d sessions of %s\n", n, email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "revoke every session of this user")
	cmd.Flags().StringVar(&id, "id", "", "the session id")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) keysCmd() *cobra.Command {
	return group("keys", "List and rotate the JWT signing keys (EdDSA mode)", a.keysListCmd(), a.keysRotateCmd())
}

// keyJSON is a signing key as the CLI prints it: never its material.
type keyJSON struct {
	ID        string    `json:"id"`
	Algorithm string    `json:"algorithm"`
	CreatedAt time.Time `json:"createdAt"`
	State     string    `json:"state"` // signing, verifying (in the JWKS) or retired (left the JWKS, pruned soon)
}

func (a *app) keysListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys, newest (the one signing) first; never their material",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(svc *refreshing.Service, st refreshing.Store) error {
				list, err := keyViews(cmd.Context(), svc, st)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, list)
				}
				if svc.SigningAlgorithm() != "EdDSA" {
					fmt.Fprintln(a.stderr, "signing is", svc.SigningAlgorithm(), "with the configured secret: stored keys are not used")
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATE")
				for _, k := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.CreatedAt.Format(time.RFC3339), k.State)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// keyViews lists the stored keys with their state: the newest signs, those
// the Service publishes in its JWKS verify, the others are retired (no live
// token can use them).
func keyViews(ctx context.Context, svc *refreshing.Service, st refreshing.Store) ([]keyJSON, error) {
	stored, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	published := map[string]bool{}
	for _, kid := range jwksKids(svc.JWKS()) {
		published[kid] = true
	}
	out := make([]keyJSON, 0, len(stored))
	for i, k := range stored {
		state := "retired"
		switch {
		case i == 0 && svc.SigningAlgorithm() == k.Algorithm:
			state = "signing"
		case published[k.ID]:
			state = "verifying"
		}
		out = append(out, keyJSON{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, State: state})
	}
	return out, nil
}

func (a *app) keysRotateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new signing key, which signs from now on; forget keys no live token can use",
		Long: `Add a new signing key: running instances sign with it within a second.
Older keys keep verifying the tokens they signed until those expire; keys no
live token can use are forgotten.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				kid, err := svc.RotateKey(cmd.Context())
				if err != nil {
					return err
				}
				pruned, err := svc.PruneKeys(cmd.Context())
				if asJSON {
					if pruned == nil {
						pruned = []string{}
					}
					if jerr := writeJSON(a.stdout, map[string]any{"kid": kid, "forgotten": pruned}); jerr != nil {
						return jerr
					}
					return err
				}
				fmt.Fprintln(a.stdout, "new signing key:", kid)
				for _, id := range pruned {
					fmt.Fprintln(a.stdout, "forgot signing key (no live token can use it):", id)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
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
