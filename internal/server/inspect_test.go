package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// inspectFixture is a Server over an in-memory store on a fake clock, with
// routes for every kind of revalidate time.
type inspectFixture struct {
	srv   *Server
	clock *isrtest.Clock
	cache *isr.Handler
}

func newInspectFixture(t *testing.T, secret string) *inspectFixture {
	t.Helper()
	clock := isrtest.NewClock(fixedNow)
	origin := isr.OriginFunc(func(ctx context.Context, r *http.Request) (*isr.Response, error) {
		return &isr.Response{Status: 200, Header: http.Header{
			"Content-Type": {"text/plain"}, "Cache-Tag": {"posts,post-" + strings.TrimPrefix(r.URL.Path, "/posts/")},
		}, Body: []byte("page " + r.URL.Path)}, nil
	})
	h, err := isr.New(isr.Options{
		Backend: isrmem.New(&isrmem.Options{Now: clock.Now}),
		Origin:  origin,
		Next:    http.NotFoundHandler(),
		Routes: []isr.Route{
			{Pattern: "/posts/{id}", Revalidate: 30 * time.Second, Tags: []string{"blog"}},
			{Pattern: "/never", Revalidate: isr.Never},
			{Pattern: "/search", Query: []string{"q"}},
		},
		Now: clock.Now,
		Go:  func(fn func()) { fn() },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &inspectFixture{srv: New(Options{Handler: h, Secret: secret}), clock: clock, cache: h}
}

func (f *inspectFixture) do(t *testing.T, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

// visit GETs path through the cache and returns its X-ISR-Cache.
func (f *inspectFixture) visit(t *testing.T, path string) string {
	t.Helper()
	return f.do(t, http.MethodGet, path).Header().Get("X-ISR-Cache")
}

var bearer = []string{"Authorization", "Bearer " + testSecret}

func TestInspectGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  string
		method  string
		target  string
		header  []string
		status  int
		message string
	}{
		{"disabled", "", "GET", "/api/inspect?path=/posts/1&secret=x", nil, 404, "inspection is disabled (ISR_REVALIDATE_SECRET is empty)"},
		{"no token", testSecret, "GET", "/api/inspect?path=/posts/1", nil, 401, "Invalid token"},
		{"wrong bearer", testSecret, "GET", "/api/inspect?path=/posts/1", []string{"Authorization", "Bearer nope"}, 401, "Invalid token"},
		{"prefix of secret", testSecret, "GET", "/api/inspect?path=/posts/1&secret=s3cret", nil, 401, "Invalid token"},
		{"wrong header wins over right query", testSecret, "GET", "/api/inspect?path=/posts/1&secret=" + testSecret,
			[]string{"Authorization", "Bearer nope"}, 401, "Invalid token"},
		{"POST", testSecret, "POST", "/api/inspect?path=/posts/1", bearer, 405, "use GET"},
		{"no path", testSecret, "GET", "/api/inspect", bearer, 400, "give exactly one path: /api/inspect?path=/posts/1"},
		{"empty path", testSecret, "GET", "/api/inspect?path=", bearer, 400, "give exactly one path: /api/inspect?path=/posts/1"},
		{"two paths", testSecret, "GET", "/api/inspect?path=/a&path=/b", bearer, 400, "give exactly one path: /api/inspect?path=/posts/1"},
		{"relative", testSecret, "GET", "/api/inspect?path=posts/1", bearer, 400, `isr: bad path "posts/1": must start with /`},
		{"host", testSecret, "GET", "/api/inspect?path=//evil.example/x", bearer, 400, `isr: bad path "//evil.example/x": must not start with //`},
		{"dot segment", testSecret, "GET", "/api/inspect?path=/a/../b", bearer, 400, `isr: bad path "/a/../b": dot segment`},
		{"not cached, query secret", testSecret, "GET", "/api/inspect?path=/posts/9&secret=" + testSecret, nil, 404, "not cached"},
		{"not cached, bearer", testSecret, "GET", "/api/inspect?path=/posts/9", bearer, 404, "not cached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newInspectFixture(t, tt.secret)
			rec := f.do(t, tt.method, tt.target, tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			var m struct{ Message, Key string }
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("answer %q is not JSON: %v", rec.Body, err)
			}
			if m.Message != tt.message {
				t.Errorf("message %q, want %q", m.Message, tt.message)
			}
			if tt.message == "not cached" && m.Key != "/posts/9" {
				t.Errorf("key %q, want /posts/9", m.Key)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
}

// inspected is the decoded answer of /api/inspect.
type inspected struct {
	Key               string
	Status            int
	Generation        int64
	AgeSeconds        float64  `json:"age_seconds"`
	FreshSeconds      *float64 `json:"fresh_seconds"`
	Stale             bool
	RevalidateSeconds *float64 `json:"revalidate_seconds"`
	Tags              []string
	SizeBytes         int    `json:"size_bytes"`
	BodySHA256        string `json:"body_sha256"`
	Headers           http.Header
}

func ptr(v float64) *float64 { return &v }

func TestInspectEntry(t *testing.T) {
	t.Parallel()
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	tests := []struct {
		name  string
		visit string // path to GET through the cache first
		setup func(t *testing.T, f *inspectFixture)
		path  string // inspected, as sent in the query (escaped)
		want  inspected
	}{
		{
			name: "fresh", visit: "/posts/1", path: "/posts/1",
			setup: func(t *testing.T, f *inspectFixture) { f.clock.Advance(12 * time.Second) },
			want: inspected{Key: "/posts/1", Status: 200, AgeSeconds: 12, FreshSeconds: ptr(18), RevalidateSeconds: ptr(30),
				Tags: []string{"blog", "post-1", "posts"}, SizeBytes: len("page /posts/1"), BodySHA256: sum("page /posts/1")},
		},
		{
			name: "stale by time", visit: "/posts/2", path: "/posts/2",
			setup: func(t *testing.T, f *inspectFixture) { f.clock.Advance(45 * time.Second) },
			want: inspected{Key: "/posts/2", Status: 200, AgeSeconds: 45, FreshSeconds: ptr(0), Stale: true, RevalidateSeconds: ptr(30),
				Tags: []string{"blog", "post-2", "posts"}, SizeBytes: len("page /posts/2"), BodySHA256: sum("page /posts/2")},
		},
		{
			name: "stale on demand", visit: "/posts/3", path: "/posts/3",
			setup: func(t *testing.T, f *inspectFixture) {
				if _, err := f.cache.Revalidate(t.Context(), isr.Revalidation{Tags: []string{"post-3"}, Mode: isr.ModeStale}); err != nil {
					t.Fatal(err)
				}
			},
			want: inspected{Key: "/posts/3", Status: 200, FreshSeconds: ptr(0), Stale: true, RevalidateSeconds: ptr(30),
				Tags: []string{"blog", "post-3", "posts"}, SizeBytes: len("page /posts/3"), BodySHA256: sum("page /posts/3")},
		},
		{
			name: "never by time", visit: "/never", path: "/never",
			setup: func(t *testing.T, f *inspectFixture) { f.clock.Advance(100 * time.Hour) },
			want: inspected{Key: "/never", Status: 200, AgeSeconds: 360_000, FreshSeconds: nil, RevalidateSeconds: nil,
				Tags: []string{"posts", "post-/never"}, SizeBytes: len("page /never"), BodySHA256: sum("page /never")},
		},
		{
			name: "query kept by the route, others dropped", visit: "/search?q=go&utm=x", path: "/search%3Fq%3Dgo%26utm%3Dy",
			want: inspected{Key: "/search?q=go", Status: 200, FreshSeconds: ptr(60), RevalidateSeconds: ptr(60),
				Tags: []string{"posts", "post-/search"}, SizeBytes: len("page /search"), BodySHA256: sum("page /search")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newInspectFixture(t, testSecret)
			if got := f.visit(t, tt.visit); got != "MISS" {
				t.Fatalf("first visit of %s: X-ISR-Cache %q, want MISS", tt.visit, got)
			}
			if tt.setup != nil {
				tt.setup(t, f)
			}
			rec := f.do(t, http.MethodGet, "/api/inspect?path="+tt.path, bearer...)
			if rec.Code != 200 {
				t.Fatalf("got %d %s, want 200", rec.Code, rec.Body)
			}
			var got inspected
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Generation <= 0 {
				t.Errorf("generation %d, want > 0", got.Generation)
			}
			if got.Headers.Get("Content-Type") != "text/plain" {
				t.Errorf("stored headers %v lack Content-Type", got.Headers)
			}
			slices.Sort(got.Tags)
			slices.Sort(tt.want.Tags)
			tt.want.Generation, tt.want.Headers = got.Generation, got.Headers
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

// TestInspectJSONNulls checks that "never" is a JSON null, not a missing
// field, so clients can tell it from an old server.
func TestInspectJSONNulls(t *testing.T) {
	t.Parallel()
	f := newInspectFixture(t, testSecret)
	f.visit(t, "/never")
	rec := f.do(t, http.MethodGet, "/api/inspect?path=/never", bearer...)
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`"fresh_seconds":null`, `"revalidate_seconds":null`, `"stale":false`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("answer %s lacks %s", body, want)
		}
	}
}
