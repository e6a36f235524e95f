package isrmem

import (
	"context"
	"fmt"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// A heldLock is the state of a key's lock.
type heldLock struct {
	id      uint64 // tells holders apart: a Lock acts only on its own id
	expires time.Time
}

// TryLock obtains the lock for key without waiting, for ttl, which must be
// positive. It returns isr.ErrLocked if the lock is held.
func (b *Backend) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isrmem: lock %q: %w", key, err)
	}
	if ttl <= 0 {
		return nil, errLockTTL
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if l := b.locks[key]; l != nil && l.expires.After(now) {
		return nil, isr.ErrLocked
	}
	b.sweepLocks(now)
	b.lockID++
	b.locks[key] = &heldLock{id: b.lockID, expires: now.Add(ttl)}
	return &memLock{b: b, key: key, id: b.lockID}, nil
}

// sweepLocks removes expired locks once their number has doubled since the
// last sweep, so that locks that are never released do not pile up.
func (b *Backend) sweepLocks(now time.Time) {
	if len(b.locks) < b.lockSweepAt {
		return
	}
	for k, l := range b.locks {
		if !l.expires.After(now) {
			delete(b.locks, k)
		}
	}
	b.lockSweepAt = max(64, 2*len(b.locks))
}

// memLock is a lock held on a Backend.
type memLock struct {
	b   *Backend
	key string
	id  uint64
}

// held returns the lock's state if l still holds it at now, else nil. An
// expired lock of l's is removed. b.mu must be held.
func (l *memLock) held(now time.Time) *heldLock {
	h := l.b.locks[l.key]
	if h == nil || h.id != l.id {
		return nil
	}
	if !h.expires.After(now) {
		delete(l.b.locks, l.key)
		return nil
	}
	return h
}

// Refresh extends the lock to ttl from now, or returns isr.ErrLockLost.
func (l *memLock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("isrmem: refresh lock %q: %w", l.key, err)
	}
	if ttl <= 0 {
		return errLockTTL
	}
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	now := l.b.now()
	h := l.held(now)
	if h == nil {
		return isr.ErrLockLost
	}
	h.expires = now.Add(ttl)
	return nil
}

// Release gives the lock up, or returns isr.ErrLockLost if it expired.
// It works with a cancelled ctx too, so that deferred releases never leak.
func (l *memLock) Release(ctx context.Context) error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.held(l.b.now()) == nil {
		return isr.ErrLockLost
	}
	delete(l.b.locks, l.key)
	return nil
}
