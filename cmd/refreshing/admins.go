package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/spf13/cobra"
)

func (a *app) usersSetPasswordCmd() *cobra.Command {
	var (
		ref      userRef
		password string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "set-password",
		Short: "Set a user's password and end every session of theirs",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check("users set-password"); err != nil {
				return err
			}
			if password == "" {
				return usagef("users set-password: --password is required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				u, err := ref.find(cmd.Context(), svc, "users set-password")
				if err != nil {
					return err
				}
				if u, err = m.SetUserPassword(cmd.Context(), u.ID, password); err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, userView(u))
				}
				fmt.Fprintf(a.stdout, "set the password of user %d (%s); their sessions are revoked\n", u.ID, u.Email)
				return nil
			})
		},
	}
	ref.flags(cmd)
	cmd.Flags().StringVar(&password, "password", "", "the new password (flags show in ps: clear your shell history)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// adminJSON is an administrator as the CLI prints it: never the password hash.
type adminJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"createdAt"`
}

func (a *app) adminsCmd() *cobra.Command {
	g := group("admins", "Manage the administrators of the /admin screens and their admin API tokens: list, create, delete, set-password, tokens",
		a.adminsListCmd(), a.adminsCreateCmd(), a.adminsDeleteCmd(), a.adminsSetPasswordCmd(), a.adminsTokensCmd())
	g.Aliases = []string{"admin"} // `admin create`, as before
	return g
}

func (a *app) adminsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the administrators",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				list, err := m.Admins(cmd.Context())
				if err != nil {
					return err
				}
				out := make([]adminJSON, len(list))
				for i, ad := range list {
					out[i] = adminJSON{ID: ad.ID, Email: ad.Email, CreatedAt: ad.CreatedAt}
				}
				if asJSON {
					return writeJSON(a.stdout, out)
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEMAIL\tCREATED")
				for _, ad := range out {
					fmt.Fprintf(tw, "%d\t%s\t%s\n", ad.ID, ad.Email, ad.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) adminsCreateCmd() *cobra.Command {
	var (
		email, password string
		asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an administrator of the /admin screens",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" || password == "" {
				return usagef("admins create: --email and --password are required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				ad, err := svc.CreateAdmin(cmd.Context(), email, password)
				if err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, adminJSON{ID: ad.ID, Email: ad.Email, CreatedAt: ad.CreatedAt})
				}
				fmt.Fprintf(a.stdout, "created administrator %d (%s); sign in at /admin\n", ad.ID, ad.Email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the administrator's email")
	cmd.Flags().StringVar(&password, "password", "", "the password (at least 10 characters)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// findAdmin returns the administrator with that email.
func findAdmin(ctx context.Context, m *refreshing.Service, email, cmd string) (*refreshing.Admin, error) {
	ad, err := m.FindAdmin(ctx, email)
	if errors.Is(err, refreshing.ErrNotFound) {
		return nil, fmt.Errorf("%s: no administrator with that email: %s", cmd, email)
	}
	return ad, err
}

func (a *app) adminsDeleteCmd() *cobra.Command {
	var (
		email  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete an administrator (not the last one) and their admin sessions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" {
				return usagef("admins delete: --email is required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				ad, err := findAdmin(cmd.Context(), m, email, "admins delete")
				if err != nil {
					return err
				}
				if err := m.DeleteAdmin(cmd.Context(), ad.ID); err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"deleted": true, "id": ad.ID, "email": ad.Email})
				}
				fmt.Fprintf(a.stdout, "deleted administrator %d (%s)\n", ad.ID, ad.Email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the administrator's email")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) adminsSetPasswordCmd() *cobra.Command {
	var (
		email, password string
		asJSON          bool
	)
	cmd := &cobra.Command{
		Use:   "set-password",
		Short: "Set an administrator's password (a lost one is reset this way) and end their admin sessions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" || password == "" {
				return usagef("admins set-password: --email and --password are required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				ad, err := findAdmin(cmd.Context(), m, email, "admins set-password")
				if err != nil {
					return err
				}
				if err := m.SetAdminPassword(cmd.Context(), ad.ID, password); err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, adminJSON{ID: ad.ID, Email: ad.Email, CreatedAt: ad.CreatedAt})
				}
				fmt.Fprintf(a.stdout, "set the password of administrator %d (%s)\n", ad.ID, ad.Email)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the administrator's email")
	cmd.Flags().StringVar(&password, "password", "", "the new password (at least 10 characters)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// jwksKids returns the key ids a JSON Web Key Set lists.
func jwksKids(jwks []byte) []string {
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if json.Unmarshal(jwks, &set) != nil {
		return nil
	}
	kids := make([]string, len(set.Keys))
	for i, k := range set.Keys {
		kids[i] = k.Kid
	}
	return kids
}
