package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// StackOptions configure the scenario benchmark (-stack).
type StackOptions struct {
	// Runs is the number of runs, each on a freshly started stack.
	Runs int
	// Repo is the repository the binaries are built from.
	Repo string
	// Quick shrinks the scenarios, to check the runner.
	Quick bool
	// JSONPath, if set, receives every run and the medians as JSON.
	JSONPath string
}

// BenchResult is the outcome of the benchmark: every run and the medians.
type BenchResult struct {
	Started string             `json:"started"`
	Machine string             `json:"machine"`
	Runs    [][]ScenarioResult `json:"runs"`
	Medians []Median           `json:"medians"`
	Ratios  map[string]float64 `json:"ratios"`
}

// Median is a scenario's figures: the median over the runs of each.
type Median struct {
	Name       string  `json:"name"`
	What       string  `json:"what"`
	State      string  `json:"state"`
	Count      float64 `json:"count"`
	Responses  float64 `json:"responses"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Throughput float64 `json:"throughput_rps"`
	Renders    float64 `json:"origin_renders"`
	Errors     float64 `json:"errors"`
}

// runStack builds the binaries, then runs every scenario Runs times, each
// run on a fresh stack, and reports the medians. Everything it starts is
// stopped before it returns; the temporary directory (binaries and logs) is
// removed unless the benchmark failed (an interruption is not a failure).
func runStack(ctx context.Context, o StackOptions, stdout, stderr io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "isrload-stack-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() == nil { // interrupted: nothing to look at
			fmt.Fprintf(stderr, "isrload: logs kept in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	fmt.Fprintf(stderr, "building cmd/isrcache and cmd/demo-origin into %s\n", dir)
	bins, err := buildBinaries(ctx, o.Repo, dir)
	if err != nil {
		return err
	}
	res := BenchResult{Started: time.Now().UTC().Format(time.RFC3339), Machine: machine()}
	for run := 1; run <= o.Runs; run++ {
		results, err := benchRun(ctx, bins, dir, run, o.Quick, stderr)
		if err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		res.Runs = append(res.Runs, results)
		fmt.Fprintf(stdout, "== run %d of %d\n", run, o.Runs)
		for _, r := range results {
			fmt.Fprintf(stdout, "-- %s: %s; origin renders %d\n", r.Name, r.What, r.Renders)
			if err := r.Report.WriteText(stdout); err != nil {
				return err
			}
		}
	}
	res.Medians, res.Ratios = medians(res.Runs)
	if err := output(&res, o.JSONPath, stdout); err != nil {
		return err
	}
	for _, m := range res.Medians {
		if m.Errors > 0 {
			return fmt.Errorf("%s: %v errors (median): %w", m.Name, m.Errors, errRunErrors)
		}
	}
	return nil
}

// benchRun starts a stack, runs every scenario on it and stops it.
func benchRun(ctx context.Context, bins binaries, dir string, run int, quick bool, stderr io.Writer) ([]ScenarioResult, error) {
	logs := fmt.Sprintf("%s/run%d", dir, run)
	if err := os.Mkdir(logs, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "run %d: starting redis-server, demo-origin and %d replicas (logs in %s)\n", run, stackReplicas, logs)
	s, err := startStack(ctx, bins, logs)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var out []ScenarioResult
	for _, sc := range scenarios(quick) {
		fmt.Fprintf(stderr, "run %d: %s\n", run, sc.name)
		r, err := s.runScenario(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// medians computes each scenario's medians over the runs, and the ratios
// the project reports.
func medians(runs [][]ScenarioResult) ([]Median, map[string]float64) {
	var out []Median
	byName := map[string]Median{}
	for i := range runs[0] {
		var count, resp, p50, p90, p99, tput, renders, errs []float64
		for _, run := range runs {
			r := run[i]
			s := r.Report.States[r.State]
			count = append(count, float64(s.Count))
			resp = append(resp, float64(r.Report.Responses))
			p50, p90, p99 = append(p50, s.P50), append(p90, s.P90), append(p99, s.P99)
			tput = append(tput, r.Report.Throughput)
			renders = append(renders, float64(r.Renders))
			errs = append(errs, float64(r.Report.Errors))
		}
		first := runs[0][i]
		m := Median{Name: first.Name, What: first.What, State: first.State, Count: median(count), Responses: median(resp),
			P50: median(p50), P90: median(p90), P99: median(p99), Throughput: median(tput),
			Renders: median(renders), Errors: median(errs)}
		out = append(out, m)
		byName[m.Name] = m
	}
	ratios := map[string]float64{}
	ratio := func(name string, a, b float64) {
		if b > 0 {
			ratios[name] = a / b
		}
	}
	hit := byName[scHit].P50
	ratio("cold-0ms_p50_over_hit_p50", byName[scCold0].P50, hit)
	ratio("cold-50ms_p50_over_hit_p50", byName[scCold50].P50, hit)
	ratio("stale_p50_over_hit_p50", byName[scStale].P50, hit)
	ratio("stale_p50_over_origin_delay", byName[scStale].P50, 500)
	return out, ratios
}

// WriteText writes the medians as a Markdown table, then the ratios.
func (r *BenchResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "== medians of %d runs (%s)\n\n", len(r.Runs), r.Machine)
	b.WriteString("| scenario | state | answers in state / all | p50 ms | p90 ms | p99 ms | req/s | origin renders | errors |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.Medians {
		fmt.Fprintf(&b, "| %s | %s | %.0f / %.0f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |\n",
			m.Name, m.State, m.Count, m.Responses, m.P50, m.P90, m.P99, m.Throughput, m.Renders, m.Errors)
	}
	b.WriteString("\n")
	for _, m := range r.Medians {
		fmt.Fprintf(&b, "- %s: %s\n", m.Name, m.What)
	}
	b.WriteString("\nratios of the medians:\n")
	for _, k := range []string{"cold-0ms_p50_over_hit_p50", "cold-50ms_p50_over_hit_p50", "stale_p50_over_hit_p50", "stale_p50_over_origin_delay"} {
		fmt.Fprintf(&b, "  %-30s %.4g\n", k, r.Ratios[k])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// machine describes the machine the benchmark ran on.
func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
}
