package isrredis

import (
	"context"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
)

// TestProbeStateMachine drives one listener's probe by hand: a probe that
// does not come back within two ticks fails, one that does keeps it
// healthy, and a counter ahead for two polls fails it.
func TestProbeStateMachine(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	b := New(rdb, &Options{ProbeInterval: time.Second, Shards: 4})
	var got []isr.Event
	l := newListener(b, func(e isr.Event) { got = append(got, e) }, "me")

	l.reset(ctx)
	if len(got) != 1 || got[0].Kind != isr.EventReset || l.needBaseline {
		t.Fatalf("reset: events %+v, needBaseline %v", got, l.needBaseline)
	}

	// A probe that is never received fails after two ticks.
	l.ticks = 1
	if !l.probe(ctx) || !l.waiting {
		t.Fatal("first probe not sent")
	}
	l.ticks = 2
	if !l.probe(ctx) {
		t.Fatal("probe failed after one tick")
	}
	l.ticks = 3
	if l.probe(ctx) {
		t.Fatal("probe not received for two ticks, but healthy")
	}

	// A received probe clears the wait; another listener's does not.
	l.waiting = false
	l.ticks = 4
	l.probe(ctx)
	l.handle(context.Background(), message{kind: 'p', gen: l.probeN, key: "other"}.String())
	if !l.waiting {
		t.Fatal("another listener's probe cleared ours")
	}
	l.handle(context.Background(), message{kind: 'p', gen: l.probeN, key: "me"}.String())
	if l.waiting {
		t.Fatal("our probe did not clear the wait")
	}
	if len(got) != 1 {
		t.Fatalf("probes delivered as events: %+v", got)
	}

	// A shard's counter ahead at one poll and still ahead at the next
	// fails, whatever the other shards do.
	if err := rdb.IncrBy(ctx, b.seqKey(2), 3).Err(); err != nil {
		t.Fatal(err)
	}
	l.ticks = 5
	if !l.probe(ctx) {
		t.Fatal("failed at the first poll that saw the counter ahead")
	}
	l.handle(context.Background(), "2:2 w 1 /p") // one of the three arrives
	l.handle(context.Background(), "1:1 w 1 /q") // another shard's
	if err := rdb.Incr(ctx, b.seqKey(1)).Err(); err != nil {
		t.Fatal(err)
	}
	l.ticks = 6
	if l.probe(ctx) {
		t.Fatal("counter ahead for two polls, but healthy")
	}

	// A counter that went back (a failover lost writes) fails at once.
	l.reset(ctx)
	if err := rdb.Set(ctx, b.seqKey(3), 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	l.handle(context.Background(), "3:2 w 1 /r")
	l.waiting = false
	if l.probe(ctx) {
		t.Fatal("counter behind the events delivered, but healthy")
	}

	// Under steady writes the counter is ahead at every poll, but the
	// events seen at one poll have arrived by the next: healthy.
	l.reset(ctx)
	l.last[2], l.pending[2] = 3, 0
	for i := range 5 {
		if err := rdb.Incr(ctx, b.seqKey(2)).Err(); err != nil {
			t.Fatal(err)
		}
		l.ticks = uint64(10 + i)
		l.waiting = false
		if !l.probe(ctx) {
			t.Fatalf("poll %d failed under steady writes", i)
		}
		l.handle(context.Background(), message{shard: 2, seq: uint64(4 + i), kind: 'w', gen: 1, key: "/p"}.String())
	}
}
