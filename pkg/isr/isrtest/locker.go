package isrtest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// lock obtains the lock for key or fails the test.
func lock(t *testing.T, l isr.Locker, key string, ttl time.Duration) isr.Lock {
	t.Helper()
	lk, err := l.TryLock(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("TryLock(%q): %v", key, err)
	}
	if lk == nil {
		t.Fatalf("TryLock(%q) returned a nil Lock and no error", key)
	}
	return lk
}

// locked fails the test unless the lock for key is held.
func locked(t *testing.T, l isr.Locker, key string) {
	t.Helper()
	if _, err := l.TryLock(t.Context(), key, longTTL); !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("TryLock(%q) on a held lock = %v, want ErrLocked", key, err)
	}
}

func testLockExclusive(t *testing.T, b isr.Backend) {
	lock(t, b, "/lock", longTTL)
	locked(t, b, "/lock")
	// Other keys are independent.
	lock(t, b, "/lock2", longTTL)
}

func testLockConcurrent(t *testing.T, b isr.Backend) {
	const n = 50
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		won    int
		others []error
	)
	for range n {
		wg.Go(func() {
			_, err := b.TryLock(t.Context(), "/lockc", longTTL)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, isr.ErrLocked):
				others = append(others, err)
			}
		})
	}
	wg.Wait()
	if won != 1 || len(others) != 0 {
		t.Fatalf("%d concurrent TryLock: %d won, other errors %v; want exactly 1 and ErrLocked for the rest", n, won, others)
	}
}

func testLockExpires(t *testing.T, b isr.Backend) {
	lock(t, b, "/locke", shortTTL)
	eventually(t, "lock expiring after its ttl", func() bool {
		_, err := b.TryLock(t.Context(), "/locke", longTTL)
		return err == nil
	})
	locked(t, b, "/locke")
}

func testLockRefresh(t *testing.T, b isr.Backend) {
	start := time.Now()
	lk := lock(t, b, "/lockr", shortTTL)
	if err := lk.Refresh(t.Context(), longTTL); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	// Past the first ttl (and then some), the refreshed lock is still held.
	time.Sleep(3*shortTTL - time.Since(start))
	locked(t, b, "/lockr")
	if err := lk.Refresh(t.Context(), longTTL); err != nil {
		t.Fatalf("second Refresh: %v", err)
	}
	if err := lk.Release(t.Context()); err != nil {
		t.Fatalf("Release of refreshed lock: %v", err)
	}
}

func testLockRelease(t *testing.T, b isr.Backend) {
	lk := lock(t, b, "/lockrel", longTTL)
	if err := lk.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	again := lock(t, b, "/lockrel", longTTL)
	// The old handle cannot release the new holder's lock.
	if err := lk.Release(t.Context()); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("second Release of the same lock = %v, want ErrLockLost", err)
	}
	locked(t, b, "/lockrel")
	if err := again.Release(t.Context()); err != nil {
		t.Fatalf("Release by new holder: %v", err)
	}
}

func testLockLost(t *testing.T, b isr.Backend) {
	ctx := t.Context()
	// Expired, and taken by another holder.
	old := lock(t, b, "/lockl", shortTTL)
	var taker isr.Lock
	eventually(t, "lock expiring after its ttl", func() bool {
		lk, err := b.TryLock(ctx, "/lockl", longTTL)
		taker = lk
		return err == nil
	})
	if err := old.Refresh(ctx, longTTL); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Refresh after expiry and takeover = %v, want ErrLockLost", err)
	}
	if err := old.Release(ctx); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Release after expiry and takeover = %v, want ErrLockLost", err)
	}
	locked(t, b, "/lockl")
	if err := taker.Release(ctx); err != nil {
		t.Fatalf("Release by the new holder: %v", err)
	}

	// Expired, and nobody took it since.
	a := lock(t, b, "/lockl2", shortTTL)
	c := lock(t, b, "/lockl3", shortTTL)
	time.Sleep(3 * shortTTL)
	if err := a.Release(ctx); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Release after expiry = %v, want ErrLockLost", err)
	}
	if err := c.Refresh(ctx, longTTL); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Refresh after expiry = %v, want ErrLockLost", err)
	}
	lock(t, b, "/lockl3", longTTL)
}
