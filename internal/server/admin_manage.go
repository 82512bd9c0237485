package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/refreshing/refreshing"
)

// The screens for OAuth clients, administrators (with their API tokens) and
// signing keys: the same Service calls as the admin API (adminapi.go).

// clientsData is the OAuth clients screen.
type clientsData struct {
	Clients []refreshing.Client
	// Created and Secret show a client just created, and its secret: the
	// only time it is shown.
	Created *refreshing.Client
	Secret  string
	Form    map[string]string
}

// clients serves GET /admin/clients.
func (a *adminUI) clients(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	a.renderClients(w, r, auth, http.StatusOK, "", &clientsData{})
}

func (a *adminUI) renderClients(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, status int, errMsg string, d *clientsData) {
	var err error
	if d.Clients, err = a.s.svc.Clients(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, status, "clients", view{Title: "OAuth clients", Nav: "clients", Admin: auth.Admin.Email, Notice: notice(r), Error: errMsg, Data: d})
}

// createClient serves POST /admin/clients. The page that answers shows the
// new secret once; it is not in any URL, so it stays out of access logs and
// the browser history.
func (a *adminUI) createClient(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	spec := refreshing.ClientSpec{ID: f.Get("id"), GenerateSecret: f.Get("kind") != "public"}
	for _, g := range refreshing.GrantNames(true) { // a checkbox named after each grant a client must be allowed
		if f.Get(g) == "on" {
			spec.Grants = append(spec.Grants, g)
		}
	}
	spec.RequireDPoP = f.Get("dpop") == "on"
	c, secret, err := a.s.svc.CreateClient(r.Context(), spec)
	if err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			a.renderClients(w, r, auth, status, msg, &clientsData{Form: map[string]string{"ID": f.Get("id")}})
		})
		return
	}
	a.renderClients(w, r, auth, http.StatusOK, "", &clientsData{Created: c, Secret: secret})
}

// setClientDPoP serves POST /admin/clients/{id}/dpop: require is "yes" to
// require DPoP of the client, "no" to stop requiring it.
func (a *adminUI) setClientDPoP(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	require := f.Get("require")
	if err == nil && require != "yes" && require != "no" {
		err = refreshing.Invalid("require", "choose whether the client must use DPoP")
	}
	if err == nil {
		_, err = a.s.svc.SetClientDPoP(r.Context(), r.PathValue("id"), require == "yes")
	}
	if err != nil {
		status, msg := statusOf(err)
		if status == http.StatusInternalServerError {
			a.fail(w, r, err)
			return
		}
		a.renderClients(w, r, auth, status, msg, &clientsData{})
		return
	}
	done := "clientnodpop"
	if require == "yes" {
		done = "clientdpop"
	}
	back(w, r, "/admin/clients", done, 0)
}

// deleteClient serves POST /admin/clients/{id}/delete.
func (a *adminUI) deleteClient(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err == nil && f.Get("confirm") != "yes" {
		err = refreshing.Invalid("confirm", "tick the box to confirm the deletion")
	}
	if err == nil {
		err = a.s.svc.DeleteClient(r.Context(), r.PathValue("id"))
	}
	if err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			a.renderClients(w, r, auth, status, msg, &clientsData{})
		})
		return
	}
	back(w, r, "/admin/clients", "clientdel", 0)
}

// adminsData is the administrators screen.
type adminsData struct {
	Me     int64
	Admins []refreshing.Admin
	Tokens []tokenRow
	// Token is an API token just created: the only time it is shown.
	Token     string
	TokenName string
	Form      map[string]string
}

// tokenRow is one line of the API tokens table.
type tokenRow struct {
	refreshing.AdminToken
	Admin   string // the administrator's email
	Expired bool
}

