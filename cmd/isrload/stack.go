package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Settings of the processes of the benchmark stack.
const (
	stackReplicas = 3
	readyLimit    = 20 * time.Second
	stopGrace     = 5 * time.Second
	// demoPosts makes every /posts/N used by the scenarios an existing
	// page (a 200, not a cached 404).
	demoPosts = 1_000_000
	// demoPadding gives pages a realistic size, as in pkg/isr's benchmarks.
	demoPadding = 10 << 10
)

// binaries are the stack's executables.
type binaries struct{ isrcache, origin, redis string }

// buildBinaries builds cmd/isrcache and cmd/demo-origin of the repository
// at repo into dir, and finds redis-server on PATH.
func buildBinaries(ctx context.Context, repo, dir string) (binaries, error) {
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		return binaries{}, fmt.Errorf("redis-server is not on PATH (Debian: apt-get install redis-server): %w", err)
	}
	b := binaries{isrcache: filepath.Join(dir, "isrcache"), origin: filepath.Join(dir, "demo-origin"), redis: redis}
	for out, pkg := range map[string]string{b.isrcache: "./cmd/isrcache", b.origin: "./cmd/demo-origin"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = repo
		if msg, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// stack is a running redis-server, demo origin and replicas, all on
// 127.0.0.1.
type stack struct {
	procs    []*proc // in start order
	origin   *url.URL
	replicas []*url.URL
	client   *http.Client
}

// startStack starts the stack with its logs in dir and waits until every
// process is ready. On error, whatever was started is stopped.
func startStack(ctx context.Context, bins binaries, dir string) (_ *stack, err error) {
	s := &stack{client: newClient(4, 10*time.Second)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	ports, err := freePorts(2 + stackReplicas)
	if err != nil {
		return nil, err
	}
	redisAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	redis, err := startProc(dir, "redis", bins.redis, []string{"--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir}, nil)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, redis)
	if err := waitFor(ctx, redis, readyLimit, func(ctx context.Context) error { return redisPing(ctx, redisAddr) }); err != nil {
		return nil, err
	}

	s.origin = &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ports[1])}
	origin, err := startProc(dir, "demo-origin", bins.origin, []string{"-addr", s.origin.Host, "-log-level", "warn",
		"-posts", strconv.Itoa(demoPosts), "-padding", strconv.Itoa(demoPadding)}, nil)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, origin)
	if err := waitFor(ctx, origin, readyLimit, s.probe(s.origin, "/_admin/config")); err != nil {
		return nil, err
	}

	for i := range stackReplicas {
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ports[2+i])}
		p, err := startProc(dir, fmt.Sprintf("isrcache-%d", i+1), bins.isrcache, nil, []string{
			"ISR_ADDR=" + u.Host,
			"ISR_ORIGIN=" + s.origin.String(),
			"ISR_REDIS_URL=redis://" + redisAddr + "/0",
			"ISR_LOG_LEVEL=warn", // no request log: it would cost more than the cache
			"ISR_DRAIN_DELAY=0",
			"ISR_SHUTDOWN_TIMEOUT=3s",
		})
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, p)
		s.replicas = append(s.replicas, u)
	}
	for i, u := range s.replicas {
		if err := waitFor(ctx, s.procs[2+i], readyLimit, s.probe(u, "/readyz")); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// close stops the processes, the last started first.
func (s *stack) close() {
	stopAll(s.procs)
	s.procs = nil
	s.client.CloseIdleConnections()
}

// alive returns an error if a process of the stack has exited.
func (s *stack) alive() error {
	return firstExit(s.procs)
}

// probe returns a readiness check: GET base+path answers 200.
func (s *stack) probe(base *url.URL, path string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := s.call(ctx, http.MethodGet, base.String()+path, nil)
		return err
	}
}

// call sends a request with an optional JSON body and returns the body of
// a 2xx answer.
func (s *stack) call(ctx context.Context, method, u string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// originSettings are the demo origin's run-time switches to change.
type originSettings struct {
	Delay   string `json:"delay,omitempty"`
	SMaxAge int    `json:"smaxage,omitempty"`
}

// configure changes the origin's switches.
func (s *stack) configure(ctx context.Context, set originSettings) error {
	_, err := s.call(ctx, http.MethodPost, s.origin.String()+"/_admin/config", set)
	return err
}

// resetRenders sets the origin's render counters to zero.
func (s *stack) resetRenders(ctx context.Context) error {
	_, err := s.call(ctx, http.MethodDelete, s.origin.String()+"/_admin/stats", nil)
	return err
}

// renders returns the origin's render count since the last reset.
func (s *stack) renders(ctx context.Context) (int64, error) {
	b, err := s.call(ctx, http.MethodGet, s.origin.String()+"/_admin/stats", nil)
	if err != nil {
		return 0, err
	}
	var st struct {
		Total int64 `json:"total"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("origin stats: %w", err)
	}
	return st.Total, nil
}
