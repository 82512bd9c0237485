// Command refreshing runs the Refreshing service and its administration
// commands. `serve` is the default command; `refreshing help` lists the others.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/refreshing/refreshing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd, _ := command(os.Args[1:]); cmd == "serve" {
		// Password hashes get processors of their own, on low-priority
		// threads, beside those serving requests.
		refreshing.ReserveHashProcs(os.Getenv)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "refreshing:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is 2 for usage errors and 1 for everything else.
func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `Usage: refreshing [command] [flags]

Commands:
  serve                      run the HTTP service (the default)
  migrate                    apply database migrations and exit
  users create --username U --email E --password P
  users block --email E      block a user and revoke their sessions
  users unblock --email E
  sessions list [--email E] [--all] [--limit N]
  sessions revoke --id ID    revoke one session
  sessions revoke --email E  revoke every session of a user
  admin create --email E --password P
                             create an administrator of the /admin screens
  keys rotate                add a new JWT signing key (EdDSA mode); forget keys no live token can use
  clients create --id ID [--secret S] [--grant password]
                             an OAuth client: public without --secret, confidential with one
                             (at least 32 characters; --secret "" generates and prints one);
                             --grant password allows the password grant
  import strapi --from DSN [--dry-run]
                             users, roles and the refreshing plugin's refresh tokens from a
                             Strapi v4/v5 database (a SQLite file or a postgres:// URL);
                             running it again changes nothing
  account confirm --email E  confirm a user's email
  account set-password --email E --password P
                             set a user's password and revoke their sessions
  account resend-confirmation --email E
                             mail a new confirmation link
  mail list [--state pending|failed|sent|dropped] [--limit N]
                             the outbox of password reset and confirmation mail
  mail retry --id N          send a failed mail again
  version                    print the version

Flags common to every command (or the REFRESHING_* environment variable):
  --db DSN                   storage: sqlite:PATH (default sqlite:data/refreshing.db) or postgres://...
Flags of serve:
  --addr ADDR                listen address (default :1337)
  --issuer URL               JWT issuer (default http://localhost:1337): an https URL (http
                             is accepted, with a warning off localhost); no query or fragment
  --jwt-secret S             Strapi-compatible HS256 signing with this secret (at least
                             16 bytes; prefer REFRESHING_JWT_SECRET: flags show in ps)
  --trusted-proxies CIDRS    comma-separated proxies whose X-Forwarded-For and
                             X-Forwarded-Proto are believed
`

// command splits the command (serve when none is named) from its arguments.
func command(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "serve", args
}

// run is the whole program: main only adds the process's context, arguments,
// environment and streams, so tests run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, args := command(args)
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "users":
		return users(ctx, args, getenv, stdout)
	case "sessions":
		return sessions(ctx, args, getenv, stdout)
	case "keys":
		return keys(ctx, args, getenv, stdout)
	case "admin":
		return adminCmd(ctx, args, getenv, stdout)
	case "clients":
		return clients(ctx, args, getenv, stdout)
	case "account": // mail.go
		return account(ctx, args, getenv, stdout)
	case "mail": // mail.go
		return mailCmd(ctx, args, getenv, stdout)
	case "import":
		return importCmd(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "refreshing", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (see 'refreshing help')", cmd)
}
