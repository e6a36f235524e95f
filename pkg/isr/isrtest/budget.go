package isrtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestBudget runs the conformance suite of an [isr.Budget]: newBudget must
// return a fresh budget of limit slots that shares no state with others,
// whose leases expire by the real clock.
func TestBudget(t *testing.T, newBudget func(t *testing.T, limit int) isr.Budget) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, newBudget func(t *testing.T, limit int) isr.Budget)
	}{
		{"Limit", testBudgetLimit},
		{"Concurrent", testBudgetConcurrent},
		{"UrgentFirst", testBudgetUrgentFirst},
		{"LeaseExpires", testBudgetLeaseExpires},
		{"UrgentGivesUp", testBudgetUrgentGivesUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newBudget)
		})
	}
}

func acquire(t *testing.T, b isr.Budget, urgent bool, ttl time.Duration) isr.Lease {
	t.Helper()
	l, err := b.Acquire(t.Context(), urgent, ttl)
	if err != nil {
		t.Fatalf("Acquire(urgent %v): %v", urgent, err)
	}
	return l
}

func spent(t *testing.T, b isr.Budget) {
	t.Helper()
	if l, err := b.Acquire(t.Context(), false, longTTL); !errors.Is(err, isr.ErrBudgetSpent) {
		t.Fatalf("Acquire on a spent budget: %v, %v; want ErrBudgetSpent", l, err)
	}
}

func testBudgetLimit(t *testing.T, newBudget func(*testing.T, int) isr.Budget) {
	b := newBudget(t, 2)
	l1 := acquire(t, b, false, longTTL)
	acquire(t, b, false, longTTL)
	spent(t, b)
	if err := l1.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l1.Release(t.Context()); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	acquire(t, b, false, longTTL)
	spent(t, b)
}

// testBudgetConcurrent has 16 callers take and release slots of a budget of
// 3 many times; no more than 3 ever hold one at once.
func testBudgetConcurrent(t *testing.T, newBudget func(*testing.T, int) isr.Budget) {
	const limit = 3
	b := newBudget(t, limit)
	var holding, most, got atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				l, err := b.Acquire(context.Background(), i%4 == 0, longTTL)
				if errors.Is(err, isr.ErrBudgetSpent) {
					continue
				}
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				got.Add(1)
				n := holding.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond)
				holding.Add(-1)
				if err := l.Release(context.Background()); err != nil {
					t.Errorf("Release: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() > limit || got.Load() == 0 {
		t.Fatalf("at most %d holders at once over %d acquisitions, want 1 to %d", most.Load(), got.Load(), limit)
	}
}

// testBudgetUrgentFirst: an urgent caller waits for a full budget, and while
// it waits the freed slot is not given to a caller that is not urgent.
func testBudgetUrgentFirst(t *testing.T, newBudget func(*testing.T, int) isr.Budget) {
	b := newBudget(t, 1)
	l := acquire(t, b, false, longTTL)
	got := make(chan isr.Lease, 1)
	go func() {
		u, err := b.Acquire(context.Background(), true, longTTL)
		if err != nil {
			t.Errorf("urgent Acquire: %v", err)
		}
		got <- u
	}()
	// Give the urgent caller time to ask and be marked waiting (the
	// interface has no way to observe it): the released slot must then go
	// to it.
	time.Sleep(50 * time.Millisecond)
	select {
	case u := <-got:
		t.Fatalf("urgent caller got a slot of a full budget: %v", u)
	default:
	}
	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	spentOrUrgent := func() bool {
		_, err := b.Acquire(t.Context(), false, longTTL)
		return errors.Is(err, isr.ErrBudgetSpent)
	}
	if !spentOrUrgent() {
		t.Fatal("a caller that is not urgent got the slot an urgent caller waits for")
	}
	select {
	case u := <-got:
		if u == nil {
			t.Fatal("urgent Acquire failed")
		}
		spent(t, b)
		_ = u.Release(t.Context())
	case <-time.After(waitFor):
		t.Fatal("urgent caller did not get the freed slot")
	}
	acquire(t, b, false, longTTL)
}

func testBudgetLeaseExpires(t *testing.T, newBudget func(*testing.T, int) isr.Budget) {
	b := newBudget(t, 1)
	acquire(t, b, false, shortTTL) // never released: a holder that died
	spent(t, b)
	eventually(t, "the lease to expire", func() bool {
		l, err := b.Acquire(t.Context(), false, longTTL)
		return err == nil && l != nil
	})
}

func testBudgetUrgentGivesUp(t *testing.T, newBudget func(*testing.T, int) isr.Budget) {
	b := newBudget(t, 1)
	l := acquire(t, b, false, longTTL)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if u, err := b.Acquire(ctx, true, longTTL); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("urgent Acquire past its deadline: %v, %v; want DeadlineExceeded", u, err)
	}
	_ = l.Release(t.Context())
	// The caller that gave up no longer keeps the others out.
	eventually(t, "a slot for a caller that is not urgent", func() bool {
		l, err := b.Acquire(t.Context(), false, longTTL)
		return err == nil && l != nil
	})
}
