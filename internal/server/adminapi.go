package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The admin HTTP API (/admin/api, routes.go): JSON for scripts and tools,
// over the same Service calls as the admin screens. A request carries an
// administrator's API token (Authorization: Bearer rfa_…, created on the
// Admins screen, by `POST /admin/api/tokens` or by the CLI); the admin
// screens' cookie is never accepted here, so a page of another site cannot
// drive the API with an administrator's browser, and no CORS header is ever
// set on it. Answers and errors have the /api shape: {"data": …, "meta": …}
// and {"data": null, "error": {…}} (encode.go).

// adminAPI wraps an admin API handler: it authenticates the bearer token,
// names the administrator as the actor of the audit events the request
// causes, and forbids caching.
func (s *server) adminAPI(fn func(http.ResponseWriter, *http.Request, *refreshing.Admin)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var (
			a   *refreshing.Admin
			err error = refreshing.ErrUnauthenticated
		)
		if ok {
			a, _, err = s.svc.AuthenticateAdminToken(r.Context(), strings.TrimSpace(token))
		}
		if err != nil {
			if errors.Is(err, refreshing.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="refreshing-admin"`)
			}
			s.fail(w, r, err)
			return
		}
		ctx := refreshing.WithActor(r.Context(), refreshing.Actor{Name: "admin " + a.Email, IP: s.clientIP(r), UserAgent: r.UserAgent()})
		fn(w, r.WithContext(ctx), a)
	})
}

// listJSON is a listing's answer: one page and where the neighbours are.
type listJSON struct {
	Data any      `json:"data"`
	Meta pageMeta `json:"meta"`
}

// pageMeta tells how to reach the neighbouring pages: pass After as ?after=
// for the next page, Before as ?before= for the previous one; null where
// there is none. Total is the number of records the listing has, where that
// is cheap to know (users).
type pageMeta struct {
	Total  *int64  `json:"total,omitempty"`
	After  *string `json:"after"`
	Before *string `json:"before"`
}

// dataJSON is a single record's answer.
type dataJSON struct {
	Data any `json:"data"`
}

// strPtr returns &v, or nil for "".
func strPtr(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// timePtr formats t, or nil for the zero time.
func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return strPtr(timestamp(t))
}

// queryLimit reads ?limit= (1 to refreshing.MaxPageSize; absent is the default).
func queryLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > refreshing.MaxPageSize {
		return 0, refreshing.Invalid("limit", "limit must be a whole number from 1 to %d", refreshing.MaxPageSize)
	}
	return n, nil
}

// pathID reads a numeric path value; anything else names no record (404).
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, refreshing.ErrNotFound
	}
	return id, nil
}

// adminUserJSON is a user as administrators see it (never the password hash).
type adminUserJSON struct {
	userJSON
	Role       string  `json:"role"`
	Sessions   *int64  `json:"sessions,omitempty"`   // live sessions, in listings
	LastSignIn *string `json:"lastSignIn,omitempty"` // newest session's sign-in, in listings
}

func adminUserOf(u *refreshing.User, st *refreshing.UserStats) adminUserJSON {
	out := adminUserJSON{userJSON: *userOf(u), Role: u.Role}
	if st != nil {
		n := st.Sessions
		out.Sessions, out.LastSignIn = &n, timePtr(st.LastSignIn)
	}
	return out
}

// adminSessionJSON is a session as administrators see it: never a token or hash.
type adminSessionJSON struct {
	ID           string  `json:"id"`
	UserID       int64   `json:"userId"`
	UserEmail    *string `json:"userEmail"`
	ClientID     string  `json:"clientId"`
	DeviceID     string  `json:"deviceId"`
	Description  string  `json:"description"`
	UserAgent    string  `json:"userAgent"`
	Device       string  `json:"device"`
	IP           string  `json:"ip"`
	State        string  `json:"state"`
	CreatedAt    string  `json:"createdAt"`
	LastActivity string  `json:"lastActivity"`
	ExpiresAt    *string `json:"expiresAt"`
	RevokedAt    *string `json:"revokedAt"`
	RevokeReason string  `json:"revokeReason"`
	Generation   int64   `json:"generation"`
}

func adminSessionOf(sess *refreshing.Session, u *refreshing.User, state string) adminSessionJSON {
	out := adminSessionJSON{ID: sess.ID, UserID: sess.UserID, ClientID: sess.ClientID, DeviceID: sess.DeviceID,
		Description: sess.Description, UserAgent: sess.UserAgent, Device: refreshing.DeviceName(sess.UserAgent), IP: sess.IP,
		State: state, CreatedAt: timestamp(sess.CreatedAt), LastActivity: timestamp(sess.LastActivity),
		ExpiresAt: timePtr(sess.ExpiresAt), RevokedAt: timePtr(sess.RevokedAt), RevokeReason: sess.RevokeReason,
		Generation: sess.Generation}
	if u != nil {
		out.UserEmail = &u.Email
	}
	return out
}

// clientJSON is an OAuth client: never its secret's hash.
type clientJSON struct {
	ID           string   `json:"id"`
	Confidential bool     `json:"confidential"`
	Grants       []string `json:"grants"`
	RequireDPoP  bool     `json:"requireDPoP"`
	CreatedAt    string   `json:"createdAt"`
}

func clientOf(c *refreshing.Client) clientJSON {
	return clientJSON{ID: c.ID, Confidential: c.Confidential(), Grants: c.AllowedGrants(), RequireDPoP: c.RequireDPoP, CreatedAt: timestamp(c.CreatedAt)}
}

// adminJSON is an administrator: never the password hash.
type adminJSON struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	CreatedAt string `json:"createdAt"`
}

func adminOf(a *refreshing.Admin) adminJSON {
	return adminJSON{ID: a.ID, Email: a.Email, CreatedAt: timestamp(a.CreatedAt)}
}

// adminTokenJSON is an admin API token: never its value or hash.
type adminTokenJSON struct {
	ID        int64   `json:"id"`
	AdminID   int64   `json:"adminId"`
	Name      string  `json:"name"`
	CreatedAt string  `json:"createdAt"`
	ExpiresAt *string `json:"expiresAt"`
}

func adminTokenOf(t *refreshing.AdminToken) adminTokenJSON {
	return adminTokenJSON{ID: t.ID, AdminID: t.AdminID, Name: t.Name, CreatedAt: timestamp(t.CreatedAt), ExpiresAt: timePtr(t.ExpiresAt)}
}

// keyJSON is a signing key: never its material.
type keyJSON struct {
	ID        string `json:"id"`
	Algorithm string `json:"algorithm"`
	State     string `json:"state"`
	CreatedAt string `json:"createdAt"`
}

// auditJSON is an audit event, with the user's email when the user still exists.
type auditJSON struct {
	ID        int64   `json:"id"`
	At        string  `json:"at"`
	Type      string  `json:"type"`
	Actor     string  `json:"actor"`
	UserID    int64   `json:"userId"`
	UserEmail *string `json:"userEmail"`
	SessionID string  `json:"sessionId"`
	IP        string  `json:"ip"`
	UserAgent string  `json:"userAgent"`
	Detail    string  `json:"detail"`
}

// apiListUsers serves GET /admin/api/users.
func (s *server) apiListUsers(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	q := r.URL.Query()
	uq := refreshing.UserQuery{Query: q.Get("q")}
	var err error
	if uq.Limit, err = queryLimit(q); err != nil {
		s.fail(w, r, err)
		return
	}
	switch q.Get("order") {
	case "", "newest":
	case "oldest":
		uq.Oldest = true
	default:
		s.fail(w, r, refreshing.Invalid("order", "order must be newest or oldest"))
		return
	}
	for _, c := range []struct {
		name string
		dst  *int64
	}{{"after", &uq.After}, {"before", &uq.Before}} {
		if v := q.Get(c.name); v != "" {
			if *c.dst, err = strconv.ParseInt(v, 10, 64); err != nil || *c.dst <= 0 {
				s.fail(w, r, refreshing.Invalid(c.name, "%s must be a user id from a previous page's meta", c.name))
				return
			}
		}
	}
	page, err := s.svc.FindUsers(r.Context(), uq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]int64, len(page.Users))
	for i, u := range page.Users {
		ids[i] = u.ID
	}
	stats, err := s.svc.UserStats(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	total, err := s.svc.CountUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminUserJSON, len(page.Users))
	for i := range page.Users {
		st := stats[page.Users[i].ID]
		out[i] = adminUserOf(&page.Users[i], &st)
	}
	meta := pageMeta{Total: &total}
	if n := len(page.Users); n > 0 {
		if page.HasNext {
			meta.After = strPtr(strconv.FormatInt(page.Users[n-1].ID, 10))
		}
		if page.HasPrev {
			meta.Before = strPtr(strconv.FormatInt(page.Users[0].ID, 10))
		}
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out, Meta: meta})
}

// apiCreateUser serves POST /admin/api/users: a confirmed local user.
func (s *server) apiCreateUser(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var body struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.svc.CreateUser(r.Context(), body.Username, body.Email, body.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, dataJSON{adminUserOf(u, nil)})
}

// apiUser serves GET /admin/api/users/{id}, with the user's live-session count.
func (s *server) apiUser(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := pathID(r)
	var u *refreshing.User
	if err == nil {
		u, err = s.svc.User(r.Context(), id)
	}
	var stats map[int64]refreshing.UserStats
	if err == nil {
		stats, err = s.svc.UserStats(r.Context(), []int64{id})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := stats[id]
	writeJSON(w, http.StatusOK, dataJSON{adminUserOf(u, &st)})
}

// apiUserAction serves POST /admin/api/users/{id}/{block,unblock,password}.
func (s *server) apiUserAction(op string) func(http.ResponseWriter, *http.Request, *refreshing.Admin) {
	return func(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
		id, err := pathID(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var u *refreshing.User
		switch op {
		case "block", "unblock":
			u, err = s.svc.SetBlocked(r.Context(), id, op == "block")
		case "password":
			var body struct {
				Password string `json:"password"`
			}
			if err = decodeStrict(w, r, &body); err == nil {
				u, err = s.svc.SetUserPassword(r.Context(), id, body.Password)
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, dataJSON{adminUserOf(u, nil)})
	}
}

// apiDeleteUser serves DELETE /admin/api/users/{id}.
func (s *server) apiDeleteUser(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := pathID(r)
	if err == nil {
		err = s.svc.DeleteUser(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiRevokeUserSessions serves DELETE /admin/api/users/{id}/sessions: sign
// the user out everywhere.
func (s *server) apiRevokeUserSessions(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := pathID(r)
	if err == nil {
		_, err = s.svc.User(r.Context(), id)
	}
	var n int
	if err == nil {
		n, err = s.svc.SignOutEverywhere(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dataJSON{map[string]int{"revoked": n}})
}

// apiListSessions serves GET /admin/api/sessions.
func (s *server) apiListSessions(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	q := r.URL.Query()
	sq := refreshing.SessionQuery{State: q.Get("state"), IP: q.Get("ip"), UserAgent: q.Get("userAgent")}
	var err error
	if sq.Limit, err = queryLimit(q); err != nil {
		s.fail(w, r, err)
		return
	}
	switch q.Get("order") {
	case "", "newest":
	case "oldest":
		sq.Oldest = true
	default:
		s.fail(w, r, refreshing.Invalid("order", "order must be newest or oldest"))
		return
	}
	if v := q.Get("userId"); v != "" {
		if sq.UserID, err = strconv.ParseInt(v, 10, 64); err != nil || sq.UserID <= 0 {
			s.fail(w, r, refreshing.Invalid("userId", "userId must be a user id"))
			return
		}
	}
	if sq.After.CreatedAt, sq.After.ID, err = parseCursor(q.Get("after")); err != nil {
		s.fail(w, r, refreshing.Invalid("after", "after must be a cursor from a previous page's meta"))
		return
	}
	if sq.Before.CreatedAt, sq.Before.ID, err = parseCursor(q.Get("before")); err != nil {
		s.fail(w, r, refreshing.Invalid("before", "before must be a cursor from a previous page's meta"))
		return
	}
	page, err := s.svc.FindSessions(r.Context(), sq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.adminSessions(r, page.Sessions)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var meta pageMeta
	if n := len(page.Sessions); n > 0 {
		if page.HasNext {
			meta.After = strPtr(cursor(page.Sessions[n-1].CreatedAt, page.Sessions[n-1].ID))
		}
		if page.HasPrev {
			meta.Before = strPtr(cursor(page.Sessions[0].CreatedAt, page.Sessions[0].ID))
		}
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out, Meta: meta})
}

// adminSessions encodes sessions with their users' emails and states: one
// read of the users for the whole page.
func (s *server) adminSessions(r *http.Request, list []refreshing.Session) ([]adminSessionJSON, error) {
	ids := make([]int64, len(list))
	for i, sess := range list {
		ids[i] = sess.UserID
	}
	users, err := s.svc.UsersByID(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	now := s.svc.Now()
	out := make([]adminSessionJSON, len(list))
	for i := range list {
		out[i] = adminSessionOf(&list[i], users[list[i].UserID], refreshing.SessionState(&list[i], now, st))
	}
	return out, nil
}

// apiSession serves GET /admin/api/sessions/{id}.
func (s *server) apiSession(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	s.writeSession(w, r, http.StatusOK)
}

// writeSession answers with the session of the path.
func (s *server) writeSession(w http.ResponseWriter, r *http.Request, status int) {
	sess, err := s.svc.Session(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.adminSessions(r, []refreshing.Session{*sess})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, dataJSON{out[0]})
}

// apiRevokeSession serves DELETE /admin/api/sessions/{id}: it revokes the
// session (revoking a revoked one changes nothing) and answers with it.
func (s *server) apiRevokeSession(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	if _, err := s.svc.RevokeSessionsByID(r.Context(), []string{r.PathValue("id")}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeSession(w, r, http.StatusOK)
}

// apiListClients serves GET /admin/api/clients.
func (s *server) apiListClients(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	list, err := s.svc.Clients(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]clientJSON, len(list))
	for i := range list {
		out[i] = clientOf(&list[i])
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out})
}

// apiCreateClient serves POST /admin/api/clients. The answer holds the
// secret, the only time it is shown.
func (s *server) apiCreateClient(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var body struct {
		ID             string   `json:"id"`
		Secret         string   `json:"secret"`
		GenerateSecret bool     `json:"generateSecret"`
		Grants         []string `json:"grants"`
		RequireDPoP    bool     `json:"requireDPoP"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	c, secret, err := s.svc.CreateClient(r.Context(), refreshing.ClientSpec{ID: body.ID, Secret: body.Secret,
		GenerateSecret: body.GenerateSecret, Grants: body.Grants, RequireDPoP: body.RequireDPoP})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Data   clientJSON `json:"data"`
		Secret *string    `json:"secret"`
	}{clientOf(c), strPtr(secret)})
}

