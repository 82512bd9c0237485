package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	Oldest                     bool
	Rows                       []sessionRow
	Newer, Older               string // the neighbouring pages' URLs, "" where there is none
	First                      string // the first page's URL, "" on it
	Order                      string // the URL of the other order
	Back                       string // where a revoke form returns to
	States                     []string
	Counts                     *counts
}

// counts are the totals the screens show above their lists.
type counts struct {
	Users, ActiveSessions int64
	At                    time.Time // when they were counted
}

// countsMaxAge is how old the totals on the screens may be. Counting live
// sessions reads the whole partial index of live sessions (about 0.3 s per
// million on two cores), too slow for every page: the screens show the
// last totals and, when they are older than this, count again in the
// background, so that no page waits for a count.
const countsMaxAge = 30 * time.Second

// countCache holds the last totals.
type countCache struct {
	mu       sync.Mutex
	last     *counts
	counting bool
}

// counts returns the last totals (nil before the first count ends) and
// starts a count in the background when they are missing or stale.
func (a *adminUI) counts(r *http.Request) (*counts, error) {
	c := &a.totals
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.counting && (c.last == nil || a.s.svc.Now().Sub(c.last.At) >= countsMaxAge) {
		c.counting = true
		ctx := context.WithoutCancel(r.Context())
		go a.count(ctx)
	}
	return c.last, nil
}

// count reads the totals into the cache: the users' count reads the users
// table's smallest index, the live sessions' the partial index of live
// sessions. A failure is logged and keeps the last totals.
func (a *adminUI) count(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	u, err := a.s.svc.CountUsers(ctx)
	var n int64
	if err == nil {
		n, err = a.s.svc.ActiveSessions(ctx)
	}
	c := &a.totals
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counting = false
	if err != nil {
		a.s.log.WarnContext(ctx, "admin screens: count users and sessions", "err", err)
		return
	}
	c.last = &counts{Users: u, ActiveSessions: n, At: a.s.svc.Now()}
}

// sessionRows adds to each session its user and its state: one read of the
// users for the whole page.
func (a *adminUI) sessionRows(r *http.Request, list []refreshing.Session) ([]sessionRow, error) {
	st, err := a.s.svc.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(list))
	for i, sess := range list {
		ids[i] = sess.UserID
	}
	users, err := a.s.svc.UsersByID(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	now := a.s.svc.Now()
	rows := make([]sessionRow, 0, len(list))
	for _, sess := range list {
		rows = append(rows, sessionRow{Session: sess, User: users[sess.UserID], State: refreshing.SessionState(&sess, now, st)})
	}
	return rows, nil
}

// sessionsPage is the sessions screen's page size.
const sessionsPage = 50

// sessions serves GET /admin/sessions: newest sign-ins first (or oldest),
// 50 a page, paged by keyset in both directions.
func (a *adminUI) sessions(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	q := r.URL.Query()
	d := sessionsData{User: strings.TrimSpace(q.Get("user")), State: q.Get("state"), IP: strings.TrimSpace(q.Get("ip")),
		UserAgent: strings.TrimSpace(q.Get("ua")), Oldest: q.Get("order") == "oldest",
		States: []string{refreshing.StateActive, refreshing.StateExpired, refreshing.StateRevoked}}
	v := view{Title: "Sessions", Nav: "sessions", Admin: auth.Admin.Email, Notice: notice(r), Data: &d}
	filters := url.Values{}
	for k, val := range map[string]string{"user": d.User, "state": d.State, "ip": d.IP, "ua": d.UserAgent} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	other := cloneValues(filters)
	if d.Oldest {
		filters.Set("order", "oldest")
	} else {
		other.Set("order", "oldest")
	}
	d.Order = withQuery("/admin/sessions", other)
	d.Back = withQuery("/admin/sessions", filters)
	sq := refreshing.SessionQuery{State: d.State, IP: d.IP, UserAgent: d.UserAgent, Oldest: d.Oldest, Limit: sessionsPage}
	var err error
	if sq.After.CreatedAt, sq.After.ID, err = parseCursor(q.Get("after")); err == nil {
		sq.Before.CreatedAt, sq.Before.ID, err = parseCursor(q.Get("before"))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Counts, err = a.counts(r); err != nil {
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
	page, err := a.s.svc.FindSessions(r.Context(), sq)
	if err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			v.Error = msg
			a.render(w, r, status, "sessions", v)
		})
		return
	}
	if d.Rows, err = a.sessionRows(r, page.Sessions); err != nil {
		a.fail(w, r, err)
		return
	}
	if n := len(page.Sessions); n > 0 {
		first, last := page.Sessions[0], page.Sessions[n-1]
		if page.HasNext {
			next := cloneValues(filters)
			next.Set("after", cursor(last.CreatedAt, last.ID))
			d.Older = withQuery("/admin/sessions", next)
		}
		if page.HasPrev {
			prev := cloneValues(filters)
			prev.Set("before", cursor(first.CreatedAt, first.ID))
			d.Newer = withQuery("/admin/sessions", prev)
		}
	}
	if q.Has("after") || q.Has("before") {
		d.First = d.Back
	}
	a.render(w, r, http.StatusOK, "sessions", v)
}

