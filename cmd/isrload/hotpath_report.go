package main

import (
	"fmt"
	"io"
	"strings"
)

// HotpathResult is the outcome of the hot-path benchmark.
type HotpathResult struct {
	Started string       `json:"started"`
	Machine string       `json:"machine"`
	Command string       `json:"command"`
	Skipped []string     `json:"skipped"`
	Rows    []HotpathRow `json:"rows"`
	Redis   []RedisPage  `json:"redis_pages"`
}

// HotpathRow is one target's runs and medians.
type HotpathRow struct {
	Target hpTarget `json:"target"`
	// Bytes is the body size of one answer as sent, Encoding its
	// Content-Encoding.
	Bytes    int         `json:"bytes"`
	Encoding string      `json:"encoding,omitempty"`
	Runs     []wrkResult `json:"runs"`
	// The medians over the runs, and the ratios of this row's medians to
	// those of its reference row (Target.Ref) measured in the same run.
	RPS      float64 `json:"rps_median"`
	P99      float64 `json:"p99_ms_median"`
	RPSRatio float64 `json:"rps_ratio,omitempty"`
	P99Ratio float64 `json:"p99_ratio,omitempty"`
	// RatioOfRatios is the median of the per-round req/s ratios, which
	// cancels slow phases of the machine that span one round.
	RoundRatio float64 `json:"rps_round_ratio_median,omitempty"`
	BytesRatio float64 `json:"bytes_ratio,omitempty"`
}

// summarize computes the medians and ratios.
func (r *HotpathResult) summarize() {
	idx := map[string]int{}
	for i := range r.Rows {
		row := &r.Rows[i]
		idx[row.Target.Name] = i
		var rps, p99 []float64
		for _, w := range row.Runs {
			rps, p99 = append(rps, w.RPS), append(p99, w.P99)
		}
		row.RPS, row.P99 = median(rps), median(p99)
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		j, ok := idx[row.Target.Ref]
		if !ok {
			continue
		}
		ref := &r.Rows[j]
		row.RPSRatio = safeDiv(row.RPS, ref.RPS)
		row.P99Ratio = safeDiv(row.P99, ref.P99)
		row.BytesRatio = safeDiv(float64(row.Bytes), float64(ref.Bytes))
		var rr []float64
		for k := range min(len(row.Runs), len(ref.Runs)) {
			rr = append(rr, safeDiv(row.Runs[k].RPS, ref.Runs[k].RPS))
		}
		row.RoundRatio = median(rr)
	}
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteText writes the result as Markdown tables.
func (r *HotpathResult) WriteText(w io.Writer) error {
	var b strings.Builder
	runs := 0
	if len(r.Rows) > 0 {
		runs = len(r.Rows[0].Runs)
	}
	fmt.Fprintf(&b, "== hot path: %s, %d rounds, medians (%s)\n\n", r.Command, runs, r.Machine)
	b.WriteString("| target | req/s | ratio | per-round ratio | p99 ms | p99 ratio | bytes sent | bytes ratio | vs |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, row := range r.Rows {
		ratio := func(v float64) string {
			if row.Target.Ref == "" {
				return "1.00"
			}
			return fmt.Sprintf("%.2f", v)
		}
		bytes := fmt.Sprint(row.Bytes)
		if row.Encoding != "" {
			bytes += " (" + row.Encoding + ")"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.2f | %s | %s | %s | %s |\n", row.Target.Name, row.RPS,
			ratio(row.RPSRatio), ratio(row.RoundRatio), row.P99, ratio(row.P99Ratio), bytes, ratio(row.BytesRatio), row.Target.Ref)
	}
	b.WriteString("\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "- %s: %s\n", row.Target.Name, row.Target.What)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	if len(r.Redis) > 0 {
		b.WriteString("\n| page | HTML bytes | Redis body field | ratio | Redis MEMORY USAGE | ratio |\n|---|---:|---:|---:|---:|---:|\n")
		for _, p := range r.Redis {
			fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %d | %.2f |\n", p.Key, p.HTMLBytes, p.BodyBytes,
				safeDiv(float64(p.BodyBytes), float64(p.HTMLBytes)), p.MemoryBytes, safeDiv(float64(p.MemoryBytes), float64(p.HTMLBytes)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
