package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the path of the Chromium (or Chrome) binary. Without
// one the browser tests fail in CI (CI=true, where .ci/run installs Debian's
// chromium) and are skipped elsewhere, saying how to get it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium binary on PATH; .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("no chromium binary on PATH: install it (apt-get install -y chromium) to run the browser tests")
	return ""
}

// browser starts a headless Chromium with a fresh profile for t.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, without a timeout (a timeout would stop it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page drives one browser tab for a test, each step bounded in time.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // where screenshots go
}

// do runs steps, failing the test on error.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		p.t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// text returns the text of the first element matching the CSS selector.
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// open navigates to path and waits for the page's heading.
func (p *page) open(path string) {
	p.t.Helper()
	p.do("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// follow clicks the element sel, which loads another page, and returns once
// that page has loaded: a mark set on the current document must be gone, so
// no later step can look at the page being left.
func (p *page) follow(sel string) {
	p.t.Helper()
	p.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__leaving = true`))
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(20 * time.Second)
	for {
		loaded, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`!window.__leaving && document.readyState === "complete"`))
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("click %s: the next page did not load (%v)", sel, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// submit clicks the element sel, which submits a form, and waits for the
// next page to show want in an element matching waitSel.
func (p *page) submit(sel, waitSel, want string) {
	p.t.Helper()
	p.follow(sel)
	p.do("wait for "+waitSel, chromedp.WaitVisible(chromedp.CSS(waitSel)))
	if got := p.text(waitSel); !strings.Contains(got, want) {
		p.t.Fatalf("after clicking %s: %s says %q, want %q", sel, waitSel, got, want)
	}
}

// shot saves a full-page screenshot as name.png in the test's artifact
// directory.
func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestAdminInBrowser drives the admin screens of a running server in
// headless Chromium, as an operator would: sign in, find a user's session
// and revoke it (its refresh token stops working over the API), change a
// setting (it takes effect at once), block a user, and see a cross-site
// form refused. It saves a screenshot of each screen in the test's artifact
// directory (go test -artifacts keeps them).
func TestAdminInBrowser(t *testing.T) {
	ctx := browser(t)
	in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), nil)
	const adminPW = "operator password 1"
	if out, err := in.cli("admin", "create", "--email", "ops@example.com", "--password", adminPW); err != nil {
		t.Fatalf("admin create: %v %s", err, out)
	}
	dir := t.ArtifactDir()
	t.Logf("screenshots in %s", dir)
	p := &page{t: t, ctx: ctx, base: in.url, dir: dir}

	// Two users signed in through the API; one of Ada's user agents is hostile.
	register := func(name string) map[string]any {
		code, m := in.post(t, "/api/auth/local/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": "pw-" + name + "-123"})
		if code != 200 {
			t.Fatalf("register %s: %d %v", name, code, m)
		}
		return m
	}
	ada, bob := register("ada"), register("bob")
	req, _ := http.NewRequest(http.MethodPost, in.url+"/api/auth/local", strings.NewReader(`{"identifier":"ada","password":"pw-ada-123"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", `<script>alert("pwned")</script> Firefox/140.0`)
	if code, _ := do(t, req); code != 200 {
		t.Fatalf("hostile login: %d", code)
	}

	// Sign in.
	p.open("/admin/login")
	p.shot("login")
	p.do("sign in",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ops@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPW),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.sessions`)))
	if h := p.text("h1"); h != "Sessions" {
		t.Fatalf("after sign-in: %q", h)
	}
	// The hostile user agent is text in a title (the rows are compact), never markup.
	shown, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.querySelectorAll("script").length === 0 &&
		[...document.querySelectorAll("table.sessions a[title]")].some(a => a.title.includes('<script>alert("pwned")</script>'))`))
	if err != nil || !shown {
		t.Errorf("the hostile user agent is not shown as text: %v", err)
	}
	p.shot("sessions")

	// Find Ada's first session by her email and revoke it.
	code, list := in.get(t, "/api/users/me/sessions", ada["jwt"].(string))
	if code != 200 {
		t.Fatal(code)
	}
	var adaSession string
	for _, s := range list.([]any) {
		if s.(map[string]any)["current"] == true {
			adaSession = s.(map[string]any)["id"].(string)
		}
	}
	p.do("filter by user", chromedp.SetValue(chromedp.CSS(`input[name=user]`), "ada@example.com"))
	p.follow(`form.filters button`)
	p.do("find the session", chromedp.WaitVisible(chromedp.CSS(`tr[data-session="`+adaSession+`"]`)))
	if rows := p.text("table.sessions tbody"); strings.Contains(rows, "bob@example.com") {
		t.Fatal("the user filter shows Bob's session")
	}
	p.shot("sessions-filtered")
	p.submit(`button[name=one][value="`+adaSession+`"]`, "p.notice", "Revoked 1 session(s).")
	p.shot("sessions-revoked")
	if code, m := in.post(t, "/api/auth/token", "", map[string]string{"token": ada["refreshToken"].(string)}); code != 401 {
		t.Fatalf("the revoked session's refresh token: %d %v, want 401", code, m)
	}

	// The same screen at a phone's width.
	p.do("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(in.url+"/admin/sessions"), chromedp.WaitVisible(chromedp.CSS("h1")))
	p.shot("sessions-phone")
	p.do("desktop width", chromedp.EmulateViewport(1280, 900))

	// Change a setting: close registration; it applies at once.
	p.open("/admin/settings")
	p.shot("settings")
	p.do("untick registration", chromedp.Click(chromedp.CSS(`#f-registration`)))
	p.submit(`form.settings button[type=submit]`, "p.notice", "Saved")
	if code, m := in.post(t, "/api/auth/local/register", "", map[string]string{"username": "eve", "email": "eve@example.com", "password": "pw-eve-123"}); code != 400 {
		t.Fatalf("register with registration closed: %d %v", code, m)
	}
	// Nonsense is refused with a clear message beside the field.
	p.do("grace longer than the token",
		chromedp.SetValue(chromedp.CSS(`#f-accessTTL`), "1m"),
		chromedp.SetValue(chromedp.CSS(`#f-reuseGrace`), "2m"))
	p.submit(`form.settings button[type=submit]`, "p.error", "must not be longer than the access token lifetime")
	p.shot("settings-refused")

	// Block Bob from his page: every session of his ends.
	p.open("/admin/users?q=bob")
	p.shot("users")
	p.do("open bob", chromedp.Click(chromedp.CSS(`table a[href^="/admin/users/"]`)), chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	p.shot("user")
	p.submit(`form[action$="/block"] button`, "p.notice", "Blocked the user")
	p.shot("user-blocked")
	if code, _ := in.post(t, "/api/auth/token", "", map[string]string{"token": bob["refreshToken"].(string)}); code != 401 {
		t.Fatalf("blocked user's refresh token: %d, want 401", code)
	}
	if code, m := in.post(t, "/api/auth/local", "", map[string]string{"identifier": "bob", "password": "pw-bob-123"}); code != 400 ||
		!strings.Contains(fmt.Sprint(m), "blocked") {
		t.Fatalf("blocked user's login: %d %v", code, m)
	}

	p.open("/admin/roles")
	p.shot("roles")
	p.open("/admin/audit")
	if log := p.text("table.events"); !strings.Contains(log, "block") || !strings.Contains(log, "settings.change") || !strings.Contains(log, "admin.revoke") {
		t.Errorf("the audit log lacks the operator's actions: %q", log)
	}
	p.shot("audit")

	// A page on another origin posts a form to the admin screens: refused,
	// though the browser is signed in and sends its cookie (same site).
	alive := firstActive(t, in, "ada@example.com") // her session with the hostile user agent
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><h1>Win a prize</h1><form method="post" action="%s/admin/sessions/revoke">
			<input type="hidden" name="one" value="%s"><button id="go">Claim</button></form>`, in.url, alive)
	}))
	t.Cleanup(evil.Close)
	p.do("cross-site form", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#go")),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if msg := p.text("p.error"); !strings.Contains(msg, "another site") {
		t.Fatalf("cross-site form: %q", msg)
	}
	p.shot("csrf-refused")
	if out, err := in.cli("sessions", "list", "--email", "ada@example.com"); err != nil || !strings.Contains(out, alive) {
		t.Fatalf("the session a cross-site form targeted is gone: %v\n%s", err, out)
	}
}

// firstActive returns the id of an active session of the user, from the CLI.
func firstActive(t *testing.T, in *instance, email string) string {
	t.Helper()
	out, err := in.cli("sessions", "list", "--email", email)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("no active session of %s:\n%s", email, out)
	}
	return strings.Fields(lines[1])[0]
}
