package blog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/cmd/demo-origin/blog"
)

// newServer starts the blog configured by cfg on a test server.
func newServer(t *testing.T, cfg blog.Config) (*blog.Blog, *httptest.Server) {
	t.Helper()
	b, err := blog.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv
}

// get fetches path and returns the response with its body read.
func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	return do(t, srv, http.MethodGet, path, "")
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, string(b)
}

func TestPageHeaders(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, blog.Config{Settings: blog.Settings{SMaxAge: 30 * time.Second}})
	for _, tc := range []struct {
		path, status, cacheControl, tag, contentType, contains string
	}{
		{"/", "200 OK", "s-maxage=30, stale-while-revalidate", "posts", "text/html; charset=utf-8", `<a href="/posts/3">On-demand revalidation</a>`},
		{"/posts/1", "200 OK", "s-maxage=30, stale-while-revalidate", "posts,post-1", "text/html; charset=utf-8", "<h1>Hello, ISR</h1>"},
		{"/posts/42", "200 OK", "s-maxage=30, stale-while-revalidate", "posts,post-42", "text/html; charset=utf-8", "<h1>Post 42</h1>"},
		{"/api/posts/2", "200 OK", "s-maxage=30, stale-while-revalidate", "posts,post-2", "application/json", `"title":"Stale while revalidate"`},
		{"/posts/101", "404 Not Found", "s-maxage=5, stale-while-revalidate", "posts", "text/html; charset=utf-8", "Post not found"},
		{"/posts/01", "404 Not Found", "s-maxage=5, stale-while-revalidate", "posts", "text/html; charset=utf-8", "Post not found"},
		{"/api/posts/nope", "404 Not Found", "s-maxage=5, stale-while-revalidate", "posts", "application/json", `"message":"post not found"`},
		{"/no/such/route", "404 Not Found", "s-maxage=5, stale-while-revalidate", "", "text/plain; charset=utf-8", "404 page not found"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, srv, tc.path)
			if resp.Status != tc.status {
				t.Errorf("status = %q, want %q", resp.Status, tc.status)
			}
			for _, h := range []struct{ name, want string }{
				{"Cache-Control", tc.cacheControl}, {"Cache-Tag", tc.tag}, {"Content-Type", tc.contentType},
			} {
				if got := resp.Header.Get(h.name); got != h.want {
					t.Errorf("%s = %q, want %q", h.name, got, h.want)
				}
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length = %d, want %d", resp.ContentLength, len(body))
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body does not contain %q:\n%s", tc.contains, body)
			}
		})
	}
}

func TestRenderCounters(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 2, 12, 0, 35, 0, time.UTC)
	b, srv := newServer(t, blog.Config{Now: func() time.Time { return at }})
	for i := 1; i <= 3; i++ {
		resp, body := get(t, srv, "/posts/1")
		if want := fmt.Sprintf("render #%d of /posts/1", i); !strings.Contains(body, want) {
			t.Errorf("visit %d: body does not contain %q", i, want)
		}
		if got, want := resp.Header.Get("X-Demo-Render"), strconv.Itoa(i); got != want {
			t.Errorf("visit %d: X-Demo-Render = %q, want %q", i, got, want)
		}
		if want := "<time>2026-05-02T12:00:35Z</time>"; !strings.Contains(body, want) {
			t.Errorf("visit %d: body does not contain the render time %q", i, want)
		}
	}
	get(t, srv, "/posts/2")
	get(t, srv, "/_admin/stats") // admin requests are not renders
	if got := b.Renders("/posts/1"); got != 3 {
		t.Errorf("Renders(/posts/1) = %d, want 3", got)
	}

	_, body := get(t, srv, "/_admin/stats")
	var st blog.Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("stats: %v in %s", err, body)
	}
	if st.Total != 4 || st.Renders["/posts/1"] != 3 || st.Renders["/posts/2"] != 1 || len(st.Renders) != 2 {
		t.Errorf("stats = %+v, want total 4, /posts/1: 3, /posts/2: 1", st)
	}

	if resp, _ := do(t, srv, http.MethodDelete, "/_admin/stats", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE /_admin/stats: status %d, want 204", resp.StatusCode)
	}
	if st := b.Stats(); st.Total != 0 || len(st.Renders) != 0 {
		t.Errorf("after reset: stats = %+v, want zero", st)
	}
}

func TestConcurrentRendersAreCounted(t *testing.T) {
	t.Parallel()
	b, srv := newServer(t, blog.Config{})
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { get(t, srv, "/posts/3") })
	}
	wg.Wait()
	if got := b.Renders("/posts/3"); got != n {
		t.Errorf("Renders = %d, want %d", got, n)
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, blog.Config{})
	resp, body := do(t, srv, http.MethodHead, "/posts/1", "")
	if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength <= 0 {
		t.Errorf("HEAD: status %d, body %q, Content-Length %d; want 200, empty, > 0", resp.StatusCode, body, resp.ContentLength)
	}
	if resp.Header.Get("Cache-Tag") != "posts,post-1" {
		t.Errorf("HEAD: Cache-Tag = %q, want posts,post-1", resp.Header.Get("Cache-Tag"))
	}
}

func TestPadding(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 5, 2, 12, 0, 0, 123, time.UTC) } // fixed length
	_, plain := newServer(t, blog.Config{Now: now})
	_, padded := newServer(t, blog.Config{Now: now, Padding: 10000})
	_, a := get(t, plain, "/posts/1")
	_, b := get(t, padded, "/posts/1")
	if got := len(b) - len(a); got != 10000 {
		t.Errorf("padded page is %d bytes longer, want 10000", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  blog.Config
	}{
		{"negative delay", blog.Config{Settings: blog.Settings{Delay: -time.Second}}},
		{"unknown fail", blog.Config{Settings: blog.Settings{Fail: "teapot"}}},
		{"negative version", blog.Config{Settings: blog.Settings{Version: -1}}},
		{"negative posts", blog.Config{Posts: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := blog.New(tc.cfg); err == nil {
				t.Errorf("New(%+v) = nil error, want one", tc.cfg)
			}
		})
	}
}

func TestParseFail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]blog.Fail{"": blog.FailNone, "none": blog.FailNone, "500": blog.Fail500, " Truncate ": blog.FailTruncate} {
		if got, err := blog.ParseFail(in); got != want || err != nil {
			t.Errorf("ParseFail(%q) = %q, %v; want %q, nil", in, got, err, want)
		}
	}
	if _, err := blog.ParseFail("502"); err == nil {
		t.Error(`ParseFail("502") = nil error, want one`)
	}
}

// isUnexpectedEOF reports whether err is what a client sees when a body
// ends before its Content-Length.
func isUnexpectedEOF(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF)
}
