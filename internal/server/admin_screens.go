package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The screens of /admin, one handler per page and per form.

// sessionRow is one line of a sessions table.
type sessionRow struct {
	refreshing.Session
	User  *refreshing.User // nil if the user is gone
	State string
}

// sessionsData is the sessions screen.
type sessionsData struct {
	User, State, IP, UserAgent string // the filters as typed
	Rows                       []sessionRow
	Next                       string // the next page's URL, "" on the last page
	Back                       string // where a revoke form returns to
	States                     []string
}

// sessionRows adds to each session its user and its state.
func (a *adminUI) sessionRows(r *http.Request, list []refreshing.Session) ([]sessionRow, error) {
	st, err := a.s.svc.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	now := a.s.svc.Now()
	users := map[int64]*refreshing.User{}
	rows := make([]sessionRow, 0, len(list))
	for _, sess := range list {
		u, ok := users[sess.UserID]
		if !ok {
			u, err = a.s.svc.User(r.Context(), sess.UserID)
			if err != nil && !errors.Is(err, refreshing.ErrNotFound) {
				return nil, err
			}
			users[sess.UserID] = u
		}
		rows = append(rows, sessionRow{Session: sess, User: u, State: refreshing.SessionState(&sess, now, st)})
	}
	return rows, nil
}

// sessions serves GET /admin/sessions.
func (a *adminUI) sessions(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	q := r.URL.Query()
	d := sessionsData{User: strings.TrimSpace(q.Get("user")), State: q.Get("state"), IP: strings.TrimSpace(q.Get("ip")),
		UserAgent: strings.TrimSpace(q.Get("ua")), States: []string{refreshing.StateActive, refreshing.StateExpired, refreshing.StateRevoked}}
	v := view{Title: "Sessions", Nav: "sessions", Admin: auth.Admin.Email, Notice: notice(r), Data: &d}
	filters := url.Values{}
	for k, val := range map[string]string{"user": d.User, "state": d.State, "ip": d.IP, "ua": d.UserAgent} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	d.Back = withQuery("/admin/sessions", filters)
	sq := refreshing.SessionQuery{State: d.State, IP: d.IP, UserAgent: d.UserAgent}
	var err error
	if sq.BeforeActivity, sq.BeforeID, err = parseCursor(q.Get("before")); err != nil {
		a.fail(w, r, err)
		return
	}
	if d.User != "" {
		u, err := a.s.svc.FindUser(r.Context(), d.User)
		if errors.Is(err, refreshing.ErrNotFound) {
			v.Error = "No user has that email or username."
			a.render(w, r, http.StatusOK, "sessions", v)
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		sq.UserID = u.ID
	}
	list, err := a.s.svc.FindSessions(r.Context(), sq)
	if err != nil {
		status, msg := statusOf(err)
		if status == http.StatusInternalServerError {
			a.fail(w, r, err)
			return
		}
		v.Error = msg
		a.render(w, r, status, "sessions", v)
		return
	}
	if d.Rows, err = a.sessionRows(r, list); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(list) == 50 {
		last := list[len(list)-1]
		next := url.Values{}
		for k, val := range filters {
			next[k] = val
		}
		next.Set("before", cursor(last.LastActivity, last.ID))
		d.Next = withQuery("/admin/sessions", next)
	}
	a.render(w, r, http.StatusOK, "sessions", v)
}

// safeBack returns the form's "back" if it is a path of the admin screens,
// else fallback: a form can never redirect elsewhere.
func safeBack(v url.Values, fallback string) string {
	b := v.Get("back")
	if strings.HasPrefix(b, "/admin/") && !strings.HasPrefix(b, "//") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return fallback
}

// revokeSessions serves POST /admin/sessions/revoke: the session named by
// "one" (a row's own button), or every checked "id".
func (a *adminUI) revokeSessions(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids := f["id"]
	if one := f.Get("one"); one != "" {
		ids = []string{one}
	}
	n, err := a.s.svc.RevokeSessionsByID(r.Context(), ids)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, safeBack(f, "/admin/sessions"), "revoked", n)
}

// usersData is the users screen.
type usersData struct {
	Q     string
	Users []refreshing.User
	Next  string
	Form  map[string]string // the create form, kept after an error
}

// users serves GET /admin/users.
func (a *adminUI) users(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	a.renderUsers(w, r, auth, http.StatusOK, "", nil)
}

