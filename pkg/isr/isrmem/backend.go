// Package isrmem is the embedded in-memory [isr.Backend], for a cache that
// runs as one process: pages, fencing counters, locks and events live in
// the process's memory and are lost when it exits.
//
// It has the semantics of the Redis backend (isrredis), checked by the same
// conformance suite ([isrtest.TestBackend]): fenced writes, a stale floor
// raised by on-demand revalidation, pages that never go stale by time
// ([isr.Never]), hard expiry, a tag index, locks with a TTL and a bus of
// numbered events. Freshness is decided by [Options.Now].
//
// Nothing runs in the background. Expired pages and locks are removed when
// they are next accessed and, for pages, during every write; memory is
// bounded by [Options.MaxBytes].
package isrmem

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

var (
	_ isr.Backend   = (*Backend)(nil)
	_ isr.Confirmer = (*Backend)(nil)
)

// tombstoneTTL is how long a deleted key remembers its deletion, refusing
// writes with tokens issued before it. It is far longer than any render.
const tombstoneTTL = 10 * time.Minute

// Options configure a [Backend]. A nil *Options selects every default.
type Options struct {
	// Now is the store's clock: it decides freshness and expiry of pages
	// and locks. If nil, time.Now.
	Now func() time.Time

	// MaxBytes bounds the memory taken by stored pages, as counted by
	// [isr.Page.Size]. When a write goes over it, the least recently
	// written pages are evicted, without an event (as Redis evicts keys):
	// their next visit is a MISS. A page larger than MaxBytes is evicted
	// as soon as it is written. Zero means 256 MiB; a negative value
	// means no bound.
	MaxBytes int64
}

// Backend is an in-memory [isr.Backend] for one process. Create one with
// [New]; the zero Backend is not usable. It is safe for concurrent use and
// holds nothing but memory: there is nothing to close.
//
// Fencing tokens come from one counter shared by all keys, so they are
// strictly increasing per key and never reused, even after a key's page
// expired or was evicted.
type Backend struct {
	now      func() time.Time
	maxBytes int64 // negative: no bound

	mu      sync.Mutex // guards everything below
	counter int64      // the last token, floor or deletion mark issued
	recs    map[string]*record
	tags    map[string]map[string]struct{} // tag → keys
	vars    map[string]map[string]struct{} // page key → keys of its stored variants
	order   list.List                      // of *record, least recently written first
	expiry  expiryHeap                     // records with an expiry, soonest first
	bytes   int64                          // sum of record sizes

	locks       map[string]*heldLock
	lockID      uint64
	lockSweepAt int // sweep expired locks when len(locks) exceeds it

	fails map[string]time.Time // key → end of its render failure's backoff

	seq        uint64 // the last event's Seq
	listeners  map[*listener]struct{}
	listenerID int // the number of Listen calls so far, naming them
}

// A record is the state of one key: its page, or a tombstone (page nil)
// left by a deletion.
type record struct {
	key     string
	page    *isr.Page // the stored copy, Gen set; nil for a tombstone
	written time.Time // when page was written
	stale   bool      // revalidated since written, or written below floor
	floor   int64     // pages with a token below it are stored stale
	min     int64     // writes with a token below it are refused
	expires time.Time // hard expiry; zero means never
	size    int64     // counted in Backend.bytes
	elem    *list.Element
	heapIdx int // index in Backend.expiry, or -1
}

// New returns an empty Backend configured by opts, which may be nil. It
// starts no goroutine.
func New(opts *Options) *Backend {
	b := &Backend{
		now:         time.Now,
		maxBytes:    256 << 20,
		recs:        make(map[string]*record),
		tags:        make(map[string]map[string]struct{}),
		vars:        make(map[string]map[string]struct{}),
		locks:       make(map[string]*heldLock),
		lockSweepAt: 64,
		listeners:   make(map[*listener]struct{}),
	}
	if opts != nil {
		if opts.Now != nil {
			b.now = opts.Now
		}
		if opts.MaxBytes != 0 {
			b.maxBytes = opts.MaxBytes
		}
	}
	return b
}

// Fail records that rendering key failed: for d, Get of the key returns an
// *isr.FailedError unless a page is stored.
func (b *Backend) Fail(ctx context.Context, key string, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("isrmem: fail %q: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.fails == nil {
		b.fails = map[string]time.Time{}
	}
	if len(b.fails) > 10000 {
		for k, t := range b.fails {
			if !now.Before(t) {
				delete(b.fails, k)
			}
		}
	}
	b.fails[key] = now.Add(d)
	return nil
}

