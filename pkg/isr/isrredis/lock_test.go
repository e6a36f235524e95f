package isrredis_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
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
	if ttl := e.rdb.PTTL(ctx, isrredis.LockKey(e.b, "/p")).Val(); ttl < 30*time.Second {
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

// TestLockOrphanReleased pauses Redis across a lock request: the request
// times out on the client, and Redis executes it when it resumes, leaving a
// lock that nobody holds (keyspace event "set"). The backend releases it
// with its token as soon as Redis answers again (event "del", not
// "expired"), so the next regeneration of the page, by another replica,
// gets the lock within a second instead of the lock's 30s TTL.
func TestLockOrphanReleased(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	opts := &isrredis.Options{ProbeInterval: 100 * time.Millisecond}
	a, other := isrredis.New(srv.Client(t), opts), isrredis.New(srv.Client(t), opts)
	ctx, cancel := context.WithCancel(context.Background())
	listened := make(chan error, 1)
	go func() { listened <- a.Listen(ctx, func(isr.Event) {}) }()
	t.Cleanup(func() { cancel(); <-listened })

	lockKey := isrredis.LockKey(a, "/p")
	if err := admin.ConfigSet(ctx, "notify-keyspace-events", "Kg$x").Err(); err != nil {
		t.Fatal(err)
	}
	ps := admin.Subscribe(ctx, "__keyspace@0__:"+lockKey)
	t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	// Load the lock script, as any running replica has: a request for an
	// unknown script would fail with NOSCRIPT when executed late.
	warm, err := a.TryLock(ctx, "/warm", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_ = warm.Release(ctx)

	srv.Pause()
	t.Cleanup(srv.Resume)
	rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = a.TryLock(rctx, "/p", 30*time.Second)
	rcancel()
	if err == nil || errors.Is(err, isr.ErrLocked) {
		t.Fatalf("TryLock while Redis is paused = %v, want a timeout", err)
	}
	srv.Resume()
	resumed := time.Now()

	var events []string // "set" and "expire" (SET PX), then "del" or "expired"
	for len(events) == 0 || (events[len(events)-1] != "del" && events[len(events)-1] != "expired") {
		m, err := ps.ReceiveTimeout(ctx, 5*time.Second)
		if err != nil {
			t.Fatalf("keyspace events of the lock so far %v, then: %v", events, err)
		}
		if msg, ok := m.(*redis.Message); ok {
			events = append(events, msg.Payload)
		}
	}
	if events[0] != "set" || events[len(events)-1] != "del" {
		t.Fatalf("keyspace events of the lock = %v, want set ... del: executed late, then released", events)
	}
	l, err := other.TryLock(ctx, "/p", time.Minute)
	if err != nil {
		t.Fatalf("TryLock by another replica after the release: %v", err)
	}
	if waited := time.Since(resumed); waited > time.Second {
		t.Errorf("the orphaned lock was released %v after Redis resumed, want within 1s", waited)
	}
	_ = l.Release(ctx)
}
