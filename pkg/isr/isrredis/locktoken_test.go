package isrredis_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// TestTryLockToken: one script takes the lock and, under it, reads the
// page or issues a token. The lock it takes excludes TryLock and is
// released and refreshed like TryLock's.
func TestTryLockToken(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	before, err := e.b.Token(ctx, "/p")
	if err != nil {
		t.Fatal(err)
	}
	l, entry, token, err := e.b.TryLockToken(ctx, "/p", time.Minute)
	if err != nil || l == nil || entry != nil || token != before+1 {
		t.Fatalf("TryLockToken on a cold key = %v, %v, %d, %v; want the lock and token %d", l, entry, token, err, before+1)
	}
	if _, err := e.b.TryLock(ctx, "/p", time.Minute); !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("TryLock while TryLockToken's lock is held: %v, want ErrLocked", err)
	}
	if l2, _, _, err := e.b.TryLockToken(ctx, "/p", time.Minute); l2 != nil || !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("second TryLockToken: %v, %v; want ErrLocked and no lock", l2, err)
	}
	if after, _ := e.b.Token(ctx, "/p"); after != token+1 {
		t.Errorf("a refused TryLockToken issued a token: next is %d, want %d", after, token+1)
	}
	if err := l.Refresh(ctx, time.Hour); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if ttl, _ := e.rdb.PTTL(ctx, isrredis.LockKey(e.b, "/p")).Result(); ttl < 59*time.Minute {
		t.Errorf("lock TTL after Refresh(1h) = %v", ttl)
	}
	page := &isr.Page{Key: "/p", Status: http.StatusOK, Body: []byte("stored"), Revalidate: time.Minute}
	if _, err := e.b.Put(ctx, "/p", token+1, page, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l.Release(ctx); !errors.Is(err, isr.ErrLockLost) {
		t.Errorf("second Release: %v, want ErrLockLost", err)
	}
	l, entry, _, err = e.b.TryLockToken(ctx, "/p", time.Minute)
	if err != nil || l == nil || entry == nil || string(entry.Page.Body) != "stored" || entry.Stale() {
		t.Fatalf("TryLockToken on a stored page = %v, %+v, %v; want the lock and the fresh page", l, entry, err)
	}
	_ = l.Release(ctx)
}

// TestTryLockTokenFailed: while a cold key's last render failed (Fail), the
// lock holder learns it from the same script and takes no token.
func TestTryLockTokenFailed(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	if err := e.b.Fail(ctx, "/f", time.Minute); err != nil {
		t.Fatal(err)
	}
	l, entry, token, err := e.b.TryLockToken(ctx, "/f", time.Minute)
	var fe *isr.FailedError
	if l == nil || entry != nil || token != 0 || !errors.As(err, &fe) || fe.RetryAfter <= 0 || !errors.Is(err, isr.ErrNotFound) {
		t.Fatalf("TryLockToken after Fail = %v, %v, %d, %v; want the lock and a FailedError", l, entry, token, err)
	}
	_ = l.Release(ctx)
}
