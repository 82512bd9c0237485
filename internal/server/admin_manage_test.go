package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// TestAdminManageScreens drives the clients, administrators and keys
// screens through a real listener: each change happens, each secret is
// shown once (and never again), each refused form changes nothing.
func TestAdminManageScreens(t *testing.T) {
	e := start(t, setup{})
	c := e.admin()
	ctx := t.Context()

	t.Run("Clients", func(t *testing.T) {
		r := c.post("/admin/clients", url.Values{"id": {"backend"}, "kind": {"confidential"}, "password": {"on"}}, nil)
		r.wantPage(t, http.StatusOK, "Created the client", "this once")
		m := regexp.MustCompile(`value="([A-Za-z0-9_-]{40,})" aria-label="client secret"`).FindStringSubmatch(string(r.body))
		if m == nil {
			t.Fatalf("no secret on the page:\n%s", r.body)
		}
		value := m[1]
		e.remember(value)
		if _, err := e.svc.AuthenticateClient(ctx, "backend", value); err != nil {
			t.Fatalf("the secret shown does not authenticate: %v", err)
		}
		if body := string(c.get("/admin/clients").body); strings.Contains(body, value) || !strings.Contains(body, "backend") {
			t.Fatal("the clients screen shows the secret again, or not the client")
		}
		c.post("/admin/clients", url.Values{"id": {"backend"}}, nil).wantPage(t, http.StatusBadRequest, "already exists")
		c.post("/admin/clients", url.Values{"id": {"bad id"}}, nil).wantPage(t, http.StatusBadRequest)
		c.post("/admin/clients/backend/delete", url.Values{}, nil).wantPage(t, http.StatusBadRequest, "tick the box")
		if _, err := e.svc.Client(ctx, "backend"); err != nil {
			t.Fatalf("a refused deletion deleted: %v", err)
		}
		if r := c.post("/admin/clients/backend/delete", url.Values{"confirm": {"yes"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("delete: %d", r.status)
		}
		if _, err := e.svc.AuthenticateClient(ctx, "backend", value); err == nil {
			t.Fatal("a deleted client still authenticates")
		}
	})

	t.Run("ClientDPoP", func(t *testing.T) {
		// Created requiring DPoP, then changed both ways from the table;
		// the token endpoint follows each change at once.
		dee := e.register("dee")
		grant := func() response {
			return e.token(url.Values{"grant_type": {"password"}, "client_id": {"spa"}, "username": {"dee"}, "password": {dee.password}})
		}
		c.post("/admin/clients", url.Values{"id": {"spa"}, "kind": {"public"}, "password": {"on"}, "dpop": {"on"}}, nil).
			wantPage(t, http.StatusOK, "Created the client", "required")
		if cl, err := e.svc.Client(ctx, "spa"); err != nil || !cl.RequireDPoP {
			t.Fatalf("created: %+v %v; want RequireDPoP", cl, err)
		}
		if r := grant(); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "invalid_dpop_proof") {
			t.Fatalf("a token request without a proof: %d %s", r.status, r.body)
		}
		if r := c.post("/admin/clients/spa/dpop", url.Values{"require": {"no"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("stop requiring: %d %s", r.status, r.body)
		}
		c.get("/admin/clients?ok=clientnodpop").wantPage(t, http.StatusOK, "may come without a DPoP proof", "Require DPoP of spa")
		if r := grant(); r.status != http.StatusOK {
			t.Fatalf("no longer required: %d %s", r.status, r.body)
		}
		if r := c.post("/admin/clients/spa/dpop", url.Values{"require": {"yes"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("require: %d %s", r.status, r.body)
		}
		if r := grant(); r.status != http.StatusBadRequest {
			t.Fatalf("required again: %d %s", r.status, r.body)
		}
		// Refused forms change nothing.
		c.post("/admin/clients/spa/dpop", url.Values{"require": {"maybe"}}, nil).wantPage(t, http.StatusBadRequest, "must use DPoP")
		c.post("/admin/clients/nope/dpop", url.Values{"require": {"yes"}}, nil).wantPage(t, http.StatusNotFound)
		if cl, _ := e.svc.Client(ctx, "spa"); !cl.RequireDPoP {
			t.Fatal("a refused form changed the client")
		}
	})

	t.Run("AdminsAndTokens", func(t *testing.T) {
		if r := c.post("/admin/admins", url.Values{"email": {"second@example.com"}, "password": {"another long password"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("add admin: %d %s", r.status, r.body)
		}
		c.post("/admin/admins", url.Values{"email": {"x@example.com"}, "password": {"short"}}, nil).wantPage(t, http.StatusBadRequest, "at least 10")
		second, err := e.svc.FindAdmin(ctx, "second@example.com")
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(second.ID)
		if r := c.post("/admin/admins/"+id+"/password", url.Values{"password": {"a reset password"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("reset password: %d %s", r.status, r.body)
		}
		if _, _, err := e.svc.AdminLogin(ctx, "second@example.com", "a reset password", refreshing.ClientInfo{IP: "127.0.0.1"}); err != nil {
			t.Fatalf("sign in with the reset password: %v", err)
		}

		r := c.post("/admin/tokens", url.Values{"name": {"deploy"}, "ttl": {"30d"}}, nil)
		r.wantPage(t, http.StatusOK, "Created the API token", "this once")
		token := regexp.MustCompile(`rfa_[A-Za-z0-9_-]+`).FindString(string(r.body))
		e.remember(token)
		if _, _, err := e.svc.AuthenticateAdminToken(ctx, token); err != nil {
			t.Fatalf("the token shown does not authenticate: %v", err)
		}
		if strings.Contains(string(c.get("/admin/admins").body), token) {
			t.Fatal("the token is shown again")
		}
		c.post("/admin/tokens", url.Values{"name": {"x"}, "ttl": {"forever"}}, nil).wantPage(t, http.StatusBadRequest, "lifetime")
		tokens, err := e.svc.AdminTokens(ctx, 0)
		if err != nil || len(tokens) != 1 {
			t.Fatalf("tokens after a refused form: %v %v", tokens, err)
		}
		if r := c.post(fmt.Sprintf("/admin/tokens/%d/revoke", tokens[0].ID), url.Values{}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", r.status)
		}
		if _, _, err := e.svc.AuthenticateAdminToken(ctx, token); err == nil {
			t.Fatal("a revoked token still authenticates")
		}
		if r := c.post("/admin/admins/"+id+"/delete", url.Values{"confirm": {"yes"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("delete admin: %d", r.status)
		}
		me, _ := e.svc.FindAdmin(ctx, "ops@example.com")
		c.post(fmt.Sprintf("/admin/admins/%d/delete", me.ID), url.Values{"confirm": {"yes"}}, nil).wantPage(t, http.StatusBadRequest, "last administrator")
	})

	t.Run("Keys", func(t *testing.T) {
		before, err := e.svc.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r := c.post("/admin/keys/rotate", url.Values{}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("rotate: %d", r.status)
		}
		after, err := e.svc.SigningKeys(ctx)
		if err != nil || len(after) != len(before)+1 || after[0].State != refreshing.KeySigning || after[1].State != refreshing.KeyVerifying {
			t.Fatalf("keys after a rotation: %+v %v", after, err)
		}
		c.get("/admin/keys").wantPage(t, http.StatusOK, after[0].ID, "verifying")
		// A cross-site form cannot rotate.
		c.post("/admin/keys/rotate", url.Values{}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}).wantPage(t, http.StatusForbidden)
	})
}
