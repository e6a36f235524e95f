package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// HotpathOptions configure the hot-path benchmark (-hotpath): wrk against
// a bare net/http server and isrcache replicas serving the same pages as
// HITs, all in one run.
type HotpathOptions struct {
	// Rounds is the number of rounds; each round measures every target
	// once, in the same order, so slow phases of a shared machine hit
	// every target alike.
	Rounds int
	// Duration is the length of one wrk run.
	Duration time.Duration
	// Threads and Conns are wrk's -t and -c.
	Threads, Conns int
	// Repo is the repository cmd/isrcache is built from.
	Repo string
	// ProfilePath, if set, receives a CPU profile (pprof) of the
	// default-config replica taken during its first 8 KiB run; the
	// replica is then built with -tags pprof.
	ProfilePath string
	// JSONPath, if set, receives the result as JSON.
	JSONPath string
}

// hpTarget is one row of the benchmark: a server, a page, request headers.
type hpTarget struct {
	Name    string   `json:"name"`
	What    string   `json:"what"`
	server  string   // key into hpStack.servers
	Path    string   `json:"path"`
	Headers []string `json:"headers,omitempty"`
	// Ref is the target this one's ratios are computed against.
	Ref string `json:"ref,omitempty"`
}

var brGzip = []string{"Accept-Encoding: br, gzip"}

// hpTargets are the benchmark's rows, in measurement order.
func hpTargets() []hpTarget {
	return []hpTarget{
		{Name: "bare-8k", What: "bare Go net/http server writing the same prepared 8 KiB", server: "bare", Path: "/8k"},
		{Name: "default-8k", What: "isrcache, embedded store, default config (request log at info)", server: "default", Path: "/8k", Ref: "bare-8k"},
		{Name: "warn-8k", What: "isrcache, embedded store, ISR_LOG_LEVEL=warn", server: "warn", Path: "/8k", Ref: "bare-8k"},
		{Name: "redis-8k", What: "isrcache, one replica on Redis, ISR_LOG_LEVEL=warn", server: "redis", Path: "/8k", Ref: "warn-8k"},
		{Name: "bare-64k", What: "bare Go net/http server, 64 KiB", server: "bare", Path: "/64k"},
		{Name: "default-64k", What: "isrcache, embedded, default config, 64 KiB, client accepts no encoding", server: "default", Path: "/64k", Ref: "bare-64k"},
		{Name: "default-64k-br", What: "the same, client sends Accept-Encoding: br, gzip", server: "default", Path: "/64k", Headers: brGzip, Ref: "default-64k"},
	}
}

// runHotpath starts the servers, measures every target Rounds times with
// wrk, and reports medians and ratios.
func runHotpath(ctx context.Context, o HotpathOptions, stdout, stderr io.Writer) (err error) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk is not on PATH (Debian: apt-get install wrk): %w", err)
	}
	dir, err := os.MkdirTemp("", "isrload-hotpath-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "isrload: logs kept in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	fmt.Fprintf(stderr, "building cmd/isrcache into %s\n", dir)
	bins, err := buildHotpathBinaries(ctx, o, dir)
	if err != nil {
		return err
	}
	st, err := startHotpath(ctx, bins, dir, o.ProfilePath != "")
	if err != nil {
		return err
	}
	defer st.close()
	targets := hpTargets()
	res := &HotpathResult{Started: time.Now().UTC().Format(time.RFC3339), Machine: machine(),
		Command: fmt.Sprintf("wrk -t%d -c%d -d%v --latency", o.Threads, o.Conns, o.Duration),
		Skipped: skippedPeers()}
	for _, t := range targets {
		b, enc, err := st.fetch(ctx, t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		res.Rows = append(res.Rows, HotpathRow{Target: t, Bytes: b, Encoding: enc})
	}
	if _, _, err := st.fetch(ctx, hpTarget{server: "redis", Path: "/64k"}); err != nil {
		return fmt.Errorf("redis-64k: %w", err)
	}
	for round := 1; round <= o.Rounds; round++ {
		for i, t := range targets {
			fmt.Fprintf(stderr, "round %d of %d: %s\n", round, o.Rounds, t.Name)
			var prof chan error
			if round == 1 && t.Name == "default-8k" && o.ProfilePath != "" {
				prof = st.profile(ctx, o.ProfilePath, o.Duration-time.Second)
			}
			r, err := wrkRun(ctx, wrk, o.Threads, o.Conns, o.Duration, st.url(t), t.Headers)
			if err != nil {
				return err
			}
			if prof != nil {
				if err := <-prof; err != nil {
					return err
				}
			}
			if r.Non2x > 0 {
				return fmt.Errorf("%s: %d non-2xx answers", t.Name, r.Non2x)
			}
			res.Rows[i].Runs = append(res.Rows[i].Runs, r)
		}
		if err := st.alive(); err != nil {
			return err
		}
	}
	res.Redis, err = st.redisPages(ctx)
	if err != nil {
		return err
	}
	res.summarize()
	return output(res, o.JSONPath, stdout)
}

// buildHotpathBinaries builds cmd/isrcache (with -tags pprof when a
// profile is asked for) and finds redis-server and this executable, which
// runs the bare server.
func buildHotpathBinaries(ctx context.Context, o HotpathOptions, dir string) (binaries, error) {
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		return binaries{}, fmt.Errorf("redis-server is not on PATH: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return binaries{}, err
	}
	b := binaries{isrcache: filepath.Join(dir, "isrcache"), origin: self, redis: redis}
	args := []string{"build", "-o", b.isrcache}
	if o.ProfilePath != "" {
		args = append(args, "-tags", "pprof")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/isrcache")...)
	cmd.Dir = o.Repo
	if msg, err := cmd.CombinedOutput(); err != nil {
		return binaries{}, fmt.Errorf("go build ./cmd/isrcache: %w\n%s", err, msg)
	}
	return b, nil
}

// skippedPeers names the peer caches of the table that are not
// installed here; the benchmark measures them only when they are (not yet
// wired: each needs its own configuration in front of the bare server).
func skippedPeers() []string {
	var out []string
	for _, bin := range []string{"varnishd", "nginx"} {
		if _, err := exec.LookPath(bin); err != nil {
			out = append(out, bin+": not installed, skipped")
		} else {
			out = append(out, bin+": installed, but this benchmark does not configure it yet, skipped")
		}
	}
	return out
}

// fetch GETs a target once with its headers and returns the body's size
// as sent (compressed or not) and its Content-Encoding.
func (s *hpStack) fetch(ctx context.Context, t hpTarget) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url(t), nil)
	if err != nil {
		return 0, "", err
	}
	for _, h := range t.Headers {
		k, v, _ := cutHeader(h)
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return int(n), resp.Header.Get("Content-Encoding"), nil
}

// url returns the URL wrk requests for t.
func (s *hpStack) url(t hpTarget) string {
	u := *s.servers[t.server]
	u.Path = t.Path
	return u.String()
}

// profile fetches a CPU profile of the default replica over d seconds
// into path, in the background.
func (s *hpStack) profile(ctx context.Context, path string, d time.Duration) chan error {
	done := make(chan error, 1)
	go func() {
		u := "http://" + s.pprofAddr + "/debug/pprof/profile?seconds=" + strconv.Itoa(max(1, int(d.Seconds())))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			done <- err
			return
		}
		resp, err := s.client.Do(req)
		if err != nil {
			done <- fmt.Errorf("profile: %w", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return done
}

func cutHeader(h string) (string, string, bool) {
	k, v, ok := strings.Cut(h, ":")
	return strings.TrimSpace(k), strings.TrimSpace(v), ok
}
