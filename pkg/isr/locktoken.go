package isr

import (
	"context"
	"time"
)

// LockTokener is implemented by backends that take a key's lock and, under
// it, read the key's page or issue a fencing token, in one round trip. A
// cold fill uses it when the Backend has it: the lock, the re-check of the
// store and the token are one call instead of three. isrredis has it.
type LockTokener interface {
	// TryLockToken obtains the lock for key without waiting (ErrLocked
	// when another holder has it) and, under it, returns the entry stored
	// under key; or, when none is, the *FailedError that Store.Get would
	// return, if the key's last render failed; else a fencing token for
	// key as Store.Token issues it. A non-nil Lock is held, whatever the
	// error: the error then says what the read or the token found.
	TryLockToken(ctx context.Context, key string, ttl time.Duration) (Lock, *Entry, int64, error)
}

// tryLockToken is b's TryLockToken when it has one, else LockGetToken.
func tryLockToken(ctx context.Context, b Backend, key string, ttl time.Duration) (Lock, *Entry, int64, error) {
	if lt, ok := b.(LockTokener); ok {
		return lt.TryLockToken(ctx, key, ttl)
	}
	return LockGetToken(ctx, b, key, ttl)
}

// LockGetToken does what LockTokener.TryLockToken does with three calls:
// TryLock, Get and Token. It is the fallback of a backend wrapper (such as
// isrbreaker's) whose backend has no TryLockToken.
func LockGetToken(ctx context.Context, b Backend, key string, ttl time.Duration) (Lock, *Entry, int64, error) {
	lock, err := b.TryLock(ctx, key, ttl)
	if err != nil {
		return nil, nil, 0, err
	}
	e, err := b.Get(ctx, key)
	if _, failed := failedFor(err); err == nil || failed {
		return lock, e, 0, err
	}
	token, err := b.Token(ctx, key)
	return lock, nil, token, err
}
