package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Scenario names.
const (
	scCold0    = "cold-0ms"
	scCold50   = "cold-50ms"
	scHit      = "hit"
	scStampede = "stampede"
	scStale    = "stale"
)

// scenario is one measurement on a running stack.
type scenario struct {
	name string
	// what says what is measured, for the report.
	what string
	// state is the X-ISR-Cache state whose latency the scenario measures.
	state string
	// delay is the origin's render delay during the measurement.
	delay time.Duration
	// smaxage is the pages' revalidate time, in seconds.
	smaxage int
	// warm, if set, is loaded once before the measurement (every path on
	// every replica), with the origin at no delay.
	warm []string
	// pause is waited after warming: the time for the warm pages to go
	// stale.
	pause time.Duration
	// load is the measured load; Targets are filled in.
	load LoadOptions
}

// scenarios returns the benchmark's scenarios in run order. quick shrinks
// the request counts and time limits, to check the runner.
func scenarios(quick bool) []scenario {
	scale := func(full, small int) int {
		if quick {
			return small
		}
		return full
	}
	limit := func(full time.Duration) time.Duration {
		if quick {
			return full / 4
		}
		return full
	}
	return []scenario{
		{name: scCold0, state: "MISS", smaxage: 60,
			what: "cold page, origin delay 0: every request a new path (MISS), 8 concurrent",
			load: LoadOptions{Paths: []string{"/posts/{seq}"}, SeqStart: 1, Concurrency: 8,
				Requests: scale(2000, 200), Duration: 60 * time.Second}},
		{name: scCold50, state: "MISS", smaxage: 60, delay: 50 * time.Millisecond,
			what: "cold page, origin delay 50ms: every request a new path (MISS), 8 concurrent",
			load: LoadOptions{Paths: []string{"/posts/{seq}"}, SeqStart: 100_001, Concurrency: 8,
				Requests: scale(800, 80), Duration: 60 * time.Second}},
		{name: scHit, state: "HIT", smaxage: 60, warm: postRange(200_001, 100),
			what: "fresh pages (HIT): 100 warm paths, revalidate 60s, 8 concurrent",
			load: LoadOptions{Paths: postRange(200_001, 100), Concurrency: 8,
				Requests: scale(100_000, 2000), Duration: limit(8 * time.Second)}},
		{name: scStampede, state: "MISS", smaxage: 60, delay: 200 * time.Millisecond,
			what: "stampede: 300 concurrent requests for one cold path across the replicas, origin delay 200ms",
			load: LoadOptions{Paths: []string{"/posts/999999"}, Concurrency: 300,
				Requests: 300, Duration: 30 * time.Second}},
		{name: scStale, state: "STALE", smaxage: 1, delay: 500 * time.Millisecond,
			warm: postRange(300_001, 100), pause: 1500 * time.Millisecond,
			what: "stale pages: 100 paths past their revalidate time (1s), origin delay 500ms, 8 concurrent",
			load: LoadOptions{Paths: postRange(300_001, 100), Concurrency: 8,
				Requests: scale(100_000, 2000), Duration: limit(6 * time.Second)}},
	}
}

// postRange returns the paths /posts/first to /posts/(first+n-1).
func postRange(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "/posts/" + strconv.Itoa(first+i)
	}
	return out
}

// ScenarioResult is the outcome of one scenario in one run.
type ScenarioResult struct {
	Name  string `json:"name"`
	What  string `json:"what"`
	State string `json:"state"`
	// DelayMs is the origin's render delay during the measurement.
	DelayMs float64 `json:"origin_delay_ms"`
	// Renders counts the origin's renders during the measurement.
	Renders int64   `json:"origin_renders"`
	Report  *Report `json:"report"`
}

// runScenario sets the origin up, warms the pages, resets the origin's
// counters, runs the load and reads the render count.
func (s *stack) runScenario(ctx context.Context, sc scenario) (ScenarioResult, error) {
	if err := s.configure(ctx, originSettings{Delay: "0s", SMaxAge: sc.smaxage}); err != nil {
		return ScenarioResult{}, err
	}
	if len(sc.warm) > 0 {
		warm := LoadOptions{Targets: s.replicas, Paths: sc.warm, Concurrency: 8,
			Requests: len(sc.warm) * len(s.replicas), Duration: time.Minute}
		rep, err := runLoad(ctx, warm)
		if err != nil {
			return ScenarioResult{}, err
		}
		if rep.Errors > 0 || rep.Responses != warm.Requests {
			return ScenarioResult{}, fmt.Errorf("%s: warm-up: %d of %d answered, %d errors %v",
				sc.name, rep.Responses, warm.Requests, rep.Errors, rep.ErrorSamples)
		}
	}
	if sc.pause > 0 {
		select {
		case <-ctx.Done():
			return ScenarioResult{}, ctx.Err()
		case <-time.After(sc.pause):
		}
	}
	if err := s.configure(ctx, originSettings{Delay: sc.delay.String()}); err != nil {
		return ScenarioResult{}, err
	}
	if err := s.resetRenders(ctx); err != nil {
		return ScenarioResult{}, err
	}
	load := sc.load
	load.Targets = s.replicas
	rep, err := runLoad(ctx, load)
	if err != nil {
		return ScenarioResult{}, err
	}
	renders, err := s.renders(ctx)
	if err != nil {
		return ScenarioResult{}, err
	}
	if err := s.alive(); err != nil {
		return ScenarioResult{}, err
	}
	return ScenarioResult{Name: sc.name, What: sc.what, State: sc.state, DelayMs: ms(sc.delay),
		Renders: renders, Report: rep}, ctx.Err()
}