// cloneValues copies v.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

// sessionData is a session's detail page.
type sessionData struct {
	Row  sessionRow
	Back string
}

// session serves GET /admin/sessions/{id}: every field of one session,
// the user agent in full.
func (a *adminUI) session(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	sess, err := a.s.svc.Session(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rows, err := a.sessionRows(r, []refreshing.Session{*sess})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "session", view{Title: "Session", Nav: "sessions", Admin: auth.Admin.Email, Notice: notice(r),
		Data: &sessionData{Row: rows[0], Back: "/admin/sessions/" + url.PathEscape(sess.ID)}})
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
	Q            string
	Oldest       bool
	Users        []userRow
	Newer, Older string // the neighbouring pages' URLs, "" where there is none
	First, Order string
	Counts       *counts
	Form         map[string]string // the create form, kept after an error
	// MinPassword is the password policy's minimum length, for the create
	// form's minlength (the Service checks it again).
	MinPassword int
}

// userRow is one line of the users table.
type userRow struct {
	refreshing.User
	Stats refreshing.UserStats
}

// usersPage is the users screen's page size.
const usersPage = 50

// users serves GET /admin/users.
func (a *adminUI) users(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	a.renderUsers(w, r, auth, http.StatusOK, "", nil)
}

// renderUsers shows the users screen: newest first (or oldest), 50 a page,
// each with its live sessions and last sign-in, read for the page's users
// only through the sessions' user index.
func (a *adminUI) renderUsers(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, status int, errMsg string, form map[string]string) {
	q := r.URL.Query()
	d := usersData{Q: strings.TrimSpace(q.Get("q")), Oldest: q.Get("order") == "oldest", Form: form, MinPassword: refreshing.DefaultSettings().PasswordMinLength}
	uq := refreshing.UserQuery{Query: d.Q, Oldest: d.Oldest, Limit: usersPage}
	filters, other := url.Values{}, url.Values{}
	if d.Q != "" {
		filters.Set("q", d.Q)
		other.Set("q", d.Q)
	}
	if d.Oldest {
		filters.Set("order", "oldest")
	} else {
		other.Set("order", "oldest")
	}
	d.Order = withQuery("/admin/users", other)
	if st, err := a.s.svc.Settings(r.Context()); err == nil {
		d.MinPassword = st.PasswordMinLength
	}
	var err error
	for _, c := range []struct {
		name string
		dst  *int64
	}{{"after", &uq.After}, {"before", &uq.Before}} {
		if v := q.Get(c.name); v != "" {
			if *c.dst, err = strconv.ParseInt(v, 10, 64); err != nil || *c.dst <= 0 {
				a.fail(w, r, refreshing.Invalid(c.name, "not a page cursor"))
				return
			}
		}
	}
	page, err := a.s.svc.FindUsers(r.Context(), uq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids := make([]int64, len(page.Users))
	for i, u := range page.Users {
		ids[i] = u.ID
	}
	stats, err := a.s.svc.UserStats(r.Context(), ids)
	if err == nil {
		d.Counts, err = a.counts(r)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, u := range page.Users {
		d.Users = append(d.Users, userRow{User: u, Stats: stats[u.ID]})
	}
	if n := len(page.Users); n > 0 {
		if page.HasNext {
			next := cloneValues(filters)
			next.Set("after", strconv.FormatInt(page.Users[n-1].ID, 10))
			d.Older = withQuery("/admin/users", next)
		}
		if page.HasPrev {
			prev := cloneValues(filters)
			prev.Set("before", strconv.FormatInt(page.Users[0].ID, 10))
			d.Newer = withQuery("/admin/users", prev)
		}
	}
	if q.Has("after") || q.Has("before") {
		d.First = withQuery("/admin/users", filters)
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
		a.refused(w, r, err, func(status int, msg string) {
			a.renderUsers(w, r, auth, status, msg, map[string]string{"Username": f.Get("username"), "Email": f.Get("email")})
		})
		return
	}
	back(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10), "created", 0)
}

// userData is a user's detail page.
type userData struct {
	User   *refreshing.User
	Stats  refreshing.UserStats
	Rows   []sessionRow
	Events []eventRow
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
		d.Rows, err = a.sessionRows(r, list.Sessions)
	}
	var stats map[int64]refreshing.UserStats
	if err == nil {
		stats, err = a.s.svc.UserStats(r.Context(), []int64{id})
		d.Stats = stats[id]
	}
	var events []refreshing.AuditEvent
	if err == nil {
		events, err = a.s.svc.ListAudit(r.Context(), refreshing.AuditFilter{UserID: id, Limit: 20})
	}
	if err == nil {
		d.Events, err = a.eventRows(r, events)
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
	id, f, err := idForm(w, r)
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
		a.refused(w, r, err, func(status int, msg string) {
			a.renderRoles(w, r, auth, status, msg)
		})
		return
	}
	back(w, r, "/admin/roles", "saved", 0)
}

