package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"
)

const wrkSample = `Running 4s test @ http://127.0.0.1:40000/8k
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.61ms    2.01ms  36.79ms   90.12%
    Req/Sec    11.59k     1.21k   14.02k    71.25%
  Latency Distribution
     50%  812.00us
     75%    1.90ms
     90%    3.80ms
     99%    9.60ms
  92198 requests in 4.00s, 773.15MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  23046.41
Transfer/sec:    193.28MB
`

func TestParseWrk(t *testing.T) {
	t.Parallel()
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{RPS: 23046.41, P50: 0.812, P99: 9.6, Non2x: 3}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
	if _, err := parseWrk("Running 4s test\nunable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("parseWrk of a failed run: want an error")
	}
	for in, want := range map[string]float64{"512.00us": 0.512, "9.60ms": 9.6, "1.02s": 1020, "2.00m": 120000} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWrkDuration("3h"); err == nil {
		t.Error("parseWrkDuration(3h): want an error")
	}
}

// TestBenchPage checks that the benchmark pages have their exact size, are
// the same on every call, and compress like HTML (neither barely nor
// absurdly well), so that compression figures mean something.
func TestBenchPage(t *testing.T) {
	t.Parallel()
	for _, size := range benchPageSizes {
		p := benchPage(size)
		if len(p) != size || !bytes.Equal(p, benchPage(size)) {
			t.Fatalf("benchPage(%d): %d bytes, or not deterministic", size, len(p))
		}
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		_, _ = w.Write(p)
		_ = w.Close()
		if r := float64(z.Len()) / float64(size); r < 0.15 || r > 0.45 {
			t.Errorf("benchPage(%d) gzips to %.2f of its size, want a real page's 0.15..0.45", size, r)
		}
	}
}

func TestBareHandler(t *testing.T) {
	t.Parallel()
	h := bareHandler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/8k", nil))
	if rec.Code != 200 || rec.Body.Len() != 8<<10 || rec.Header().Get("Cache-Control") != benchCacheControl {
		t.Errorf("GET /8k: %d, %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if rec.Code != 404 {
		t.Errorf("GET /nope: %d, want 404", rec.Code)
	}
}
