// Package strapi reads what Refreshing imports from a Strapi v4 or v5
// database, SQLite file or PostgreSQL: the users-permissions users (up_users,
// with their bcrypt hashes, flags and roles), the refresh tokens of the
// Strapi "refreshing" plugin (its "refresh-tokens" collection), Strapi 5's
// own sessions (strapi_sessions, jwtManagement "refresh") and the rows of
// the Strapi 5 refresh-token plugin (@redon2inc/strapi-plugin-refresh-token,
// refresh-token_token), whichever are there. It only reads; the rules of the
// import live in refreshing.Service (ImportUser, ImportToken).
//
// Strapi names its tables after its content types: v4 links relations
// through tables named <collection>_<attribute>_links, v5 through
// <collection>_<attribute>_lnk, and v5 adds document_id and published_at to
// every collection. Reader looks at the schema to tell them apart.
package strapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, as internal/sqlite uses
)

// User is a users-permissions user as stored by Strapi.
type User struct {
	ID           int64  // Strapi's numeric id
	DocumentID   string // v5 only
	Username     string
	Email        string
	Provider     string // "local", or the OAuth provider that created the account
	PasswordHash string // bcrypt ($2a$...); empty for accounts of other providers
	Confirmed    bool
	Blocked      bool
	Role         string // the role's type ("authenticated", "editor"...), "" without one
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Token is a refresh token of the Strapi "refreshing" plugin. The plugin
// stores tokens in plain text; Refreshing keeps only their hash.
type Token struct {
	Token        string
	UserID       int64 // Strapi's user id; 0 when the token belongs to nobody
	Description  string
	UserAgent    string
	IP           string
	CreatedAt    time.Time
	LastActivity time.Time
	ExpiresAt    time.Time // zero: never
}

// Session is a live Strapi 5 session of users-permissions (a row of
// strapi_sessions with origin "users-permissions" and status "active"). Its
// refresh token is an HS256 JWT naming UserID and SessionID, signed with
// the users-permissions jwtSecret; Strapi stores only the session.
type Session struct {
	UserID            int64  // Strapi's user id (stored as text)
	SessionID         string // Strapi's session id, named by the refresh token
	DeviceID          string
	DeviceName        string    // from the session's metadata, "" without one
	CreatedAt         time.Time // when this token of the session was issued
	ExpiresAt         time.Time // the token's own expiry (Strapi's idle window)
	AbsoluteExpiresAt time.Time // the session's end, zero for none
}

// PluginToken is a row of the Strapi 5 refresh-token plugin. Its refresh
// token is an HS256 JWT {userId, secret: DocumentID} signed with the
// plugin's refreshTokenSecret, whose expiry only the token holds; the
// plugin stores the row.
type PluginToken struct {
	UserID     int64 // Strapi's user id; 0 when the row belongs to nobody
	DocumentID string
	IP         string
	CreatedAt  time.Time
}

// Reader reads a Strapi database. Create it with Open, release it with Close.
type Reader struct {
	db      *sql.DB
	pg      bool
	version int // 4 or 5
	tables  map[string][]string
}

// Open opens the Strapi database dsn names: a postgres:// or postgresql://
// URL, or a SQLite file (a path, or sqlite:PATH), opened read-only. It fails
// if the database has no up_users table.
func Open(ctx context.Context, dsn string) (*Reader, error) {
	r := &Reader{}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("strapi: %w", err)
		}
		r.db, r.pg = stdlib.OpenDB(*cfg), true
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("strapi: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("strapi: %w", err)
		}
		u := url.URL{Path: filepath.ToSlash(abs)}
		// mode=ro: the import never writes to the Strapi database.
		r.db, err = sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return nil, fmt.Errorf("strapi: %w", err)
		}
	}
	if err := r.loadSchema(ctx); err != nil {
		r.db.Close()
		return nil, err
	}
	return r, nil
}

// Close releases the database.
func (r *Reader) Close() error { return r.db.Close() }

