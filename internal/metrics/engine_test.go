package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/isrcache/isrcache/pkg/isr"
)

func TestOrigin(t *testing.T) {
	m, _ := newTestMetrics(t)
	var next struct {
		resp *isr.Response
		err  error
	}
	o := m.Origin(isr.OriginFunc(func(context.Context, *http.Request) (*isr.Response, error) {
		return next.resp, next.err
	}))
	for _, c := range []struct {
		status int
		err    error
	}{{200, nil}, {204, nil}, {301, nil}, {404, nil}, {503, nil}, {0, errors.New("connection refused")}} {
		next.resp, next.err = &isr.Response{Status: c.status}, c.err
		if c.err != nil {
			next.resp = nil
		}
		resp, err := o.Render(t.Context(), httptest.NewRequest("GET", "/p", nil))
		if resp != next.resp || err != next.err {
			t.Errorf("Render returned %v %v, want the wrapped origin's %v %v", resp, err, next.resp, next.err)
		}
	}
	for outcome, want := range map[string]float64{"ok": 2, "3xx": 1, "4xx": 1, "5xx": 1, "error": 1} {
		if got := testutil.ToFloat64(m.originRequests.WithLabelValues(outcome)); got != want {
			t.Errorf("isr_origin_requests_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	if got := histogramCount(t, m.originDuration); got != 6 {
		t.Errorf("isr_origin_duration_seconds count = %d, want 6", got)
	}
}

func TestObserver(t *testing.T) {
	m, _ := newTestMetrics(t)
	var obs isr.Observer = m
	obs.Regeneration(isr.RegenWritten, 20*time.Millisecond)
	obs.Regeneration(isr.RegenWritten, 30*time.Millisecond)
	obs.Regeneration(isr.RegenFenced, time.Second)
	obs.Regeneration("something-new", time.Second)
	obs.LockWait(150 * time.Millisecond)
	for res, want := range map[string]float64{"written": 2, "fenced": 1, "failed": 0, "busy": 0, "fresh": 0, "other": 1} {
		if got := testutil.ToFloat64(m.regenerations.WithLabelValues(res)); got != want {
			t.Errorf("isr_regenerations_total{result=%q} = %v, want %v", res, got, want)
		}
	}
	if got := histogramCount(t, m.regenerationTime); got != 4 {
		t.Errorf("isr_regeneration_duration_seconds count = %d, want 4", got)
	}
	if got := histogramCount(t, m.lockWait); got != 1 {
		t.Errorf("isr_lock_wait_seconds count = %d, want 1", got)
	}
}

// histogramCount returns the number of observations of h.
func histogramCount(t *testing.T, h interface{ Write(*dto.Metric) error }) uint64 {
	t.Helper()
	var d dto.Metric
	if err := h.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetHistogram().GetSampleCount()
}
