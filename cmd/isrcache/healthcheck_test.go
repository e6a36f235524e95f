package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
)

// checkHealth runs "isrcache healthcheck args..." with ISR_ADDR=addr and
// returns its exit status and output.
func checkHealth(t *testing.T, addr string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"ISR_ADDR": addr}
	err := run(t.Context(), append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return exitCode(err), out.String(), errOut.String()
}

// TestHealthcheckReplica probes a real replica: ready, then stopped.
func TestHealthcheckReplica(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REDIS_URL": redis.URL()})
	addr := strings.TrimPrefix(r.base, "http://")
	_, port, _ := net.SplitHostPort(addr)

	for _, a := range []string{addr, ":" + port, "0.0.0.0:" + port} {
		if code, out, errOut := checkHealth(t, a); code != 0 || out != "ok: http://"+addr+"/readyz\n" || errOut != "" {
			t.Errorf("ISR_ADDR=%s: got exit %d, stdout %q, stderr %q; want 0, ok", a, code, out, errOut)
		}
	}
	// -addr wins over ISR_ADDR.
	if code, _, errOut := checkHealth(t, "127.0.0.1:1", "-addr", addr); code != 0 {
		t.Errorf("-addr %s: got exit %d (%s), want 0", addr, code, errOut)
	}

	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := checkHealth(t, addr)
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "isrcache healthcheck: ") || !strings.Contains(errOut, "/readyz") {
		t.Errorf("stopped replica: got exit %d, stdout %q, stderr %q; want 1 and an error naming /readyz", code, out, errOut)
	}
}

// TestHealthcheckStatus checks that only a 200 from /readyz is healthy.
func TestHealthcheckStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   int
	}{
		{http.StatusOK, 0},
		{http.StatusServiceUnavailable, 1}, // draining
		{http.StatusNotFound, 1},
		{http.StatusFound, 1}, // a redirect is not followed
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" || r.Method != http.MethodGet {
				t.Errorf("got %s %s, want GET /readyz", r.Method, r.URL.Path)
			}
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(tt.status)
		}))
		code, _, errOut := checkHealth(t, strings.TrimPrefix(srv.URL, "http://"))
		srv.Close()
		if code != tt.want {
			t.Errorf("/readyz %d: got exit %d (%s), want %d", tt.status, code, errOut, tt.want)
		}
	}
}

// TestHealthcheckTimeout checks that a replica that does not answer within
// -timeout is unhealthy.
func TestHealthcheckTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	code, _, errOut := checkHealth(t, strings.TrimPrefix(srv.URL, "http://"), "-timeout", (50 * time.Millisecond).String())
	if code != 1 || !strings.Contains(errOut, "deadline exceeded") {
		t.Errorf("got exit %d, stderr %q; want 1 and a deadline error", code, errOut)
	}
}

// TestHealthcheckBadUsage checks addresses with nothing to probe and
// unknown arguments.
func TestHealthcheckBadUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		args []string
		want string
	}{
		{"8080", nil, `listen address "8080"`},
		{"127.0.0.1:0", nil, "no fixed port"},
		{":8080", []string{"extra"}, `unexpected argument "extra"`},
		{":8080", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, _, errOut := checkHealth(t, tt.addr, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("ISR_ADDR=%q %q: got exit %d, stderr %q; want 1 and %q", tt.addr, tt.args, code, errOut, tt.want)
		}
	}
	if code, _, _ := checkHealth(t, ":8080", "-h"); code != 0 {
		t.Errorf("-h: got exit %d, want 0", code)
	}
}
