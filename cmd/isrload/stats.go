package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p% of the
// values are less than or equal to it. It returns 0 for an empty slice.
// sorted must be in ascending order.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 || p <= 0 || math.IsNaN(p) {
		return 0
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// p/100*n computed in float64 can land a hair above an integer
	// (0.9*10 = 9.000000000000002): round to 9 places first.
	rank := int(math.Ceil(math.Round(p/100*float64(n)*1e9) / 1e9))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Summary describes a set of latencies, in milliseconds.
type Summary struct {
	// Count is the number of latencies.
	Count int `json:"count"`
	// P50, P90 and P99 are nearest-rank percentiles.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	// Mean and Max are the arithmetic mean and the largest latency.
	Mean float64 `json:"mean_ms"`
	Max  float64 `json:"max_ms"`
}

// summarize returns the summary of ds. It sorts ds in place.
func summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Summary{
		Count: len(ds),
		P50:   ms(percentile(ds, 50)),
		P90:   ms(percentile(ds, 90)),
		P99:   ms(percentile(ds, 99)),
		Mean:  ms(sum / time.Duration(len(ds))),
		Max:   ms(ds[len(ds)-1]),
	}
}

// ms converts d to milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// median returns the median of xs (the mean of the two middle values when
// len(xs) is even), or 0 for none. It does not modify xs.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
