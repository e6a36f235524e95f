package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

const testSecret = "s3cret-token"

// fixedNow is the clock of the test servers.
var fixedNow = time.UnixMilli(1_700_000_000_000)

// fixture is a Server in front of an in-memory cache and a counting origin.
type fixture struct {
	srv     *Server
	renders atomic.Int64 // calls of the origin
	fail    atomic.Bool  // the origin errors
	next    atomic.Int64 // calls of Next (bypassed requests)
	logs    *observer.ObservedLogs
}

// newFixture returns a fixture whose server has secret; each of with may
// change its options first.
func newFixture(t *testing.T, secret string, with ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{}
	origin := isr.OriginFunc(func(ctx context.Context, r *http.Request) (*isr.Response, error) {
		f.renders.Add(1)
		if f.fail.Load() {
			return nil, errors.New("origin down")
		}
		return &isr.Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("page " + r.URL.Path)}, nil
	})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.next.Add(1)
		_, _ = io.WriteString(w, "passed through")
	})
	h, err := isr.New(isr.Options{Backend: isrmem.New(nil), Origin: origin, Next: next, Go: func(fn func()) { fn() }})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	f.logs = logs
	opts := Options{Handler: h, Secret: secret, Logger: zap.New(core), Now: func() time.Time { return fixedNow }}
	for _, w := range with {
		w(&opts)
	}
	f.srv = New(opts)
	return f
}

// do sends a request to the fixture's server and returns the recorded answer.
func (f *fixture) do(t *testing.T, method, target, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, target, rb)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

// message returns the "message" field of a JSON answer.
func message(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %q is not JSON: %v", rec.Body, err)
	}
	return m.Message
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		header []string
		want   int
	}{
		{"missing", "/api/revalidate?path=/a", nil, 401},
		{"wrong query", "/api/revalidate?path=/a&secret=nope", nil, 401},
		{"empty query", "/api/revalidate?path=/a&secret=", nil, 401},
		{"prefix of secret", "/api/revalidate?path=/a&secret=s3cret", nil, 401},
		{"secret plus suffix", "/api/revalidate?path=/a&secret=s3cret-token-x", nil, 401},
		{"different length", "/api/revalidate?path=/a&secret=" + strings.Repeat("s", 200), nil, 401},
		{"case differs", "/api/revalidate?path=/a&secret=S3CRET-TOKEN", nil, 401},
		{"query", "/api/revalidate?path=/a&secret=" + testSecret, nil, 200},
		{"bearer", "/api/revalidate?path=/a", []string{"Authorization", "Bearer " + testSecret}, 200},
		{"bearer lower case", "/api/revalidate?path=/a", []string{"Authorization", "bearer " + testSecret}, 200},
		{"bearer wrong", "/api/revalidate?path=/a", []string{"Authorization", "Bearer nope"}, 401},
		{"bearer prefix", "/api/revalidate?path=/a", []string{"Authorization", "Bearer s3cret"}, 401},
		{"bearer empty", "/api/revalidate?path=/a", []string{"Authorization", "Bearer "}, 401},
		{"basic scheme", "/api/revalidate?path=/a", []string{"Authorization", "Basic " + testSecret}, 401},
		{"bare token", "/api/revalidate?path=/a", []string{"Authorization", testSecret}, 401},
		{"wrong header wins over right query", "/api/revalidate?path=/a&secret=" + testSecret,
			[]string{"Authorization", "Bearer nope"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testSecret)
			rec := f.do(t, http.MethodPost, tt.target+"&mode=stale", "", tt.header...)
			if rec.Code != tt.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if tt.want == 401 && message(t, rec) != "Invalid token" {
				t.Errorf("got message %q, want %q", message(t, rec), "Invalid token")
			}
		})
	}
}

func TestTokenMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
		ok        bool
	}{
		{"a", "a", true},
		{"", "", false},
		{"", "a", false},
		{"a", "", false},
		{"ab", "a", false},
		{"a", "ab", false},
	}
	for _, tt := range tests {
		if ok := tokenMatches(tt.got, tt.want); ok != tt.ok {
			t.Errorf("tokenMatches(%q, %q): got %v, want %v", tt.got, tt.want, ok, tt.ok)
		}
	}
}

