package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	t.Run("OKWithinOnePercent", func(t *testing.T) {
		var h, a, b histogram
		for i := 1; i <= 100000; i++ {
			d := time.Duration(i) * 3 * time.Microsecond // 3 µs to 300 ms
			h.add(d)
			if i%2 == 0 {
				a.add(d)
			} else {
				b.add(d)
			}
		}
		a.merge(&b)
		for _, hh := range []*histogram{&h, &a} {
			for _, tc := range []struct {
				q    float64
				want time.Duration
			}{{0.5, 150 * time.Millisecond}, {0.9, 270 * time.Millisecond}, {0.99, 297 * time.Millisecond}} {
				got := hh.quantile(tc.q)
				if math.Abs(float64(got-tc.want))/float64(tc.want) > 0.011 {
					t.Errorf("quantile(%v) = %v, want %v within 1%%", tc.q, got, tc.want)
				}
			}
			if hh.max != 300*time.Millisecond || hh.n != 100000 {
				t.Errorf("max %v of %d, want 300ms of 100000", hh.max, hh.n)
			}
		}
	})
	t.Run("OKEdges", func(t *testing.T) {
		var h histogram
		if h.quantile(0.99) != 0 {
			t.Errorf("empty histogram: quantile %v, want 0", h.quantile(0.99))
		}
		h.add(0)
		h.add(time.Hour) // beyond the last bucket
		if got := h.quantile(1); got != time.Hour {
			t.Errorf("quantile(1) = %v, want the maximum, 1h", got)
		}
		if got := h.quantile(0.5); got > 2*time.Microsecond {
			t.Errorf("quantile(0.5) = %v, want about 0", got)
		}
	})
}
