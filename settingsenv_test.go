package refreshing_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// TestSettingVars: every variable Settings.WithEnv reads is found to set a
// setting, so that `refreshing config`, the help and the start's log can
// name it. A variable that no probe value gets past validation fails here.
func TestSettingVars(t *testing.T) {
	var read []string
	if _, err := refreshing.DefaultSettings().WithEnv(func(name string) string { read = append(read, name); return "" }); err != nil {
		t.Fatal(err)
	}
	vars := refreshing.SettingVars()
	byEnv := map[string]string{}
	for _, v := range vars {
		if v.Name == "" {
			t.Errorf("a setting without a name: %+v", v)
		}
		if v.Env != "" {
			byEnv[v.Env] = v.Name
		}
	}
	for _, name := range read {
		if _, ok := byEnv[name]; !ok {
			t.Errorf("%s is read by WithEnv but sets no setting SettingVars can find", name)
		}
	}
	for env, want := range map[string]string{
		"REFRESHING_ACCESS_TTL": "accessTTL", "REFRESHING_REUSE_GRACE": "reuseGrace", "REFRESHING_ROTATION": "rotation",
		"REFRESHING_RATE_LIMIT_IP": "rateLimitIP", "REFRESHING_ALLOWED_ORIGINS": "allowedOrigins",
		"REFRESHING_COOKIE_MODE": "cookieMode", "REFRESHING_AUDIT_RETENTION": "auditRetention",
	} {
		if byEnv[env] != want {
			t.Errorf("%s sets %q, want %q", env, byEnv[env], want)
		}
	}
	if len(byEnv) < 18 {
		t.Errorf("only %d settings have a variable: %v", len(byEnv), byEnv)
	}
}

// TestApplyEnvSettings: variables win over the stored settings, each
// replaced value is reported, and a bad variable changes nothing.
func TestApplyEnvSettings(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	stored, err := e.svc.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored.AccessTTL = 5 * time.Minute // an administrator's edit
	if err := e.svc.UpdateSettings(ctx, stored); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"REFRESHING_ACCESS_TTL": "1h", "REFRESHING_RATE_LIMIT_IP": "0", "REFRESHING_ROTATION": "true"}
	getenv := func(k string) string { return env[k] }

	t.Run("OK", func(t *testing.T) {
		changes, err := e.svc.ApplyEnvSettings(ctx, getenv)
		if err != nil {
			t.Fatal(err)
		}
		want := []refreshing.SettingChange{
			{Name: "accessTTL", Env: "REFRESHING_ACCESS_TTL", From: "5m0s", To: "1h0m0s"},
			{Name: "rateLimitIP", Env: "REFRESHING_RATE_LIMIT_IP", From: "30", To: "0"},
		}
		if !slices.Equal(changes, want) {
			t.Errorf("changes = %+v, want %+v", changes, want)
		}
		got, err := e.store.Settings(ctx) // persisted, for every instance
		if err != nil || got.AccessTTL != time.Hour || got.RateLimitIP != 0 || !got.Rotation {
			t.Errorf("stored settings = %+v, %v", got, err)
		}
		pinned := e.svc.EnvSettings()
		if len(pinned) != 3 || pinned["accessTTL"] != "REFRESHING_ACCESS_TTL" || pinned["rotation"] != "REFRESHING_ROTATION" {
			t.Errorf("EnvSettings = %v", pinned)
		}
	})
	t.Run("OKNothingChanged", func(t *testing.T) {
		changes, err := e.svc.ApplyEnvSettings(ctx, getenv)
		if err != nil || len(changes) != 0 {
			t.Errorf("second start: %v, %v", changes, err)
		}
	})
	t.Run("ErrBadVariable", func(t *testing.T) {
		bad := map[string]string{"REFRESHING_ACCESS_TTL": "2h", "REFRESHING_REUSE_GRACE": "forever"}
		_, err := e.svc.ApplyEnvSettings(ctx, func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), "REFRESHING_REUSE_GRACE") {
			t.Fatalf("err = %v, want one naming REFRESHING_REUSE_GRACE", err)
		}
		if got, _ := e.store.Settings(ctx); got.AccessTTL != time.Hour {
			t.Errorf("a failed apply changed accessTTL to %v", got.AccessTTL)
		}
	})
	t.Run("ErrInvalidValue", func(t *testing.T) {
		bad := map[string]string{"REFRESHING_ACCESS_TTL": "48h"}
		if _, err := e.svc.ApplyEnvSettings(ctx, func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), "accessTTL") {
			t.Fatalf("err = %v, want the field error", err)
		}
	})
}
