package refreshing_test

import (
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// FuzzDeviceName checks that DeviceName, whatever the User-Agent, answers a
// short name built only from its own vocabulary (never text from the
// header, which is attacker-controlled and shown to users) and never panics.
func FuzzDeviceName(f *testing.F) {
	for _, ua := range []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"okhttp/4.12.0", "Dart/3.3 (dart:io)", "curl/8.5.0", "", "<script>alert(1)</script> Chrome/1 Android",
		strings.Repeat("Windows ", 500), "\xff\xfe Edg/1",
	} {
		f.Add(ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		name := refreshing.DeviceName(ua)
		if name == "" || len(name) > 40 {
			t.Fatalf("DeviceName(%q) = %q", ua, name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '.') {
				t.Fatalf("DeviceName(%q) = %q: character %q is not from its vocabulary", ua, name, r)
			}
		}
		if again := refreshing.DeviceName(ua); again != name {
			t.Fatalf("DeviceName is not deterministic: %q then %q", name, again)
		}
	})
}
