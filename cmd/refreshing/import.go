package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/strapi"
	"github.com/spf13/cobra"
)

func (a *app) importCmd() *cobra.Command {
	var (
		from   string
		dryRun bool
	)
	strapiCmd := &cobra.Command{
		Use:   "strapi",
		Short: "Import users, roles and the refreshing plugin's refresh tokens from a Strapi v4/v5 database",
		Long: `Import users, roles and the "refreshing" plugin's refresh tokens from a
Strapi v4/v5 database (a SQLite file or a postgres:// URL) into this one.
Running it again changes nothing: what is already here is left alone.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return usagef("import strapi: --from is required (a Strapi SQLite file or a postgres:// URL)")
			}
			return a.importStrapi(cmd.Context(), from, dryRun)
		},
	}
	strapiCmd.Flags().StringVar(&from, "from", "", "the Strapi database: a SQLite file or a postgres:// URL")
	strapiCmd.Flags().BoolVar(&dryRun, "dry-run", false, "read and compare, write nothing")
	return group("import", "Import accounts from another system", strapiCmd)
}

// importStrapi runs `refreshing import strapi --from DSN [--dry-run]`:
// users, roles and the "refreshing" plugin's refresh tokens from a Strapi
// database into this one. It is idempotent: what is already here is left alone.
func (a *app) importStrapi(ctx context.Context, from string, dryRun bool) error {
	stdout, stderr := a.stdout, a.stderr
	svc, st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := strapi.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("import strapi: %s: %w", redactDSN(from), err)
	}
	defer src.Close()

	users, err := src.Users(ctx)
	if err != nil {
		return err
	}
	tokens, err := src.Tokens(ctx)
	if err != nil {
		return err
	}
	var sum importSummary
	bar := newProgress(stderr, len(users)+len(tokens))
	ids := map[int64]int64{} // Strapi user id -> id here
	for _, su := range users {
		u, res, err := svc.ImportUser(ctx, refreshing.User{
			ID: su.ID, DocumentID: su.DocumentID, Username: su.Username, Email: su.Email, Provider: su.Provider,
			PasswordHash: su.PasswordHash, Role: su.Role, Confirmed: su.Confirmed, Blocked: su.Blocked,
			CreatedAt: su.CreatedAt, UpdatedAt: su.UpdatedAt,
		}, dryRun)
		var fe *refreshing.FieldError
		switch {
		case errors.As(err, &fe):
			sum.usersInvalid++
			fmt.Fprintf(stderr, "\rskipped Strapi user %d: %s\n", su.ID, fe.Message)
		case err != nil:
			return fmt.Errorf("import strapi: user %d: %w", su.ID, err)
		case res == refreshing.ImportConflict:
			sum.usersConflict++
			fmt.Fprintf(stderr, "\rskipped Strapi user %d: username %q belongs to another account here\n", su.ID, su.Username)
		default:
			ids[su.ID] = u.ID
			sum.count(res, &sum.usersCreated, &sum.usersExisting)
			if res == refreshing.ImportCreated && u.ID != su.ID && !dryRun {
				sum.usersRenumbered++
			}
		}
		bar.step()
	}
	for _, tok := range tokens {
		id, ok := ids[tok.UserID]
		if !ok {
			sum.tokensOrphan++
			bar.step()
			continue
		}
		res, err := svc.ImportToken(ctx, refreshing.ImportedToken{
			Token: tok.Token, UserID: id, Description: tok.Description, UserAgent: tok.UserAgent, IP: tok.IP,
			CreatedAt: tok.CreatedAt, LastActivity: tok.LastActivity, ExpiresAt: tok.ExpiresAt,
		}, dryRun)
		var fe *refreshing.FieldError
		switch {
		case errors.As(err, &fe):
			sum.tokensInvalid++
		case errors.Is(err, refreshing.ErrNotFound) && dryRun:
			sum.tokensCreated++ // its user would have been created first
		case err != nil:
			return fmt.Errorf("import strapi: a token of user %d: %w", tok.UserID, err)
		case res == refreshing.ImportExpired:
			sum.tokensExpired++
		default:
			sum.count(res, &sum.tokensCreated, &sum.tokensExisting)
		}
		bar.step()
	}
	bar.done()
	sum.print(stdout, src.Version(), src.HasTokens(), dryRun)
	return nil
}

// importSummary counts what an import did.
type importSummary struct {
	usersCreated, usersExisting, usersConflict, usersInvalid, usersRenumbered int
	tokensCreated, tokensExisting, tokensExpired, tokensOrphan, tokensInvalid int
}

// count adds one to created or existing as res says.
func (s *importSummary) count(res refreshing.ImportResult, created, existing *int) {
	if res == refreshing.ImportCreated {
		*created++
	} else {
		*existing++
	}
}

// print writes the summary.
func (s *importSummary) print(w io.Writer, version int, hasTokens, dryRun bool) {
	verb := "imported"
	if dryRun {
		verb = "would import"
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	fmt.Fprintf(w, "Strapi v%d users: %s %d, already here %d, skipped %d (username taken) and %d (invalid)",
		version, verb, s.usersCreated, s.usersExisting, s.usersConflict, s.usersInvalid)
	if s.usersRenumbered > 0 {
		fmt.Fprintf(w, "; %d got a new id (theirs was taken here)", s.usersRenumbered)
	}
	fmt.Fprintln(w)
	if !hasTokens {
		fmt.Fprintln(w, "refresh tokens: none (the refreshing plugin's table is absent)")
		return
	}
	fmt.Fprintf(w, "refresh tokens: %s %d, already here %d, skipped %d (expired), %d (no imported user), %d (invalid)\n",
		verb, s.tokensCreated, s.tokensExisting, s.tokensExpired, s.tokensOrphan, s.tokensInvalid)
}

// progress draws a progress bar on a terminal, and nothing elsewhere (a
// file, a pipe, a test's buffer).
type progress struct {
	w           io.Writer
	total, n    int
	lastDrawn   time.Time
	interactive bool
}

// newProgress returns a bar for total steps on w.
func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.interactive = true
		}
	}
	return p
}

// step advances the bar by one, redrawing it at most every 100 ms.
func (p *progress) step() {
	p.n++
	if !p.interactive || (time.Since(p.lastDrawn) < 100*time.Millisecond && p.n < p.total) {
		return
	}
	p.lastDrawn = time.Now()
	const width = 30
	filled := width
	if p.total > 0 {
		filled = width * p.n / p.total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.n, p.total)
}

// done ends the bar's line.
func (p *progress) done() {
	if p.interactive && p.n > 0 {
		fmt.Fprintln(p.w)
	}
}
