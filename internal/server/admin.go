package server

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The admin screens (/admin): server-rendered html/template pages with
// embedded assets, no JavaScript. Every page carries frame-denying and
// content-security headers; every state-changing request passes
// http.CrossOriginProtection; every page but the login page needs an admin
// session cookie.

//go:embed adminui
var adminFiles embed.FS

// adminCookie holds an admin session token; only its SHA-256 is stored.
const adminCookie = "refreshing_admin"

// adminCSP allows only this origin's stylesheet: no scripts at all, no
// inline styles, no framing, forms posting only here.
const adminCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// adminUI serves /admin.
type adminUI struct {
	s      *server
	pages  map[string]*template.Template
	csrf   *http.CrossOriginProtection
	totals countCache // the users' and live sessions' counts (admin_screens.go)
}

// adminRoutes registers the admin screens on mux.
func (s *server) adminRoutes(mux *http.ServeMux) {
	a := newAdminUI(s)
	static, _ := fs.Sub(adminFiles, "adminui/static")
	mux.Handle("GET /admin/static/", a.headers(http.StripPrefix("/admin/static/", http.FileServerFS(static))))
	mux.Handle("GET /admin/login", a.public(a.loginPage))
	mux.Handle("POST /admin/login", s.limit(limitCredential, a.public(a.login)))
	mux.Handle("POST /admin/logout", a.public(a.logout))
	mux.Handle("GET /admin", a.page(func(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
		http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
	}))
	mux.Handle("GET /admin/{$}", a.page(func(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
		http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
	}))
	mux.Handle("GET /admin/sessions", a.page(a.sessions))
	mux.Handle("GET /admin/sessions/{id}", a.page(a.session))
	mux.Handle("POST /admin/sessions/revoke", a.page(a.revokeSessions))
	mux.Handle("GET /admin/users", a.page(a.users))
	mux.Handle("POST /admin/users", a.page(a.createUser))
	mux.Handle("GET /admin/users/{id}", a.page(a.user))
	mux.Handle("POST /admin/users/{id}/{op}", a.page(a.userAction))
	mux.Handle("GET /admin/roles", a.page(a.roles))
	mux.Handle("POST /admin/roles", a.page(a.saveRole))
	mux.Handle("POST /admin/roles/{name}/delete", a.page(a.deleteRole))
	mux.Handle("GET /admin/settings", a.page(a.settings))
	mux.Handle("POST /admin/settings", a.page(a.saveSettings))
	mux.Handle("GET /admin/audit", a.page(a.audit))
	// OAuth clients, administrators and their API tokens, signing keys
	// (admin_manage.go).
	mux.Handle("GET /admin/clients", a.page(a.clients))
	mux.Handle("POST /admin/clients", a.page(a.createClient))
	mux.Handle("POST /admin/clients/{id}/delete", a.page(a.deleteClient))
	mux.Handle("POST /admin/clients/{id}/dpop", a.page(a.setClientDPoP))
	// Sign-in providers (admin_providers.go).
	mux.Handle("GET /admin/providers", a.page(a.providers))
	mux.Handle("POST /admin/providers", a.page(a.saveProvider))
	mux.Handle("POST /admin/providers/{name}/delete", a.page(a.deleteProvider))
	mux.Handle("GET /admin/admins", a.page(a.admins))
	mux.Handle("POST /admin/admins", a.page(a.createAdmin))
	mux.Handle("POST /admin/admins/{id}/{op}", a.page(a.adminAction))
	mux.Handle("POST /admin/tokens", a.page(a.createToken))
	mux.Handle("POST /admin/tokens/{id}/revoke", a.page(a.revokeToken))
	mux.Handle("GET /admin/keys", a.page(a.keys))
	mux.Handle("POST /admin/keys/rotate", a.page(a.rotateKey))
	// Mail (admin_mail.go).
	mux.Handle("GET /admin/mail", a.page(a.mailList))
	mux.Handle("POST /admin/mail/{id}/retry", a.page(a.mailRetry))
	mux.Handle("GET /admin/mail/settings", a.page(a.mailSettings))
	mux.Handle("POST /admin/mail/settings", a.page(a.saveMailSettings))
	mux.Handle("POST /admin/users/{id}/mail/{op}", a.page(a.userMailAction))
}

// newAdminUI parses the templates.
func newAdminUI(s *server) *adminUI {
	a := &adminUI{s: s, pages: map[string]*template.Template{}, csrf: http.NewCrossOriginProtection()}
	a.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusForbidden, "error", view{Title: "Refused",
			Error: "This request came from another site and was refused (cross-site request forgery protection)."})
	}))
	funcs := template.FuncMap{
		"when":   when,
		"day":    func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"short":  whenShort,
		"dur":    fmtDuration,
		"ago":    ago,
		"device": refreshing.DeviceName,
		"state": func(sess refreshing.Session, st refreshing.Settings, now time.Time) string {
			return refreshing.SessionState(&sess, now, st)
		},
		"mailConfigured": s.svc.MailConfigured, // admin_mail.go
		"setting":        settingDesc,          // a setting's label and help, by form name
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(adminFiles, "adminui/layout.html", "adminui/partials.html"))
	names, _ := fs.Glob(adminFiles, "adminui/*.html")
	for _, n := range names {
		base := strings.TrimSuffix(n[len("adminui/"):], ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		a.pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(adminFiles, n))
	}
	return a
}

