package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeReplica answers with the X-ISR-Cache state named by the path's first
// segment (/HIT/1 → HIT), 500 for /fail, and records the paths asked.
type fakeReplica struct {
	mu    sync.Mutex
	paths []string
}

func (f *fakeReplica) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	if r.URL.Path == "/fail" {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if state, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); state != "none" {
		w.Header().Set("X-ISR-Cache", state)
	}
	_, _ = io.WriteString(w, "page")
}

func startReplica(t *testing.T) (*fakeReplica, *url.URL) {
	t.Helper()
	f := &fakeReplica{}
	srv := httptest.NewServer(f) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	u, err := checkTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return f, u
}

func TestRunLoadCountsStates(t *testing.T) {
	t.Parallel()
	a, ua := startReplica(t)
	b, ub := startReplica(t)
	rep, err := runLoad(t.Context(), LoadOptions{
		Targets: []*url.URL{ua, ub}, Paths: []string{"/HIT/1", "/STALE/1", "/MISS/{seq}", "/none/1", "/fail"},
		SeqStart: 100, Concurrency: 4, Requests: 100, Duration: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Responses != 100 || rep.Errors != 20 || rep.Statuses[200] != 80 || rep.Statuses[500] != 20 {
		t.Errorf("responses %d, errors %d, statuses %v; want 100, 20, 80×200 and 20×500", rep.Responses, rep.Errors, rep.Statuses)
	}
	for _, s := range []string{"HIT", "STALE", "MISS", "NONE"} {
		if got := rep.States[s].Count; got != 20 {
			t.Errorf("state %s: count %d, want 20", s, got)
		}
	}
	if rep.All.Count != 80 || rep.Throughput <= 0 {
		t.Errorf("all: %+v, throughput %v", rep.All, rep.Throughput)
	}
	if len(a.paths) != 50 || len(b.paths) != 50 {
		t.Errorf("replicas got %d and %d requests, want 50 each", len(a.paths), len(b.paths))
	}
	var seq []string
	for _, p := range append(a.paths, b.paths...) {
		if strings.HasPrefix(p, "/MISS/") {
			seq = append(seq, p)
		}
	}
	slices.Sort(seq)
	if len(slices.Compact(seq)) != 20 {
		t.Errorf("{seq} paths are not all different: %v", seq)
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "STALE") {
		t.Errorf("WriteText = %v:\n%s", err, text.String())
	}
	if err := writeJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.States["HIT"].Count != 20 {
		t.Errorf("JSON round trip: %v, %+v", err, back.States)
	}
}

func TestRunLoadStopsAtTimeLimit(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); srv.Close() })
	u, _ := checkTarget(srv.URL)
	start := time.Now()
	rep, err := runLoad(t.Context(), LoadOptions{Targets: []*url.URL{u}, Paths: []string{"/"},
		Concurrency: 2, Requests: 1000, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("runLoad took %v after a 200ms limit", el)
	}
	if rep.Responses != 0 || rep.Errors != 0 {
		t.Errorf("requests cut by the time limit were counted: %d responses, %d errors", rep.Responses, rep.Errors)
	}
}

func TestRunLoadStopsWithContext(t *testing.T) {
	t.Parallel()
	_, u := startReplica(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rep, err := runLoad(ctx, LoadOptions{Targets: []*url.URL{u}, Paths: []string{"/HIT/1"},
		Concurrency: 1, Requests: 1000, Duration: time.Minute})
	if err != nil || rep.Responses != 0 {
		t.Errorf("runLoad after cancel = %v, %d responses; want none", err, rep.Responses)
	}
}

func TestValidateBounds(t *testing.T) {
	t.Parallel()
	_, u := startReplica(t)
	ok := LoadOptions{Targets: []*url.URL{u}, Paths: []string{"/"}, Concurrency: 1, Requests: 1, Duration: time.Second}
	if err := ok.validate(); err != nil {
		t.Fatalf("validate(%+v) = %v", ok, err)
	}
	for name, change := range map[string]func(*LoadOptions){
		"no target":        func(o *LoadOptions) { o.Targets = nil },
		"remote target":    func(o *LoadOptions) { o.Targets = []*url.URL{{Scheme: "http", Host: "10.0.0.1:80"}} },
		"no path":          func(o *LoadOptions) { o.Paths = nil },
		"relative path":    func(o *LoadOptions) { o.Paths = []string{"posts/1"} },
		"zero concurrency": func(o *LoadOptions) { o.Concurrency = 0 },
		"huge concurrency": func(o *LoadOptions) { o.Concurrency = maxConcurrency + 1 },
		"zero requests":    func(o *LoadOptions) { o.Requests = 0 },
		"unbounded count":  func(o *LoadOptions) { o.Requests = maxRequests + 1 },
		"zero duration":    func(o *LoadOptions) { o.Duration = 0 },
		"unbounded time":   func(o *LoadOptions) { o.Duration = maxDuration + time.Second },
		"negative timeout": func(o *LoadOptions) { o.Timeout = -time.Second },
	} {
		o := ok
		change(&o)
		if err := o.validate(); err == nil {
			t.Errorf("%s: validate = nil, want an error", name)
		}
	}
}

func TestRedirectToRemoteNotFollowed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.RedirectHandler("http://example.com/", http.StatusFound))
	t.Cleanup(srv.Close)
	u, _ := checkTarget(srv.URL)
	rep, err := runLoad(t.Context(), LoadOptions{Targets: []*url.URL{u}, Paths: []string{"/"},
		Concurrency: 1, Requests: 3, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Statuses[http.StatusFound] != 3 {
		t.Errorf("statuses %v, want 3×302 (redirects not followed)", rep.Statuses)
	}
}
