package refreshing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

func TestParse(t *testing.T) {
	cs, err := refreshing.ParseProviders(`[{"name":"google","type":"google","clientId":"c","clientSecret":"s"},{"name":"gh","type":"github","clientId":"c"},{"name":"corp","issuer":"https://id.example/realms/x","clientId":"c"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Issuer != "https://accounts.google.com" || cs[1].TokenURL != "https://github.com/login/oauth/access_token" || cs[2].Type != "oidc" || len(cs[2].Scopes) != 3 {
		t.Fatalf("defaults: %+v", cs)
	}
	for _, bad := range []string{
		`{"name":"x"}`,
		`[{"name":"Corp","issuer":"https://id.example","clientId":"c"}]`,
		`[{"name":"corp","issuer":"https://id.example"}]`,
		`[{"name":"corp","clientId":"c"}]`,
		`[{"name":"corp","issuer":"ftp://id.example","clientId":"c"}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","redirectUrls":["/relative"]}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","redirectUrls":["https://app.example/#x"]}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","tokenUrl":"https://t.example"}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c"},{"name":"corp","issuer":"https://id.example","clientId":"d"}]`,
		`[{"name":"corp","type":"saml","issuer":"https://id.example","clientId":"c"}]`,
		`[{"name":"corp","issuer":"https://id.example","clientId":"c","clientSecrte":"typo"}]`,
	} {
		if _, err := refreshing.ParseProviders(bad); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestMask(t *testing.T) {
	m := refreshing.MaskProviders(`[{"name":"g","type":"google","clientId":"cid","clientSecret":"hunter2-secret"}]`)
	if strings.Contains(m, "hunter2") || !strings.Contains(m, "cid") || !strings.Contains(m, "not shown") {
		t.Fatalf("Mask = %s", m)
	}
	if m := refreshing.MaskProviders(`not json "hunter2-secret"`); strings.Contains(m, "hunter2") {
		t.Fatalf("Mask of garbage = %s", m)
	}
}

// TestSignInProviderRules: the environment's providers win over saved ones
// of the same name, which are listed as overridden; saving without a secret
// keeps the saved one; the environment's names cannot be saved or deleted;
// the audit log never holds a secret; two Services on one database see each
// other's changes at once.
func TestSignInProviderRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	corp := refreshing.ProviderConfig{Name: "corp", Issuer: "https://id.example", ClientID: "c", ClientSecret: "saved-secret-1"}
	if _, err := e.svc.SaveSignInProvider(ctx, corp); err != nil {
		t.Fatal(err)
	}
	corp.ClientSecret, corp.ClientID = "", "c2"
	p, err := e.svc.SaveSignInProvider(ctx, corp)
	if err != nil || !p.SecretSet || p.ClientSecret != "saved-secret-1" || p.Redacted().ClientSecret != "" || !p.Redacted().SecretSet {
		t.Fatalf("save without a secret: %+v, %v", p, err)
	}
	if _, err := e.svc.SaveSignInProvider(ctx, refreshing.ProviderConfig{Name: "corp", Issuer: "https://id.example"}); err == nil {
		t.Fatal("a provider without a client id was saved")
	}
	if c, err := e.svc.SignInProvider(ctx, "corp"); err != nil || c.ClientID != "c2" {
		t.Fatalf("after a refused save: %+v, %v", c, err)
	}

	// A second instance on the same database, whose environment names corp.
	other, err := refreshing.New(ctx, refreshing.Config{Store: e.store, Hasher: refreshing.NewHasher(cheap, 0),
		Providers: []refreshing.ProviderConfig{{Name: "corp", Type: "google", ClientID: "env", ClientSecret: "env-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := other.SignInProviders(ctx)
	if err != nil || len(list) != 2 || list[0].Source != refreshing.ProviderFromEnvironment || list[1].Source != refreshing.ProviderFromSettings || !list[1].Overridden {
		t.Fatalf("SignInProviders with the environment's corp: %+v, %v", list, err)
	}
	if c, err := other.SignInProvider(ctx, "corp"); err != nil || c.ClientID != "env" || c.Issuer != "https://accounts.google.com" {
		t.Fatalf("the provider in force: %+v, %v", c, err)
	}
	var fe *refreshing.FieldError
	if _, err := other.SaveSignInProvider(ctx, corp); !errors.As(err, &fe) {
		t.Fatalf("saving over the environment's provider: %v", err)
	}
	if err := other.DeleteSignInProvider(ctx, "corp"); !errors.As(err, &fe) {
		t.Fatalf("deleting the environment's provider: %v", err)
	}
	if err := e.svc.DeleteSignInProvider(ctx, "corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SignInProvider(ctx, "corp"); !errors.Is(err, refreshing.ErrUnknownProvider) {
		t.Fatalf("after delete: %v", err)
	}
	if err := e.svc.DeleteSignInProvider(ctx, "corp"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	e.svc.FlushAudit(ctx)
	evs, err := e.store.ListAudit(ctx, refreshing.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var saves, deletes int
	for _, ev := range evs {
		if strings.Contains(ev.Detail, "secret-1") {
			t.Fatalf("the audit log holds the secret: %+v", ev)
		}
		switch ev.Type {
		case refreshing.AuditProviderSave:
			saves++
		case refreshing.AuditProviderDelete:
			deletes++
		}
	}
	if saves != 2 || deletes != 1 {
		t.Fatalf("audit: %d saves and %d deletes, want 2 and 1", saves, deletes)
	}
}
