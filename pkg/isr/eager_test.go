package isr_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// TestEagerRevalidationsShareRegenerations: revalidations of one page that
// arrive while its regeneration renders all wait for exactly one more
// regeneration, which starts after it, and which they share (one lock
// request, not one each); every one answers regenerated, with the page of
// the last version stored.
func TestEagerRevalidationsShareRegenerations(t *testing.T) {
	t.Parallel()
	b := &countingLocks{Backend: isrmem.New(nil)}
	r := newRig(t, isr.Options{Backend: b, Revalidate: time.Hour})
	wantState(t, r.get(t, "/p"), "MISS")
	r.origin.SetVersion("/p", 2)
	release := r.origin.Hold("/p")
	defer release()

	eager := func() ([]isr.PageResult, error) {
		return r.h.Revalidate(context.Background(), isr.Revalidation{Paths: []string{"/p"}})
	}
	type outcome struct {
		res []isr.PageResult
		err error
	}
	first := make(chan outcome, 1)
	go func() { res, err := eager(); first <- outcome{res, err} }()
	eventually(t, "the first regeneration to render", func() bool { return r.origin.Renders("/p") == 2 })

	r.origin.SetVersion("/p", 3)
	locks := b.n.Load()
	const late = 20
	outcomes := make(chan outcome, late)
	var wg sync.WaitGroup
	for range late {
		wg.Add(1)
		go func() { defer wg.Done(); res, err := eager(); outcomes <- outcome{res, err} }()
	}
	// They all join the one regeneration queued behind the running one (a
	// revalidation that rendered on its own would never join).
	eventually(t, "the late revalidations to join", func() bool { return isr.EagerJoined(r.h, "/p") == late })
	release()
	wg.Wait()
	close(outcomes)
	for _, o := range append([]outcome{<-first}, drain(outcomes)...) {
		if o.err != nil || len(o.res) != 1 || o.res[0].Result != isr.ResultRegenerated {
			t.Errorf("revalidation = %+v, %v; want regenerated", o.res, o.err)
		}
	}
	if n := b.n.Load() - locks; n > 3 {
		t.Errorf("%d lock requests for %d late revalidations, want them to share one regeneration", n, late)
	}
	if n := r.origin.Renders("/p"); n != 3 {
		t.Errorf("%d renders: want 3 (the first visit, the running regeneration, one more for the %d late revalidations)", n, late)
	}
	if a := r.get(t, "/p"); a.body != "/p v3 render #3" {
		t.Errorf("after the revalidations: %q, want v3 from the third render", a.body)
	}
}

func drain[T any](ch <-chan T) []T {
	var out []T
	for v := range ch {
		out = append(out, v)
	}
	return out
}

// countingLocks is a backend that counts TryLock calls.
type countingLocks struct {
	*isrmem.Backend
	n atomic.Int64
}

func (c *countingLocks) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	c.n.Add(1)
	return c.Backend.TryLock(ctx, key, ttl)
}

// gatedLocks is a backend whose first TryLock after arm waits for open.
type gatedLocks struct {
	*isrmem.Backend
	mu    sync.Mutex
	armed bool
	gate  chan struct{}
	held  chan struct{} // closed when the armed TryLock is waiting
}

func (g *gatedLocks) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.gate, g.held = true, make(chan struct{}), make(chan struct{})
}

func (g *gatedLocks) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	g.mu.Lock()
	armed, gate, held := g.armed, g.gate, g.held
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(held)
		<-gate
	}
	return g.Backend.TryLock(ctx, key, ttl)
}

// TestEagerRevalidationRendersOnce: a STALE visit between an eager
// revalidation's invalidation and its lock starts a background
// regeneration, which renders after the revalidation was accepted; the
// revalidation waits for it and returns its result instead of rendering the
// same version again.
func TestEagerRevalidationRendersOnce(t *testing.T) {
	t.Parallel()
	b := &gatedLocks{Backend: isrmem.New(nil)}
	r := newRig(t, isr.Options{Backend: b, Revalidate: time.Hour, L1Bytes: -1})
	wantState(t, r.get(t, "/p"), "MISS")
	r.origin.SetVersion("/p", 2)
	release := r.origin.Hold("/p")
	defer release()

	b.arm()
	done := make(chan []isr.PageResult, 1)
	go func() {
		res, _ := r.h.Revalidate(context.Background(), isr.Revalidation{Paths: []string{"/p"}})
		done <- res
	}()
	<-b.held // invalidated; its TryLock waits
	wantState(t, r.get(t, "/p"), "STALE")
	eventually(t, "the background regeneration to render", func() bool { return r.origin.Renders("/p") == 2 })
	close(b.gate)
	release()
	if res := <-done; len(res) != 1 || res[0].Result != isr.ResultRegenerated {
		t.Fatalf("revalidation = %+v, want regenerated", res)
	}
	if n := r.origin.Renders("/p"); n != 2 {
		t.Fatalf("%d renders, want 2: the eager revalidation rendered again after the regeneration it waited for", n)
	}
	if a := r.get(t, "/p"); a.body != "/p v2 render #2" {
		t.Fatalf("after the revalidation: %q, want v2", a.body)
	}
}
