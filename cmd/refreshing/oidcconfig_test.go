package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigMasksProviderSecrets: refreshing config shows the providers
// but never a client secret, and refuses a bad list as a usage error.
func TestConfigMasksProviderSecrets(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.db")
	env := map[string]string{"REFRESHING_OIDC_PROVIDERS": `[{"name":"google","type":"google","clientId":"cid.apps","clientSecret":"GOCSPX-very-secret"}]`}
	out, _, err := runCLI(env, "config", "--json", "--db", "sqlite:"+missing)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "GOCSPX-very-secret") || !strings.Contains(out, "cid.apps") || !strings.Contains(out, "https://accounts.google.com") && !strings.Contains(out, "google") {
		t.Fatalf("config:\n%s", out)
	}
	_, _, err = runCLI(map[string]string{"REFRESHING_OIDC_PROVIDERS": `[{"name":"Bad Name","clientId":"x","issuer":"https://id.example"}]`}, "config", "--db", "sqlite:"+missing)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "REFRESHING_OIDC_PROVIDERS") {
		t.Fatalf("bad providers: %v", err)
	}
}
