package isrredis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// events records what a Listen call delivers.
type events struct {
	mu  sync.Mutex
	evs []isr.Event
}

func (r *events) add(e isr.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

func (r *events) all() []isr.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]isr.Event(nil), r.evs...)
}

func (r *events) count(kind isr.EventKind) int {
	n := 0
	for _, e := range r.all() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// find returns the first event at or after index from that matches.
func (r *events) find(from int, match func(isr.Event) bool) (int, bool) {
	evs := r.all()
	for i := from; i < len(evs); i++ {
		if match(evs[i]) {
			return i, true
		}
	}
	return 0, false
}

// listen runs b.Listen until the test ends, waits for its first Reset and
// checks that Listen returns nil.
func listen(t *testing.T, b *isrredis.Backend) *events {
	t.Helper()
	r := &events{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Listen(ctx, r.add) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Listen returned %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Listen did not return after cancel")
		}
	})
	eventually(t, "the first Reset", func() bool { return r.count(isr.EventReset) >= 1 })
	if first := r.all()[0]; first.Kind != isr.EventReset {
		t.Fatalf("first event %+v, want Reset", first)
	}
	return r
}

var fastProbe = &isrredis.Options{ProbeInterval: 100 * time.Millisecond}

func TestBusEventsInOrder(t *testing.T) {
	e := setup(t, fastProbe)
	ctx := context.Background()
	r := listen(t, e.b)
	mustPut(t, e.b, "/p", mustToken(t, e.b, "/p"), page("/p", "x", time.Hour))
	if _, err := e.b.Invalidate(ctx, isr.ModeStale, "/p", "/missing"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Invalidate(ctx, isr.ModeDelete, "/p"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three events", func() bool { return len(r.all()) >= 4 })
	time.Sleep(300 * time.Millisecond) // room for a stray event to show
	evs := r.all()
	if len(evs) != 4 {
		t.Fatalf("events %+v, want Reset and three", evs)
	}
	want := []struct {
		kind isr.EventKind
		gen  int64
	}{{isr.EventWritten, 1}, {isr.EventStale, 2}, {isr.EventDeleted, 3}}
	for i, w := range want {
		ev := evs[i+1]
		if ev.Kind != w.kind || ev.Gen != w.gen || ev.Key != "/p" || ev.Seq != evs[1].Seq+uint64(i) {
			t.Errorf("event %d = %+v, want kind %v gen %d seq %d", i, ev, w.kind, w.gen, evs[1].Seq+uint64(i))
		}
	}
	if evs[1].Seq != 1 {
		t.Errorf("first seq %d, want 1", evs[1].Seq)
	}
	if s := e.b.Stats(); s.Messages != 3 || s.Resets != 1 || s.ProbeFailures != 0 || s.Malformed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestBusTwoReplicas(t *testing.T) {
	e := setup(t, fastProbe)
	other := isrredis.New(e.srv.Client(t), fastProbe)
	mine, theirs := listen(t, e.b), listen(t, other)
	mustPut(t, other, "/p", 1, page("/p", "x", time.Hour))
	for _, r := range []*events{mine, theirs} {
		eventually(t, "the write event", func() bool {
			_, ok := r.find(0, func(ev isr.Event) bool { return ev.Kind == isr.EventWritten && ev.Key == "/p" })
			return ok
		})
	}
}

func TestBusMalformedIgnored(t *testing.T) {
	e := setup(t, fastProbe)
	ctx := context.Background()
	r := listen(t, e.b)
	for _, m := range []string{"", "garbage", "1 x 1 /p", "-1 w 1 /p", "1 w -1 /p", "0 w 1 /p", "1 w 1"} {
		if err := e.rdb.Publish(ctx, "isr:events", m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, e.b, "/p", 1, page("/p", "x", time.Hour))
	eventually(t, "the write event", func() bool { return r.count(isr.EventWritten) == 1 })
	if s := e.b.Stats(); s.Malformed != 7 {
		t.Fatalf("Malformed = %d, want 7", s.Malformed)
	}
}

// testResetAfter checks that fault makes Listen send another Reset and that
// events flow after it.
func testResetAfter(t *testing.T, fault func(e *env)) *env {
	e := setup(t, fastProbe)
	r := listen(t, e.b)
	resets := r.count(isr.EventReset)
	fault(e)
	eventually(t, "a Reset after the fault", func() bool { return r.count(isr.EventReset) > resets })
	key := "/after"
	eventually(t, "an event after the Reset", func() bool {
		// Writes made before the subscription is back are lost: write
		// until one arrives.
		if _, err := e.b.Put(context.Background(), key, mustToken(t, e.b, key), page(key, "x", time.Hour), time.Hour); err != nil {
			t.Logf("Put: %v", err)
		}
		_, ok := r.find(0, func(ev isr.Event) bool { return ev.Kind == isr.EventWritten && ev.Key == key })
		return ok
	})
	return e
}

func TestBusResetOnClientKill(t *testing.T) {
	testResetAfter(t, func(e *env) {
		if err := e.rdb.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBusResetOnRestart(t *testing.T) {
	testResetAfter(t, func(e *env) { e.srv.Restart() })
}

func TestBusResetOnSeqAhead(t *testing.T) {
	// Events that Redis counted but never delivered: the counter moves
	// with no message, as when messages are lost on a silent subscription.
	e := testResetAfter(t, func(e *env) {
		if err := e.rdb.IncrBy(context.Background(), isrredis.SeqKey(e.b, 0), 5).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if n := e.b.Stats().ProbeFailures; n < 1 {
		t.Fatalf("ProbeFailures = %d, want the probe to have caught it", n)
	}
}

func TestBusListenWhileRedisDown(t *testing.T) {
	e := setup(t, fastProbe)
	e.srv.Kill()
	r := &events{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.b.Listen(ctx, r.add) }()
	time.Sleep(300 * time.Millisecond)
	if n := len(r.all()); n != 0 {
		t.Fatalf("%d events before Redis is up", n)
	}
	e.srv.Restart()
	eventually(t, "the first Reset once Redis is up", func() bool { return r.count(isr.EventReset) == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Listen: %v", err)
	}
}
