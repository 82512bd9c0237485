package refreshing_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

func TestRateLimitSettings(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		d := refreshing.DefaultSettings()
		if d.RateWindow != time.Minute || d.RateLimitIP != 30 || d.RateLimitIdentifier != 10 || d.RateLimitExchangeIP != 600 {
			t.Errorf("defaults = %v %d %d %d", d.RateWindow, d.RateLimitIP, d.RateLimitIdentifier, d.RateLimitExchangeIP)
		}
	})
	t.Run("FromEnv", func(t *testing.T) {
		env := map[string]string{
			"REFRESHING_RATE_WINDOW": "10s", "REFRESHING_RATE_LIMIT_IP": "3",
			"REFRESHING_RATE_LIMIT_IDENTIFIER": "0", "REFRESHING_RATE_LIMIT_EXCHANGE_IP": "7",
		}
		s, err := refreshing.SettingsFromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if s.RateWindow != 10*time.Second || s.RateLimitIP != 3 || s.RateLimitIdentifier != 0 || s.RateLimitExchangeIP != 7 {
			t.Errorf("from env: %v %d %d %d", s.RateWindow, s.RateLimitIP, s.RateLimitIdentifier, s.RateLimitExchangeIP)
		}
	})
	t.Run("FromEnvErrors", func(t *testing.T) {
		for k, v := range map[string]string{
			"REFRESHING_RATE_WINDOW": "0s", "REFRESHING_RATE_LIMIT_IP": "-1",
			"REFRESHING_RATE_LIMIT_IDENTIFIER": "many", "REFRESHING_RATE_LIMIT_EXCHANGE_IP": "-5",
		} {
			if _, err := refreshing.SettingsFromEnv(func(n string) string {
				if n == k {
					return v
				}
				return ""
			}); err == nil {
				t.Errorf("%s=%s accepted", k, v)
			}
		}
	})
	t.Run("ValidationError", func(t *testing.T) {
		s := refreshing.DefaultSettings()
		s.RateWindow = 0
		var fe *refreshing.FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "rateWindow" {
			t.Errorf("zero window: %v", err)
		}
	})
	t.Run("JSONRoundTrip", func(t *testing.T) {
		s := refreshing.DefaultSettings()
		s.RateWindow, s.RateLimitIP, s.RateLimitIdentifier, s.RateLimitExchangeIP = 30*time.Second, 1, 2, 0
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back refreshing.Settings
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.RateWindow != s.RateWindow || back.RateLimitIP != 1 || back.RateLimitIdentifier != 2 || back.RateLimitExchangeIP != 0 {
			t.Errorf("round trip of %s gave %+v", b, back)
		}
	})
	t.Run("OldJSONGetsDefaults", func(t *testing.T) {
		var s refreshing.Settings
		if err := json.Unmarshal([]byte(`{"accessTTL":"15m0s"}`), &s); err != nil {
			t.Fatal(err)
		}
		if s.RateWindow != time.Minute || s.RateLimitIP != 30 || s.RateLimitIdentifier != 10 || s.RateLimitExchangeIP != 600 {
			t.Errorf("settings saved before rate limits: %+v", s)
		}
	})
}
