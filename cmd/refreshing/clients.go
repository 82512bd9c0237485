package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/refreshing/refreshing"
)

// clients runs `clients create --id ID [--secret S] [--grant password]`:
// without --secret the client is public; with --secret S it is confidential
// with that secret (at least refreshing.MinClientSecretLen characters); with
// --secret "" a secret is generated and printed, once.
func clients(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	_, args, err := subcommand("clients", args, "create")
	if err != nil {
		return err
	}
	var (
		c          config
		id, secret string
		grants     grantFlag
	)
	fs := flags("clients create", getenv, &c)
	fs.StringVar(&id, "id", "", "the client id")
	fs.StringVar(&secret, "secret", "", `the client secret; "" generates one`)
	fs.Var(&grants, "grant", "a grant the client may use besides refresh_token: password")
	if err := parse(fs, args); err != nil {
		return err
	}
	secretGiven := false
	fs.Visit(func(f *flag.Flag) { secretGiven = secretGiven || f.Name == "secret" })
	if id == "" {
		return usagef("clients create: --id is required")
	}
	spec := refreshing.ClientSpec{ID: id, Secret: secret, GenerateSecret: secretGiven && secret == "", Grants: grants}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	cl, plain, err := svc.CreateClient(ctx, spec)
	if err != nil {
		return cliError(err)
	}
	kind := "public"
	if cl.Confidential() {
		kind = "confidential"
	}
	fmt.Fprintf(stdout, "created %s client %s (grants: %s)\n", kind, cl.ID, strings.Join(append([]string{refreshing.GrantRefreshToken}, cl.Grants...), ", "))
	if spec.GenerateSecret {
		fmt.Fprintf(stdout, "client secret (shown only now; only its hash is stored): %s\n", plain)
	}
	return nil
}

// grantFlag collects --grant, which may be repeated or comma-separated.
type grantFlag []string

func (g *grantFlag) String() string { return strings.Join(*g, ",") }

func (g *grantFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*g = append(*g, s)
		}
	}
	return nil
}
