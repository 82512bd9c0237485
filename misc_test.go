package refreshing_test

import (
	"context"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
	"golang.org/x/crypto/bcrypt"
)

func TestDeviceName(t *testing.T) {
	for _, c := range []struct{ ua, want string }{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"okhttp/4.12.0", "Android app"},
		{"MyApp/1.0 CFNetwork/1474 Darwin/23.0.0", "iOS app on macOS"},
		{"curl/8.5.0", "curl"},
		{"", "Unknown device"},
		{"<script>alert(1)</script>", "Unknown device"},
	} {
		if got := refreshing.DeviceName(c.ua); got != c.want {
			t.Errorf("DeviceName(%q) = %q, want %q", c.ua, got, c.want)
		}
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{
		"REFRESHING_ACCESS_TTL": "5m", "REFRESHING_REFRESH_TTL": "0", "REFRESHING_ROTATION": "false",
		"REFRESHING_MAX_SESSIONS": "3", "REFRESHING_REUSE_GRACE": "2s",
	}
	s, err := refreshing.SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.AccessTTL != 5*time.Minute || s.RefreshTTL != 0 || s.Rotation || s.MaxSessions != 3 || s.ReuseGrace != 2*time.Second || !s.IssueOnLogin {
		t.Fatalf("settings = %+v", s)
	}
	for k, v := range map[string]string{"REFRESHING_ACCESS_TTL": "soon", "REFRESHING_ROTATION": "maybe", "REFRESHING_MAX_SESSIONS": "-1", "REFRESHING_REFRESH_IDLE": "-5m"} {
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

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := refreshing.NewHasher(cheap, 2)
	enc, err := h.Hash(ctx, "pässword")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(ctx, "pässword", enc); !ok || rehash || err != nil {
		t.Fatalf("verify own hash: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "password", enc); ok {
		t.Fatal("wrong password verified")
	}
	if ok, _, _ := h.Verify(ctx, "anything", ""); ok {
		t.Fatal("empty hash verified")
	}
	b, _ := bcrypt.GenerateFromPassword([]byte("strapi-pw"), bcrypt.MinCost)
	if ok, rehash, err := h.Verify(ctx, "strapi-pw", string(b)); !ok || !rehash || err != nil {
		t.Fatalf("bcrypt import: %v %v %v", ok, rehash, err)
	}
	stronger := refreshing.NewHasher(refreshing.Argon2Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
	if ok, rehash, _ := stronger.Verify(ctx, "pässword", enc); !ok || !rehash {
		t.Fatal("changed parameters must ask for a rehash")
	}
}