// Version returns the Strapi major version the schema shows: 4 or 5.
func (r *Reader) Version() int { return r.version }

// HasTokens reports whether the "refreshing" plugin's tokens are there.
func (r *Reader) HasTokens() bool { _, ok := r.tables[tokensTable]; return ok }

// HasSessions reports whether Strapi 5's session table is there.
func (r *Reader) HasSessions() bool { _, ok := r.tables[sessionsTable]; return ok }

// HasPluginTokens reports whether the refresh-token plugin's table is there.
func (r *Reader) HasPluginTokens() bool { _, ok := r.tables[pluginTable]; return ok }

// The tables read, as Strapi names them.
const (
	usersTable    = "up_users"
	rolesTable    = "up_roles"
	tokensTable   = "refresh-tokens"
	sessionsTable = "strapi_sessions"
	pluginTable   = "refresh-token_token"
)

// loadSchema reads the table and column names of the database.
func (r *Reader) loadSchema(ctx context.Context) error {
	q := `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'`
	if r.pg {
		q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	rows, err := r.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("strapi: read the schema: %w", err)
	}
	defer rows.Close()
	r.tables = map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return fmt.Errorf("strapi: read the schema: %w", err)
		}
		r.tables[table] = append(r.tables[table], column)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("strapi: read the schema: %w", err)
	}
	cols, ok := r.tables[usersTable]
	if !ok {
		return errors.New("strapi: no up_users table: not a Strapi database with users-permissions")
	}
	r.version = 4
	if slices.Contains(cols, "document_id") {
		r.version = 5
	}
	return nil
}

// has reports whether table has column.
func (r *Reader) has(table, column string) bool { return slices.Contains(r.tables[table], column) }

// quote quotes an identifier for both dialects.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// col selects column of table, or NULL under its name when Strapi's version
// did not have it.
func (r *Reader) col(table, column string) string {
	if r.has(table, column) {
		return quote(column)
	}
	return "NULL AS " + quote(column)
}

// link finds the link table of table's attribute (v4 "_links", v5 "_lnk")
// and returns its name and its two columns: the one naming table's row and
// the one naming the target's.
func (r *Reader) link(table, attribute, targetColumn string) (name, ownColumn string, ok bool) {
	// Strapi snake-cases the collection's name in link tables:
	// "refresh-token_token" links through "refresh_token_token_user_lnk".
	snake := strings.ReplaceAll(table, "-", "_")
	for _, name = range []string{table + "_" + attribute + "_lnk", table + "_" + attribute + "_links",
		snake + "_" + attribute + "_lnk", snake + "_" + attribute + "_links"} {
		cols, found := r.tables[name]
		if !found || !slices.Contains(cols, targetColumn) {
			continue
		}
		for _, c := range cols {
			if c != "id" && c != targetColumn && strings.HasSuffix(c, "_id") && !strings.HasPrefix(c, "inv_") {
				return name, c, true
			}
		}
	}
	return "", "", false
}

// Users returns every user, in id order. In v5, where a document may have a
// draft row beside its published one, the published row is the user.
func (r *Reader) Users(ctx context.Context) ([]User, error) {
	roles, err := r.userRoles(ctx)
	if err != nil {
		return nil, err
	}
	t := usersTable
	q := `SELECT id, ` + strings.Join([]string{r.col(t, "document_id"), r.col(t, "username"), r.col(t, "email"),
		r.col(t, "provider"), r.col(t, "password"), r.col(t, "confirmed"), r.col(t, "blocked"),
		r.col(t, "created_at"), r.col(t, "updated_at"), r.col(t, "published_at")}, ", ") +
		` FROM ` + quote(t) + ` ORDER BY id`
	var all []User
	published := map[int64]bool{}
	err = r.each(ctx, "users", q, 11, func(v []any) {
		u := User{ID: toInt(v[0]), DocumentID: toString(v[1]), Username: toString(v[2]), Email: toString(v[3]),
			Provider: toString(v[4]), PasswordHash: toString(v[5]), Confirmed: toBool(v[6]), Blocked: toBool(v[7]),
			CreatedAt: toTime(v[8]), UpdatedAt: toTime(v[9]), Role: roles[toInt(v[0])]}
		published[u.ID] = v[10] != nil
		all = append(all, u)
	})
	if err != nil {
		return nil, err
	}
	// One user per v5 document: its published row (the first, in id
	// order), else its first row.
	chosen := map[string]int64{}
	for _, u := range all {
		if u.DocumentID == "" {
			continue
		}
		if id, ok := chosen[u.DocumentID]; !ok || (!published[id] && published[u.ID]) {
			chosen[u.DocumentID] = u.ID
		}
	}
	users := all[:0]
	for _, u := range all {
		if u.DocumentID == "" || chosen[u.DocumentID] == u.ID {
			users = append(users, u)
		}
	}
	return users, nil
}

