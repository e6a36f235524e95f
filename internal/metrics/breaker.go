package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/isrcache/isrcache/pkg/isr/isrbreaker"
)

// breakerStates are the label values of isr_breaker_transitions_total.
var breakerStates = []string{isrbreaker.Closed.String(), isrbreaker.HalfOpen.String(), isrbreaker.Open.String()}

// newBreakerMetrics returns the circuit breaker's gauge and counter.
func newBreakerMetrics() (prometheus.Gauge, *prometheus.CounterVec) {
	state := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "isr_breaker_state",
		Help: "State of the circuit breaker in front of Redis: 0 closed, 1 half-open (one probe call goes through), 2 open (store calls fail at once; pages come from the hot cache or the origin, unstored). Always 0 with the in-memory store.",
	})
	transitions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_breaker_transitions_total",
		Help: "State changes of the circuit breaker in front of Redis, by the state entered: closed, half-open, open.",
	}, []string{"to"})
	for _, s := range breakerStates {
		transitions.WithLabelValues(s)
	}
	return state, transitions
}

// BreakerStateChange records a state change of the circuit breaker: it
// sets isr_breaker_state and counts the transition. Pass it as
// isrbreaker.Options.OnStateChange (it is fast and never calls back).
func (m *Metrics) BreakerStateChange(from, to isrbreaker.State) {
	m.breakerState.Set(float64(to))
	m.breakerTransitions.WithLabelValues(oneOf(to.String(), breakerStates)).Inc()
}
