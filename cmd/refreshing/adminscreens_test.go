package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/sqlite"
)

// seedScreens fills the database at db with what the admin screens list:
// users, sessions from varied devices (some revoked, some expired), and an
// OAuth client, written straight to the store (no password hashing). It
// returns the id of a session that is active.
func seedScreens(t *testing.T, db string, users, perUser int) (active string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	agents := []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"okhttp/4.12.0",
	}
	st0 := refreshing.DefaultSettings()
	base := time.Now().UTC().Add(-16 * 24 * time.Hour).Truncate(time.Microsecond)
	for i := range users {
		at := base.Add(time.Duration(i) * 3 * time.Hour)
		u := &refreshing.User{DocumentID: fmt.Sprintf("u_seed%d", i), Username: fmt.Sprintf("member%03d", i),
			Email: fmt.Sprintf("member%03d.with-a-longer-name@example.com", i), PasswordHash: "$argon2id$seed", Provider: "local",
			Role: "authenticated", Confirmed: i%9 != 4, Blocked: i%23 == 5, CreatedAt: at, UpdatedAt: at}
		if err := st.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		for j := range perUser {
			when := at.Add(time.Duration(j*5+1) * time.Hour)
			ci := refreshing.ClientInfo{UserAgent: agents[(i+j)%len(agents)], IP: fmt.Sprintf("203.0.113.%d", (i*7+j)%250+1)}
			if j == 1 {
				ci.Description = "Work laptop"
			}
			sess, _ := refreshing.NewSession(u.ID, ci, when, st0)
			sess.LastActivity = when.Add(time.Duration(i%5) * time.Hour)
			if err := st.CreateSession(t.Context(), sess, 0); err != nil {
				t.Fatal(err)
			}
			if i == 7 && j == 0 {
				active = sess.ID
			}
			if (i+j)%11 == 3 {
				if err := st.RevokeSession(t.Context(), sess.ID, refreshing.ReasonLogout, when.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := st.CreateClient(t.Context(), &refreshing.Client{ID: "mobile-app", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	return active
}

// TestAdminScreensInBrowser opens every admin screen in headless Chromium at
// a desktop's (1280×800) and a phone's (390×844) size, checks that no page
// scrolls sideways and that each shows what it is for, and saves a
// screenshot of each in the test's artifact directory (go test -artifacts).
// It also creates an OAuth client and an API token (each secret shown once),
// adds a sign-in provider and rotates the signing key from the screens.
func TestAdminScreensInBrowser(t *testing.T) {
	ctx := browser(t)
	db := filepath.Join(t.TempDir(), "refreshing.db")
	session := seedScreens(t, db, 120, 3)
	in := start(t, db, nil)
	const adminPW = "operator password 1"
	if out, err := in.cli("admin", "create", "--email", "ops@example.com", "--password", adminPW); err != nil {
		t.Fatalf("admin create: %v %s", err, out)
	}
	dir := t.ArtifactDir()
	t.Logf("screenshots in %s", dir)
	p := &page{t: t, ctx: ctx, base: in.url, dir: dir}

	p.do("desktop size", chromedp.EmulateViewport(1280, 800))
	p.open("/admin/login")
	p.do("sign in",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "ops@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPW),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.sessions`)))

	// Secrets shown once, and a rotation, from the screens.
	p.open("/admin/clients")
	p.do("client id, requiring DPoP", chromedp.SendKeys(chromedp.CSS(`input[name=id]`), "backend"), chromedp.Click(chromedp.CSS(`input[name=dpop]`)))
	p.submit(`form[action="/admin/clients"] button`, ".notice.secret", "Created the client backend")
	p.shot("clients-created-1280")
	if row := p.text(`tr:has(form[action="/admin/clients/backend/dpop"])`); !strings.Contains(row, "required") {
		t.Errorf("the new client's row reads %q, want DPoP required", row)
	}
	p.submit(`form[action="/admin/clients/backend/dpop"] button`, "p.notice", "may come without a DPoP proof")
	if row := p.text(`tr:has(form[action="/admin/clients/backend/dpop"])`); !strings.Contains(row, "optional") {
		t.Errorf("after stopping to require DPoP the row reads %q", row)
	}
	p.open("/admin/providers")
	p.do("a provider", chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "corp"),
		chromedp.SendKeys(chromedp.CSS(`input[name=issuer]`), "http://127.0.0.1:9/realms/a-rather-long-realm-name-nobody-listens-at"),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), "refreshing-web"),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), "provider-secret-in-browser"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=redirectUrls]`), "https://app.example.com/signed-in\nhttps://app.example.com/other-page"))
	p.submit(`form[action="/admin/providers"] button[type=submit]`, "p.notice", "Saved the sign-in provider")
	if row := p.text(`tr:has(a[href="/admin/providers?edit=corp"])`); !strings.Contains(row, "set (not shown)") || !strings.Contains(row, "other-page") {
		t.Errorf("the new provider's row reads %q", row)
	}
	p.open("/admin/admins")
	p.do("token name", chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "deploy script"))
	p.submit(`form[action="/admin/tokens"] button`, ".notice.secret", "Created the API token deploy script")
	p.shot("admins-token-1280")
	p.open("/admin/keys")
	p.submit(`form[action="/admin/keys/rotate"] button`, "p.notice", "Added a signing key")
	if keys := p.text("table"); !strings.Contains(keys, "signing") || !strings.Contains(keys, "verifying") {
		t.Errorf("after a rotation the keys table shows %q, want a signing and a verifying key", keys)
	}

	screens := []struct{ name, path, want string }{
		{"sessions", "/admin/sessions", "Ordered by sign-in time"},
		{"sessions-older", "", "Ordered by sign-in time"}, // the second page, reached by its link
		{"session", "/admin/sessions/" + session, "User agent"},
		{"users", "/admin/users", "users"},
		{"user", "/admin/users/8", "Active sessions"},
		{"audit", "/admin/audit", "Newest first"},
		{"settings", "/admin/settings", "Rate limits"},
		{"roles", "/admin/roles", "Allowed actions"},
		{"clients", "/admin/clients", "mobile-app"},
		{"providers", "/admin/providers", "refreshing-web"},
		{"provider-edit", "/admin/providers?edit=corp", "A secret is set; leave this blank to keep it."},
		{"admins", "/admin/admins", "API tokens"},
		{"keys", "/admin/keys", "Rotate"},
	}
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"1280", 1280, 800}, {"390", 390, 844}} {
		p.do("size "+size.name, chromedp.EmulateViewport(size.width, size.height))
		for _, s := range screens {
			if s.path == "" {
				p.follow(`nav.pager a[href*="after="]`)
			} else {
				p.open(s.path)
			}
			if got := p.text("main"); !strings.Contains(got, s.want) {
				t.Errorf("%s at %s: the page lacks %q", s.name, size.name, s.want)
			}
			wide, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if wide {
				t.Errorf("%s at %s px scrolls sideways", s.name, size.name)
			}
			p.shot(s.name + "-" + size.name)
		}
	}
	p.open("/admin/login")
	p.shot("login-390")
}