func (a *adminUI) renderUsers(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, status int, errMsg string, form map[string]string) {
	q := r.URL.Query()
	d := usersData{Q: strings.TrimSpace(q.Get("q")), Form: form}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	var err error
	d.Users, err = a.s.svc.SearchUsers(r.Context(), d.Q, after, 50)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(d.Users) == 50 {
		next := url.Values{"after": {strconv.FormatInt(d.Users[49].ID, 10)}}
		if d.Q != "" {
			next.Set("q", d.Q)
		}
		d.Next = withQuery("/admin/users", next)
	}
	a.render(w, r, status, "users", view{Title: "Users", Nav: "users", Admin: auth.Admin.Email, Notice: notice(r), Error: errMsg, Data: &d})
}

// createUser serves POST /admin/users.
func (a *adminUI) createUser(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.s.svc.CreateUser(r.Context(), f.Get("username"), f.Get("email"), f.Get("password"))
	if err != nil {
		status, msg := statusOf(err)
		if status == http.StatusInternalServerError {
			a.fail(w, r, err)
			return
		}
		a.renderUsers(w, r, auth, status, msg, map[string]string{"Username": f.Get("username"), "Email": f.Get("email")})
		return
	}
	back(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10), "created", 0)
}

// userData is a user's detail page.
type userData struct {
	User   *refreshing.User
	Rows   []sessionRow
	Events []refreshing.AuditEvent
	Roles  []refreshing.Role
	Back   string
}

// user serves GET /admin/users/{id}.
func (a *adminUI) user(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.fail(w, r, refreshing.ErrNotFound)
		return
	}
	u, err := a.s.svc.User(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := userData{User: u, Back: "/admin/users/" + strconv.FormatInt(id, 10)}
	list, err := a.s.svc.FindSessions(r.Context(), refreshing.SessionQuery{UserID: id, Limit: 50})
	if err == nil {
		d.Rows, err = a.sessionRows(r, list)
	}
	if err == nil {
		d.Events, err = a.s.svc.ListAudit(r.Context(), refreshing.AuditFilter{UserID: id, Limit: 20})
	}
	if err == nil {
		d.Roles, err = a.s.svc.Roles(r.Context())
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "user", view{Title: u.Username, Nav: "users", Admin: auth.Admin.Email, Notice: notice(r), Data: &d})
}

// userAction serves POST /admin/users/{id}/{op}: block, unblock, signout,
// role and delete.
func (a *adminUI) userAction(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.fail(w, r, refreshing.ErrNotFound)
		return
	}
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, page := r.Context(), "/admin/users/"+strconv.FormatInt(id, 10)
	var n int
	ok := ""
	switch op := r.PathValue("op"); op {
	case "block", "unblock":
		_, err = a.s.svc.SetBlocked(ctx, id, op == "block")
		ok = op + "ed"
	case "signout":
		n, err = a.s.svc.SignOutEverywhere(ctx, id)
		ok = "signedout"
	case "role":
		_, err = a.s.svc.SetUserRole(ctx, id, f.Get("role"))
		ok = "role"
	case "delete":
		if f.Get("confirm") != "yes" {
			err = refreshing.Invalid("confirm", "tick the box to confirm the deletion")
			break
		}
		err = a.s.svc.DeleteUser(ctx, id)
		page, ok = "/admin/users", "deleted"
	default:
		err = refreshing.ErrNotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, page, ok, n)
}

// rolesData is the roles and permissions screen.
type rolesData struct {
	Roles   []refreshing.Role
	Actions []refreshing.Action
}

// roles serves GET /admin/roles.
func (a *adminUI) roles(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	a.renderRoles(w, r, auth, http.StatusOK, "")
}

func (a *adminUI) renderRoles(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, status int, errMsg string) {
	roles, err := a.s.svc.Roles(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, status, "roles", view{Title: "Roles & permissions", Nav: "roles", Admin: auth.Admin.Email,
		Notice: notice(r), Error: errMsg, Data: &rolesData{Roles: roles, Actions: refreshing.Actions()}})
}

// saveRole serves POST /admin/roles: creates a role or replaces one's
// description and permissions (the checked "perm" boxes).
func (a *adminUI) saveRole(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(f.Get("name"))
	role := refreshing.Role{Name: name, Description: f.Get("description"), Permissions: f["perm"]}
	if f.Get("new") == "1" {
		if _, err := a.s.svc.Role(r.Context(), name); err == nil {
			a.renderRoles(w, r, auth, http.StatusBadRequest, "A role named "+name+" exists already.")
			return
		}
	}
	if err := a.s.svc.SaveRole(r.Context(), role); err != nil {
		status, msg := statusOf(err)
		if status == http.StatusInternalServerError {
			a.fail(w, r, err)
			return
		}
		a.renderRoles(w, r, auth, status, msg)
		return
	}
	back(w, r, "/admin/roles", "saved", 0)
}