// deleteRole serves POST /admin/roles/{name}/delete.
func (a *adminUI) deleteRole(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	if err := a.s.svc.DeleteRole(r.Context(), r.PathValue("name")); err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			a.renderRoles(w, r, auth, status, msg)
		})
		return
	}
	back(w, r, "/admin/roles", "roledel", 0)
}

// settingField is one row of the settings form, from a row of
// refreshing.SettingsTable, which holds its label, help and heading.
type settingField struct {
	Name  string // the form and JSON name: "accessTTL"
	Label string
	Help  string
	Kind  string // "duration", "bool", "int" or "text"
	Value string
	On    bool // for "bool"
	Error string
	group string
}

// settingGroup is a heading of the settings screen and the settings under it.
type settingGroup struct {
	Title, Help string
	Fields      []settingField
}

// groupSettings puts fields under refreshing.SettingGroups' headings, in
// their order.
func groupSettings(fields []settingField) []settingGroup {
	var out []settingGroup
	for _, g := range refreshing.SettingGroups() {
		sg := settingGroup{Title: g.Title, Help: g.Help}
		for _, f := range fields {
			if f.group == g.Title {
				sg.Fields = append(sg.Fields, f)
			}
		}
		if len(sg.Fields) > 0 {
			out = append(out, sg)
		}
	}
	return out
}

// settingFields lists the settings of the settings screen (those with a
// heading; mail's have a screen of their own) with their values in st.
func settingFields(st refreshing.Settings) []settingField {
	var out []settingField
	for _, d := range refreshing.SettingsTable() {
		if d.Group == "" {
			continue
		}
		f := settingField{Name: d.Field, Label: d.Label, Help: d.Help, Kind: d.Kind(), Value: d.Value(st), group: d.Group}
		switch f.Kind {
		case refreshing.SettingDuration:
			f.Value = fmtDuration(mustDuration(f.Value))
		case refreshing.SettingBool:
			f.On, f.Value = f.Value == "true", ""
		}
		out = append(out, f)
	}
	return out
}

