package refreshing_test

import (
	"testing"

	"github.com/refreshing/refreshing"
)

func TestSettingsFromEnvOrigins(t *testing.T) {
	env := map[string]string{"REFRESHING_ALLOWED_ORIGINS": "https://app.example.com,http://localhost:5173", "REFRESHING_COOKIE_MODE": "true"}
	s, err := refreshing.SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.AllowedOrigins != env["REFRESHING_ALLOWED_ORIGINS"] || !s.CookieMode {
		t.Fatalf("settings %+v", s)
	}
	for k, v := range map[string]string{"REFRESHING_ALLOWED_ORIGINS": "*", "REFRESHING_COOKIE_MODE": "sometimes"} {
		if _, err := refreshing.SettingsFromEnv(func(n string) string {
			if n == k {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}