// Get returns the entry stored under key, or isr.ErrNotFound (wrapped in an
// *isr.FailedError during a render failure's backoff, see Fail).
func (b *Backend) Get(ctx context.Context, key string) (*isr.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isrmem: get %q: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	rec := b.live(key, now)
	if rec == nil || rec.page == nil {
		if until, ok := b.fails[key]; ok {
			if now.Before(until) {
				return nil, fmt.Errorf("isrmem: get %q: %w", key, &isr.FailedError{RetryAfter: until.Sub(now)})
			}
			delete(b.fails, key)
		}
		return nil, isr.ErrNotFound
	}
	e := &isr.Entry{Page: rec.page, Age: now.Sub(rec.written)}
	switch {
	case rec.stale:
		e.Fresh = 0
	case rec.page.Revalidate == isr.Never:
		e.Fresh = isr.Forever
	default:
		e.Fresh = rec.written.Add(rec.page.Revalidate).Sub(now)
	}
	return e, nil
}

// Token issues a fencing token for key, larger than every token issued
// before by this Backend.
func (b *Backend) Token(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("isrmem: token %q: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counter++
	return b.counter, nil
}

// Put stores a copy of p under key with the fencing token, for at most ttl,
// which must be positive (as in isrredis). See [isr.Store.Put].
func (b *Backend) Put(ctx context.Context, key string, token int64, p *isr.Page, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("isrmem: put %q: %w", key, err)
	}
	if p == nil {
		return false, fmt.Errorf("isrmem: put %q: nil page", key)
	}
	if ttl <= 0 {
		return false, fmt.Errorf("isrmem: put %q: ttl %v is not positive", key, ttl)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.prune(now)
	rec := b.recs[key]
	if isr.IsVariant(key) && (rec == nil || rec.page == nil) && len(b.vars[isr.BaseKey(key)]) >= isr.MaxVariants {
		return false, isr.ErrTooManyVariants
	}
	if rec == nil {
		rec = &record{key: key, heapIdx: -1}
		b.recs[key] = rec
		rec.elem = b.order.PushBack(rec)
	} else {
		if (rec.page != nil && token <= rec.page.Gen) || token < rec.min {
			return false, isr.ErrFenced
		}
		b.order.MoveToBack(rec.elem)
	}
	fresh := token > rec.floor
	stored := *p
	stored.Key, stored.Gen = key, token
	b.setPage(rec, &stored)
	rec.written, rec.stale = now, !fresh
	b.setExpiry(rec, now.Add(ttl))
	b.counter = max(b.counter, token)
	b.publish(isr.EventWritten, key, token)
	b.evict()
	return fresh, nil
}

// Invalidate marks the pages under keys stale, or deletes them with
// ModeDelete, leaving a tombstone that refuses writes with tokens issued
// before the deletion. See [isr.Store.Invalidate].
func (b *Backend) Invalidate(ctx context.Context, mode isr.Mode, keys ...string) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isrmem: invalidate: %w", err)
	}
	if mode != isr.ModeEager && mode != isr.ModeStale && mode != isr.ModeDelete {
		return nil, fmt.Errorf("isrmem: invalidate: unknown mode %d", mode)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.prune(now)
	found := make([]bool, len(keys))
	for i, key := range keys {
		group := []string{key}
		if !isr.IsVariant(key) {
			for v := range b.vars[key] {
				group = append(group, v)
			}
		}
		for _, k := range group {
			found[i] = b.invalidate(mode, k, now) || found[i]
		}
	}
	return found, nil
}

// invalidate marks the page under key stale or deletes it, and reports
// whether one was stored. b.mu must be held.
func (b *Backend) invalidate(mode isr.Mode, key string, now time.Time) bool {
	rec := b.recs[key]
	if rec == nil || rec.page == nil {
		return false
	}
	b.counter++
	if mode == isr.ModeDelete {
		rec.min = b.counter
		b.setPage(rec, nil)
		b.setExpiry(rec, now.Add(tombstoneTTL))
		b.order.MoveToBack(rec.elem)
		b.publish(isr.EventDeleted, key, rec.min)
		return true
	}
	rec.floor, rec.stale = b.counter, true
	b.publish(isr.EventStale, key, rec.floor)
	return true
}

// Variants lists the variants stored for each of keys. See
// [isr.Store.Variants].
func (b *Backend) Variants(ctx context.Context, keys ...string) ([][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isrmem: variants: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(b.now())
	out := make([][]string, len(keys))
	for i, key := range keys {
		for v := range b.vars[key] {
			out[i] = append(out[i], v)
		}
		slices.Sort(out[i])
	}
	return out, nil
}

// TagKeys returns the keys of the stored pages tagged with tag, sorted.
func (b *Backend) TagKeys(ctx context.Context, tag string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("isrmem: tag keys %q: %w", tag, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(b.now())
	keys := make([]string, 0, len(b.tags[tag]))
	for k := range b.tags[tag] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// errLockTTL is returned by TryLock and Refresh for a ttl that is not
// positive.
var errLockTTL = errors.New("isrmem: lock ttl must be positive")