// mustDuration parses a duration that refreshing.Setting.Value wrote.
func mustDuration(v string) time.Duration {
	d, _ := time.ParseDuration(v)
	return d
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

// parseSettings applies the form to st, setting by setting. It returns the
// first unparsable field as a *refreshing.FieldError.
func parseSettings(st refreshing.Settings, f url.Values) (refreshing.Settings, error) {
	for _, d := range refreshing.SettingsTable() {
		if d.Group == "" {
			continue
		}
		raw := strings.TrimSpace(f.Get(d.Field))
		var msg string
		switch d.Kind() {
		case refreshing.SettingBool:
			raw = strconv.FormatBool(raw == "on" || raw == "true" || raw == "1")
		case refreshing.SettingDuration:
			msg = "%q is not a duration such as 15m, 720h or 0"
		case refreshing.SettingInt:
			msg = "%q is not a whole number"
		}
		if err := d.Set(&st, raw); err != nil {
			return st, refreshing.Invalid(d.Field, msg, raw)
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
		Notice: notice(r), Data: groupSettings(settingFields(st))})
}

// settingsForm reads what both settings screens' POST start from: the form
// and the settings in force. On an error it has answered, and ok is false.
func (a *adminUI) settingsForm(w http.ResponseWriter, r *http.Request) (f url.Values, cur refreshing.Settings, ok bool) {
	f, err := formValues(w, r)
	if err == nil {
		cur, err = a.s.svc.Settings(r.Context())
	}
	if err != nil {
		a.fail(w, r, err)
		return nil, cur, false
	}
	return f, cur, true
}

// saveSettings serves POST /admin/settings.
func (a *adminUI) saveSettings(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, cur, ok := a.settingsForm(w, r)
	if !ok {
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
			Error: fmt.Sprintf("Not saved: %s — %s.", fe.Field, fe.Message), Data: groupSettings(fields)})
		return
	}
	back(w, r, "/admin/settings", "saved", 0)
}

// auditData is the audit log screen.
type auditData struct {
	Type, User, IP, Actor, From, To string
	Types                           []string
	Events                          []eventRow
	Older, First                    string
}

// eventRow is one line of an events table: the event, and the user it
// concerns and the user who acted ("user 12") by email where they still exist.
type eventRow struct {
	refreshing.AuditEvent
	User  *refreshing.User
	Actor string
}

// eventRows names the users of events by email, with one read of the users.
func (a *adminUI) eventRows(r *http.Request, events []refreshing.AuditEvent) ([]eventRow, error) {
	var ids []int64
	for _, e := range events {
		ids = append(ids, e.UserID)
		if n, ok := actorUser(e.Actor); ok {
			ids = append(ids, n)
		}
	}
	users, err := a.s.svc.UsersByID(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	rows := make([]eventRow, len(events))
	for i, e := range events {
		rows[i] = eventRow{AuditEvent: e, User: users[e.UserID], Actor: e.Actor}
		if n, ok := actorUser(e.Actor); ok && users[n] != nil {
			rows[i].Actor = users[n].Email
		}
	}
	return rows, nil
}

// actorUser reads the user id of an actor "user 12".
func actorUser(actor string) (int64, bool) {
	v, ok := strings.CutPrefix(actor, "user ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// audit serves GET /admin/audit: newest first, 100 a page, filtered by
// type, user (id, email or username), address, actor and a date range.
func (a *adminUI) audit(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	q := r.URL.Query()
	d := auditData{Type: q.Get("type"), User: strings.TrimSpace(q.Get("user")), IP: strings.TrimSpace(q.Get("ip")),
		Actor: strings.TrimSpace(q.Get("actor")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Types: refreshing.AuditTypes()}
	v := view{Title: "Audit log", Nav: "audit", Admin: auth.Admin.Email, Data: &d}
	f, err := a.s.auditQuery(r, q, 100)
	if err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			v.Error = msg
			a.render(w, r, status, "audit", v)
		})
		return
	}
	events, err := a.s.svc.ListAudit(r.Context(), f)
	if err == nil {
		d.Events, err = a.eventRows(r, events)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	filters := url.Values{}
	for k, val := range map[string]string{"type": d.Type, "user": d.User, "ip": d.IP, "actor": d.Actor, "from": d.From, "to": d.To} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if len(events) == f.Limit {
		last := events[len(events)-1]
		next := cloneValues(filters)
		next.Set("after", cursor(last.At, strconv.FormatInt(last.ID, 10)))
		d.Older = withQuery("/admin/audit", next)
	}
	if q.Has("after") {
		d.First = withQuery("/admin/audit", filters)
	}
	a.render(w, r, http.StatusOK, "audit", v)
}
