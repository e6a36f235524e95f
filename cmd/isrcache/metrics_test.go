package main

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/isrcache/isrcache/internal/redistest"
)

// scrape fetches the replica's /metrics and parses the exposition.
func (r *replica) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}

// value returns the value of the series of family name whose labels are
// labels ("k=v" pairs), summed over its other labels; a histogram's value
// is its count. ok is false if there is no such series.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for _, kv := range labels {
			k, want, _ := strings.Cut(kv, "=")
			found := false
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == k && lp.GetValue() == want)
			}
			if !found {
				continue next
			}
		}
		ok = true
		v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue() +
			float64(m.GetHistogram().GetSampleCount())
	}
	return v, ok
}

// waitFor scrapes until cond holds for the exposition, and returns it.
func waitFor(t *testing.T, r *replica, what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs := r.scrape(t)
		if cond(mfs) {
			return mfs
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exerciseMetrics serves a MISS, a HIT, a revalidation, a STALE and a
// BYPASS, and checks the metrics they leave.
func exerciseMetrics(t *testing.T, r *replica) map[string]*dto.MetricFamily {
	t.Helper()
	for _, want := range []string{"MISS", "HIT"} {
		if resp, _ := r.do(t, "GET", "/posts/1", ""); resp.Header.Get("X-ISR-Cache") != want {
			t.Fatalf("GET /posts/1: %q, want %s", resp.Header.Get("X-ISR-Cache"), want)
		}
	}
	if resp, body := r.do(t, "POST", "/api/revalidate?path=/posts/1&mode=stale", "tok"); resp.StatusCode != 200 {
		t.Fatalf("revalidate: %d %s", resp.StatusCode, body)
	}
	if resp, _ := r.do(t, "GET", "/posts/1", ""); resp.Header.Get("X-ISR-Cache") != "STALE" {
		t.Fatalf("GET after revalidation: %q, want STALE", resp.Header.Get("X-ISR-Cache"))
	}
	if resp, _ := r.do(t, "POST", "/form", ""); resp.Header.Get("X-ISR-Cache") != "BYPASS" {
		t.Fatalf("POST /form: %q, want BYPASS", resp.Header.Get("X-ISR-Cache"))
	}
	mfs := waitFor(t, r, "the background regeneration", func(mfs map[string]*dto.MetricFamily) bool {
		// All three series settle once the regeneration is over; a scrape
		// may land between them.
		v, _ := value(mfs, "isr_regenerations_total", "result=written")
		d, _ := value(mfs, "isr_regeneration_duration_seconds")
		o, _ := value(mfs, "isr_origin_duration_seconds")
		return v == 1 && d == 1 && o == 2
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"isr_requests_total", []string{"cache=MISS", "code=2xx"}, 1},
		{"isr_requests_total", []string{"cache=HIT", "code=2xx"}, 1},
		{"isr_requests_total", []string{"cache=STALE", "code=2xx"}, 1},
		{"isr_requests_total", []string{"cache=BYPASS", "code=2xx"}, 1},
		{"isr_requests_total", []string{"cache=NONE"}, 0}, // /metrics, /api/revalidate are not the cache's
		{"isr_request_duration_seconds", []string{"cache=HIT"}, 1},
		{"isr_bypass_total", []string{"reason=method"}, 1},
		{"isr_origin_requests_total", []string{"outcome=ok"}, 2}, // the MISS and the regeneration
		{"isr_origin_requests_total", []string{"outcome=error"}, 0},
		{"isr_origin_duration_seconds", nil, 2},
		{"isr_regenerations_total", []string{"result=failed"}, 0},
		{"isr_regeneration_duration_seconds", nil, 1},
		{"isr_revalidations_total", []string{"result=stale"}, 1},
		{"isr_revalidations_total", []string{"result=regenerated"}, 0},
		{"isr_revalidate_requests_total", []string{"code=200"}, 1},
		{"isr_lock_wait_seconds", nil, 0},
	} {
		if got, ok := value(mfs, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"isr_l1_entries", "isr_l1_bytes", "isr_l1_flushes_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := value(mfs, name); !ok {
			t.Errorf("%s: missing", name)
		}
	}
	var bad []string
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), "/") {
					bad = append(bad, name+"{"+lp.GetName()+"="+lp.GetValue()+"}")
				}
			}
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("label values with a path: %v", bad)
	}
	return mfs
}

func TestMetricsMemory(t *testing.T) {
	t.Parallel()
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok"})
	mfs := exerciseMetrics(t, r)
	for _, name := range []string{"isr_pubsub_messages_total", "isr_redis_commands_total"} {
		if v, _ := value(mfs, name); v != 0 {
			t.Errorf("%s = %v without Redis, want 0", name, v)
		}
	}
	if _, ok := value(mfs, "isr_pubsub_resets_total"); ok {
		t.Error("isr_pubsub_resets_total is exposed without Redis")
	}
}

func TestMetricsRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok", "ISR_REDIS_URL": redis.URL()})
	// Events published before the replica's subscription is confirmed (its
	// first Reset) are not heard: wait for it before writing any.
	waitFor(t, r, "the event subscription", func(mfs map[string]*dto.MetricFamily) bool {
		v, _ := value(mfs, "isr_pubsub_resets_total")
		return v >= 1
	})
	exerciseMetrics(t, r)
	// The replica hears its own events: the write of the MISS, the
	// revalidation and the regeneration.
	mfs := waitFor(t, r, "three pub/sub messages", func(mfs map[string]*dto.MetricFamily) bool {
		v, _ := value(mfs, "isr_pubsub_messages_total")
		return v >= 3
	})
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"isr_pubsub_resets_total", nil, 1},
		{"isr_l1_flushes_total", []string{"reason=reset"}, 1},
		{"isr_redis_commands_total", []string{"cmd=evalsha", "result=ok"}, 4},
		{"isr_redis_commands_total", []string{"cmd=ping", "result=ok"}, 1},
		{"isr_redis_duration_seconds", []string{"cmd=evalsha"}, 4},
	} {
		if got, _ := value(mfs, c.name, c.labels...); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	for _, name := range []string{"isr_redis_errors_total", "isr_pubsub_malformed_total"} {
		if got, ok := value(mfs, name); !ok || got != 0 {
			t.Errorf("%s = %v (present %v), want 0", name, got, ok)
		}
	}
	if got, _ := value(mfs, "isr_redis_commands_total", "result=error"); got != 0 {
		t.Errorf("isr_redis_commands_total{result=error} = %v, want 0", got)
	}
}
