package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/isrcache/isrcache/internal/metrics"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// newMetrics returns the replica's metrics on a registry of their own
// (never the process-wide default one). They are served at GET /metrics,
// on ISR_METRICS_ADDR if it is set, else on ISR_ADDR.
func newMetrics() (*metrics.Metrics, error) {
	return metrics.New(prometheus.NewRegistry())
}

// watchMetrics adds the collectors that read h's hot cache and, when the
// store is Redis, the pub/sub listener's counters, at each scrape.
func watchMetrics(m *metrics.Metrics, h *isr.Handler, backend isr.Backend) error {
	if err := m.WatchCache(h.Stats); err != nil {
		return err
	}
	if rb, ok := backend.(*isrredis.Backend); ok {
		return m.WatchPubSub(func() metrics.PubSubStats { return pubsubStats(rb.Stats()) })
	}
	return nil
}

// pubsubStats converts the Redis listener's counters for the metrics.
func pubsubStats(s isrredis.Stats) metrics.PubSubStats {
	return metrics.PubSubStats{Messages: s.Messages, Malformed: s.Malformed, Resets: s.Resets, ProbeFailures: s.ProbeFailures,
		Unreplicated: s.Unreplicated}
}
