package main

import (
	"context"
	"fmt"
	"io"
)

// adminCmd runs "admin create": an administrator of the /admin screens,
// apart from end users.
func adminCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	_, args, err := subcommand("admin", args, "create")
	if err != nil {
		return err
	}
	var c config
	var email, password string
	fs := flags("admin create", getenv, &c)
	fs.StringVar(&email, "email", "", "the administrator's email")
	fs.StringVar(&password, "password", "", "the password (at least 10 characters)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if email == "" || password == "" {
		return usagef("admin create: --email and --password are required")
	}
	svc, st, err := openService(ctx, &c, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	defer svc.Close() // writes the audit event before the store closes
	a, err := svc.CreateAdmin(ctx, email, password)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "created administrator %d (%s); sign in at /admin\n", a.ID, a.Email)
	return nil
}
