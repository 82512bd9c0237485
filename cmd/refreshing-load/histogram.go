package main

import (
	"math"
	"time"
)

// histogram counts latencies in buckets 1% wide (log-linear from 1 µs to
// about 100 s), so that a worker's memory stays a few KiB however many
// requests it sends: the load generator shares the process with the server
// it measures, RSS included. Percentiles are within 1%; the maximum is exact.
type histogram struct {
	counts [histBuckets]uint32
	n      int
	max    time.Duration
}

const histBuckets = 1900

// histLogGrowth is the logarithm of the ratio between consecutive bucket bounds.
var histLogGrowth = math.Log(1.01)

// add counts d.
func (h *histogram) add(d time.Duration) {
	h.counts[histIndex(d)]++
	h.n++
	h.max = max(h.max, d)
}

// merge adds o's counts to h's.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// histIndex is the bucket of d: [1.01^i, 1.01^(i+1)) microseconds.
func histIndex(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	return min(histBuckets-1, int(math.Log(us)/histLogGrowth))
}

// quantile returns the latency below which a fraction q of the counted ones
// fall: the upper bound of its bucket, but never more than the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank && c > 0 {
			if i == histBuckets-1 { // everything beyond the last bound
				return h.max
			}
			upper := time.Duration(math.Pow(1.01, float64(i+1)) * float64(time.Microsecond))
			return min(upper, h.max)
		}
	}
	return h.max
}
