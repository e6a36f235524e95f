package isrredis_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

func TestLockOneWinner(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
		errs    []error
	)
	start := make(chan struct{})
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.b.TryLock(ctx, "/p", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners++
			case !errors.Is(err, isr.ErrLocked):
				errs = append(errs, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if winners != 1 || len(errs) != 0 {
		t.Fatalf("%d winners, errors %v; want 1 winner, all others ErrLocked", winners, errs)
	}
}

func TestLockExpires(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	l, err := e.b.TryLock(ctx, "/p", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.TryLock(ctx, "/other", time.Minute); err != nil {
		t.Fatalf("locks of different keys collide: %v", err)
	}
	var l2 isr.Lock
	eventually(t, "the lock to expire", func() bool {
		l2, err = e.b.TryLock(ctx, "/p", time.Minute)
		return err == nil
	})
	if err := l.Release(ctx); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Release of an expired lock: %v, want ErrLockLost", err)
	}
	if err := l.Refresh(ctx, time.Minute); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Refresh of an expired lock: %v, want ErrLockLost", err)
	}
	// The old holder's Release must not free the new holder's lock.
	if _, err := e.b.TryLock(ctx, "/p", time.Minute); !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("lock free after a stale Release: %v", err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(ctx); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("second Release: %v, want ErrLockLost", err)
	}
}

func TestLockRefreshAndRelease(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	l, err := e.b.TryLock(ctx, "/p", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Refresh(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl := e.rdb.PTTL(ctx, "isr:l:{"+hashOf("/p")+"}").Val(); ttl < 30*time.Second {
		t.Fatalf("lock PTTL after Refresh: %v", ttl)
	}
	if err := l.Refresh(ctx, 0); err == nil {
		t.Fatal("Refresh to 0 accepted")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l, err = e.b.TryLock(ctx, "/p", time.Minute)
	if err != nil {
		t.Fatalf("TryLock after Release: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLockKeyDeleted(t *testing.T) {
	// A lock lost to eviction or failover shows as ErrLockLost.
	e := setup(t, nil)
	ctx := context.Background()
	l, err := e.b.TryLock(ctx, "/p", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.Refresh(ctx, time.Minute); !errors.Is(err, isr.ErrLockLost) {
		t.Fatalf("Refresh: %v, want ErrLockLost", err)
	}
}