// apiClient serves GET /admin/api/clients/{id}.
func (s *server) apiClient(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	c, err := s.svc.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dataJSON{clientOf(c)})
}

// apiUpdateClient serves PATCH /admin/api/clients/{id}: whether the client
// must use DPoP.
func (s *server) apiUpdateClient(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var body struct {
		RequireDPoP *bool `json:"requireDPoP"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	if body.RequireDPoP == nil {
		s.fail(w, r, refreshing.Invalid("requireDPoP", "requireDPoP is required (true or false)"))
		return
	}
	c, err := s.svc.SetClientDPoP(r.Context(), r.PathValue("id"), *body.RequireDPoP)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dataJSON{clientOf(c)})
}

// apiDeleteClient serves DELETE /admin/api/clients/{id}.
func (s *server) apiDeleteClient(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	if err := s.svc.DeleteClient(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiListAdmins serves GET /admin/api/admins.
func (s *server) apiListAdmins(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	list, err := s.svc.Admins(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminJSON, len(list))
	for i := range list {
		out[i] = adminOf(&list[i])
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out})
}

// apiCreateAdmin serves POST /admin/api/admins.
func (s *server) apiCreateAdmin(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var body struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.svc.CreateAdmin(r.Context(), body.Email, body.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, dataJSON{adminOf(a)})
}

// apiAdmin serves GET /admin/api/admins/{id}.
func (s *server) apiAdmin(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := pathID(r)
	var a *refreshing.Admin
	if err == nil {
		a, err = s.svc.Admin(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dataJSON{adminOf(a)})
}

// apiDeleteAdmin serves DELETE /admin/api/admins/{id}.
func (s *server) apiDeleteAdmin(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := pathID(r)
	if err == nil {
		err = s.svc.DeleteAdmin(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiAdminPassword serves POST /admin/api/admins/{id}/password.
func (s *server) apiAdminPassword(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var body struct {
		Password string `json:"password"`
	}
	id, err := pathID(r)
	if err == nil {
		err = decodeStrict(w, r, &body)
	}
	if err == nil {
		err = s.svc.SetAdminPassword(r.Context(), id, body.Password)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiListTokens serves GET /admin/api/tokens: every administrator's, or
// one's with ?adminId=.
func (s *server) apiListTokens(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var adminID int64
	if v := r.URL.Query().Get("adminId"); v != "" {
		var err error
		if adminID, err = strconv.ParseInt(v, 10, 64); err != nil || adminID <= 0 {
			s.fail(w, r, refreshing.Invalid("adminId", "adminId must be an administrator's id"))
			return
		}
	}
	list, err := s.svc.AdminTokens(r.Context(), adminID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminTokenJSON, len(list))
	for i := range list {
		out[i] = adminTokenOf(&list[i])
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out})
}

// apiCreateToken serves POST /admin/api/tokens: a token for the calling
// administrator unless adminId names another. The answer holds the token,
// the only time it is shown.
func (s *server) apiCreateToken(w http.ResponseWriter, r *http.Request, a *refreshing.Admin) {
	var body struct {
		Name    string `json:"name"`
		TTL     string `json:"ttl"`
		AdminID int64  `json:"adminId"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	var ttl time.Duration
	if body.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(body.TTL); err != nil {
			s.fail(w, r, refreshing.Invalid("ttl", "ttl must be a duration such as 720h, or 0 for a token that does not expire"))
			return
		}
	}
	if body.AdminID == 0 {
		body.AdminID = a.ID
	}
	t, token, err := s.svc.CreateAdminToken(r.Context(), body.AdminID, body.Name, ttl)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Data  adminTokenJSON `json:"data"`
		Token string         `json:"token"`
	}{adminTokenOf(t), token})
}

