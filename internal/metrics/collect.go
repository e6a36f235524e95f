package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/isrcache/isrcache/pkg/isr"
)

// flushReasons are the label values of isr_l1_flushes_total.
var flushReasons = []isr.FlushReason{isr.FlushReset, isr.FlushGap}

var (
	l1EntriesDesc = prometheus.NewDesc("isr_l1_entries",
		"Pages in the replica's in-process hot cache (L1).", nil, nil)
	l1BytesDesc = prometheus.NewDesc("isr_l1_bytes",
		"Size of the pages in the hot cache, in bytes (bounded by ISR_L1_BYTES).", nil, nil)
	l1FlushesDesc = prometheus.NewDesc("isr_l1_flushes_total",
		"Times the hot cache was emptied, by reason: reset (the pub/sub subscription was (re)established, so events may have been lost) or gap (a gap in the events' sequence numbers).",
		[]string{"reason"}, nil)

	pubsubMessagesDesc = prometheus.NewDesc("isr_pubsub_messages_total",
		"Invalidation events received over Redis pub/sub and applied to the hot cache (resets excluded).", nil, nil)
	pubsubMalformedDesc = prometheus.NewDesc("isr_pubsub_malformed_total",
		"Messages on the invalidation channel that could not be parsed and were dropped.", nil, nil)
	pubsubResetsDesc = prometheus.NewDesc("isr_pubsub_resets_total",
		"Times the invalidation subscription was (re)established, each flushing the hot cache.", nil, nil)
	pubsubProbeFailuresDesc = prometheus.NewDesc("isr_pubsub_probe_failures_total",
		"Times the delivery probe found the subscription silent and subscribed again.", nil, nil)
	unreplicatedDesc = prometheus.NewDesc("isr_invalidations_unreplicated_total",
		"Invalidations (Redis Cluster or Sentinel) that no replica of their Redis primary acknowledged within 100ms: each is lost if that primary fails before its replica catches up.", nil, nil)
)

// WatchCache registers a collector that reads the hot cache's counters
// from stats (an isr.Handler's Stats method) at each scrape. Call it once,
// after the handler is created.
func (m *Metrics) WatchCache(stats func() isr.Stats) error {
	return m.reg.Register(cacheCollector(stats))
}

// PubSubStats are the counters of a store's event listener, such as those
// of an isrredis.Backend's Stats.
type PubSubStats struct {
	Messages, Malformed, Resets, ProbeFailures uint64
	// Unreplicated counts the invalidations no replica acknowledged.
	Unreplicated uint64
}

// WatchPubSub registers a collector that reads the store's pub/sub
// counters from stats at each scrape. Call it once, only when Redis is the
// store.
func (m *Metrics) WatchPubSub(stats func() PubSubStats) error {
	return m.reg.Register(pubsubCollector(stats))
}

// cacheCollector exposes an isr.Handler's Stats.
type cacheCollector func() isr.Stats

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- l1EntriesDesc
	ch <- l1BytesDesc
	ch <- l1FlushesDesc
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	ch <- prometheus.MustNewConstMetric(l1EntriesDesc, prometheus.GaugeValue, float64(s.L1Entries))
	ch <- prometheus.MustNewConstMetric(l1BytesDesc, prometheus.GaugeValue, float64(s.L1Bytes))
	flushes := map[string]int{}
	for _, r := range flushReasons {
		flushes[string(r)] = 0
	}
	for r, n := range s.L1Flushes {
		flushes[oneOf(r, flushReasons)] += n
	}
	for r, n := range flushes {
		ch <- prometheus.MustNewConstMetric(l1FlushesDesc, prometheus.CounterValue, float64(n), r)
	}
}

// pubsubCollector exposes a store's pub/sub counters.
type pubsubCollector func() PubSubStats

func (c pubsubCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pubsubMessagesDesc
	ch <- pubsubMalformedDesc
	ch <- pubsubResetsDesc
	ch <- pubsubProbeFailuresDesc
	ch <- unreplicatedDesc
}

func (c pubsubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	ch <- prometheus.MustNewConstMetric(pubsubMessagesDesc, prometheus.CounterValue, float64(s.Messages))
	ch <- prometheus.MustNewConstMetric(pubsubMalformedDesc, prometheus.CounterValue, float64(s.Malformed))
	ch <- prometheus.MustNewConstMetric(pubsubResetsDesc, prometheus.CounterValue, float64(s.Resets))
	ch <- prometheus.MustNewConstMetric(pubsubProbeFailuresDesc, prometheus.CounterValue, float64(s.ProbeFailures))
	ch <- prometheus.MustNewConstMetric(unreplicatedDesc, prometheus.CounterValue, float64(s.Unreplicated))
}
