package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isrcache/isrcache/pkg/isr"
)

// confirmOutcomes are the label values of isr_revalidate_wait_total.
var confirmOutcomes = []string{isr.ConfirmComplete, isr.ConfirmPartial, isr.ConfirmFailed}

// deliveryBuckets span one pub/sub round trip, from a LAN's fraction of a
// millisecond to a Redis that stalls for seconds.
var deliveryBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// coherence holds the metrics of cross-replica coherence.
type coherence struct {
	waits        *prometheus.CounterVec
	waitDuration prometheus.Histogram
	delivery     prometheus.Histogram
}

func newCoherence() coherence {
	c := coherence{
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_revalidate_wait_total",
			Help: "Revalidations with wait=all, by outcome: complete (every live replica confirmed it dropped the pages), partial (the wait timed out first), failed (Redis could not be asked).",
		}, []string{"outcome"}),
		waitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "isr_revalidate_wait_seconds",
			Help:    "Time a revalidation with wait=all waited for the replicas' confirmations, after the revalidation itself.",
			Buckets: deliveryBuckets,
		}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "isr_event_apply_seconds",
			Help:    "Publish-to-apply latency of this replica's invalidation events: from publishing a probe on the event channel to applying it, measured every probe interval on one clock.",
			Buckets: deliveryBuckets,
		}),
	}
	for _, o := range confirmOutcomes {
		c.waits.WithLabelValues(o)
	}
	return c
}

func (c coherence) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.waits, c.waitDuration, c.delivery}
}

// Confirmed counts one revalidation with wait=all by outcome and records how
// long it waited. It implements isr.Observer.
func (m *Metrics) Confirmed(outcome string, d time.Duration) {
	m.coherence.waitDuration.Observe(d.Seconds())
	m.coherence.waits.WithLabelValues(oneOf(outcome, confirmOutcomes)).Inc()
}

// EventApplied records one publish-to-apply latency of the event channel.
// Pass it as isrredis.Options.OnApply.
func (m *Metrics) EventApplied(d time.Duration) {
	m.coherence.delivery.Observe(d.Seconds())
}
