package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isrcache/isrcache/pkg/isr"
)

// newTestMetrics returns Metrics on a fresh registry.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestServed(t *testing.T) {
	m, reg := newTestMetrics(t)
	serve := func(state, cs string, code int) {
		m.Served(httptest.NewRequest("GET", "/posts/1", nil), state, cs, code, time.Millisecond)
	}
	serve("MISS", "isrcache; fwd=uri-miss; stored", 200)
	serve("HIT", "isrcache; hit; ttl=7", 200)
	serve("HIT", "isrcache; hit; detail=fallback-false", 404)
	serve("STALE", "isrcache; hit", 301)
	serve("BYPASS", "isrcache; fwd=bypass; detail=cookie", 200)
	serve("BYPASS", "isrcache; fwd=bypass; detail=/secret/path", 502)
	serve("MISS", "isrcache; fwd=uri-miss; detail=not-stored-set-cookie", 200)
	serve("MISS", "isrcache; fwd=uri-miss; detail=origin-error", 504)
	serve("", "", 400)
	serve("/posts/1", "", 200) // an unknown state must not become a label

	for _, c := range []struct {
		cache, code string
		want        float64
	}{
		{"MISS", "2xx", 2}, {"HIT", "2xx", 1}, {"HIT", "4xx", 1}, {"STALE", "3xx", 1},
		{"BYPASS", "2xx", 1}, {"BYPASS", "5xx", 1}, {"MISS", "5xx", 1}, {"NONE", "4xx", 1}, {"NONE", "2xx", 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.cache, c.code)); got != c.want {
			t.Errorf("isr_requests_total{cache=%q,code=%q} = %v, want %v", c.cache, c.code, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.bypass); n != 3 {
		t.Errorf("isr_bypass_total has %d series, want 3 (cookie, other, set-cookie)", n)
	}
	for reason, want := range map[string]float64{"cookie": 1, "other": 1, "set-cookie": 1} {
		if got := testutil.ToFloat64(m.bypass.WithLabelValues(reason)); got != want {
			t.Errorf("isr_bypass_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.requestDuration); n != 5 {
		t.Errorf("isr_request_duration_seconds has %d series, want one per cache state", n)
	}
	assertNoPathLabel(t, reg)
}

func TestCodeClass(t *testing.T) {
	for code, want := range map[int]string{0: "2xx", 100: "2xx", 200: "2xx", 204: "2xx", 308: "3xx", 404: "4xx", 599: "5xx", 600: "2xx"} {
		if got := codeClass(code); got != want {
			t.Errorf("codeClass(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestRevalidateHooks(t *testing.T) {
	m, _ := newTestMetrics(t)
	for _, code := range []int{200, 200, 401, 418} {
		m.RevalidateRequest(code)
	}
	m.Revalidated([]isr.PageResult{
		{Path: "/a", Result: isr.ResultRegenerated}, {Path: "/b", Result: isr.ResultNotCached},
		{Path: "/c", Result: isr.ResultRegenerated}, {Path: "/d", Result: "/weird"},
	})
	for code, want := range map[string]float64{"200": 2, "401": 1, "other": 1} {
		if got := testutil.ToFloat64(m.revalidateRequests.WithLabelValues(code)); got != want {
			t.Errorf("isr_revalidate_requests_total{code=%q} = %v, want %v", code, got, want)
		}
	}
	for res, want := range map[string]float64{"regenerated": 2, "not_cached": 1, "failed": 0, "other": 1} {
		if got := testutil.ToFloat64(m.revalidations.WithLabelValues(res)); got != want {
			t.Errorf("isr_revalidations_total{result=%q} = %v, want %v", res, got, want)
		}
	}
}

// assertNoPathLabel fails if any label value of reg's metrics contains a
// slash: a path, URL or key must never become a label.
func assertNoPathLabel(t *testing.T, reg prometheus.Gatherer) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if strings.Contains(lp.GetValue(), "/") {
					t.Errorf("%s has label %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}
