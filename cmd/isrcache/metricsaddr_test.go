package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// metricsAddr returns the address of r's "listening metrics" line, or "".
// The line comes before "listening", which startReplica waited for.
func (r *replica) metricsAddr() string {
	for _, line := range strings.Split(r.out.String(), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening metrics" {
			return l.Addr
		}
	}
	return ""
}

// TestMetricsAddr checks that with ISR_METRICS_ADDR the metrics port
// serves /metrics and /healthz alone, while the main port hands /metrics
// to the cache like any page; both close on shutdown.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	origin, n := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok",
		"ISR_METRICS_ADDR": "127.0.0.1:0"})
	addr := r.metricsAddr()
	if addr == "" || "http://"+addr == r.base {
		t.Fatalf("metrics address %q (main %s), want a port of its own; logs:\n%s", addr, r.base, r.out)
	}
	mr := &replica{base: "http://" + addr, out: r.out}

	if resp, body := r.do(t, "GET", "/metrics", ""); resp.Header.Get("X-ISR-Cache") != "MISS" || body != "GET /metrics #1" {
		t.Errorf("main port GET /metrics: got %d %q %.60q, want the origin's page (MISS)", resp.StatusCode, resp.Header.Get("X-ISR-Cache"), body)
	}
	if resp, body := r.do(t, "GET", "/metrics", ""); resp.Header.Get("X-ISR-Cache") != "HIT" || body != "GET /metrics #1" {
		t.Errorf("main port GET /metrics again: got %q %.60q, want a HIT", resp.Header.Get("X-ISR-Cache"), body)
	}
	mfs := waitFor(t, mr, "the cached /metrics page counted", func(mfs map[string]*dto.MetricFamily) bool {
		v, _ := value(mfs, "isr_requests_total", "cache=HIT")
		return v == 1
	})
	if v, _ := value(mfs, "isr_requests_total", "cache=MISS"); v != 1 {
		t.Errorf("isr_requests_total{cache=MISS} = %v, want 1", v)
	}
	if resp, body := mr.do(t, "GET", "/healthz", ""); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("metrics port /healthz: got %d %q, want 200 ok", resp.StatusCode, body)
	}
	for _, p := range []string{"/posts/1", "/readyz", "/api/revalidate?path=/posts/1"} {
		if resp, _ := mr.do(t, "GET", p, "tok"); resp.StatusCode != 404 {
			t.Errorf("metrics port %s: got %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := mr.do(t, "POST", "/metrics", ""); resp.StatusCode != 405 {
		t.Errorf("metrics port POST /metrics: got %d, want 405", resp.StatusCode)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("origin calls: got %d, want 1 (the main port's /metrics)", got)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if logs := r.out.String(); !strings.Contains(logs, `"msg":"stopped"`) || strings.Contains(logs, `"msg":"metrics shutdown"`) {
		t.Errorf("want a clean shutdown; logs:\n%s", logs)
	}
}

// TestMetricsAddrInUse checks that a metrics address that cannot be
// opened stops the replica at start with exit status 1.
func TestMetricsAddrInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr strings.Builder
	env := map[string]string{"ISR_ORIGIN": "http://127.0.0.1:1", "ISR_ADDR": "127.0.0.1:0", "ISR_METRICS_ADDR": ln.Addr().String()}
	err = run(t.Context(), nil, func(k string) string { return env[k] }, &stdout, &stderr)
	if exitCode(err) != 1 || !strings.Contains(stdout.String(), "metrics listener: listen tcp "+ln.Addr().String()) {
		t.Errorf("got exit code %d (%v), logs %s; want 1 and the metrics listener named", exitCode(err), err, stdout.String())
	}
	if strings.Contains(stdout.String(), `"msg":"listening"`) {
		t.Errorf("the main listener was announced:\n%s", stdout.String())
	}
}

// TestMetricsOnMainAddr checks the default: without ISR_METRICS_ADDR the
// main port serves /metrics itself, and there is no other listener.
func TestMetricsOnMainAddr(t *testing.T) {
	t.Parallel()
	origin, n := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL})
	if _, ok := value(r.scrape(t), "isr_requests_total"); !ok {
		t.Error("main port /metrics: no isr_requests_total")
	}
	if got := n.Load(); got != 0 {
		t.Errorf("origin calls: got %d, want 0", got)
	}
	if addr := r.metricsAddr(); addr != "" {
		t.Errorf("a metrics listener on %s without ISR_METRICS_ADDR", addr)
	}
}