// deleteRole serves POST /admin/roles/{name}/delete.
func (a *adminUI) deleteRole(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	if err := a.s.svc.DeleteRole(r.Context(), r.PathValue("name")); err != nil {
		status, msg := statusOf(err)
		if status == http.StatusInternalServerError {
			a.fail(w, r, err)
			return
		}
		a.renderRoles(w, r, auth, status, msg)
		return
	}
	back(w, r, "/admin/roles", "roledel", 0)
}

// settingField is one row of the settings form, derived from a field of
// refreshing.Settings by reflection, so that fields added later appear
// without any change here.
type settingField struct {
	Name  string // the form and JSON name: "accessTTL"
	Label string
	Help  string
	Kind  string // "duration", "bool", "int" or "text"
	Value string
	On    bool // for "bool"
	Error string
}

// settingHelp explains each setting beside its field. A setting without an
// entry here still appears, under its name.
var settingHelp = map[string][2]string{
	"accessTTL":           {"Access token lifetime", "How long a JWT works. Short limits what a stolen JWT can do; at most 24h."},
	"refreshTTL":          {"Session lifetime", "How long a session (its refresh token) lives after sign-in. 0 = never expires."},
	"refreshIdle":         {"Idle timeout", "A session unused for this long ends. 0 = none."},
	"rotation":            {"Rotate refresh tokens", "Hand out a new refresh token at every exchange and detect replays of old ones."},
	"reuseGrace":          {"Reuse grace window", "How long a just-replaced token still works, for tabs refreshing at once. At most the access token lifetime."},
	"maxSessions":         {"Sessions per user", "Signing in beyond this ends the least recently used session. 0 = unlimited."},
	"issueOnLogin":        {"Refresh token on login", "Login and register also return a refresh token."},
	"registration":        {"Open registration", "Anyone may create an account at /api/auth/local/register."},
	"emailConfirmation":   {"Email confirmation", "New accounts must be confirmed before they can sign in."},
	"cookieMode":          {"Cookie mode for everyone", "Send the refresh token as an HttpOnly cookie to every client, not only those asking with x-strapi-refresh-cookie."},
	"allowedOrigins":      {"Allowed origins", "Other sites (https://app.example.com, comma-separated) whose pages may use the refresh cookie."},
	"auditRetention":      {"Audit log retention", "Events older than this are deleted. 0 = keep forever."},
	"auditExchanges":      {"Log every exchange", "Also record routine refresh-token exchanges (one event per client per access-token lifetime). Refused, grace-window and reused tokens are always recorded."},
	"rateLimitIP":         {"Sign-in attempts per IP", "Password attempts one address may make per window."},
	"rateLimitExchangeIP": {"Exchanges per IP", "Refresh-token exchanges one address may make per window."},
	"rateWindow":          {"Rate-limit window", "The period the rate limits count over."},
	"rateLimitIdentifier": {"Sign-in attempts per account", "Password attempts on one email or username per window, all endpoints together."},
	"sessionRetention":    {"Ended session retention", "Revoked or expired sessions are deleted this long after they ended. 0 = keep forever."},
}

var durationType = reflect.TypeOf(time.Duration(0))

// settingFields lists the fields of st for the form.
func settingFields(st refreshing.Settings) []settingField {
	v := reflect.ValueOf(st)
	var out []settingField
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		name := strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		f := settingField{Name: name, Label: sf.Name}
		if h, ok := settingHelp[name]; ok {
			f.Label, f.Help = h[0], h[1]
		}
		fv := v.Field(i)
		switch {
		case sf.Type == durationType:
			f.Kind, f.Value = "duration", fmtDuration(time.Duration(fv.Int()))
		case sf.Type.Kind() == reflect.Bool:
			f.Kind, f.On = "bool", fv.Bool()
		case sf.Type.Kind() >= reflect.Int && sf.Type.Kind() <= reflect.Int64:
			f.Kind, f.Value = "int", strconv.FormatInt(fv.Int(), 10)
		case sf.Type.Kind() == reflect.Float64:
			f.Kind, f.Value = "text", strconv.FormatFloat(fv.Float(), 'g', -1, 64)
		case sf.Type.Kind() == reflect.String:
			f.Kind, f.Value = "text", fv.String()
		default:
			continue // a type the form cannot edit keeps its value
		}
		out = append(out, f)
	}
	return out
}

