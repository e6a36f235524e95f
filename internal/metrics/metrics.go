// Package metrics exposes an isrcache replica's Prometheus metrics: the
// requests it serves by cache state, its origin renders, regenerations and
// lock waits, its hot cache, pub/sub and Redis commands, the circuit
// breaker in front of Redis, and on-demand revalidations.
//
// Every metric lives on a registry the caller creates (no global
// registry). Label values come from small fixed sets: never a path, key,
// address or URL, so the number of series stays bounded whatever the
// traffic.
//
// The parts plug into the replica without changing the engine:
// a Metrics is an internal/server Observer (fed from the request log's own
// record of each answer), [Metrics.Origin] wraps the cache's isr.Origin, a
// Metrics is an isr.Observer, [Metrics.RedisHook]
// is a go-redis hook, [Metrics.BreakerStateChange] is an isrbreaker.Breaker's
// state-change hook, and [Metrics.WatchCache] and [Metrics.WatchPubSub]
// read the engine's and the Redis backend's counters at scrape time.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Bucket boundaries, in seconds.
var (
	// requestBuckets span a hot-cache HIT (under a millisecond) to a
	// slow cold render.
	requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	// renderBuckets span an origin render, up to the render timeout.
	renderBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	// redisBuckets span one Redis round trip on a LAN.
	redisBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}
)

// Metrics holds a replica's metrics. Create it with [New]; its methods are
// safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	bypass          *prometheus.CounterVec

	originRequests *prometheus.CounterVec
	originDuration prometheus.Histogram

	regenerations      *prometheus.CounterVec
	regenerationTime   prometheus.Histogram
	lockWait           prometheus.Histogram
	revalidations      *prometheus.CounterVec
	revalidateRequests *prometheus.CounterVec

	redisCommands *prometheus.CounterVec
	redisErrors   *prometheus.CounterVec
	redisDuration *prometheus.HistogramVec

	breakerState       prometheus.Gauge
	breakerTransitions *prometheus.CounterVec

	coherence coherence
}

// New registers the replica's metrics on reg, with the Go runtime and
// process collectors, and returns them. reg is required: the caller
// creates it (prometheus.NewRegistry), never the global default. The
// hot-cache and pub/sub collectors are added later by WatchCache and
// WatchPubSub. New fails if reg already holds one of the metrics. It
// starts nothing.
func New(reg *prometheus.Registry) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_requests_total",
			Help: "Requests answered by the cache, by X-ISR-Cache state (HIT, STALE, MISS, BYPASS; NONE when the cache set none, as for a malformed path) and status class.",
		}, []string{"cache", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "isr_request_duration_seconds",
			Help:    "Time to answer a request through the cache, from its arrival to the end of the handler, by X-ISR-Cache state.",
			Buckets: requestBuckets,
		}, []string{"cache"}),
		bypass: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_bypass_total",
			Help: "Requests passed to the origin uncached (BYPASS) or rendered but not stored (a MISS with detail=not-stored-*), by the Cache-Status detail (method, authorization, cookie, set-cookie, private, status, vary, ...; other for anything else).",
		}, []string{"reason"}),
		originRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_origin_requests_total",
			Help: "Origin renders (cache fills, regenerations, eager revalidations; not bypassed requests), by outcome: ok (1xx, 2xx), 3xx, 4xx, 5xx, or error (unreachable, timeout, truncated body).",
		}, []string{"outcome"}),
		originDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "isr_origin_duration_seconds",
			Help:    "Duration of one origin render, whatever its outcome.",
			Buckets: renderBuckets,
		}),
		regenerations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_regenerations_total",
			Help: "Regeneration attempts of stored pages (stale visits and eager revalidations), by result: written, fenced (a newer page was stored meanwhile), failed (the old page is kept), busy (another replica holds the lock), fresh (another replica regenerated it first), deferred (the cluster-wide regeneration budget was spent: the page stays STALE).",
		}, []string{"result"}),
		regenerationTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "isr_regeneration_duration_seconds",
			Help:    "Duration of one regeneration attempt, whatever its result.",
			Buckets: renderBuckets,
		}),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "isr_lock_wait_seconds",
			Help:    "Time a cold-miss fill waited while another replica held the page's lock and rendered it.",
			Buckets: renderBuckets,
		}),
		revalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_revalidations_total",
			Help: "Pages named by POST /api/revalidate, by result: regenerated, stale, deleted, not_cached, failed.",
		}, []string{"result"}),
		revalidateRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_revalidate_requests_total",
			Help: "Answers of POST /api/revalidate, by status code (200, 400, 401, 404, 405, 413, 429, 500; other for anything else).",
		}, []string{"code"}),
		redisCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_redis_commands_total",
			Help: "Redis commands sent by the replica (a pipeline counts once, as pipeline), by command and result (ok or error; a missing key and NOSCRIPT are ok).",
		}, []string{"cmd", "result"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isr_redis_errors_total",
			Help: "Redis commands that failed (connection errors, timeouts, error replies), by command.",
		}, []string{"cmd"}),
		redisDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "isr_redis_duration_seconds",
			Help:    "Duration of one Redis command or pipeline, including waiting for a pooled connection, by command.",
			Buckets: redisBuckets,
		}, []string{"cmd"}),
	}
	m.breakerState, m.breakerTransitions = newBreakerMetrics()
	m.coherence = newCoherence()
	m.initLabels()
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration, m.bypass,
		m.originRequests, m.originDuration,
		m.regenerations, m.regenerationTime, m.lockWait, m.revalidations, m.revalidateRequests,
		m.redisCommands, m.redisErrors, m.redisDuration,
		m.breakerState, m.breakerTransitions,
	}
	cs = append(cs, m.coherence.collectors()...)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// initLabels creates the series of the known label values at zero, so that
// rates and alerts see them before their first event.
func (m *Metrics) initLabels() {
	for _, c := range cacheStates {
		for _, code := range codeClasses {
			m.requests.WithLabelValues(c, code)
		}
	}
	for _, o := range originOutcomes {
		m.originRequests.WithLabelValues(o)
	}
	for _, r := range regenResults {
		m.regenerations.WithLabelValues(string(r))
	}
	for _, r := range revalidateResults {
		m.revalidations.WithLabelValues(string(r))
	}
	for _, c := range redisCmds {
		m.redisCommands.WithLabelValues(c, "ok")
		m.redisCommands.WithLabelValues(c, "error")
		m.redisErrors.WithLabelValues(c)
	}
}

// Handler serves the registry's metrics in the Prometheus exposition
// format, for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// oneOf returns v if it is in set, else "other".
func oneOf[T ~string](v T, set []T) string {
	for _, s := range set {
		if s == v {
			return string(v)
		}
	}
	return "other"
}
