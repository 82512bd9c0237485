package client_test

import (
	"testing"
	"time"

	"github.com/refreshing/refreshing/client"
)

// BenchmarkVerify measures offline verification of one access token with
// the keys cached: the cost a resource server pays per request.
func BenchmarkVerify(b *testing.B) {
	ks := newKeyServer(&testing.T{})
	defer ks.srv.Close()
	ks.add("k1")
	v := &client.Verifier{Issuer: iss, JWKSURL: ks.srv.URL, Now: func() time.Time { return t0 }}
	token := ks.sign(goodHeader(), goodClaims())
	if _, err := v.Verify(b.Context(), token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(b.Context(), token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
