package server

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// recordingObserver records what a Server reports.
type recordingObserver struct {
	mu      sync.Mutex
	served  []string
	codes   []int
	results []isr.Result
}

func (o *recordingObserver) Served(r *http.Request, state, _ string, _ int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.served = append(o.served, r.Method+" "+r.URL.Path+" "+state)
}

func (o *recordingObserver) RevalidateRequest(code int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes = append(o.codes, code)
}

func (o *recordingObserver) Revalidated(results []isr.PageResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range results {
		o.results = append(o.results, r.Result)
	}
}

func TestObserver(t *testing.T) {
	f := newFixture(t, testSecret)
	obs := &recordingObserver{}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics\n")) })
	f.srv = New(Options{Handler: f.srv.cache, Secret: testSecret, Observer: obs, Metrics: metrics})

	f.do(t, "GET", "/a", "")
	f.do(t, "POST", "/form", "")
	f.do(t, "POST", "/api/revalidate?path=/a&path=/b&mode=stale", "", "Authorization", "Bearer "+testSecret)
	f.do(t, "POST", "/api/revalidate?path=/a", "", "Authorization", "Bearer wrong")
	f.do(t, "GET", "/api/revalidate", "", "Authorization", "Bearer "+testSecret)
	if rec := f.do(t, "GET", "/metrics", ""); rec.Body.String() != "metrics\n" {
		t.Errorf("GET /metrics: got %q, want the metrics handler's answer", rec.Body.String())
	}
	f.do(t, "GET", "/healthz", "")

	if want := []string{"GET /a MISS", "POST /form BYPASS"}; !slices.Equal(obs.served, want) {
		t.Errorf("Served saw %q, want %q (the cache's requests only)", obs.served, want)
	}
	if want := []int{200, 401, 405}; !slices.Equal(obs.codes, want) {
		t.Errorf("revalidate codes: got %v, want %v", obs.codes, want)
	}
	if want := []isr.Result{isr.ResultStale, isr.ResultNotCached}; !slices.Equal(obs.results, want) {
		t.Errorf("revalidate results: got %q, want %q", obs.results, want)
	}
}

func TestNoMetricsRoute(t *testing.T) {
	f := newFixture(t, testSecret)
	rec := f.do(t, "GET", "/metrics", "")
	if got := rec.Header().Get("X-ISR-Cache"); got != "MISS" {
		t.Errorf("GET /metrics without Options.Metrics: X-ISR-Cache %q, want MISS from the cache", got)
	}
	if f.renders.Load() != 1 {
		t.Errorf("origin renders: got %d, want 1", f.renders.Load())
	}
}

// TestRecorderFlushes: the request log's recorder, the one wrapper on the
// request path, lets a streamed answer's flush reach the connection.
func TestRecorderFlushes(t *testing.T) {
	rec := httptest.NewRecorder()
	(&recorder{ResponseWriter: rec}).Flush()
	if !rec.Flushed {
		t.Error("the flush did not reach the connection")
	}
	rec = httptest.NewRecorder()
	if err := http.NewResponseController(&recorder{ResponseWriter: rec}).Flush(); err != nil || !rec.Flushed {
		t.Errorf("flush through http.ResponseController: %v, flushed %v", err, rec.Flushed)
	}
}
