package refreshing

// An internal test file: parseToken is unexported (LooksLikeRefreshToken is
// its public face), and the fuzz target checks what it extracts.

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseToken checks that parseToken accepts exactly the canonical form
// rt_<22-char session id>.<generation>.<43-char secret>: whatever it accepts
// must be rebuilt byte for byte from what it extracted, and it never panics.
func FuzzParseToken(f *testing.F) {
	f.Add(firstToken(newSessionID()))
	f.Add(nextToken([]byte("key"), "AAAAAAAAAAAAAAAAAAAAAA", 41, "rt_AAAAAAAAAAAAAAAAAAAAAA.41."+strings.Repeat("B", 43)))
	f.Add("rt_AAAAAAAAAAAAAAAAAAAAAA.01." + strings.Repeat("B", 43))
	f.Add("rt_AAAAAAAAAAAAAAAAAAAAAA.-1." + strings.Repeat("B", 43))
	f.Add("rt_AAAAAAAAAAAAAAAAAAAAAA.9223372036854775808." + strings.Repeat("B", 43))
	f.Add("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.sig")
	f.Add(strings.Repeat(".", 5000))
	f.Fuzz(func(t *testing.T, token string) {
		sid, gen, ok := parseToken(token)
		if LooksLikeRefreshToken(token) != ok {
			t.Fatal("LooksLikeRefreshToken disagrees with parseToken")
		}
		if !ok {
			return
		}
		if gen < 0 || len(sid) != 22 {
			t.Fatalf("accepted %q with session %q, generation %d", token, sid, gen)
		}
		secret := token[strings.LastIndex(token, ".")+1:]
		if rebuilt := tokenPrefix + sid + "." + strconv.FormatInt(gen, 10) + "." + secret; rebuilt != token || len(secret) != 43 {
			t.Fatalf("accepted %q, a non-canonical spelling of %q", token, rebuilt)
		}
	})
}
