package isrredis

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bsm/redislock"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

// maxOrphans bounds the locks remembered for a late release; past it the
// oldest are left to expire by their TTL.
const maxOrphans = 1024

// releaseLua deletes a lock if it still holds the given value, and
// refreshLua extends it: redislock's own scripts, run here for every lock,
// whether redislock or locktoken.lua took it.
var (
	releaseLua = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`)
	refreshLua = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`)
)

// TryLock obtains the lock for key without retrying (redislock with
// NoRetry). It returns isr.ErrLocked (unwrapped) when another holder has
// it. ttl must be at least a millisecond.
//
// The lock's value is a token generated here, before the request: if the
// request fails (a timeout while Redis hangs), Redis may still execute it
// later and leave a lock that nobody holds. Such a lock is remembered and
// released with its token as soon as Redis answers again: at the start of
// the next TryLock, and at every delivery probe of Listen (which does not
// sit behind an isrbreaker.Breaker), instead of blocking the key for its
// TTL.
func (b *Backend) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("isrredis: lock %q: ttl %v is under 1ms", key, ttl)
	}
	b.releaseOrphans(ctx)
	tok, err := newLockToken()
	if err != nil {
		return nil, fmt.Errorf("isrredis: lock %q: %w", key, err)
	}
	lk := b.lockKey(key)
	l, err := b.locks.Obtain(ctx, lk, ttl, &redislock.Options{RetryStrategy: redislock.NoRetry(), Token: tok})
	if errors.Is(err, redislock.ErrNotObtained) {
		return nil, isr.ErrLocked
	}
	if err != nil {
		b.orphans.add(lk, tok, ttl)
		return nil, fmt.Errorf("isrredis: lock %q: %w", key, err)
	}
	return &lock{b: b, key: l.Key(), value: l.Token(), ttl: ttl}, nil
}

// TryLockToken implements isr.LockTokener: it takes key's lock without
// retrying and, under it, returns the entry stored under key, or when none
// is the key's *isr.FailedError (as Get) or a fencing token, in one script
// (locktoken.lua). It returns
// isr.ErrLocked (unwrapped) when another holder has the lock. A lock
// request whose outcome is unknown is remembered as TryLock's are.
func (b *Backend) TryLockToken(ctx context.Context, key string, ttl time.Duration) (isr.Lock, *isr.Entry, int64, error) {
	if ttl < time.Millisecond {
		return nil, nil, 0, fmt.Errorf("isrredis: lock %q: ttl %v is under 1ms", key, ttl)
	}
	b.releaseOrphans(ctx)
	tok, err := newLockToken()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("isrredis: lock %q: %w", key, err)
	}
	lk := b.lockKey(key)
	res, err := b.lockToken.Run(ctx, b.client, []string{lk, b.pageKey(key), b.failKey(key)}, tok, ms(ttl), ms(b.fenceTTL)).Slice()
	if err != nil {
		b.orphans.add(lk, tok, ttl)
		return nil, nil, 0, fmt.Errorf("isrredis: lock %q: %w", key, err)
	}
	code, _ := res[0].(int64)
	if code == 0 {
		return nil, nil, 0, isr.ErrLocked
	}
	l := &lock{b: b, key: lk, value: tok, ttl: ttl}
	if n, ok := res[len(res)-1].(int64); len(res) == 2 && ok {
		switch code {
		case 2:
			return l, nil, n, nil
		case 3:
			return l, nil, 0, fmt.Errorf("isrredis: get %q: %w", key, &isr.FailedError{RetryAfter: time.Duration(n) * time.Millisecond})
		}
	}
	e, err := decodeEntry(res[1:])
	if err != nil {
		return l, nil, 0, fmt.Errorf("isrredis: lock %q: page: %w", key, err)
	}
	if e.Page.Key != key { // a hash collision of two keys: the page is not ours
		n, err := b.Token(ctx, key)
		return l, nil, n, err
	}
	return l, e, 0, nil
}

// newLockToken returns a random lock value (redislock's format).
func newLockToken() (string, error) {
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf[:]), nil
}

// releaseOrphans releases the remembered locks, until Redis fails. Only one
// caller sweeps at a time; the others return at once.
func (b *Backend) releaseOrphans(ctx context.Context) {
	if !b.orphans.pending() || !b.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer b.sweeping.Store(false)
	for _, o := range b.orphans.snapshot() {
		if err := releaseLua.Run(ctx, b.client, []string{o.key}, o.value).Err(); err != nil {
			return // Redis still does not answer: keep them for the next sweep
		}
		b.orphans.remove(o.key, o.value)
	}
}

// lock is a held lock: its key and the value that proves it is ours.
type lock struct {
	b          *Backend
	key, value string
	ttl        time.Duration // the longest the lock can still live, for orphans
}

// Refresh extends the lock to ttl from now, or returns isr.ErrLockLost.
func (l *lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("isrredis: refresh lock: ttl %v is under 1ms", ttl)
	}
	n, err := refreshLua.Run(ctx, l.b.client, []string{l.key}, l.value, ms(ttl)).Int64()
	if err != nil {
		// The refresh may still be applied later: a release must know.
		l.ttl = max(l.ttl, ttl)
		return fmt.Errorf("isrredis: refresh lock: %w", err)
	}
	if n == 0 {
		return isr.ErrLockLost
	}
	l.ttl = ttl
	return nil
}

// Release gives the lock up, or returns isr.ErrLockLost if it had expired.
// A release that fails (Redis does not answer) is retried as an orphan's.
func (l *lock) Release(ctx context.Context) error {
	n, err := releaseLua.Run(ctx, l.b.client, []string{l.key}, l.value).Int64()
	if err != nil {
		l.b.orphans.add(l.key, l.value, l.ttl)
		return fmt.Errorf("isrredis: release lock: %w", err)
	}
	if n == 0 {
		return isr.ErrLockLost
	}
	return nil
}

// orphanSet remembers locks that Redis may hold although no one in this
// process does: requests and releases whose outcome is unknown.
type orphanSet struct {
	mu sync.Mutex
	m  map[string]orphan // by lock key and value
}

type orphan struct {
	key, value string
	until      time.Time // local time after which the lock expired anyway
}

func (s *orphanSet) add(key, value string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]orphan{}
	}
	now := time.Now()
	for id, o := range s.m {
		if now.After(o.until) {
			delete(s.m, id)
		}
	}
	if len(s.m) >= maxOrphans {
		return
	}
	s.m[key+" "+value] = orphan{key: key, value: value, until: now.Add(ttl)}
}

func (s *orphanSet) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m) > 0
}

func (s *orphanSet) snapshot() []orphan {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]orphan, 0, len(s.m))
	for _, o := range s.m {
		out = append(out, o)
	}
	return out
}

func (s *orphanSet) remove(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key+" "+value)
}
