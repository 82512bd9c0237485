package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
)

// TestOIDCInBrowser signs in through a real OpenID Connect provider on
// loopback in headless Chromium: the browser follows connect → provider →
// callback with its own cookies (the signed state cookie included), once
// ending on the JSON answer and once on an allowed front-end page that
// reads the tokens from its URL fragment.
func TestOIDCInBrowser(t *testing.T) {
	ctx := browser(t)
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Shutdown() })
	// The front end: a page of another origin that shows what its fragment carries.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>app</title><h1 id="out"></h1><script>
			const p = new URLSearchParams(location.hash.slice(1));
			document.getElementById("out").textContent = JSON.stringify({jwt: p.get("jwt"), refreshToken: p.get("refreshToken")});
			history.replaceState(null, "", location.pathname);
		</script>`)
	}))
	t.Cleanup(front.Close)
	landing := strings.Replace(front.URL, "127.0.0.1", "localhost", 1) + "/signed-in"
	providers := fmt.Sprintf(`[{"name":"corp","issuer":%q,"clientId":%q,"clientSecret":%q,"redirectUrls":[%q]}]`,
		op.Issuer(), op.ClientID, op.ClientSecret, landing)
	in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), map[string]string{"REFRESHING_OIDC_PROVIDERS": providers})

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// 1. The JSON answer, as a browser shows it.
	op.QueueUser(&mockoidc.MockUser{Subject: "ada-1", Email: "ada@corp.example", EmailVerified: true, PreferredUsername: "ada"})
	run("sign in", chromedp.Navigate(in.url+"/api/connect/corp"), chromedp.WaitVisible(chromedp.CSS("body")))
	var grant struct {
		JWT          string         `json:"jwt"`
		RefreshToken string         `json:"refreshToken"`
		User         map[string]any `json:"user"`
	}
	if err := json.Unmarshal([]byte(text("body")), &grant); err != nil || grant.JWT == "" || grant.RefreshToken == "" || grant.User["email"] != "ada@corp.example" {
		t.Fatalf("callback page: %v %+v", err, grant)
	}
	// The state cookie was used up: reloading the callback is refused.
	run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("body")))
	if body := text("body"); !strings.Contains(body, "Invalid or expired sign-in state") {
		t.Fatalf("reloaded callback: %s", body)
	}

	// 2. Ending on the front end, the tokens in the fragment.
	op.QueueUser(&mockoidc.MockUser{Subject: "ada-1", Email: "ada@corp.example", EmailVerified: true})
	run("sign in to the front end", chromedp.Navigate(in.url+"/api/connect/corp?redirect="+url.QueryEscape(landing)),
		chromedp.WaitVisible(chromedp.CSS("#out")))
	var tokens struct{ JWT, RefreshToken string }
	if err := json.Unmarshal([]byte(text("#out")), &tokens); err != nil || tokens.JWT == "" || tokens.RefreshToken == "" {
		t.Fatalf("front-end page: %v %+v", err, tokens)
	}
	code, m := in.post(t, "/api/auth/token", "", map[string]string{"token": tokens.RefreshToken})
	if code != 200 || m["refreshToken"] == tokens.RefreshToken {
		t.Fatalf("exchange of the front end's token: %d %v", code, m)
	}
	code, me := in.get(t, "/api/users/me", tokens.JWT)
	if code != 200 || me.(map[string]any)["id"] != grant.User["id"] {
		t.Fatalf("/api/users/me: %d %v, want user %v", code, me, grant.User["id"])
	}
}

// TestOIDCCodeInBrowser: a provider with redirectWith "code" ends on a
// front-end page of another origin with a one-time code in the fragment,
// which the page redeems with fetch (CORS: its origin is allowed) for the
// tokens; a second redemption is refused.
func TestOIDCCodeInBrowser(t *testing.T) {
	ctx := browser(t)
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Shutdown() })
	var auth string // Refreshing's URL, known once it runs
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>app</title><h1 id="out"></h1><script>
			const p = new URLSearchParams(location.hash.slice(1));
			history.replaceState(null, "", location.pathname);
			const redeem = () => fetch(%q + "/api/auth/code", {method: "POST", headers: {"content-type": "application/json"},
				body: JSON.stringify({code: p.get("code")})});
			(async () => {
				const first = await redeem();
				const body = await first.json();
				const second = await redeem();
				document.getElementById("out").textContent = JSON.stringify({hash: [...p.keys()], status: first.status,
					jwt: body.jwt, refreshToken: body.refreshToken, again: second.status, againMessage: (await second.json()).error.message});
			})();
		</script>`, auth)
	}))
	t.Cleanup(front.Close)
	landing := strings.Replace(front.URL, "127.0.0.1", "localhost", 1) + "/signed-in"
	providers := fmt.Sprintf(`[{"name":"corp","issuer":%q,"clientId":%q,"clientSecret":%q,"redirectUrls":[%q],"redirectWith":"code"}]`,
		op.Issuer(), op.ClientID, op.ClientSecret, landing)
	in := start(t, filepath.Join(t.TempDir(), "refreshing.db"), map[string]string{"REFRESHING_OIDC_PROVIDERS": providers,
		"REFRESHING_ALLOWED_ORIGINS": strings.TrimSuffix(landing, "/signed-in")})
	auth = in.url

	op.QueueUser(&mockoidc.MockUser{Subject: "ada-1", Email: "ada@corp.example", EmailVerified: true, PreferredUsername: "ada"})
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, chromedp.Navigate(in.url+"/api/connect/corp?redirect="+url.QueryEscape(landing))); err != nil {
		t.Fatalf("sign in to the front end: %v", err)
	}
	// The page fills #out once both redemptions have answered.
	s, err := chromedp.Run(c, chromedp.Poll[string](`document.getElementById("out").textContent`))
	if err != nil {
		t.Fatalf("front-end page: %v", err)
	}
	var out struct {
		Hash         []string
		Status       int
		JWT          string
		RefreshToken string
		Again        int
		AgainMessage string
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("front-end page %q: %v", s, err)
	}
	if strings.Join(out.Hash, ",") != "code,provider" || out.Status != 200 || out.JWT == "" || out.RefreshToken == "" ||
		out.Again != 400 || out.AgainMessage != "Invalid or expired sign-in code" {
		t.Fatalf("front-end page: %+v", out)
	}
	code, me := in.get(t, "/api/users/me", out.JWT)
	if code != 200 || me.(map[string]any)["email"] != "ada@corp.example" {
		t.Fatalf("/api/users/me: %d %v", code, me)
	}
	code, m := in.post(t, "/api/auth/token", "", map[string]string{"token": out.RefreshToken})
	if code != 200 || m["refreshToken"] == out.RefreshToken {
		t.Fatalf("exchange of the redeemed refresh token: %d %v", code, m)
	}
}