// userRoles maps user ids to the type of their role.
func (r *Reader) userRoles(ctx context.Context) (map[int64]string, error) {
	out := map[int64]string{}
	lnk, userCol, ok := r.link(usersTable, "role", "role_id")
	if !ok || !r.has(rolesTable, "id") {
		return out, nil
	}
	typ := "NULL"
	if r.has(rolesTable, "type") {
		typ = "r." + quote("type")
	}
	q := `SELECT l.` + quote(userCol) + `, ` + typ + `, r.` + quote("name") +
		` FROM ` + quote(lnk) + ` l JOIN ` + quote(rolesTable) + ` r ON r.id = l.role_id`
	err := r.each(ctx, "roles", q, 3, func(v []any) {
		role := toString(v[1])
		if role == "" {
			role = strings.ToLower(toString(v[2]))
		}
		if _, dup := out[toInt(v[0])]; !dup {
			out[toInt(v[0])] = role
		}
	})
	return out, err
}

// Tokens returns the "refreshing" plugin's refresh tokens, none when the
// plugin was never installed.
func (r *Reader) Tokens(ctx context.Context) ([]Token, error) {
	if !r.HasTokens() {
		return nil, nil
	}
	t := tokensTable
	cols, join := r.userColumns(t, "token", "description", "user_agent", "ip", "created_at", "last_activity", "expires_at", "published_at")
	var out []Token
	seen := map[string]bool{}
	err := r.each(ctx, "refresh tokens", `SELECT `+cols+` FROM `+quote(t)+` t`+join+` ORDER BY t.id`, 9, func(v []any) {
		tok := Token{UserID: toInt(v[0]), Token: toString(v[1]), Description: toString(v[2]), UserAgent: toString(v[3]),
			IP: toString(v[4]), CreatedAt: toTime(v[5]), LastActivity: toTime(v[6]), ExpiresAt: toTime(v[7])}
		if tok.Token == "" || seen[tok.Token] {
			return // v5 may keep a draft row of the same token
		}
		seen[tok.Token] = true
		out = append(out, tok)
	})
	return out, err
}

// Sessions returns the live sessions of users-permissions in Strapi 5's
// session manager: origin "users-permissions" and status "active" (a
// rotated row's token was replaced by its child's), in id order; none when
// the table is absent. Expiry is the importer's to judge.
func (r *Reader) Sessions(ctx context.Context) ([]Session, error) {
	if !r.HasSessions() {
		return nil, nil
	}
	t := sessionsTable
	q := `SELECT ` + strings.Join([]string{r.col(t, "user_id"), r.col(t, "session_id"), r.col(t, "device_id"),
		r.col(t, "metadata"), r.col(t, "created_at"), r.col(t, "expires_at"), r.col(t, "absolute_expires_at")}, ", ") +
		` FROM ` + quote(t) + ` WHERE ` + quote("origin") + ` = 'users-permissions' AND ` + quote("status") + ` = 'active' ORDER BY id`
	var out []Session
	err := r.each(ctx, "sessions", q, 7, func(v []any) {
		var meta struct {
			DeviceName string `json:"deviceName"`
		}
		_ = json.Unmarshal([]byte(toString(v[3])), &meta) // metadata is optional
		s := Session{UserID: toInt(v[0]), SessionID: toString(v[1]), DeviceID: toString(v[2]), DeviceName: meta.DeviceName,
			CreatedAt: toTime(v[4]), ExpiresAt: toTime(v[5]), AbsoluteExpiresAt: toTime(v[6])}
		if s.SessionID != "" {
			out = append(out, s)
		}
	})
	return out, err
}

