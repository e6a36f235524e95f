package isr_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

func TestStaleServedAtOnceAndRegeneratedOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Revalidate: 200 * time.Millisecond, L1MaxAge: 50 * time.Millisecond})
	first := r.get(t, "/p")
	r.origin.SetVersion("/p", 2)
	r.origin.SetDelay("/p", time.Hour) // the regeneration blocks till cleanup
	r.clock.Advance(250 * time.Millisecond)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := r.get(t, "/p")
			if a.header.Get("X-ISR-Cache") != "STALE" || a.body != first.body {
				t.Errorf("stale answer %q %q", a.header.Get("X-ISR-Cache"), a.body)
			}
		}()
	}
	wg.Wait()
	eventually(t, "one regeneration to start", func() bool { return r.origin.Renders("/p") == 2 })
	if got := r.origin.Renders("/p"); got != 2 {
		t.Fatalf("renders = %d, want 2 (one regeneration for 20 stale visits)", got)
	}
}

func TestRegenerationSwapsInNewPage(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Revalidate: 200 * time.Millisecond, L1MaxAge: 20 * time.Millisecond, Go: inline})
	r.get(t, "/p")
	r.origin.SetVersion("/p", 2)
	r.clock.Advance(250 * time.Millisecond)
	wantState(t, r.get(t, "/p"), "STALE")
	if a := r.get(t, "/p"); a.header.Get("X-ISR-Cache") != "HIT" || a.body != "/p v2 render #2" {
		t.Fatalf("after the regeneration: %s %q, want HIT of the new page", a.header.Get("X-ISR-Cache"), a.body)
	}
}

func TestFailedRegenerationKeepsPage(t *testing.T) {
	t.Parallel()
	for _, f := range []isrtest.Failure{isrtest.FailError, isrtest.FailTruncate} {
		r := newRig(t, isr.Options{Revalidate: 100 * time.Millisecond, L1MaxAge: 20 * time.Millisecond,
			FailureBackoff: time.Hour, Go: inline})
		good := r.get(t, "/p")
		r.origin.SetFailure("/p", f)
		r.clock.Advance(150 * time.Millisecond)
		for i := 0; i < 20; i++ {
			a := r.get(t, "/p")
			wantState(t, a, "STALE")
			if a.status != 200 || a.body != good.body {
				t.Fatalf("failure %d: answer %d %q, want the old page", f, a.status, a.body)
			}
			r.clock.Advance(time.Minute) // within the backoff
		}
		if got := r.origin.Renders("/p"); got != 2 {
			t.Fatalf("failure %d: %d renders; the key should back off after one failure", f, got)
		}
	}
}

// TestEagerRevalidationTakesOverADeadHoldersLock: a lock whose holder died
// expires just before the eager revalidation's wait runs out (the wait is
// as long as the lock's TTL); the revalidation must still get it.
func TestEagerRevalidationTakesOverADeadHoldersLock(t *testing.T) {
	t.Parallel()
	clock := isrtest.NewClock(time.Now())
	be := isrmem.New(&isrmem.Options{Now: clock.Now})
	r := newRig(t, isr.Options{Backend: be, Now: clock.Now, After: clock.After, RenderTimeout: 100 * time.Millisecond,
		LockTTL: 400 * time.Millisecond, WaitTimeout: 400 * time.Millisecond})
	r.get(t, "/p")
	if _, err := be.TryLock(context.Background(), "/p", 400*time.Millisecond); err != nil {
		t.Fatal(err) // a holder that will never release it
	}
	r.origin.SetVersion("/p", 2)
	type result struct {
		res []isr.PageResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := r.h.Revalidate(context.Background(), isr.Revalidation{Paths: []string{"/p"}})
		done <- result{res, err}
	}()
	// Step time while the revalidation waits for the lock: it polls, then
	// takes the lock once the dead holder's has expired.
	for {
		select {
		case got := <-done:
			if got.err != nil || got.res[0].Result != isr.ResultRegenerated {
				t.Fatalf("eager revalidation behind a dead holder's lock: %+v, %v", got.res, got.err)
			}
			return
		default:
		}
		if clock.Timers() > 0 {
			clock.Advance(50 * time.Millisecond)
		}
		runtime.Gosched()
	}
}