// when formats a time for the screens, in UTC (the column headers say so);
// the zero time is "—".
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// whenShort is when without the seconds, for compact rows (the full time
// is in the cell's title).
func whenShort(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// ago says how long before now t was, roughly: "3 min ago", "5 d ago".
// The exact time is beside it in a title.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d d ago", int(d.Hours()/24))
}

// view is what every page template gets.
type view struct {
	Now    time.Time // the Service's clock, for "ago"
	Title  string
	Nav    string // the highlighted menu entry
	Admin  string // the signed-in administrator's email; "" on the login page
	Notice string // a fixed sentence after a successful action
	Error  string
	Data   any
}

// headers sets the admin screens' response headers.
func (a *adminUI) headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", adminCSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// public serves a page that needs no admin session (login, logout), with the
// admin headers and CSRF protection.
func (a *adminUI) public(fn http.HandlerFunc) http.Handler {
	return a.headers(a.csrf.Handler(fn))
}

// page serves a page that needs an admin session: without one, the browser
// is sent to the login page. The administrator becomes the actor of every
// audit event the request causes.
func (a *adminUI) page(fn func(http.ResponseWriter, *http.Request, *refreshing.AdminAuth)) http.Handler {
	return a.headers(a.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(adminCookie)
		var auth *refreshing.AdminAuth
		if err == nil {
			auth, err = a.s.svc.AdminAuthenticate(r.Context(), c.Value)
		}
		if err != nil {
			if !errors.Is(err, refreshing.ErrUnauthenticated) && !errors.Is(err, http.ErrNoCookie) {
				a.fail(w, r, err)
				return
			}
			http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
			return
		}
		ctx := refreshing.WithActor(r.Context(), refreshing.Actor{Name: "admin " + auth.Admin.Email,
			IP: a.s.clientIP(r), UserAgent: r.UserAgent()})
		fn(w, r.WithContext(ctx), auth)
	})))
}

// render writes the page name with status.
func (a *adminUI) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Now = a.s.svc.Now()
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		a.s.log.ErrorContext(r.Context(), "admin template", "request_id", requestIDFrom(r.Context()), "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// statusOf returns the status the error table gives err: 400 for a field
// error, 500 for anything it does not know.
func statusOf(err error) (int, string) {
	var fe *refreshing.FieldError
	if errors.As(err, &fe) {
		return http.StatusBadRequest, fe.Message
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.status, e.message
		}
	}
	return http.StatusInternalServerError, ""
}

// fail renders err as an error page: the table's status and message for a
// known error, a generic 500 (logged once, with the request id) otherwise.
func (a *adminUI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status == http.StatusInternalServerError {
		a.s.log.ErrorContext(r.Context(), "internal error", "request_id", requestIDFrom(r.Context()), "err", err)
		msg = "Something went wrong on our side. The request id is " + requestIDFrom(r.Context()) + "."
	}
	a.render(w, r, status, "error", view{Title: http.StatusText(status), Error: msg})
}

// back redirects to path after a successful POST, with a notice code that
// the page turns into a fixed sentence (never text from the request).
func back(w http.ResponseWriter, r *http.Request, path, notice string, n int) {
	u := path
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "ok=" + url.QueryEscape(notice) + "&n=" + strconv.Itoa(n)
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// notices are the sentences a redirect may ask a page to show.
var notices = map[string]string{
	"revoked":   "Revoked %d session(s).",
	"signedout": "Signed the user out everywhere (%d session(s) revoked).",
	"blocked":   "Blocked the user; every session was revoked.",
	"unblocked": "Unblocked the user.",
	"created":   "Created the user.",
	"deleted":   "Deleted the user and every session of theirs.",
	"role":      "Changed the user's role.",
	"saved":     "Saved. The change applies now.",
	"roledel":   "Deleted the role.",
	// admin_manage.go
	"clientdel":           "Deleted the OAuth client; its secret no longer works, and its sessions were revoked.",
	"clientdpop":          "Saved: the client's next token requests must carry a DPoP proof.",
	"clientnodpop":        "Saved: the client's token requests may come without a DPoP proof.",
	"admincreated":        "Created the administrator.",
	"adminpassword":       "Set the administrator's password; their sessions ended.",
	"admindel":            "Deleted the administrator, with their sessions and API tokens.",
	"tokenrevoked":        "Revoked the API token; it no longer works.",
	"providersaved":       "Saved the sign-in provider. It applies now, on every instance.",
	"providerunreachable": "Saved the sign-in provider, but its issuer's discovery document could not be read (the log says why): sign-in through it fails until it can.",
	"providerdeleted":     "Deleted the sign-in provider. Its users' identities stay linked, should it be added again.",
	"rotated":             "Added a signing key: it signs every new access token from now on. Older keys keep verifying the tokens they signed.",
	// Mail (admin_mail.go).
	"mailretry": "The mail is pending again; the mail sender will try it shortly.",
	"confirmed": "Confirmed the user's email.",
	"password":  "Set the user's password; every session of theirs was revoked.",
	"resent":    "Enqueued a new confirmation mail.",
}

// notice returns the sentence the request's ok and n parameters ask for.
func notice(r *http.Request) string {
	f, ok := notices[r.URL.Query().Get("ok")]
	if !ok {
		return ""
	}
	if strings.Contains(f, "%d") {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		return fmt.Sprintf(f, n)
	}
	return f
}

// secureCookies reports whether cookies for r need Secure: always, except
// for plain-HTTP requests to this machine (a browser would drop a Secure
// cookie set over http://127.0.0.1 by some versions, and nothing travels
// beyond the machine there). A request that reached a trusted proxy over
// HTTPS (see scheme) gets Secure whatever its Host: nginx, for one, sends
// the proxy_pass address (Host: 127.0.0.1:1338) by default.
func (s *server) secureCookies(r *http.Request) bool {
	if s.scheme(r) == "https" {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	return host != "localhost" && host != "127.0.0.1" && host != "::1" && host != "[::1]"
}

// loginPage serves GET /admin/login.
func (a *adminUI) loginPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "login", view{Title: "Sign in"})
}

