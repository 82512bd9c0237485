package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/spf13/cobra"
)

// clientJSON is an OAuth client as the CLI prints it: never its secret's hash.
type clientJSON struct {
	ID           string    `json:"id"`
	Confidential bool      `json:"confidential"`
	Grants       []string  `json:"grants"`
	RequireDPoP  bool      `json:"requireDPoP"`
	CreatedAt    time.Time `json:"createdAt"`
	// Secret is set only by clients create with a generated secret: the
	// only time it is shown.
	Secret string `json:"secret,omitempty"`
}

func clientView(c *refreshing.Client) clientJSON {
	return clientJSON{ID: c.ID, Confidential: c.Confidential(), Grants: c.AllowedGrants(), RequireDPoP: c.RequireDPoP, CreatedAt: c.CreatedAt}
}

func (c clientJSON) kind() string {
	if c.Confidential {
		return "confidential"
	}
	return "public"
}

func (a *app) clientsCmd() *cobra.Command {
	return group("clients", "Manage OAuth clients: list, show, create, delete",
		a.clientsListCmd(), a.clientsShowCmd(), a.clientsCreateCmd(), a.clientsDeleteCmd())
}

func (a *app) clientsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the OAuth clients",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				list, err := m.Clients(cmd.Context())
				if err != nil {
					return err
				}
				out := make([]clientJSON, len(list))
				for i := range list {
					out[i] = clientView(&list[i])
				}
				if asJSON {
					return writeJSON(a.stdout, out)
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tGRANTS\tCREATED")
				for _, c := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.kind(), strings.Join(c.Grants, ","), c.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) clientsShowCmd() *cobra.Command {
	var (
		id     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show one OAuth client (never its secret)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return usagef("clients show: --id is required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				c, err := m.Client(cmd.Context(), id)
				if errors.Is(err, refreshing.ErrNotFound) {
					return fmt.Errorf("clients show: no client %q", id)
				}
				if err != nil {
					return err
				}
				v := clientView(c)
				if asJSON {
					return writeJSON(a.stdout, v)
				}
				fmt.Fprintf(a.stdout, "id\t%s\nkind\t%s\ngrants\t%s\ncreated\t%s\n", v.ID, v.kind(), strings.Join(v.Grants, ", "), v.CreatedAt.Format(time.RFC3339))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the client id")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// grantHelp lists refreshing.GrantTypes for clients create's help: each
// grant, whether --grant must allow it, and what it is for.
func grantHelp() string {
	var b strings.Builder
	for _, g := range refreshing.GrantTypes() {
		how := "--grant " + g.Name
		if g.Implied {
			how = "always allowed"
		}
		fmt.Fprintf(&b, "  %-14s %s: %s\n", g.Name, how, g.Help)
	}
	return b.String()
}

// clientsCreateCmd is `clients create --id ID [--secret S] [--grant password] [--dpop]`:
// without --secret the client is public; with --secret S it is confidential
// with that secret (at least refreshing.MinClientSecretLen characters); with
// --secret "" a secret is generated and printed, once.
func (a *app) clientsCreateCmd() *cobra.Command {
	var (
		id, secret string
		grants     []string
		asJSON     bool
		dpop       bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an OAuth client: public without --secret, confidential with one",
		Long: `Create an OAuth client. Without --secret it is public; with --secret S it is
confidential with that secret (at least 32 characters); --secret "" generates
one and prints it, once (only its hash is stored). --dpop requires a DPoP
proof (RFC 9449) on every token request of the client. Grants:
` + grantHelp(),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return usagef("clients create: --id is required")
			}
			spec := refreshing.ClientSpec{ID: id, Secret: secret, GenerateSecret: cmd.Flags().Changed("secret") && secret == "", Grants: grants, RequireDPoP: dpop}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				cl, plain, err := svc.CreateClient(cmd.Context(), spec)
				if err != nil {
					return cliError(err)
				}
				v := clientView(cl)
				if asJSON {
					if spec.GenerateSecret {
						v.Secret = plain
					}
					return writeJSON(a.stdout, v)
				}
				fmt.Fprintf(a.stdout, "created %s client %s (grants: %s)\n", v.kind(), v.ID, strings.Join(v.Grants, ", "))
				if v.RequireDPoP {
					fmt.Fprintln(a.stdout, "every token request must carry a DPoP proof")
				}
				if spec.GenerateSecret {
					fmt.Fprintf(a.stdout, "client secret (shown only now; only its hash is stored): %s\n", plain)
				}
				return nil
			})
		},
	}
	var implied []string
	for _, g := range refreshing.GrantTypes() {
		if g.Implied {
			implied = append(implied, g.Name)
		}
	}
	cmd.Flags().StringVar(&id, "id", "", "the client id")
	cmd.Flags().StringVar(&secret, "secret", "", `the client secret; "" generates one`)
	cmd.Flags().StringSliceVar(&grants, "grant", nil, "a grant the client may use besides "+strings.Join(implied, ", ")+": "+strings.Join(refreshing.GrantNames(true), ", ")+" (repeatable or comma-separated)")
	cmd.Flags().BoolVar(&dpop, "dpop", false, "require a DPoP proof (RFC 9449) on every token request")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) clientsDeleteCmd() *cobra.Command {
	var (
		id     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete an OAuth client: its secret stops working at once, and every session issued to it is revoked",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return usagef("clients delete: --id is required")
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				m := svc
				if err := m.DeleteClient(cmd.Context(), id); errors.Is(err, refreshing.ErrNotFound) {
					return fmt.Errorf("clients delete: no client %q", id)
				} else if err != nil {
					return cliError(err)
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"deleted": true, "id": id})
				}
				fmt.Fprintln(a.stdout, "deleted client", id)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the client id")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
