package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

func TestWatchCache(t *testing.T) {
	m, reg := newTestMetrics(t)
	stats := isr.Stats{L1Entries: 3, L1Bytes: 4096, L1Flushes: map[isr.FlushReason]int{isr.FlushReset: 2}}
	if err := m.WatchCache(func() isr.Stats { return stats }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP isr_l1_bytes Size of the pages in the hot cache, in bytes (bounded by ISR_L1_BYTES).
# TYPE isr_l1_bytes gauge
isr_l1_bytes 4096
# HELP isr_l1_entries Pages in the replica's in-process hot cache (L1).
# TYPE isr_l1_entries gauge
isr_l1_entries 3
# HELP isr_l1_flushes_total Times the hot cache was emptied, by reason: reset (the pub/sub subscription was (re)established, so events may have been lost) or gap (a gap in the events' sequence numbers).
# TYPE isr_l1_flushes_total counter
isr_l1_flushes_total{reason="gap"} 0
isr_l1_flushes_total{reason="reset"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isr_l1_entries", "isr_l1_bytes", "isr_l1_flushes_total"); err != nil {
		t.Error(err)
	}
	// Read at each scrape, with unknown reasons summed as other.
	stats = isr.Stats{L1Flushes: map[isr.FlushReason]int{isr.FlushGap: 1, "x": 2, "y": 3}}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP isr_l1_entries Pages in the replica's in-process hot cache (L1).
# TYPE isr_l1_entries gauge
isr_l1_entries 0
# HELP isr_l1_flushes_total Times the hot cache was emptied, by reason: reset (the pub/sub subscription was (re)established, so events may have been lost) or gap (a gap in the events' sequence numbers).
# TYPE isr_l1_flushes_total counter
isr_l1_flushes_total{reason="gap"} 1
isr_l1_flushes_total{reason="other"} 5
isr_l1_flushes_total{reason="reset"} 0
`), "isr_l1_entries", "isr_l1_flushes_total"); err != nil {
		t.Error(err)
	}
	if err := m.WatchCache(func() isr.Stats { return stats }); err == nil {
		t.Error("a second WatchCache: no error")
	}
}

// TestWatchPubSub runs a Redis backend's listener on a real redis-server
// and checks that its counters reach the registry.
func TestWatchPubSub(t *testing.T) {
	m, reg := newTestMetrics(t)
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	rdb.AddHook(m.RedisHook())
	b := isrredis.New(rdb, nil)
	stats := func() PubSubStats {
		s := b.Stats()
		return PubSubStats{Messages: s.Messages, Malformed: s.Malformed, Resets: s.Resets, ProbeFailures: s.ProbeFailures}
	}
	if err := m.WatchPubSub(stats); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	done := make(chan error, 1)
	go func() { done <- b.Listen(ctx, func(isr.Event) {}) }()
	t.Cleanup(func() { <-done })
	eventually(t, "the first reset", func() bool { return b.Stats().Resets >= 1 })

	tok, err := b.Token(ctx, "/p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "/p", tok, &isr.Page{Key: "/p", Status: 200, Body: []byte("x"), Revalidate: time.Hour}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, "isr:events", "not an event").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "one message and one malformed", func() bool {
		s := b.Stats()
		return s.Messages >= 1 && s.Malformed >= 1
	})
	s := b.Stats()
	for name, want := range map[string]uint64{
		"isr_pubsub_messages_total": s.Messages, "isr_pubsub_malformed_total": s.Malformed,
		"isr_pubsub_resets_total": s.Resets, "isr_pubsub_probe_failures_total": s.ProbeFailures,
		"isr_invalidations_unreplicated_total": s.Unreplicated,
	} {
		got := gathered(t, reg, name)
		if got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}
	if got := gathered(t, reg, "isr_pubsub_messages_total"); got != 1 {
		t.Errorf("isr_pubsub_messages_total = %v, want 1 (the write)", got)
	}
	if got := testutil.ToFloat64(m.redisCommands.WithLabelValues("publish", "ok")); got != 1 {
		t.Errorf("isr_redis_commands_total{cmd=publish,result=ok} = %v, want 1", got)
	}
}

// gathered returns the value of the unlabelled counter or gauge name.
func gathered(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		if ms := mf.GetMetric(); len(ms) == 1 {
			return ms[0].GetCounter().GetValue() + ms[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s: not one series in the registry", name)
	return 0
}

// eventually waits until cond holds, failing the test after 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
