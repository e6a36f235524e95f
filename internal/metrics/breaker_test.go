package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isrcache/isrcache/pkg/isr/isrbreaker"
)

func TestBreakerStateChange(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.BreakerStateChange(isrbreaker.Closed, isrbreaker.Open)
	m.BreakerStateChange(isrbreaker.Open, isrbreaker.HalfOpen)
	m.BreakerStateChange(isrbreaker.HalfOpen, isrbreaker.Open)
	want := `
# HELP isr_breaker_state State of the circuit breaker in front of Redis: 0 closed, 1 half-open (one probe call goes through), 2 open (store calls fail at once; pages come from the hot cache or the origin, unstored). Always 0 with the in-memory store.
# TYPE isr_breaker_state gauge
isr_breaker_state 2
# HELP isr_breaker_transitions_total State changes of the circuit breaker in front of Redis, by the state entered: closed, half-open, open.
# TYPE isr_breaker_transitions_total counter
isr_breaker_transitions_total{to="closed"} 0
isr_breaker_transitions_total{to="half-open"} 1
isr_breaker_transitions_total{to="open"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isr_breaker_state", "isr_breaker_transitions_total"); err != nil {
		t.Error(err)
	}
	m.BreakerStateChange(isrbreaker.HalfOpen, isrbreaker.Closed)
	if v := testutil.ToFloat64(m.breakerState); v != 0 {
		t.Errorf("isr_breaker_state %v after closing, want 0", v)
	}
}
