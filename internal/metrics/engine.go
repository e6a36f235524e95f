package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Label values of the engine metrics.
var (
	originOutcomes = []string{"ok", "3xx", "4xx", "5xx", "error"}
	regenResults   = []isr.RegenOutcome{isr.RegenWritten, isr.RegenFenced, isr.RegenFailed, isr.RegenBusy, isr.RegenFresh, isr.RegenDeferred}
)

// Origin returns o wrapped so that each render is counted by outcome and
// timed. The renders pass through unchanged.
func (m *Metrics) Origin(o isr.Origin) isr.Origin {
	return &origin{next: o, m: m}
}

// origin is the isr.Origin that Metrics.Origin returns.
type origin struct {
	next isr.Origin
	m    *Metrics
}

// Render calls the wrapped origin and records the outcome.
func (o *origin) Render(ctx context.Context, r *http.Request) (*isr.Response, error) {
	start := time.Now()
	resp, err := o.next.Render(ctx, r)
	o.m.originDuration.Observe(time.Since(start).Seconds())
	o.m.originRequests.WithLabelValues(originOutcome(resp, err)).Inc()
	return resp, err
}

// originOutcome classifies a render's result.
func originOutcome(resp *isr.Response, err error) string {
	switch {
	case err != nil || resp == nil:
		return "error"
	case resp.Status >= 500:
		return "5xx"
	case resp.Status >= 400:
		return "4xx"
	case resp.Status >= 300:
		return "3xx"
	}
	return "ok"
}

// Regeneration counts one regeneration attempt by outcome and records its
// duration. It implements isr.Observer.
func (m *Metrics) Regeneration(outcome isr.RegenOutcome, d time.Duration) {
	m.regenerationTime.Observe(d.Seconds()) // before the count: a scrape that sees the count sees the duration
	m.regenerations.WithLabelValues(oneOf(outcome, regenResults)).Inc()
}

// LockWait records how long a cold-miss fill waited for another replica's
// render. It implements isr.Observer.
func (m *Metrics) LockWait(d time.Duration) {
	m.lockWait.Observe(d.Seconds())
}
