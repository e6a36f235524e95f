package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
)

func TestLogNeverShowsSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	f.do(t, http.MethodPost, "/api/revalidate?path=/a&secret="+testSecret, "")
	f.do(t, http.MethodPost, "/api/revalidate?path=/a&SECRET="+testSecret+"&mode=stale", "")
	f.do(t, http.MethodPost, "/api/revalidate?s%65cret="+testSecret+"&path=/a", "")
	f.do(t, http.MethodPost, "/api/revalidate?path=/a", `{"mode":"stale"}`, "Authorization", "Bearer "+testSecret)
	f.do(t, http.MethodPost, "/api/revalidate?path=/a&secret=wrong-"+testSecret, "")
	f.do(t, http.MethodGet, "/page?x=1", "", "Cookie", "session="+testSecret, "Authorization", "Bearer "+testSecret)
	f.fail.Store(true)
	f.do(t, http.MethodPost, "/api/revalidate?path=/a&secret="+testSecret, "")

	entries := f.logs.All()
	if len(entries) < 7 {
		t.Fatalf("got %d log entries, want at least 7", len(entries))
	}
	for _, e := range entries {
		line := fmt.Sprintf("%s %v", e.Message, e.ContextMap())
		if strings.Contains(line, testSecret) || strings.Contains(line, "s3cret") {
			t.Errorf("log line shows the secret: %s", line)
		}
	}
	first := entries[0].ContextMap()
	if first["path"] != "/api/revalidate?(27 bytes not logged)" || first["method"] != "POST" || first["status"] != int64(200) {
		t.Errorf("got first line %v, want the redacted path, POST and 200", first)
	}
}

func TestLogFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	f.do(t, http.MethodGet, "/posts/1?page=2", "")
	f.do(t, http.MethodGet, "/healthz", "")
	var req, probe map[string]any
	for _, e := range f.logs.FilterMessage("request").All() {
		m := e.ContextMap()
		switch m["path"] {
		case "/posts/1?page=2":
			req = m
		case "/healthz":
			probe = m
			if e.Level != zapcore.DebugLevel {
				t.Errorf("probe logged at %v, want debug", e.Level)
			}
		}
	}
	if req == nil || probe == nil {
		t.Fatalf("got lines %v, want one per request", f.logs.All())
	}
	if req["cache"] != "MISS" || req["status"] != int64(200) || req["bytes"] != int64(len("page /posts/1")) ||
		req["remote"] == "" || req["duration"] == nil {
		t.Errorf("got %v, want cache MISS, status 200, bytes, remote and duration", req)
	}
}

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"path=/a", "path=/a"},
		{"secret=x", "secret=REDACTED"},
		{"path=/a&secret=x&tag=t", "path=/a&secret=REDACTED&tag=t"},
		{"Secret=x&secret=y", "Secret=REDACTED&secret=REDACTED"},
		{"s%65cret=x", "s%65cret=REDACTED"},
		{"secret", "secret=REDACTED"},
		{"%zz=x&a=b", "REDACTED&a=b"},
		{"secret+=x", "secret+=REDACTED"},
	}
	for _, tt := range tests {
		if got := redactQuery(tt.in); got != tt.want {
			t.Errorf("redactQuery(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := logPath(&url.URL{Path: "/a b"}); got != "/a%20b" {
		t.Errorf("logPath: got %q, want /a%%20b", got)
	}
	for _, raw := range []string{"x=1;secret=t", "secret%3Dt", "path=/x?secret=t"} {
		for _, p := range []string{"/api/revalidate", "/api/inspect"} {
			want := fmt.Sprintf("%s?(%d bytes not logged)", p, len(raw))
			if got := logPath(&url.URL{Path: p, RawQuery: raw}); got != want {
				t.Errorf("logPath(%s?%s): got %q, want %q", p, raw, got, want)
			}
		}
	}
}
