package isr_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

type recordingObserver struct {
	mu       sync.Mutex
	outcomes []isr.RegenOutcome
}

func (o *recordingObserver) Regeneration(outcome isr.RegenOutcome, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, outcome)
}

func (o *recordingObserver) LockWait(time.Duration) {}

func (o *recordingObserver) last() isr.RegenOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.outcomes) == 0 {
		return ""
	}
	return o.outcomes[len(o.outcomes)-1]
}

func TestObserverSeesRegenerations(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	r := newRig(t, isr.Options{Revalidate: 100 * time.Millisecond, L1MaxAge: 10 * time.Millisecond, Observer: obs, Go: inline})
	r.get(t, "/p")
	r.clock.Advance(150 * time.Millisecond)
	r.get(t, "/p")
	if got := obs.last(); got != isr.RegenWritten {
		t.Fatalf("after a stale visit the observer saw %q, want %q", got, isr.RegenWritten)
	}
	r.origin.SetFailure("/p", isrtest.FailError)
	r.clock.Advance(150 * time.Millisecond)
	r.get(t, "/p")
	if got := obs.last(); got != isr.RegenFailed {
		t.Fatalf("after a stale visit to a failing origin the observer saw %q, want %q", got, isr.RegenFailed)
	}
	if s := r.h.Stats(); s.L1Flushes[isr.FlushReset] < 1 {
		t.Errorf("Stats = %+v: the first subscription's reset was not counted", s)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{Routes: []isr.Route{{Pattern: "/list", Query: []string{"page"}}}})
	r.origin.SetHeader("/list", "Cache-Tag", "lists")
	r.get(t, "/list?page=2&utm=x")
	key, e, err := r.h.Inspect(context.Background(), "/list?utm=y&page=2")
	if err != nil || key != "/list?page=2" || e.Page.Status != 200 || e.Page.Tags[0] != "lists" || e.Stale() {
		t.Fatalf("Inspect = %q, %+v, %v", key, e, err)
	}
	if _, _, err := r.h.Inspect(context.Background(), "/nothing"); !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("Inspect of an unknown page: %v, want ErrNotFound", err)
	}
	if _, _, err := r.h.Inspect(context.Background(), "//evil"); !errors.Is(err, isr.ErrBadPath) {
		t.Fatalf("Inspect of a bad path: %v, want ErrBadPath", err)
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
