package isrmem

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// events runs Listen on b and returns a function that waits until n events
// have been received and returns them.
func events(t *testing.T, b *Backend, fn func(isr.Event)) func(n int) []isr.Event {
	t.Helper()
	var (
		mu  sync.Mutex
		got []isr.Event
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Listen(ctx, func(ev isr.Event) {
			if fn != nil {
				fn(ev)
			}
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func(n int) []isr.Event {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			evs := append([]isr.Event(nil), got...)
			mu.Unlock()
			if len(evs) >= n {
				return evs
			}
			if time.Now().After(deadline) {
				t.Fatalf("got %d events, want %d: %+v", len(evs), n, evs)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func TestResetCarriesLastSeq(t *testing.T) {
	b, _ := newTest(t, 0)
	mustPut(t, b, page("/a", "1", time.Hour), time.Hour)
	mustPut(t, b, page("/b", "1", time.Hour), time.Hour)
	wait := events(t, b, nil)
	wait(1)
	tok := mustPut(t, b, page("/c", "1", time.Hour), time.Hour)
	evs := wait(2)
	want := []isr.Event{{Kind: isr.EventReset, Seq: 2}, {Kind: isr.EventWritten, Seq: 3, Key: "/c", Gen: tok}}
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Fatalf("events = %+v, want %+v", evs, want)
	}
}

func TestSlowListenerGetsReset(t *testing.T) {
	b, _ := newTest(t, 0)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	wait := events(t, b, func(isr.Event) {
		once.Do(func() { close(entered); <-release }) // block on the first event
	})
	<-entered
	const n = listenerQueue + 500
	for i := range n {
		mustPut(t, b, page(fmt.Sprint("/", i), "x", time.Hour), time.Hour)
	}
	close(release)
	evs := wait(1 + 1 + (n - listenerQueue - 1))
	// The first Reset, then a Reset in place of the lost backlog, then the
	// events after it, consecutive.
	if evs[1].Kind != isr.EventReset || evs[1].Seq != listenerQueue+1 {
		t.Fatalf("event after overflow = %+v, want Reset with Seq %d", evs[1], listenerQueue+1)
	}
	for i, ev := range evs[2:] {
		if want := uint64(listenerQueue + 2 + i); ev.Kind != isr.EventWritten || ev.Seq != want {
			t.Fatalf("event %d = %+v, want Written Seq %d", i+2, ev, want)
		}
	}
	if last := evs[len(evs)-1]; last.Seq != n {
		t.Fatalf("last event Seq %d, want %d", last.Seq, n)
	}
}

func TestListenerRemovedOnCancel(t *testing.T) {
	b, _ := newTest(t, 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- b.Listen(ctx, func(isr.Event) {}) }()
	for {
		b.mu.Lock()
		n := len(b.listeners)
		b.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Listen = %v, want nil", err)
	}
	if len(b.listeners) != 0 {
		t.Fatalf("%d listeners left after Listen returned", len(b.listeners))
	}
}

// TestConfirm: each Listen call is a replica; Confirm returns once every
// one delivered the events published before it, and lists a listener
// whose callback is stuck as missing when the wait runs out.
func TestConfirm(t *testing.T) {
	b := New(nil)
	ctx := context.Background()
	stuck := make(chan struct{})
	var mu sync.Mutex
	applied := map[string]bool{}
	wait1 := events(t, b, func(ev isr.Event) {
		mu.Lock()
		applied["listener-1 "+ev.Key] = true
		mu.Unlock()
	})
	wait1(1)
	wait2 := events(t, b, func(ev isr.Event) {
		if ev.Key == "/stuck" {
			<-stuck
		}
	})
	wait2(1)
	t.Cleanup(func() { close(stuck) })

	tok, _ := b.Token(ctx, "/p")
	if _, err := b.Put(ctx, "/p", tok, &isr.Page{Key: "/p", Status: 200, Revalidate: time.Hour}, time.Hour); err != nil {
		t.Fatal(err)
	}
	conf, err := b.Confirm(ctx)
	if err != nil || !conf.Complete() || fmt.Sprint(conf.Acked) != "[listener-1 listener-2]" {
		t.Fatalf("Confirm = %+v, %v; want both listeners acked", conf, err)
	}
	mu.Lock()
	ok := applied["listener-1 /p"]
	mu.Unlock()
	if !ok {
		t.Fatal("listener-1 acknowledged before delivering the write of /p")
	}

	tok, _ = b.Token(ctx, "/stuck")
	if _, err := b.Put(ctx, "/stuck", tok, &isr.Page{Key: "/stuck", Status: 200, Revalidate: time.Hour}, time.Hour); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	conf, err = b.Confirm(cctx)
	if err != nil || fmt.Sprint(conf.Acked, conf.Missing) != "[listener-1] [listener-2]" {
		t.Fatalf("Confirm with listener-2 stuck = %+v, %v; want listener-1 acked, listener-2 missing", conf, err)
	}
}
