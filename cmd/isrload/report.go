package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// maxErrorSamples bounds the distinct transport errors kept in a report.
const maxErrorSamples = 5

// Report is the result of one load run. Latencies are in milliseconds and
// cover the whole exchange: from sending the request to the end of the body.
type Report struct {
	// Elapsed is the wall time of the run, in seconds.
	Elapsed float64 `json:"elapsed_s"`
	// Responses counts the answered requests, whatever their status.
	Responses int `json:"responses"`
	// Throughput is Responses per second of Elapsed.
	Throughput float64 `json:"throughput_rps"`
	// Errors counts transport errors and answers with a status of 400 or
	// more (a cached 404 counts too: the benchmarks ask for pages that
	// exist).
	Errors int `json:"errors"`
	// Statuses counts the answers by status code.
	Statuses map[int]int `json:"statuses"`
	// ErrorSamples holds a few distinct transport error messages.
	ErrorSamples []string `json:"error_samples,omitempty"`
	// States summarises the latencies of the successful answers (status
	// below 400) by X-ISR-Cache state: HIT, STALE, MISS, BYPASS, NONE (no
	// header). States with no answer are left out.
	States map[string]Summary `json:"states"`
	// All summarises the latencies of every successful answer.
	All Summary `json:"all"`
}

// buildReport merges the workers' results.
func buildReport(workers []worker, elapsed time.Duration) *Report {
	r := &Report{Elapsed: elapsed.Seconds(), Statuses: map[int]int{}, States: map[string]Summary{}}
	byState := map[string][]time.Duration{}
	var all []time.Duration
	seen := map[string]bool{}
	for _, w := range workers {
		for _, s := range w.samples {
			r.Responses++
			r.Statuses[s.status]++
			if s.status >= 400 {
				r.Errors++
				continue
			}
			byState[s.state] = append(byState[s.state], s.latency)
			all = append(all, s.latency)
		}
		for _, e := range w.errs {
			r.Errors++
			if !seen[e] && len(r.ErrorSamples) < maxErrorSamples {
				seen[e] = true
				r.ErrorSamples = append(r.ErrorSamples, e)
			}
		}
	}
	for state, ds := range byState {
		r.States[state] = summarize(ds)
	}
	r.All = summarize(all)
	if elapsed > 0 {
		r.Throughput = float64(r.Responses) / elapsed.Seconds()
	}
	return r
}

// stateOrder returns the states of r: the known ones in cacheStates order,
// then any other value the replicas sent, sorted.
func (r *Report) stateOrder() []string {
	var out []string
	known := cacheStates()
	for _, s := range known {
		if _, ok := r.States[s]; ok {
			out = append(out, s)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(r.States)) {
		if !slices.Contains(known, s) {
			out = append(out, s)
		}
	}
	return out
}

// WriteText writes r as an aligned table.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d responses in %.2fs: %.1f req/s, %d errors\n", r.Responses, r.Elapsed, r.Throughput, r.Errors)
	fmt.Fprintf(&b, "%-8s %8s %9s %9s %9s %9s\n", "state", "count", "p50 ms", "p90 ms", "p99 ms", "max ms")
	row := func(name string, s Summary) {
		fmt.Fprintf(&b, "%-8s %8d %9.3f %9.3f %9.3f %9.3f\n", name, s.Count, s.P50, s.P90, s.P99, s.Max)
	}
	for _, s := range r.stateOrder() {
		row(s, r.States[s])
	}
	row("all", r.All)
	if len(r.Statuses) > 0 {
		b.WriteString("statuses:")
		for _, code := range slices.Sorted(maps.Keys(r.Statuses)) {
			fmt.Fprintf(&b, " %d×%d", code, r.Statuses[code])
		}
		b.WriteString("\n")
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
