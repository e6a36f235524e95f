package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxPaths bounds the path set after "{a..b}" expansion.
const maxPaths = 1_000_000

// flags is the parsed command line.
type flags struct {
	load      LoadOptions
	jsonPath  string
	stack     bool
	stackOpts StackOptions
	hotpath   bool
	hotOpts   HotpathOptions
}

// parseFlags parses the command line into flags, checking every bound.
func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("isrload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "", "comma-separated base URLs of the replicas, loopback only (http://127.0.0.1:8081,...)")
	paths := fs.String("paths", "/", `comma-separated request paths; "{a..b}" expands to a range, "{seq}" is new for each request`)
	fs.IntVar(&f.load.SeqStart, "seq-start", 1, `first number that replaces "{seq}"`)
	fs.IntVar(&f.load.Concurrency, "c", 8, fmt.Sprintf("concurrent requests, 1..%d", maxConcurrency))
	fs.IntVar(&f.load.Requests, "n", 1000, fmt.Sprintf("most requests to send, 1..%d", maxRequests))
	fs.DurationVar(&f.load.Duration, "d", 30*time.Second, fmt.Sprintf("time limit, up to %v", maxDuration))
	fs.DurationVar(&f.load.Timeout, "timeout", 30*time.Second, "time limit of one request")
	fs.StringVar(&f.jsonPath, "json", "", `also write the report as JSON to this file ("-": JSON on stdout instead of text)`)
	fs.BoolVar(&f.stack, "stack", false, "run the benchmark scenarios against a stack started from this repository (see -runs, -repo)")
	fs.IntVar(&f.stackOpts.Runs, "runs", 3, "with -stack: number of runs, each on a fresh stack")
	fs.StringVar(&f.stackOpts.Repo, "repo", ".", "with -stack: the repository to build cmd/isrcache and cmd/demo-origin from")
	fs.BoolVar(&f.stackOpts.Quick, "quick", false, "with -stack: small request counts, to check that the runner works")
	fs.BoolVar(&f.hotpath, "hotpath", false, "run the hot-path benchmark: wrk against a bare net/http server and isrcache replicas (see -rounds, -wrk-d, -profile)")
	fs.IntVar(&f.hotOpts.Rounds, "rounds", 3, "with -hotpath: rounds, each measuring every target once")
	fs.DurationVar(&f.hotOpts.Duration, "wrk-d", 5*time.Second, "with -hotpath: length of one wrk run (whole seconds, 2s..5m)")
	fs.IntVar(&f.hotOpts.Threads, "wrk-t", 2, "with -hotpath: wrk threads")
	fs.IntVar(&f.hotOpts.Conns, "wrk-c", 64, "with -hotpath: wrk connections")
	fs.StringVar(&f.hotOpts.ProfilePath, "profile", "", "with -hotpath: write a CPU profile of the default-config replica (built with -tags pprof) to this file")
	if err := fs.Parse(args); err != nil {
		return flags{}, err
	}
	if fs.NArg() > 0 {
		return flags{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.hotpath {
		f.hotOpts.JSONPath, f.hotOpts.Repo = f.jsonPath, f.stackOpts.Repo
		switch o := f.hotOpts; {
		case o.Rounds < 1 || o.Rounds > 20:
			return flags{}, fmt.Errorf("-rounds %d is not in 1..20", o.Rounds)
		case o.Duration < 2*time.Second || o.Duration > 5*time.Minute:
			return flags{}, fmt.Errorf("-wrk-d %v is not in 2s..5m", o.Duration)
		case o.Threads < 1 || o.Conns < o.Threads || o.Conns > maxConcurrency:
			return flags{}, fmt.Errorf("-wrk-t %d -wrk-c %d: want 1 <= t <= c <= %d", o.Threads, o.Conns, maxConcurrency)
		}
		return f, nil
	}
	if f.stack {
		f.stackOpts.JSONPath = f.jsonPath
		if f.stackOpts.Runs < 1 || f.stackOpts.Runs > 20 {
			return flags{}, fmt.Errorf("-runs %d is not in 1..20", f.stackOpts.Runs)
		}
		return f, nil
	}
	if *targets == "" {
		return flags{}, errors.New("-targets is required (or -stack)")
	}
	for _, raw := range strings.Split(*targets, ",") {
		u, err := checkTarget(strings.TrimSpace(raw))
		if err != nil {
			return flags{}, err
		}
		f.load.Targets = append(f.load.Targets, u)
	}
	var err error
	if f.load.Paths, err = expandPaths(*paths); err != nil {
		return flags{}, err
	}
	return f, f.load.validate()
}

// expandPaths splits the comma-separated list and expands the first
// "{a..b}" range of each path into one path per number.
func expandPaths(list string) ([]string, error) {
	rangeRE := regexp.MustCompile(`\{(\d+)\.\.(\d+)\}`)
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := url.ParseRequestURI(strings.ReplaceAll(p, seqToken, "0")); err != nil || !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("path %q: not an absolute path", p)
		}
		m := rangeRE.FindStringSubmatchIndex(p)
		if m == nil {
			out = append(out, p)
			continue
		}
		a, errA := strconv.Atoi(p[m[2]:m[3]])
		b, errB := strconv.Atoi(p[m[4]:m[5]])
		if errA != nil || errB != nil || a > b || b-a >= maxPaths-len(out) {
			return nil, fmt.Errorf("path %q: bad range (want {a..b}, a <= b, at most %d paths)", p, maxPaths)
		}
		for i := a; i <= b; i++ {
			out = append(out, p[:m[0]]+strconv.Itoa(i)+p[m[1]:])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no path")
	}
	return out, nil
}
