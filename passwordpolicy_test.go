package refreshing_test

import (
	"testing"

	"github.com/refreshing/refreshing"
)

func TestIsCommonPassword(t *testing.T) {
	for _, c := range []struct {
		password string
		common   bool
	}{
		{"123456", true}, {"password", true}, {"PASSWORD", true}, {"12345678", true}, {"qwertyuiop", true},
		{"correct horse battery", false}, {"Xy7#kqZ!", false}, {"", false},
	} {
		if got := refreshing.IsCommonPassword(c.password); got != c.common {
			t.Errorf("IsCommonPassword(%q) = %v, want %v", c.password, got, c.common)
		}
	}
}

func TestPasswordPolicySettings(t *testing.T) {
	d := refreshing.DefaultSettings()
	if d.PasswordMinLength != 8 || !d.PasswordRefuseCommon {
		t.Errorf("defaults: min %d, refuse common %v; want 8, true", d.PasswordMinLength, d.PasswordRefuseCommon)
	}
	env := map[string]string{"REFRESHING_PASSWORD_MIN_LENGTH": "12", "REFRESHING_PASSWORD_REFUSE_COMMON": "false"}
	s, err := refreshing.SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil || s.PasswordMinLength != 12 || s.PasswordRefuseCommon {
		t.Errorf("from the environment: %+v, %v", s, err)
	}
	for _, n := range []string{"5", "65", "x"} {
		env := map[string]string{"REFRESHING_PASSWORD_MIN_LENGTH": n}
		if _, err := refreshing.SettingsFromEnv(func(k string) string { return env[k] }); err == nil {
			t.Errorf("REFRESHING_PASSWORD_MIN_LENGTH=%s accepted", n)
		}
	}
	// The persisted form keeps both, and settings saved before them get the defaults.
	s.PasswordMinLength = 10
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back, old refreshing.Settings
	if err := back.UnmarshalJSON(b); err != nil || back.PasswordMinLength != 10 || back.PasswordRefuseCommon {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if err := old.UnmarshalJSON([]byte(`{"accessTTL":"15m"}`)); err != nil || old.PasswordMinLength != 8 || !old.PasswordRefuseCommon {
		t.Errorf("older settings: %+v, %v", old, err)
	}
}
