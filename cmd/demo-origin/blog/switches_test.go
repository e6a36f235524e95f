package blog_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/cmd/demo-origin/blog"
)

func TestDelaySwitch(t *testing.T) {
	t.Parallel()
	b, srv := newServer(t, blog.Config{})
	const delay = 200 * time.Millisecond
	if err := b.Configure(blog.Settings{Delay: delay, Version: 1, SMaxAge: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, _ := get(t, srv, "/posts/1")
	if took := time.Since(start); took < delay {
		t.Errorf("request took %v, want at least %v", took, delay)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
}

func TestFail500Switch(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, blog.Config{Settings: blog.Settings{Fail: blog.Fail500}})
	resp, body := get(t, srv, "/posts/1")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "" {
		t.Errorf("Cache-Control = %q, want none on a 500", cc)
	}
	if !strings.Contains(body, "fail=500") {
		t.Errorf("body = %q, want it to say fail=500", body)
	}
}

func TestTruncateSwitch(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, blog.Config{Settings: blog.Settings{Fail: blog.FailTruncate}})
	resp, err := srv.Client().Get(srv.URL + "/posts/1")
	if err != nil {
		t.Fatalf("GET: %v (want the headers to arrive)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
		t.Fatalf("status %d, Content-Length %d; want 200 and a promised length", resp.StatusCode, resp.ContentLength)
	}
	body, err := io.ReadAll(resp.Body)
	if !isUnexpectedEOF(err) {
		t.Errorf("reading body: err = %v, want unexpected EOF", err)
	}
	if got, want := int64(len(body)), resp.ContentLength/2; got != want {
		t.Errorf("got %d body bytes, want %d (half of Content-Length)", got, want)
	}
}

func TestVersionBump(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, blog.Config{})
	if _, body := get(t, srv, "/posts/1"); !strings.Contains(body, "version 1") {
		t.Fatalf("body does not show version 1:\n%s", body)
	}
	resp, body := do(t, srv, http.MethodPost, "/_admin/config", `{"version":3}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_admin/config: status %d: %s", resp.StatusCode, body)
	}
	resp, body = get(t, srv, "/posts/1")
	if !strings.Contains(body, "version 3") || !strings.Contains(body, "Hello, ISR (edit 3)") {
		t.Errorf("body does not show version 3:\n%s", body)
	}
	if got := resp.Header.Get("X-Demo-Version"); got != "3" {
		t.Errorf("X-Demo-Version = %q, want 3", got)
	}
}

func TestAdminConfig(t *testing.T) {
	t.Parallel()
	b, srv := newServer(t, blog.Config{})
	for _, tc := range []struct {
		name, body string
		status     int
		want       string // the settings after the request, as JSON
	}{
		{"all switches", `{"delay":"2s","fail":"500","version":3,"smaxage":30}`, 200,
			`{"delay":"2s","fail":"500","version":3,"smaxage":30}`},
		{"one switch", `{"fail":"truncate"}`, 200, `{"delay":"2s","fail":"truncate","version":3,"smaxage":30}`},
		{"back to normal", `{"delay":"0s","fail":"none","smaxage":0}`, 200, `{"delay":"0s","fail":"none","version":3,"smaxage":0}`},
		{"empty object", `{}`, 200, `{"delay":"0s","fail":"none","version":3,"smaxage":0}`},
		{"bad JSON", `{"delay":`, 400, ""},
		{"not an object", `[1,2]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"trailing data", `{} {}`, 400, ""},
		{"unknown field", `{"delai":"2s"}`, 400, ""},
		{"bad delay", `{"delay":"soon"}`, 400, ""},
		{"negative delay", `{"delay":"-1s"}`, 400, ""},
		{"delay as number", `{"delay":2}`, 400, ""},
		{"bad fail", `{"fail":"502"}`, 400, ""},
		{"version zero", `{"version":0}`, 400, ""},
		{"negative smaxage", `{"smaxage":-1}`, 400, ""},
		{"body too large", `{"fail":"none"` + strings.Repeat(" ", 70<<10) + `}`, 413, ""},
	} {
		before := b.Settings()
		resp, body := do(t, srv, http.MethodPost, "/_admin/config", tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status = %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, body)
			continue
		}
		if tc.status != http.StatusOK {
			var msg struct{ Message string }
			if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Message == "" {
				t.Errorf("%s: body = %q, want a JSON message", tc.name, body)
			}
			if after := b.Settings(); after != before {
				t.Errorf("%s: settings changed from %+v to %+v on a bad request", tc.name, before, after)
			}
			continue
		}
		if got := strings.TrimSpace(body); got != tc.want {
			t.Errorf("%s: response = %s, want %s", tc.name, got, tc.want)
		}
		_, got := get(t, srv, "/_admin/config")
		if got = strings.TrimSpace(got); got != tc.want {
			t.Errorf("%s: GET /_admin/config = %s, want %s", tc.name, got, tc.want)
		}
	}
	if resp, _ := do(t, srv, http.MethodPut, "/_admin/config", `{}`); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT /_admin/config: status = %d, want 405", resp.StatusCode)
	}
}

func TestZeroSMaxAge(t *testing.T) {
	t.Parallel()
	b, srv := newServer(t, blog.Config{})
	if err := b.Configure(blog.Settings{Version: 1}); err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t, srv, "/posts/1")
	if got, want := resp.Header.Get("Cache-Control"), "s-maxage=0, stale-while-revalidate"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
}