// apiRevokeToken serves DELETE /admin/api/tokens/{id}.
func (s *server) apiRevokeToken(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := pathID(r)
	if err == nil {
		err = s.svc.RevokeAdminToken(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// keysJSON lists the signing keys.
func (s *server) keysJSON(r *http.Request) ([]keyJSON, error) {
	keys, err := s.svc.SigningKeys(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = keyJSON{ID: k.ID, Algorithm: k.Algorithm, State: k.State, CreatedAt: timestamp(k.CreatedAt)}
	}
	return out, nil
}

// apiListKeys serves GET /admin/api/keys, newest first.
func (s *server) apiListKeys(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	out, err := s.keysJSON(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out})
}

// apiRotateKey serves POST /admin/api/keys/rotate: a new key signs from now
// on; the answer is the new key.
func (s *server) apiRotateKey(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	id, err := s.svc.RotateSigningKey(r.Context())
	var out []keyJSON
	if err == nil {
		out, err = s.keysJSON(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, k := range out {
		if k.ID == id {
			writeJSON(w, http.StatusCreated, dataJSON{k})
			return
		}
	}
	s.fail(w, r, errors.New("rotated key not listed"))
}

// parseDay reads a date (2026-12-06) or an RFC 3339 time. A date means
// the start of that day in UTC; with end set, the start of the next day, so
// that a range "from" one date "to" another includes both days.
func parseDay(field, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, refreshing.Invalid(field, "%s must be a date (2006-01-02) or an RFC 3339 time", field)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// auditQuery reads the audit filters both the API and the screen take:
// type, user (an id, an email or a username), ip, actor, from and to (dates,
// both included), after (a cursor: the events after it, older ones), limit.
func (s *server) auditQuery(r *http.Request, q url.Values, limit int) (refreshing.AuditFilter, error) {
	f := refreshing.AuditFilter{Type: q.Get("type"), IP: strings.TrimSpace(q.Get("ip")), Actor: strings.TrimSpace(q.Get("actor")), Limit: limit}
	var err error
	if f.Since, err = parseDay("from", strings.TrimSpace(q.Get("from")), false); err != nil {
		return f, err
	}
	if f.Until, err = parseDay("to", strings.TrimSpace(q.Get("to")), true); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, refreshing.Invalid("to", "to must not be before from")
	}
	if b := q.Get("after"); b != "" {
		t, id, err := parseCursor(b)
		n, perr := strconv.ParseInt(id, 10, 64)
		if err != nil || perr != nil {
			return f, refreshing.Invalid("after", "after must be a cursor from a previous page")
		}
		f.BeforeAt, f.BeforeID = t, n
	}
	if user := strings.TrimSpace(q.Get("user")); user != "" {
		if id, err := strconv.ParseInt(user, 10, 64); err == nil {
			f.UserID = id
		} else {
			u, err := s.svc.FindUser(r.Context(), user)
			if errors.Is(err, refreshing.ErrNotFound) {
				return f, refreshing.Invalid("user", "no user has that email or username")
			}
			if err != nil {
				return f, err
			}
			f.UserID = u.ID
		}
	}
	return f, nil
}

// apiAudit serves GET /admin/api/audit, newest first.
func (s *server) apiAudit(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	q := r.URL.Query()
	limit, err := queryLimit(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if limit == 0 {
		limit = 100
	}
	f, err := s.auditQuery(r, q, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	events, err := s.svc.ListAudit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.UserID
	}
	users, err := s.svc.UsersByID(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]auditJSON, len(events))
	for i, e := range events {
		out[i] = auditJSON{ID: e.ID, At: timestamp(e.At), Type: e.Type, Actor: e.Actor, UserID: e.UserID,
			SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail}
		if u := users[e.UserID]; u != nil {
			out[i].UserEmail = &u.Email
		}
	}
	var meta pageMeta
	if len(events) == f.Limit {
		last := events[len(events)-1]
		meta.After = strPtr(cursor(last.At, strconv.FormatInt(last.ID, 10)))
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out, Meta: meta})
}

// providerViewMembers are the read-only members of a provider as GET
// answers it: accepted and ignored by PUT, so that what GET answered can be
// sent back. Any other unknown member is refused: a misspelt
// "clientSecret" would otherwise keep the stored secret without a word.
var providerViewMembers = []string{"source", "overridden", "updatedAt", "clientSecretSet"}

// apiListProviders serves GET /admin/api/providers: the environment's and
// the saved ones, never a secret.
func (s *server) apiListProviders(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	list, err := s.svc.SignInProviders(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]refreshing.ConfiguredProvider, len(list))
	for i, p := range list {
		out[i] = p.Redacted()
	}
	writeJSON(w, http.StatusOK, listJSON{Data: out})
}

// apiProvider serves GET /admin/api/providers/{name}: the one in force
// under that name, or else the saved one the environment overrides.
func (s *server) apiProvider(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	list, err := s.svc.SignInProviders(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, p := range list { // the environment's first, for a shared name (sorted stably)
		if p.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, dataJSON{p.Redacted()})
			return
		}
	}
	s.fail(w, r, refreshing.ErrUnknownProvider)
}

// apiSaveProvider serves PUT /admin/api/providers/{name}: the whole
// configuration, as in REFRESHING_OIDC_PROVIDERS; a missing or empty
// clientSecret keeps the saved one. The answer carries a warning when the
// issuer's discovery document cannot be read.
func (s *server) apiSaveProvider(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	var c refreshing.ProviderConfig
	if err := decodeStrict(w, r, &c, providerViewMembers...); err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	if c.Name != "" && c.Name != name {
		s.fail(w, r, refreshing.Invalid("name", "name %q differs from the path's %q", c.Name, name))
		return
	}
	c.Name = name
	p, err := s.svc.SaveSignInProvider(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Data    refreshing.ConfiguredProvider `json:"data"`
		Warning string                        `json:"warning,omitempty"`
	}{Data: p.Redacted()}
	if s.checkProvider(r, p.ProviderConfig) != nil {
		out.Warning = "saved, but the issuer's discovery document cannot be read (the log says why): sign-in through this provider fails until it can"
	}
	writeJSON(w, http.StatusOK, out)
}

// apiDeleteProvider serves DELETE /admin/api/providers/{name}.
func (s *server) apiDeleteProvider(w http.ResponseWriter, r *http.Request, _ *refreshing.Admin) {
	if err := s.svc.DeleteSignInProvider(r.Context(), r.PathValue("name")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
