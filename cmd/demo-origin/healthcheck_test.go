package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/cmd/demo-origin/blog"
)

// checkHealth runs "demo-origin healthcheck args..." with DEMO_ADDR=addr.
func checkHealth(t *testing.T, addr string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"DEMO_ADDR": addr}
	err = healthcheck(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestHealthcheckBlog probes a real blog: healthy, no render counted, then
// unhealthy once it is closed.
func TestHealthcheckBlog(t *testing.T) {
	t.Parallel()
	b, err := blog.New(blog.Config{Settings: blog.Settings{Version: 1, SMaxAge: 10 * time.Second}, Posts: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	for _, a := range []string{addr, ":" + port, "0.0.0.0:" + port} {
		if out, _, err := checkHealth(t, a); err != nil || out != "ok: http://"+addr+"/_admin/config\n" {
			t.Errorf("DEMO_ADDR=%s: got %q, %v; want ok", a, out, err)
		}
	}
	if out, _, err := checkHealth(t, "127.0.0.1:1", "-addr", addr); err != nil || out == "" {
		t.Errorf("-addr %s: got %q, %v; want ok", addr, out, err)
	}
	if st := b.Stats(); st.Total != 0 {
		t.Errorf("renders after health checks: got %+v, want none", st)
	}
	srv.Close()
	if _, _, err := checkHealth(t, addr); err == nil || !strings.Contains(err.Error(), "/_admin/config") {
		t.Errorf("closed origin: got %v, want an error naming /_admin/config", err)
	}
}

func TestHealthcheckStatusAndUsage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	if _, _, err := checkHealth(t, strings.TrimPrefix(srv.URL, "http://")); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: got %v, want an error", err)
	}
	for _, tt := range []struct {
		addr string
		args []string
		want string
	}{
		{"3000", nil, `listen address "3000"`},
		{":0", nil, "no fixed port"},
		{":3000", []string{"now"}, `unexpected argument "now"`},
	} {
		if _, _, err := checkHealth(t, tt.addr, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DEMO_ADDR=%q %q: got %v, want %q", tt.addr, tt.args, err, tt.want)
		}
	}
}
