package main

import (
	"math"
	"slices"
	"testing"
	"time"
)

func durations(xs ...int) []time.Duration {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x) * time.Millisecond
	}
	return ds
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	one := durations(7)
	four := durations(1, 2, 3, 4)
	ten := durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		p    float64
		want int // ms
	}{
		{"empty", nil, 50, 0},
		{"one p50", one, 50, 7},
		{"one p1", one, 1, 7},
		{"one p99", one, 99, 7},
		{"four p50 is the lower middle", four, 50, 2},
		{"four p51", four, 51, 3},
		{"four p75", four, 75, 3},
		{"four p76", four, 76, 4},
		{"ten p90 is exact", ten, 90, 9},
		{"ten p99", ten, 99, 10},
		{"ten p10", ten, 10, 1},
		{"ten p0.1", ten, 0.1, 1},
		{"hundred p50", hundred, 50, 50},
		{"hundred p90", hundred, 90, 90},
		{"hundred p99", hundred, 99, 99},
		{"hundred p99.5", hundred, 99.5, 100},
		{"p100 is the max", hundred, 100, 100},
		{"over 100 is the max", ten, 150, 10},
		{"p0 is zero", ten, 0, 0},
		{"negative is zero", ten, -5, 0},
	} {
		if got := percentile(tc.ds, tc.p); got != time.Duration(tc.want)*time.Millisecond {
			t.Errorf("%s: percentile(p=%v) = %v, want %vms", tc.name, tc.p, got, tc.want)
		}
	}
	if got := percentile(ten, math.NaN()); got != 0 {
		t.Errorf("percentile(NaN) = %v, want 0", got)
	}
}

// TestPercentileRank checks the nearest-rank definition on many sizes: at
// least p% of the values are <= the result, and fewer than p% are below it.
func TestPercentileRank(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 300; n++ {
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = time.Duration(i + 1)
		}
		for _, p := range []float64{1, 10, 25, 50, 90, 95, 99, 99.9} {
			got := percentile(ds, p)
			atMost := int(got) // values are 1..n, so this many are <= got
			if float64(atMost) < p/100*float64(n)-1e-9 {
				t.Fatalf("n=%d p=%v: %d values <= %d, fewer than p%%", n, p, atMost, got)
			}
			if below := atMost - 1; float64(below) >= p/100*float64(n)+1e-9 {
				t.Fatalf("n=%d p=%v: %d values below %d, at least p%%: not the nearest rank", n, p, below, got)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	ds := durations(5, 1, 4, 2, 3, 10, 6, 8, 7, 9)
	got := summarize(ds)
	want := Summary{Count: 10, P50: 5, P90: 9, P99: 10, Mean: 5.5, Max: 10}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(ds) {
		t.Error("summarize did not sort its input")
	}
	if got := summarize(nil); got != (Summary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
	if got := summarize([]time.Duration{1500 * time.Microsecond}); got.P50 != 1.5 || got.Max != 1.5 {
		t.Errorf("summarize(1.5ms) = %+v, want 1.5ms", got)
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1}, 2},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tc.xs)
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
		if !slices.Equal(in, tc.xs) {
			t.Errorf("median modified its input: %v", tc.xs)
		}
	}
}