func TestRevalidateDisabled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	for _, target := range []string{"/api/revalidate?path=/a", "/api/revalidate?path=/a&secret="} {
		rec := f.do(t, http.MethodPost, target, "", "Authorization", "Bearer ")
		if rec.Code != 404 || message(t, rec) != "revalidation is disabled (ISR_REVALIDATE_SECRET is empty)" {
			t.Errorf("%s: got %d %s, want 404 and the disabled message", target, rec.Code, rec.Body)
		}
	}
}

func TestRevalidateMethod(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead} {
		rec := f.do(t, m, "/api/revalidate?path=/a&secret="+testSecret, "")
		if rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s: got %d Allow %q, want 405 Allow POST", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if n := f.renders.Load() + f.next.Load(); n != 0 {
		t.Errorf("got %d origin calls, want 0", n)
	}
}

func TestRevalidateRequests(t *testing.T) {
	t.Parallel()
	many := `{"paths":[` + strings.Repeat(`"/a",`, 1000) + `"/a"]}`
	tests := []struct {
		name, target, body string
		want               int
		msg                string // substring of the message, for errors
	}{
		{"query path", "/api/revalidate?path=/a&mode=stale", "", 200, ""},
		{"query tag", "/api/revalidate?tag=posts&mode=stale", "", 200, ""},
		{"body", "/api/revalidate", `{"paths":["/a","/b"],"tags":["posts"],"mode":"delete"}`, 200, ""},
		{"body and query", "/api/revalidate?path=/a", `{"paths":["/b"],"mode":"stale"}`, 200, ""},
		{"same mode twice", "/api/revalidate?mode=stale", `{"paths":["/b"],"mode":"stale"}`, 200, ""},
		{"nothing", "/api/revalidate", "", 400, "nothing to revalidate"},
		{"empty lists", "/api/revalidate", `{"paths":[],"tags":[]}`, 400, "nothing to revalidate"},
		{"unknown field", "/api/revalidate", `{"path":["/a"]}`, 400, "unknown field"},
		{"bad JSON", "/api/revalidate", `{"paths":["/a"]`, 400, "bad JSON body"},
		{"not an object", "/api/revalidate", `["/a"]`, 400, "bad JSON body"},
		{"trailing data", "/api/revalidate", `{"paths":["/a"]} {}`, 400, "data after the object"},
		{"bad mode", "/api/revalidate?path=/a&mode=now", "", 400, `mode "now"`},
		{"conflicting modes", "/api/revalidate?path=/a&mode=stale", `{"mode":"delete"}`, 400, "conflicting modes"},
		{"too many", "/api/revalidate", many, 400, "too many paths and tags: 1001"},
		{"bad tag", "/api/revalidate?tag=a+b", "", 400, "tag"},
		{"empty tag", "/api/revalidate", `{"tags":[""]}`, 400, `tag ""`},
		{"long tag", "/api/revalidate?tag=" + strings.Repeat("t", 129), "", 400, "1 to 128 bytes"},
		{"relative path", "/api/revalidate?path=a", "", 400, "bad path"},
		{"scheme relative", "/api/revalidate?path=//evil.example/x", "", 400, "bad path"},
		{"backslash", `/api/revalidate?path=/%5Cevil.example`, "", 400, "bad path"},
		{"dot dot", "/api/revalidate?path=/%2e%2e/admin", "", 400, "bad path"},
		{"control char", "/api/revalidate?path=/a%0d%0aX:1", "", 400, "bad path"},
		{"too large", "/api/revalidate", `{"paths":["/` + strings.Repeat("a", 64<<10) + `"]}`, 413, "body larger than 65536 bytes"},
		{"malformed query", "/api/revalidate?path=/a&x=%zz", "", 400, "malformed query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testSecret)
			rec := f.do(t, http.MethodPost, tt.target, tt.body, "Authorization", "Bearer "+testSecret)
			if rec.Code != tt.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if tt.msg != "" && !strings.Contains(message(t, rec), tt.msg) {
				t.Errorf("got message %q, want it to contain %q", message(t, rec), tt.msg)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
		})
	}
}

// revalidation is the decoded answer of a revalidation.
type revalidation struct {
	Revalidated bool
	Now         int64
	Results     []isr.PageResult
}

