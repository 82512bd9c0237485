// Command refreshing runs the Refreshing service and its administration
// commands. `serve` is the default command; `refreshing help` lists the
// others, and `refreshing help COMMAND` (or COMMAND --help) explains one,
// with its flags and the environment variables that stand in for them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/refreshing/refreshing"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if args := defaultCommand(os.Args[1:]); len(args) > 0 && args[0] == "serve" {
		// Password hashes get processors of their own, on low-priority
		// threads, beside those serving requests.
		refreshing.ReserveHashProcs(os.Getenv)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.As(err, new(loggedError)) {
			fmt.Fprintln(os.Stderr, "refreshing:", err)
		}
		os.Exit(exitCode(err))
	}
}

// loggedError is an error serve already logged: main only exits with it.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// exitCode is 2 for usage errors and 1 for everything else.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// defaultCommand returns args with "serve" in front when they name no
// command: none at all, or flags first (`refreshing --addr :8080`), except
// a request for help.
func defaultCommand(args []string) []string {
	if len(args) == 0 {
		return []string{"serve"}
	}
	if strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		return append([]string{"serve"}, args...)
	}
	return args
}

// run is the whole program: main only adds the process's context, arguments,
// environment and streams, so tests run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdout: stdout, stderr: stderr, sources: map[string]string{}}
	root := a.commands()
	root.SetArgs(defaultCommand(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// app is what every command shares: the process's environment and streams,
// and the bootstrap configuration the common flags fill.
type app struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	c              config
	// sources says where each flag's value came from: "flag",
	// "environment (REFRESHING_X)" or "default", by flag name.
	sources map[string]string
}

// commands returns the command tree.
func (a *app) commands() *cobra.Command {
	root := &cobra.Command{
		Use:   "refreshing [command]",
		Short: "Refresh-token and session service for JWT APIs",
		Long: `Refreshing is a refresh-token and session service for JWT APIs: accounts,
per-device sessions, rotation with reuse detection, the Strapi users-permissions
HTTP API and OAuth 2.0. Without a command it serves (refreshing serve).`,
		SilenceErrors: true, // main prints the error once
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("unknown command %q (see 'refreshing help')", args[0])
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.resolve(cmd)
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%s: %v", cmd.CommandPath(), err)
	})
	root.SetUsageTemplate(root.UsageTemplate() + envUsage)
	a.commonFlags(root.PersistentFlags())
	root.Annotations = map[string]string{"env": runtimeEnvHelp()}

	root.AddCommand(a.serveCmd(), a.migrateCmd(), a.configCmd(), a.usersCmd(), a.sessionsCmd(),
		a.clientsCmd(), a.providersCmd(), a.adminsCmd(), a.keysCmd(), a.mailCmd(), a.importCmd(), a.versionCmd())
	return root
}

// commonFlags defines the flags every command has.
func (a *app) commonFlags(pf *pflag.FlagSet) {
	a.envFlag(pf, &a.c.db, "db", "REFRESHING_DB", defaultDB, "storage: sqlite:PATH or postgres://...")
	a.envFlag(pf, &a.c.issuer, "issuer", "REFRESHING_ISSUER", "http://localhost:1337", "JWT issuer: an https URL (http is accepted, with a warning off localhost); no query or fragment")
	a.envFlag(pf, &a.c.jwtSecret, "jwt-secret", "REFRESHING_JWT_SECRET", "", "Strapi-compatible HS256 signing with this secret (at least 16 bytes; prefer the variable: flags show in ps)")
}

// envUsage ends every command's help: the runtime settings' variables on
// the commands that read them, a pointer to them elsewhere.
const envUsage = `{{if .Annotations.env}}
{{.Annotations.env}}{{else}}
Environment:
  Each flag's REFRESHING_* variable (shown beside it) is used when the flag
  is not given. 'refreshing help serve' lists every variable.
{{end}}`

// group returns a command that only holds subcommands: run alone or with an
// unknown subcommand, it is a usage error naming them.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs}
	g.AddCommand(subs...)
	g.RunE = func(cmd *cobra.Command, args []string) error {
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		if len(args) == 0 {
			return usagef("%s: missing command (one of %s; see 'refreshing help %s')", use, strings.Join(names, ", "), use)
		}
		return usagef("%s: unknown command %q (one of %s)", use, args[0], strings.Join(names, ", "))
	}
	return g
}

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s: unexpected argument %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.stdout, "refreshing", version())
			return nil
		},
	}
}
