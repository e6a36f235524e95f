package isrredis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bsm/redislock"
	"github.com/isrcache/isrcache/pkg/isr"
)

// TryLock obtains the lock for key without retrying (redislock with
// NoRetry). It returns isr.ErrLocked (unwrapped) when another holder has
// it. ttl must be at least a millisecond.
func (b *Backend) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("isrredis: lock %q: ttl %v is under 1ms", key, ttl)
	}
	l, err := b.locks.Obtain(ctx, b.lockKey(key), ttl, &redislock.Options{RetryStrategy: redislock.NoRetry()})
	if errors.Is(err, redislock.ErrNotObtained) {
		return nil, isr.ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("isrredis: lock %q: %w", key, err)
	}
	return &lock{l: l}, nil
}

// lock is a held redislock lock.
type lock struct {
	l *redislock.Lock
}

// Refresh extends the lock to ttl from now, or returns isr.ErrLockLost.
func (l *lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("isrredis: refresh lock: ttl %v is under 1ms", ttl)
	}
	err := l.l.Refresh(ctx, ttl, nil)
	if errors.Is(err, redislock.ErrNotObtained) || errors.Is(err, redislock.ErrLockNotHeld) {
		return isr.ErrLockLost
	}
	if err != nil {
		return fmt.Errorf("isrredis: refresh lock: %w", err)
	}
	return nil
}

// Release gives the lock up, or returns isr.ErrLockLost if it had expired.
func (l *lock) Release(ctx context.Context) error {
	err := l.l.Release(ctx)
	if errors.Is(err, redislock.ErrLockNotHeld) || errors.Is(err, redislock.ErrNotObtained) {
		return isr.ErrLockLost
	}
	if err != nil {
		return fmt.Errorf("isrredis: release lock: %w", err)
	}
	return nil
}