func decodeRevalidation(t *testing.T, rec *httptest.ResponseRecorder) revalidation {
	t.Helper()
	var rv revalidation
	if err := json.Unmarshal(rec.Body.Bytes(), &rv); err != nil {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	return rv
}

func TestRevalidateResults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	auth := []string{"Authorization", "Bearer " + testSecret}

	rec := f.do(t, http.MethodPost, "/api/revalidate?path=/a&mode=stale", "", auth...)
	rv := decodeRevalidation(t, rec)
	if rec.Code != 200 || !rv.Revalidated || rv.Now != fixedNow.UnixMilli() ||
		len(rv.Results) != 1 || rv.Results[0].Path != "/a" || rv.Results[0].Result != isr.ResultNotCached {
		t.Errorf("not cached: got %d %s", rec.Code, rec.Body)
	}

	rec = f.do(t, http.MethodPost, "/api/revalidate?path=/a", "", auth...)
	rv = decodeRevalidation(t, rec)
	if rec.Code != 200 || !rv.Revalidated || len(rv.Results) != 1 || rv.Results[0].Result != isr.ResultRegenerated {
		t.Errorf("eager: got %d %s, want 200 regenerated", rec.Code, rec.Body)
	}

	f.fail.Store(true)
	rec = f.do(t, http.MethodPost, "/api/revalidate?path=/a", "", auth...)
	rv = decodeRevalidation(t, rec)
	if rec.Code != 500 || rv.Revalidated || len(rv.Results) != 1 || rv.Results[0].Result != isr.ResultFailed {
		t.Errorf("failing origin: got %d %s, want 500 failed", rec.Code, rec.Body)
	}

	rec = f.do(t, http.MethodPost, "/api/revalidate?tag=none&mode=stale", "", auth...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"results":[]`) {
		t.Errorf("no pages: got %d %s, want 200 and an empty results list", rec.Code, rec.Body)
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	f.fail.Store(true) // the origin's health never matters
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if rec := f.do(t, http.MethodGet, p, ""); rec.Code != 200 {
			t.Errorf("%s: got %d, want 200", p, rec.Code)
		}
	}
	f.srv.Drain()
	f.srv.Drain()
	if rec := f.do(t, http.MethodGet, "/readyz", ""); rec.Code != 503 {
		t.Errorf("/readyz draining: got %d, want 503", rec.Code)
	}
	for _, p := range []string{"/healthz", "/livez"} {
		if rec := f.do(t, http.MethodGet, p, ""); rec.Code != 200 {
			t.Errorf("%s draining: got %d, want 200", p, rec.Code)
		}
	}
	if n := f.renders.Load() + f.next.Load(); n != 0 {
		t.Errorf("got %d origin calls, want 0", n)
	}
}

func TestCatchAll(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	rec := f.do(t, http.MethodGet, "/posts/1", "")
	if rec.Code != 200 || rec.Body.String() != "page /posts/1" || rec.Header().Get("X-ISR-Cache") != "MISS" {
		t.Errorf("GET /posts/1: got %d %q %q, want 200 from the cache", rec.Code, rec.Body, rec.Header().Get("X-ISR-Cache"))
	}
	if rec = f.do(t, http.MethodGet, "/posts/1", ""); rec.Header().Get("X-ISR-Cache") != "HIT" {
		t.Errorf("second GET: got %q, want HIT", rec.Header().Get("X-ISR-Cache"))
	}
	for _, tt := range []struct{ method, target string }{
		{http.MethodPost, "/healthz"},
		{http.MethodPost, "/form"},
		{http.MethodDelete, "/readyz"},
	} {
		before := f.next.Load()
		if rec := f.do(t, tt.method, tt.target, ""); rec.Body.String() != "passed through" || f.next.Load() != before+1 {
			t.Errorf("%s %s: got %d %q, want it passed to the origin", tt.method, tt.target, rec.Code, rec.Body)
		}
	}
	if rec := f.do(t, http.MethodGet, "/api/revalidate/x", ""); rec.Body.String() != "page /api/revalidate/x" {
		t.Errorf("GET /api/revalidate/x: got %q, want the origin's page", rec.Body)
	}
}
