package isrtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// A recorder records the events of one Listen call.
type recorder struct {
	mu     sync.Mutex
	events []isr.Event
}

func (r *recorder) add(ev isr.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// snapshot returns a copy of the events recorded so far.
func (r *recorder) snapshot() []isr.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// find returns the index of the first event matching match, or -1.
func (r *recorder) find(match func(isr.Event) bool) int {
	return slices.IndexFunc(r.snapshot(), match)
}

// wait polls until an event matching match is recorded and returns it.
func (r *recorder) wait(t *testing.T, what string, match func(isr.Event) bool) isr.Event {
	t.Helper()
	eventually(t, "event "+what, func() bool { return r.find(match) >= 0 })
	return r.snapshot()[r.find(match)]
}

// listen starts b.Listen, waits for its first event, which must be a Reset,
// and returns the recorder. Cleanup cancels the Listen call and checks that
// it returned nil, and that the recorded events are well formed.
func listen(t *testing.T, b isr.Bus) *recorder {
	t.Helper()
	r := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Listen(ctx, r.add) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Listen returned %v after cancel, want nil", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Listen did not return within %v of cancel", waitFor)
		}
		checkEvents(t, r.snapshot())
	})
	deadline := time.After(waitFor)
	for len(r.snapshot()) == 0 {
		select {
		case err := <-done:
			t.Fatalf("Listen returned %v before its first event", err)
		case <-deadline:
			t.Fatalf("Listen delivered no event within %v", waitFor)
		case <-time.After(pollEvery):
		}
	}
	if first := r.snapshot()[0]; first.Kind != isr.EventReset {
		t.Fatalf("first event = %+v, want a Reset", first)
	}
	return r
}

// checkEvents checks that numbered events are consecutive within their
// shard (a Reset may restart the numbering) and that the generations
// announced for a key never go backwards.
func checkEvents(t *testing.T, evs []isr.Event) {
	t.Helper()
	last := map[uint32]uint64{}
	gens := make(map[string]int64)
	for i, ev := range evs {
		if ev.Kind == isr.EventReset {
			clear(last)
			continue
		}
		if l := last[ev.Shard]; ev.Seq != 0 && l != 0 && ev.Seq != l+1 {
			t.Errorf("event %d %+v: Seq %d follows %d in shard %d, want %d", i, ev, ev.Seq, l, ev.Shard, l+1)
		}
		last[ev.Shard] = ev.Seq
		if ev.Key == "" {
			t.Errorf("event %d %+v has no key", i, ev)
		}
		if ev.Gen < gens[ev.Key] {
			t.Errorf("event %d %+v: Gen went back from %d", i, ev, gens[ev.Key])
		}
		gens[ev.Key] = ev.Gen
	}
}

// is returns a matcher for events of kind on key.
func is(kind isr.EventKind, key string) func(isr.Event) bool {
	return func(ev isr.Event) bool { return ev.Kind == kind && ev.Key == key }
}

func testBusEvents(t *testing.T, b isr.Backend) {
	r := listen(t, b)
	key := "/bus"
	tok := put(t, b, newPage(key, "v1", time.Hour))
	if ev := r.wait(t, "Written "+key, is(isr.EventWritten, key)); ev.Gen != tok {
		t.Fatalf("Written event Gen = %d, want the token %d", ev.Gen, tok)
	}
	if _, err := b.Invalidate(t.Context(), isr.ModeStale, key); err != nil {
		t.Fatalf("Invalidate(stale): %v", err)
	}
	if ev := r.wait(t, "Stale "+key, is(isr.EventStale, key)); ev.Gen <= tok {
		t.Fatalf("Stale event Gen = %d, want a floor above the page's %d", ev.Gen, tok)
	}
	tok2 := put(t, b, newPage(key, "v2", time.Hour))
	r.wait(t, fmt.Sprintf("Written %s gen %d", key, tok2), func(ev isr.Event) bool {
		return is(isr.EventWritten, key)(ev) && ev.Gen == tok2
	})
	if _, err := b.Invalidate(t.Context(), isr.ModeDelete, key); err != nil {
		t.Fatalf("Invalidate(delete): %v", err)
	}
	r.wait(t, "Deleted "+key, is(isr.EventDeleted, key))
	written, stale, deleted := r.find(is(isr.EventWritten, key)), r.find(is(isr.EventStale, key)), r.find(is(isr.EventDeleted, key))
	if !(written < stale && stale < deleted) {
		t.Fatalf("events out of order: %+v", r.snapshot())
	}
}

func testBusNoEventForMissing(t *testing.T, b isr.Backend) {
	r := listen(t, b)
	for _, mode := range []isr.Mode{isr.ModeEager, isr.ModeStale, isr.ModeDelete} {
		if _, err := b.Invalidate(t.Context(), mode, "/missing"); err != nil {
			t.Fatalf("Invalidate(%s): %v", modeName(mode), err)
		}
	}
	// Events from one backend arrive in order: once the marker's event is
	// in, any event for the missing key would be too.
	put(t, b, newPage("/marker", "m", time.Hour))
	r.wait(t, "Written /marker", is(isr.EventWritten, "/marker"))
	if i := r.find(func(ev isr.Event) bool { return ev.Key == "/missing" }); i >= 0 {
		t.Fatalf("Invalidate of a key with no page sent %+v", r.snapshot()[i])
	}
}

func testBusTwoListeners(t *testing.T, b isr.Backend) {
	r1, r2 := listen(t, b), listen(t, b)
	tok := put(t, b, newPage("/two", "v1", time.Hour))
	for i, r := range []*recorder{r1, r2} {
		if ev := r.wait(t, "Written /two", is(isr.EventWritten, "/two")); ev.Gen != tok {
			t.Fatalf("listener %d: Written Gen = %d, want %d", i+1, ev.Gen, tok)
		}
	}
}

func testBusCancel(t *testing.T, b isr.Backend) {
	// A Listen call returns nil once its context is cancelled.
	listen(t, b) // the cleanup checks it

	// And at once if the context is already done.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- b.Listen(ctx, func(isr.Event) {}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen(cancelled ctx) = %v, want nil", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("Listen(cancelled ctx) did not return within %v", waitFor)
	}
}
