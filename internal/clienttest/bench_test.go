package clienttest_test

import (
	"net/http"
	"testing"
)

// BenchmarkTransportToken measures what the Transport adds to each request
// when no refresh is due: taking the current token, from many goroutines.
func BenchmarkTransportToken(b *testing.B) {
	s := start(b, nil)
	tr := s.signedIn(b, "ada")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tr.Token(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTransportRoundTrip measures a request through the Transport to a
// resource protected by the Verifier's Middleware, over loopback.
func BenchmarkTransportRoundTrip(b *testing.B) {
	s := start(b, nil)
	hc := s.signedIn(b, "ada").Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if status, _, err := s.get(hc); err != nil || status != http.StatusOK {
				b.Errorf("%d %v", status, err)
				return
			}
		}
	})
}
