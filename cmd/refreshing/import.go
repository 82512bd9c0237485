package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
		Short: "Import users, roles and live refresh tokens from a Strapi v4/v5 database",
		Long: `Import users, roles and live refresh tokens (the v4 "refreshing" plugin's,
Strapi 5's own sessions, the Strapi 5 refresh-token plugin's) from a Strapi
v4/v5 database (a SQLite file or a postgres:// URL) into this one, which must
exist (run 'refreshing migrate' first for a new one). Running it again changes
nothing: what is already here is left alone. --dry-run writes nothing at all.
Imported Strapi 5 tokens verify at serve with --strapi-jwt-secret and
--strapi-refresh-secret (docs/strapi-import.md).`,
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

// importStrapi runs `refreshing import strapi --from DSN [--dry-run]`: users,
// roles and live refresh tokens (the v4 "refreshing" plugin's, Strapi 5's
// sessions, the Strapi 5 refresh-token plugin's) from a Strapi database into
// this one. It is idempotent: what is already here is left alone. A dry run
// writes nothing at all (openDryRun).
func (a *app) importStrapi(ctx context.Context, from string, dryRun bool) error {
	stdout, stderr := a.stdout, a.stderr
	// The target first: a missing Refreshing database is named before
	// anything of Strapi's is read (as every command but serve and migrate).
	var svc *refreshing.Service
	var err error
	if dryRun {
		// A dry run writes nothing at all (openDryRun): not even a new database.
		var closeTarget func() error
		if svc, closeTarget, err = openDryRun(ctx, &a.c, a.getenv); err != nil {
			return err
		}
		defer closeTarget()
	} else {
		var st refreshing.Store
		if svc, st, err = a.open(ctx); err != nil {
			return err
		}
		defer st.Close()
	}
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
	sessions, err := src.Sessions(ctx)
	if err != nil {
		return err
	}
	pluginTokens, err := src.PluginTokens(ctx)
	if err != nil {
		return err
	}
	var sum importSummary
	bar := newProgress(stderr, len(users)+len(tokens)+len(sessions)+len(pluginTokens))
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
	// Every kind of token goes through the same ImportToken; what differs is
	// what identifies it (see refreshing.ImportKind).
	var all []refreshing.ImportedToken
	var strapiIDs []int64 // each one's Strapi user id
	for _, tok := range tokens {
		all = append(all, refreshing.ImportedToken{
			Token: tok.Token, Description: tok.Description, UserAgent: tok.UserAgent, IP: tok.IP,
			CreatedAt: tok.CreatedAt, LastActivity: tok.LastActivity, ExpiresAt: tok.ExpiresAt,
		})
		strapiIDs = append(strapiIDs, tok.UserID)
	}
	for _, ss := range sessions {
		all = append(all, refreshing.ImportedToken{
			Kind: refreshing.ImportStrapiSession, Token: strconv.FormatInt(ss.UserID, 10) + ":" + ss.SessionID,
			Description: ss.DeviceName, DeviceID: ss.DeviceID, CreatedAt: ss.CreatedAt, LastActivity: ss.CreatedAt,
			ExpiresAt: ss.AbsoluteExpiresAt, TokenExpiresAt: ss.ExpiresAt,
		})
		strapiIDs = append(strapiIDs, ss.UserID)
	}
	for _, pt := range pluginTokens {
		all = append(all, refreshing.ImportedToken{
			Kind: refreshing.ImportStrapiPlugin, Token: strconv.FormatInt(pt.UserID, 10) + ":" + pt.DocumentID,
			IP: pt.IP, CreatedAt: pt.CreatedAt, LastActivity: pt.CreatedAt,
		})
		strapiIDs = append(strapiIDs, pt.UserID)
	}
	for i, tok := range all {
		k := &sum.tokens[tokenKinds[tok.Kind]]
		id, ok := ids[strapiIDs[i]]
		if !ok {
			k.orphan++
			bar.step()
			continue
		}
		tok.UserID = id
		res, err := svc.ImportToken(ctx, tok, dryRun)
		var fe *refreshing.FieldError
		switch {
		case errors.As(err, &fe):
			k.invalid++
		case errors.Is(err, refreshing.ErrNotFound) && dryRun:
			k.created++ // its user would have been created first
		case err != nil:
			return fmt.Errorf("import strapi: a token of user %d: %w", strapiIDs[i], err)
		case res == refreshing.ImportExpired:
			k.expired++
		default:
			sum.count(res, &k.created, &k.existing)
		}
		bar.step()
	}
	bar.done()
	sum.print(stdout, src.Version(), [3]bool{src.HasTokens(), src.HasSessions(), src.HasPluginTokens()}, dryRun)
	if n := sum.tokens[1].created + sum.tokens[1].existing; n > 0 && a.getenv("REFRESHING_STRAPI_JWT_SECRET") == "" {
		fmt.Fprintln(stdout, "note: Strapi 5 sessions are exchanged only where REFRESHING_STRAPI_JWT_SECRET (--strapi-jwt-secret) is Strapi's users-permissions jwtSecret")
	}
	if n := sum.tokens[2].created + sum.tokens[2].existing; n > 0 && a.getenv("REFRESHING_STRAPI_REFRESH_SECRET") == "" {
		fmt.Fprintln(stdout, "note: refresh-token plugin tokens are exchanged only where REFRESHING_STRAPI_REFRESH_SECRET (--strapi-refresh-secret) is the plugin's refreshTokenSecret")
	}
	return nil
}

// tokenKinds numbers the kinds of imported tokens in importSummary.tokens.
var tokenKinds = map[refreshing.ImportKind]int{
	refreshing.ImportPlain: 0, refreshing.ImportStrapiSession: 1, refreshing.ImportStrapiPlugin: 2,
}

// importSummary counts what an import did.
type importSummary struct {
	usersCreated, usersExisting, usersConflict, usersInvalid, usersRenumbered int
	tokens                                                                    [3]tokenCounts // by tokenKinds
}

// tokenCounts counts what an import did with one kind of token.
type tokenCounts struct{ created, existing, expired, orphan, invalid int }

// count adds one to created or existing as res says.
func (s *importSummary) count(res refreshing.ImportResult, created, existing *int) {
	if res == refreshing.ImportCreated {
		*created++
	} else {
		*existing++
	}
}

// print writes the summary.
// present says which of the three token tables the database has.
func (s *importSummary) print(w io.Writer, version int, present [3]bool, dryRun bool) {
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
	for i, name := range []string{"refresh tokens", "Strapi 5 sessions", "refresh-token plugin tokens"} {
		if !present[i] {
			fmt.Fprintf(w, "%s: none (%s table is absent)\n", name, []string{"the refreshing plugin's", "the strapi_sessions", "the refresh-token_token"}[i])
			continue
		}
		k := s.tokens[i]
		fmt.Fprintf(w, "%s: %s %d, already here %d, skipped %d (expired), %d (no imported user), %d (invalid)\n",
			name, verb, k.created, k.existing, k.expired, k.orphan, k.invalid)
	}
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
