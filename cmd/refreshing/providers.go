package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/idp"
	"github.com/spf13/cobra"
)

// The sign-in providers saved at run time (docs/oidc.md): the same as the
// admin screen's Providers page and the admin API's /admin/api/providers.
// The environment's (REFRESHING_OIDC_PROVIDERS) are listed, read-only.

func (a *app) providersCmd() *cobra.Command {
	return group("providers", "Manage sign-in providers (OpenID Connect, Google, GitHub): list, set, delete",
		a.providersListCmd(), a.providersSetCmd(), a.providersDeleteCmd())
}

// envProviders makes the providers commands see REFRESHING_OIDC_PROVIDERS,
// a serve setting they have no flag for: its providers are listed, and
// their names cannot be saved over or deleted.
func (a *app) envProviders() {
	if a.c.oidcProviders == "" {
		a.c.oidcProviders = a.getenv("REFRESHING_OIDC_PROVIDERS")
	}
}

func (a *app) providersListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the sign-in providers, saved and from REFRESHING_OIDC_PROVIDERS; secrets are never shown",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.envProviders()
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				list, err := svc.SignInProviders(cmd.Context())
				if err != nil {
					return err
				}
				out := make([]refreshing.ConfiguredProvider, len(list))
				for i, p := range list {
					out[i] = p.Redacted()
				}
				if asJSON {
					return writeJSON(a.stdout, out)
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tTYPE\tISSUER OR ENDPOINT\tCLIENT ID\tSECRET\tFROM")
				for _, p := range out {
					ep, secret, from := p.Issuer, "none", "saved "+p.UpdatedAt.Format(time.RFC3339)
					if p.Type == refreshing.ProviderGitHub {
						ep = p.AuthURL
					}
					if p.SecretSet {
						secret = "set"
					}
					switch {
					case p.Source == refreshing.ProviderFromEnvironment:
						from = "REFRESHING_OIDC_PROVIDERS"
					case p.Overridden:
						from += " (not in use: the environment configures this name)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Type, ep, p.ClientID, secret, from)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// providerFlags maps ProviderConfig's JSON members to set's flags, for errors.
var providerFlags = map[string]string{"name": "name", "type": "type", "issuer": "issuer", "clientId": "client-id",
	"clientSecret": "client-secret", "scopes": "scope", "callbackUrl": "callback-url", "redirectUrls": "redirect-url",
	"redirectWith": "redirect-with", "authUrl": "auth-url", "tokenUrl": "token-url", "apiUrl": "api-url"}

func (a *app) providersSetCmd() *cobra.Command {
	var (
		c          refreshing.ProviderConfig
		secretFile string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Add a sign-in provider, or replace the saved one of that name (without a secret, the saved secret is kept)",
		Long: `Add a sign-in provider, or replace the saved provider of the same name: every
setting comes from the flags (unset ones take their defaults), except the
client secret, which is kept when none is given. It applies at once on
every instance sharing the database.

  refreshing providers set --name corp --issuer https://id.example.com/realms/main \
    --client-id refreshing --client-secret-file corp.secret \
    --redirect-url https://app.example.com/signed-in`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.Name == "" {
				return usagef("providers set: --name is required")
			}
			a.envProviders()
			if secretFile != "" {
				if c.ClientSecret != "" {
					return usagef("providers set: give --client-secret or --client-secret-file, not both")
				}
				s, err := readSecret(cmd, secretFile)
				if err != nil {
					return usagef("providers set: --client-secret-file: %v", err)
				}
				c.ClientSecret = s
			}
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				p, err := svc.SaveSignInProvider(cmd.Context(), c)
				var fe *refreshing.FieldError
				if errors.As(err, &fe) {
					return usagef("providers set: --%s: %s", providerFlags[fe.Field], fe.Message)
				} else if err != nil {
					return err
				}
				// Read the issuer's discovery document now, as the first
				// sign-in would: a wrong or unreachable issuer is said at once.
				check, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
				defer cancel()
				if err := idp.NewRegistry(idp.Options{}).Provider(p.ProviderConfig).Check(check); err != nil {
					fmt.Fprintf(a.stderr, "warning: saved, but the issuer's discovery document cannot be read, so sign-in through %s fails until it can: %v\n", p.Name, err)
				}
				if asJSON {
					return writeJSON(a.stdout, p.Redacted())
				}
				fmt.Fprintf(a.stdout, "saved sign-in provider %s; register %s at the provider\n", p.Name, callbackHint(p.ProviderConfig))
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Name, "name", "", "the provider's name in /api/connect/{name}: lower-case letters, digits, - and _")
	f.StringVar(&c.Type, "type", "oidc", "oidc (any OpenID Connect provider), google or github")
	f.StringVar(&c.Issuer, "issuer", "", "the OpenID Connect issuer URL (google: https://accounts.google.com)")
	f.StringVar(&c.ClientID, "client-id", "", "the client id registered at the provider")
	f.StringVar(&c.ClientSecret, "client-secret", "", "the client secret (flags show in ps: prefer --client-secret-file)")
	f.StringVar(&secretFile, "client-secret-file", "", "read the client secret from this file (- for standard input)")
	f.StringSliceVar(&c.Scopes, "scope", nil, "a scope to ask for, repeatable (default openid, email, profile; github: read:user, user:email)")
	f.StringVar(&c.CallbackURL, "callback-url", "", "this server's public /api/auth/{name}/callback URL (default: from each request)")
	f.StringArrayVar(&c.RedirectURLs, "redirect-url", nil, "a front-end page a sign-in may end on, repeatable")
	f.StringVar(&c.RedirectWith, "redirect-with", "tokens", "what a front-end page gets: tokens or code")
	f.BoolVar(&c.LinkByEmail, "link-by-email", false, "let a first sign-in with a verified email join the account with that email")
	f.StringVar(&c.AuthURL, "auth-url", "", "github only: the authorization URL (GitHub Enterprise Server)")
	f.StringVar(&c.TokenURL, "token-url", "", "github only: the token URL")
	f.StringVar(&c.APIURL, "api-url", "", "github only: the REST API URL")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// readSecret reads a secret from path, or standard input for "-", without
// its final line break.
func readSecret(cmd *cobra.Command, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 8<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// callbackHint is the callback to register at the provider.
func callbackHint(c refreshing.ProviderConfig) string {
	if c.CallbackURL != "" {
		return c.CallbackURL
	}
	return "https://<this server>/api/auth/" + c.Name + "/callback"
}

func (a *app) providersDeleteCmd() *cobra.Command {
	var (
		name   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a saved sign-in provider: sign-in through it stops at once; its users' identities stay linked",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usagef("providers delete: --name is required")
			}
			a.envProviders()
			return a.withService(cmd.Context(), func(svc *refreshing.Service, _ refreshing.Store) error {
				err := svc.DeleteSignInProvider(cmd.Context(), name)
				var fe *refreshing.FieldError
				switch {
				case errors.Is(err, refreshing.ErrNotFound):
					return fmt.Errorf("providers delete: no saved provider %q", name)
				case errors.As(err, &fe):
					return usagef("providers delete: %s", fe.Message)
				case err != nil:
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"deleted": true, "name": name})
				}
				fmt.Fprintln(a.stdout, "deleted sign-in provider", name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the provider's name")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
