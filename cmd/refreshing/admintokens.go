package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/spf13/cobra"
)

// The admin API's tokens (docs/admin.md), from the command line: the first
// token of a deployment script no longer needs a browser.

// adminTokenJSON is an admin API token as the CLI prints it. Token is set
// only by create, the one time the value exists outside the caller's hands;
// the store keeps its SHA-256 alone.
type adminTokenJSON struct {
	ID        int64      `json:"id"`
	AdminID   int64      `json:"adminId"`
	Admin     string     `json:"admin,omitempty"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt"` // null: never
	Token     string     `json:"token,omitempty"`
}

func adminTokenView(t refreshing.AdminToken, email string) adminTokenJSON {
	v := adminTokenJSON{ID: t.ID, AdminID: t.AdminID, Admin: email, Name: t.Name, CreatedAt: t.CreatedAt}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt
		v.ExpiresAt = &e
	}
	return v
}

func (a *app) adminsTokensCmd() *cobra.Command {
	return group("tokens", "Admin API tokens (docs/admin.md): create, list, revoke",
		a.adminTokensCreateCmd(), a.adminTokensListCmd(), a.adminTokensRevokeCmd())
}

func (a *app) adminTokensCreateCmd() *cobra.Command {
	var (
		email, name string
		ttl         time.Duration
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an admin API token for an administrator and print it (the only time it is shown)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" || name == "" {
				return usagef("admins tokens create: --email and --name are required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				ad, err := findAdmin(cmd.Context(), svc, email, "admins tokens create")
				if err != nil {
					return err
				}
				t, token, err := svc.CreateAdminToken(cmd.Context(), ad.ID, name, ttl)
				if err != nil {
					return cliError(err)
				}
				if asJSON {
					v := adminTokenView(*t, ad.Email)
					v.Token = token
					return writeJSON(a.stdout, v)
				}
				until := "never expires"
				if !t.ExpiresAt.IsZero() {
					until = "expires " + t.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(a.stdout, "created admin API token %d %q for %s (%s); it is shown once:\n%s\n", t.ID, t.Name, ad.Email, until, token)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the administrator the token acts as")
	cmd.Flags().StringVar(&name, "name", "", "what the token is for (\"deploy script\"), up to 100 characters")
	cmd.Flags().DurationVar(&ttl, "ttl", 90*24*time.Hour, "lifetime (0: never expires; at most 5 years)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) adminTokensListCmd() *cobra.Command {
	var (
		email  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List admin API tokens (never their values, which are not stored)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				var adminID int64 // 0: everyone's
				if email != "" {
					ad, err := findAdmin(cmd.Context(), svc, email, "admins tokens list")
					if err != nil {
						return err
					}
					adminID = ad.ID
				}
				admins, err := svc.Admins(cmd.Context())
				if err != nil {
					return err
				}
				emails := make(map[int64]string, len(admins))
				for _, ad := range admins {
					emails[ad.ID] = ad.Email
				}
				list, err := svc.AdminTokens(cmd.Context(), adminID)
				if err != nil {
					return err
				}
				out := make([]adminTokenJSON, len(list))
				for i, t := range list {
					out[i] = adminTokenView(t, emails[t.AdminID])
				}
				if asJSON {
					return writeJSON(a.stdout, out)
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tADMIN\tNAME\tCREATED\tEXPIRES")
				for _, t := range out {
					expires := "never"
					if t.ExpiresAt != nil {
						expires = t.ExpiresAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Admin, t.Name, t.CreatedAt.Format(time.RFC3339), expires)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "only this administrator's tokens")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) adminTokensRevokeCmd() *cobra.Command {
	var (
		id     int64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an admin API token: it stops working at once",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id <= 0 {
				return usagef("admins tokens revoke: --id is required (see 'refreshing admins tokens list')")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				if err := svc.RevokeAdminToken(cmd.Context(), id); err != nil {
					if errors.Is(err, refreshing.ErrNotFound) {
						return fmt.Errorf("admins tokens revoke: no admin API token has id %d", id)
					}
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"revoked": true, "id": id})
				}
				fmt.Fprintf(a.stdout, "revoked admin API token %d\n", id)
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&id, "id", 0, "the token's id")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