// fmtDuration writes d without the trailing zero units: 15m, 720h, 1h30m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parseSettings applies the form to st, field by field. It returns the first
// unparsable field as a *refreshing.FieldError.
func parseSettings(st refreshing.Settings, f url.Values) (refreshing.Settings, error) {
	v := reflect.ValueOf(&st).Elem()
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		name := strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		raw := strings.TrimSpace(f.Get(name))
		fv := v.Field(i)
		switch {
		case sf.Type == durationType:
			d, err := time.ParseDuration(raw)
			if err != nil {
				return st, refreshing.Invalid(name, "%q is not a duration such as 15m, 720h or 0", raw)
			}
			fv.SetInt(int64(d))
		case sf.Type.Kind() == reflect.Bool:
			fv.SetBool(raw == "on" || raw == "true" || raw == "1")
		case sf.Type.Kind() >= reflect.Int && sf.Type.Kind() <= reflect.Int64:
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || fv.OverflowInt(n) {
				return st, refreshing.Invalid(name, "%q is not a whole number", raw)
			}
			fv.SetInt(n)
		case sf.Type.Kind() == reflect.Float64:
			x, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return st, refreshing.Invalid(name, "%q is not a number", raw)
			}
			fv.SetFloat(x)
		case sf.Type.Kind() == reflect.String:
			fv.SetString(raw)
		}
	}
	return st, nil
}

// settings serves GET /admin/settings.
func (a *adminUI) settings(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	st, err := a.s.svc.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "settings", view{Title: "Settings", Nav: "settings", Admin: auth.Admin.Email,
		Notice: notice(r), Data: settingFields(st), Providers: a.s.providerRows()})
}

// saveSettings serves POST /admin/settings.
func (a *adminUI) saveSettings(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cur, err := a.s.svc.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := parseSettings(cur, f)
	if err == nil {
		err = a.s.svc.AdminUpdateSettings(r.Context(), st)
	}
	if err != nil {
		var fe *refreshing.FieldError
		if !errors.As(err, &fe) {
			a.fail(w, r, err)
			return
		}
		// Show the form as typed, with the message beside the field.
		fields := settingFields(st)
		for i := range fields {
			if raw, ok := f[fields[i].Name]; ok && fields[i].Kind != "bool" {
				fields[i].Value = raw[0]
			}
			if fields[i].Name == fe.Field {
				fields[i].Error = fe.Message
			}
		}
		a.render(w, r, http.StatusBadRequest, "settings", view{Title: "Settings", Nav: "settings", Admin: auth.Admin.Email,
			Error: fmt.Sprintf("Not saved: %s — %s.", fe.Field, fe.Message), Data: fields, Providers: a.s.providerRows()})
		return
	}
	back(w, r, "/admin/settings", "saved", 0)
}

// auditData is the audit log screen.
type auditData struct {
	Type, User, IP, Actor string
	Types                 []string
	Events                []refreshing.AuditEvent
	Next                  string
}

// audit serves GET /admin/audit.
func (a *adminUI) audit(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	q := r.URL.Query()
	d := auditData{Type: q.Get("type"), User: strings.TrimSpace(q.Get("user")), IP: strings.TrimSpace(q.Get("ip")),
		Actor: strings.TrimSpace(q.Get("actor")), Types: refreshing.AuditTypes()}
	v := view{Title: "Audit log", Nav: "audit", Admin: auth.Admin.Email, Data: &d}
	f := refreshing.AuditFilter{Type: d.Type, IP: d.IP, Actor: d.Actor, Limit: 100}
	if b := q.Get("before"); b != "" {
		t, id, err := parseCursor(b)
		n, perr := strconv.ParseInt(id, 10, 64)
		if err != nil || perr != nil {
			a.fail(w, r, refreshing.Invalid("before", "not a page cursor"))
			return
		}
		f.BeforeAt, f.BeforeID = t, n
	}
	if d.User != "" {
		if id, err := strconv.ParseInt(d.User, 10, 64); err == nil {
			f.UserID = id
		} else {
			u, err := a.s.svc.FindUser(r.Context(), d.User)
			if errors.Is(err, refreshing.ErrNotFound) {
				v.Error = "No user has that email or username."
				a.render(w, r, http.StatusOK, "audit", v)
				return
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			f.UserID = u.ID
		}
	}
	var err error
	if d.Events, err = a.s.svc.ListAudit(r.Context(), f); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(d.Events) == f.Limit {
		last := d.Events[len(d.Events)-1]
		next := url.Values{"before": {cursor(last.At, strconv.FormatInt(last.ID, 10))}}
		for k, val := range map[string]string{"type": d.Type, "user": d.User, "ip": d.IP, "actor": d.Actor} {
			if val != "" {
				next.Set(k, val)
			}
		}
		d.Next = withQuery("/admin/audit", next)
	}
	a.render(w, r, http.StatusOK, "audit", v)
}