// login serves POST /admin/login.
func (a *adminUI) login(w http.ResponseWriter, r *http.Request) {
	var token, email string
	f, err := formValues(w, r)
	if err == nil {
		email = f.Get("email")
		token, _, err = a.s.svc.AdminLogin(r.Context(), email, f.Get("password"), a.s.clientInfo(r))
	}
	if err != nil {
		status, msg := statusOf(err)
		switch {
		case errors.Is(err, refreshing.ErrInvalidCredentials):
			msg = "Wrong email or password."
		case errors.Is(err, refreshing.ErrTooManyAttempts):
			w.Header().Set("Retry-After", strconv.Itoa(int((15 * time.Minute).Seconds())))
			msg = "Too many failed attempts. Try again in 15 minutes."
		case status == http.StatusInternalServerError:
			a.fail(w, r, err)
			return
		}
		a.render(w, r, status, "login", view{Title: "Sign in", Error: msg, Data: map[string]string{"Email": email}})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: token, Path: "/admin", HttpOnly: true,
		Secure: a.s.secureCookies(r), SameSite: http.SameSiteStrictMode, MaxAge: int(refreshing.AdminSessionLifetime.Seconds())})
	http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
}

// logout serves POST /admin/logout.
func (a *adminUI) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(adminCookie); err == nil {
		ctx := r.Context()
		if auth, err := a.s.svc.AdminAuthenticate(ctx, c.Value); err == nil {
			ctx = refreshing.WithActor(ctx, refreshing.Actor{Name: "admin " + auth.Admin.Email, IP: a.s.clientIP(r), UserAgent: r.UserAgent()})
		}
		if err := a.s.svc.AdminLogout(ctx, c.Value); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: "/admin", HttpOnly: true,
		Secure: a.s.secureCookies(r), SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// refused answers err, an operator's request the Service refused: an
// internal error as fail does; any other by again(status, message), which
// shows the page again with the message.
func (a *adminUI) refused(w http.ResponseWriter, r *http.Request, err error, again func(status int, msg string)) {
	status, msg := statusOf(err)
	if status == http.StatusInternalServerError {
		a.fail(w, r, err)
		return
	}
	again(status, msg)
}

// formValues parses a POSTed form, bounded like every body.
func formValues(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return nil, refreshing.Invalid("form", "the form could not be read")
	}
	if err := checkValues(r.PostForm); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// cursor encodes a keyset position as "<unix micros>.<id>".
func cursor(t time.Time, id string) string {
	return strconv.FormatInt(t.UnixMicro(), 10) + "." + id
}

// parseCursor decodes cursor's output; "" is the start.
func parseCursor(v string) (time.Time, string, error) {
	if v == "" {
		return time.Time{}, "", nil
	}
	us, id, ok := strings.Cut(v, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || len(id) > 200 {
		return time.Time{}, "", refreshing.Invalid("before", "not a page cursor")
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// withQuery returns path?values, or path alone when values is empty.
func withQuery(path string, v url.Values) string {
	if q := v.Encode(); q != "" {
		return path + "?" + q
	}
	return path
}

// idForm reads the numeric {id} of a form's path (a bad one is
// refreshing.ErrNotFound) and the form's values (formValues).
func idForm(w http.ResponseWriter, r *http.Request) (int64, url.Values, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, nil, refreshing.ErrNotFound
	}
	f, err := formValues(w, r)
	return id, f, err
}
