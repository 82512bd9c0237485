package refreshing_test

import (
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