// tokenLifetimes are the choices of the API token form.
var tokenLifetimes = map[string]time.Duration{"30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour, "never": 0}

// admins serves GET /admin/admins.
func (a *adminUI) admins(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	a.renderAdmins(w, r, auth, http.StatusOK, "", &adminsData{})
}

func (a *adminUI) renderAdmins(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, status int, errMsg string, d *adminsData) {
	var err error
	d.Me = auth.Admin.ID
	if d.Admins, err = a.s.svc.Admins(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	tokens, err := a.s.svc.AdminTokens(r.Context(), 0)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	emails := map[int64]string{}
	for _, ad := range d.Admins {
		emails[ad.ID] = ad.Email
	}
	now := a.s.svc.Now()
	for _, t := range tokens {
		d.Tokens = append(d.Tokens, tokenRow{AdminToken: t, Admin: emails[t.AdminID], Expired: !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)})
	}
	a.render(w, r, status, "admins", view{Title: "Administrators", Nav: "admins", Admin: auth.Admin.Email, Notice: notice(r), Error: errMsg, Data: d})
}

// adminFormError renders the administrators screen with err's message, or
// fails for an internal error.
func (a *adminUI) adminFormError(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, err error, d *adminsData) {
	a.refused(w, r, err, func(status int, msg string) { a.renderAdmins(w, r, auth, status, msg, d) })
}

// createAdmin serves POST /admin/admins.
func (a *adminUI) createAdmin(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err == nil {
		_, err = a.s.svc.CreateAdmin(r.Context(), f.Get("email"), f.Get("password"))
	}
	if err != nil {
		a.adminFormError(w, r, auth, err, &adminsData{Form: map[string]string{"Email": f.Get("email")}})
		return
	}
	back(w, r, "/admin/admins", "admincreated", 0)
}

// adminAction serves POST /admin/admins/{id}/{op}: password and delete.
func (a *adminUI) adminAction(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	id, f, err := idForm(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ok := ""
	switch r.PathValue("op") {
	case "password":
		err, ok = a.s.svc.SetAdminPassword(r.Context(), id, f.Get("password")), "adminpassword"
	case "delete":
		if f.Get("confirm") != "yes" {
			err = refreshing.Invalid("confirm", "tick the box to confirm the deletion")
			break
		}
		err, ok = a.s.svc.DeleteAdmin(r.Context(), id), "admindel"
	default:
		err = refreshing.ErrNotFound
	}
	if err != nil {
		a.adminFormError(w, r, auth, err, &adminsData{})
		return
	}
	if id == auth.Admin.ID {
		// One's own password reset or deletion ended one's sessions.
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	back(w, r, "/admin/admins", ok, 0)
}

// createToken serves POST /admin/tokens: an API token for the signed-in
// administrator, shown once on the page that answers.
func (a *adminUI) createToken(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ttl, known := tokenLifetimes[f.Get("ttl")]
	if !known {
		a.adminFormError(w, r, auth, refreshing.Invalid("ttl", "choose a lifetime from the list"), &adminsData{})
		return
	}
	t, token, err := a.s.svc.CreateAdminToken(r.Context(), auth.Admin.ID, f.Get("name"), ttl)
	if err != nil {
		a.adminFormError(w, r, auth, err, &adminsData{Form: map[string]string{"Name": f.Get("name")}})
		return
	}
	a.renderAdmins(w, r, auth, http.StatusOK, "", &adminsData{Token: token, TokenName: t.Name})
}

// revokeToken serves POST /admin/tokens/{id}/revoke.
func (a *adminUI) revokeToken(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.fail(w, r, refreshing.ErrNotFound)
		return
	}
	if err := a.s.svc.RevokeAdminToken(r.Context(), id); err != nil {
		a.adminFormError(w, r, auth, err, &adminsData{})
		return
	}
	back(w, r, "/admin/admins", "tokenrevoked", 0)
}

// keysData is the signing keys screen.
type keysData struct {
	Algorithm string
	Keys      []refreshing.KeyInfo
	AccessTTL time.Duration
}

// keys serves GET /admin/keys.
func (a *adminUI) keys(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	keys, err := a.s.svc.SigningKeys(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.s.svc.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "keys", view{Title: "Signing keys", Nav: "keys", Admin: auth.Admin.Email, Notice: notice(r),
		Data: &keysData{Algorithm: a.s.svc.SigningAlgorithm(), Keys: keys, AccessTTL: st.AccessTTL}})
}

// rotateKey serves POST /admin/keys/rotate.
func (a *adminUI) rotateKey(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
	if _, err := formValues(w, r); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.s.svc.RotateSigningKey(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/admin/keys", "rotated", 0)
}