// PluginTokens returns the refresh-token plugin's rows, in id order; none
// when the plugin was never installed.
func (r *Reader) PluginTokens(ctx context.Context) ([]PluginToken, error) {
	if !r.HasPluginTokens() {
		return nil, nil
	}
	t := pluginTable
	cols, join := r.userColumns(t, "document_id", "ip_address", "created_at")
	var out []PluginToken
	err := r.each(ctx, "refresh-token plugin rows", `SELECT `+cols+` FROM `+quote(t)+` t`+join+` ORDER BY t.id`, 4, func(v []any) {
		p := PluginToken{UserID: toInt(v[0]), DocumentID: toString(v[1]), IP: toString(v[2]), CreatedAt: toTime(v[3])}
		if p.DocumentID != "" {
			out = append(out, p)
		}
	})
	return out, err
}

// userColumns is the select list of table t (aliased t): the row's user id,
// from t's own user_id or through its link table (whose LEFT JOIN, aliased
// l, it returns), then cols, NULL for those t lacks.
func (r *Reader) userColumns(t string, cols ...string) (list, join string) {
	userExpr := "NULL"
	switch lnk, own, ok := r.link(t, "user", "user_id"); {
	case r.has(t, "user_id"):
		userExpr = "t." + quote("user_id")
	case ok:
		userExpr = "l." + quote("user_id")
		join = ` LEFT JOIN ` + quote(lnk) + ` l ON l.` + quote(own) + ` = t.id`
	}
	exprs := []string{userExpr}
	for _, c := range cols {
		if r.has(t, c) {
			exprs = append(exprs, "t."+quote(c))
		} else {
			exprs = append(exprs, "NULL")
		}
	}
	return strings.Join(exprs, ", "), join
}

// each runs q and calls f with every row's n columns, each read as any (the
// to* functions below convert them); an error names what was read.
func (r *Reader) each(ctx context.Context, what, q string, n int, f func(v []any)) error {
	rows, err := r.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("strapi: read %s: %w", what, err)
	}
	defer rows.Close()
	v, ptrs := make([]any, n), make([]any, n)
	for i := range v {
		ptrs[i] = &v[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("strapi: read %s: %w", what, err)
		}
		f(v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("strapi: read %s: %w", what, err)
	}
	return nil
}

// toString reads a text column.
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// toInt reads an integer column.
func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	case string, []byte:
		n, _ := strconv.ParseInt(strings.TrimSpace(toString(x)), 10, 64)
		return n
	}
	return 0
}

// toBool reads a boolean column: PostgreSQL booleans, SQLite's 0 and 1.
func toBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string, []byte:
		b, _ := strconv.ParseBool(strings.TrimSpace(toString(x)))
		return b
	}
	return false
}

// timeLayouts are the text forms Strapi's SQLite databases hold.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// toTime reads a datetime column: a timestamp from PostgreSQL (without time
// zone, in UTC as Strapi writes it), and on SQLite a JavaScript millisecond
// timestamp or text. Unreadable values are the zero time.
func toTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case int64:
		if x > 1e11 || x < -1e11 {
			return time.UnixMilli(x).UTC()
		}
		return time.Unix(x, 0).UTC()
	case float64:
		return toTime(int64(x))
	case string, []byte:
		s := strings.TrimSpace(toString(x))
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return toTime(n)
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}
