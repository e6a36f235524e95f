package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/isrcache/isrcache/internal/redistest"
)

// logSink collects a replica's stdout and reports the address of its
// "listening" line.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addr  chan string
	found bool
}

func newLogSink() *logSink { return &logSink{addr: make(chan string, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if !s.found {
		for _, line := range strings.Split(s.buf.String(), "\n") {
			var l struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" {
				s.found = true
				s.addr <- l.Addr
			}
		}
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// replica is a running in-process replica.
type replica struct {
	base string // http://127.0.0.1:PORT
	out  *logSink
	stop func() error
}

// startReplica runs a replica with env and waits for its listening line.
func startReplica(t *testing.T, env map[string]string) *replica {
	t.Helper()
	env["ISR_ADDR"] = "127.0.0.1:0"
	env["ISR_DRAIN_DELAY"] = "0"
	ctx, cancel := context.WithCancel(t.Context())
	out := newLogSink()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out, &stderr) }()
	r := &replica{out: out}
	select {
	case addr := <-out.addr:
		r.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("run returned %v before listening; stderr %q, stdout %s", err, stderr.String(), out)
	}
	var once sync.Once
	var err error
	r.stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = r.stop() })
	return r
}

func (r *replica) do(t *testing.T, method, path, auth string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, r.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// startOrigin starts a counting origin on 127.0.0.1.
func startOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := n.Add(1)
		w.Header().Set("Cache-Control", "s-maxage=60")
		fmt.Fprintf(w, "%s %s #%d", r.Method, r.URL.Path, c)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// exercise checks a replica's pages, probes, revalidation and shutdown.
func exercise(t *testing.T, r *replica, origin *atomic.Int64) {
	t.Helper()
	if resp, body := r.do(t, "GET", "/posts/1", ""); resp.Header.Get("X-ISR-Cache") != "MISS" || body != "GET /posts/1 #1" {
		t.Fatalf("first GET: got %q %q, want MISS from the origin", resp.Header.Get("X-ISR-Cache"), body)
	}
	if resp, body := r.do(t, "GET", "/posts/1", ""); resp.Header.Get("X-ISR-Cache") != "HIT" || body != "GET /posts/1 #1" {
		t.Errorf("second GET: got %q %q, want HIT", resp.Header.Get("X-ISR-Cache"), body)
	}
	if resp, body := r.do(t, "POST", "/form", ""); resp.StatusCode != 200 || !strings.HasPrefix(body, "POST /form") {
		t.Errorf("POST /form: got %d %q, want it proxied", resp.StatusCode, body)
	}
	if resp, body := r.do(t, "POST", "/api/revalidate?path=/posts/1", "tok"); resp.StatusCode != 200 ||
		!strings.Contains(body, `"revalidated":true`) || !strings.Contains(body, `"result":"regenerated"`) {
		t.Errorf("revalidate: got %d %s", resp.StatusCode, body)
	}
	if _, body := r.do(t, "GET", "/posts/1", ""); body != "GET /posts/1 #3" {
		t.Errorf("GET after revalidation: got %q, want the regenerated page", body)
	}
	if resp, _ := r.do(t, "POST", "/api/revalidate?path=/posts/1&secret=nope", ""); resp.StatusCode != 401 {
		t.Errorf("wrong token: got %d, want 401", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, _ := r.do(t, "GET", p, ""); resp.StatusCode != 200 {
			t.Errorf("%s: got %d, want 200", p, resp.StatusCode)
		}
	}
	if err := r.stop(); err != nil {
		t.Errorf("run: got %v, want nil after cancel", err)
	}
	logs := r.out.String()
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, `"msg":"request"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "tok\"") || strings.Contains(logs, "Bearer") {
		t.Errorf("logs show the token:\n%s", logs)
	}
	if n := origin.Load(); n != 3 {
		t.Errorf("origin calls: got %d, want 3", n)
	}
}

func TestRunMemory(t *testing.T) {
	t.Parallel()
	origin, n := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok"})
	if !strings.Contains(r.out.String(), "embedded in-memory store: one replica only") {
		t.Errorf("no in-memory warning in:\n%s", r.out)
	}
	exercise(t, r, n)
}

func TestRunRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	origin, n := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok", "ISR_REDIS_URL": redis.URL()})
	if !strings.Contains(r.out.String(), `"msg":"redis connected"`) {
		t.Errorf("no redis line in:\n%s", r.out)
	}
	exercise(t, r, n)
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"ISR_ORIGIN": "ftp://x"}
	err := run(t.Context(), nil, func(k string) string { return env[k] }, &stdout, &stderr)
	if exitCode(err) != 2 {
		t.Errorf("exit code: got %d (%v), want 2", exitCode(err), err)
	}
	want := "isrcache: config: ISR_ORIGIN \"ftp://x\" must be an http or https URL\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("got stderr %q stdout %q, want stderr %q", stderr.String(), stdout.String(), want)
	}
}

func TestRunRedisUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var stdout, stderr bytes.Buffer
	env := map[string]string{"ISR_ORIGIN": "http://127.0.0.1:1", "ISR_REDIS_URL": "redis://:hunter2@" + addr}
	err = run(t.Context(), nil, func(k string) string { return env[k] }, &stdout, &stderr)
	if exitCode(err) != 1 {
		t.Errorf("exit code: got %d (%v), want 1", exitCode(err), err)
	}
	logs := stdout.String() + stderr.String()
	if !strings.Contains(logs, `redis unreachable: isrredis: Redis URL \"redis://xxxxx@`+addr+`\"`) || strings.Contains(logs, "hunter2") {
		t.Errorf("got logs %s, want the redacted URL named and no password", logs)
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Errorf("got %v, want nil", err)
	}
	if !strings.Contains(stdout.String(), "ISR_REDIS_URL") {
		t.Errorf("usage %q lacks the variables", stdout.String())
	}
}
