package isr

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrUnavailable is returned (possibly wrapped) by a [Breaker] that is open:
// the store failed too often, so the call was not even tried. The Handler
// treats it as any store failure: it serves its hot cache's copy, or
// renders at the origin without storing.
var ErrUnavailable = errors.New("isr: store unavailable (circuit breaker open)")

// Defaults of [BreakerOptions].
const (
	DefaultBreakerFailures    = 5
	DefaultBreakerCooldown    = 2 * time.Second
	DefaultBreakerMaxCooldown = 30 * time.Second
	DefaultBreakerTimeout     = 500 * time.Millisecond
)

// BreakerState is the state of a [Breaker]. Its numeric value is the one
// exported as the isr_breaker_state gauge.
type BreakerState int

const (
	// BreakerClosed lets every call through and counts consecutive failures.
	BreakerClosed BreakerState = iota
	// BreakerHalfOpen lets one probe call through; the others fail at once.
	BreakerHalfOpen
	// BreakerOpen fails every call at once with ErrUnavailable.
	BreakerOpen
)

// String returns "closed", "half-open" or "open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

// BreakerOptions configure a [Breaker]. The zero value selects every default.
type BreakerOptions struct {
	// Failures is how many consecutive failed calls open the breaker.
	// Zero or less means DefaultBreakerFailures (5).
	Failures int
	// Cooldown is how long the breaker stays open the first time; each
	// failed probe doubles it, up to MaxCooldown. A successful probe resets
	// it. Zero or less means DefaultBreakerCooldown (2s).
	Cooldown time.Duration
	// MaxCooldown caps the cooldown. Zero or less means
	// DefaultBreakerMaxCooldown (30s), and never less than Cooldown.
	MaxCooldown time.Duration
	// Timeout is the deadline of each call (and of each Refresh and Release
	// of a lock it hands out), so that a hung store costs at most this
	// much per call even before the breaker opens. Zero means
	// DefaultBreakerTimeout (500ms); a negative value sets no deadline.
	Timeout time.Duration
	// Now is the clock that times the cooldown. If nil, time.Now.
	Now func() time.Time
	// OnStateChange, if set, is called at every state change, with the
	// breaker's lock held, so calls arrive in order: it must be fast and
	// must not call the Breaker. Metrics and logs hook in here.
	OnStateChange func(from, to BreakerState)
}

// Breaker is a circuit breaker in front of a [Backend], for a shared store
// that can fail or hang (Redis). It is itself a Backend; Listen passes
// through untouched (the bus has its own reconnection and probing).
//
// Closed, it bounds each store and lock call by Timeout and counts
// consecutive failures: any error except ErrNotFound, ErrFenced, ErrLocked
// and ErrLockLost (answers, not failures), and except calls whose caller's
// context was done (the caller gave up; that says nothing of the store).
// After Failures of them in a row it opens: calls fail at once with
// ErrUnavailable, so a hung store no longer costs a timeout per call. After
// the cooldown the next call is a probe (half-open): the others keep failing
// at once until it returns; success closes the breaker, failure opens it
// again with a doubled cooldown. Results of calls that started before a
// state change are ignored.
//
// A call that timed out may still have been applied by the store. That is
// safe: a lost Token only advances the key's fence (the render is served
// unstored); a Put that was applied is a page like any other, announced on
// the bus, and its fencing token stays the newest; an Invalidate that was
// applied did what was asked; a TryLock that was applied leaves a lock
// nobody holds, which the backend must release once the store answers
// again (isrredis does, with the token it generated), or which expires
// after its TTL. Correctness never depends on a call's
// result reaching the caller: it comes from the store's fenced writes.
//
// Create one with [NewBreaker]. It starts no goroutine and is safe for
// concurrent use.
type Breaker struct {
	next Backend
	opts BreakerOptions

	mu        sync.Mutex
	state     BreakerState
	gen       uint64        // incremented at each state change
	failures  int           // consecutive failures while closed
	cooldown  time.Duration // of the current or next opening
	openUntil time.Time     // end of the cooldown, while open
	probing   bool          // a half-open probe is in flight
}

var _ Backend = (*Breaker)(nil)

// NewBreaker returns a closed Breaker in front of b, configured by opts.
func NewBreaker(b Backend, opts BreakerOptions) *Breaker {
	if opts.Failures <= 0 {
		opts.Failures = DefaultBreakerFailures
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = DefaultBreakerCooldown
	}
	if opts.MaxCooldown <= 0 {
		opts.MaxCooldown = DefaultBreakerMaxCooldown
	}
	opts.MaxCooldown = max(opts.MaxCooldown, opts.Cooldown)
	if opts.Timeout == 0 {
		opts.Timeout = DefaultBreakerTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Breaker{next: b, opts: opts, cooldown: opts.Cooldown}
}

// State returns the breaker's state. An open breaker whose cooldown is
// over stays open until the next call, which becomes the probe.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// admit decides whether a call may go through. It returns the generation
// the call belongs to, whether it is the half-open probe, and
// ErrUnavailable if it must fail at once.
func (b *Breaker) admit() (gen uint64, probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !b.opts.Now().Before(b.openUntil) {
		b.setState(BreakerHalfOpen)
	}
	switch {
	case b.state == BreakerOpen, b.state == BreakerHalfOpen && b.probing:
		return 0, false, ErrUnavailable
	case b.state == BreakerHalfOpen:
		b.probing = true
		return b.gen, true, nil
	}
	return b.gen, false, nil
}

// done records the result of a call admitted in generation gen. ctx is the
// caller's context, err what the store returned.
func (b *Breaker) done(ctx context.Context, gen uint64, probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return // the state changed while the call ran
	}
	if probe {
		b.probing = false
	}
	switch {
	case ctx.Err() != nil && !answered(err):
		// The caller gave up: neither a success nor a failure. A
		// cancelled probe lets the next call probe.
	case answered(err):
		b.failures = 0
		if b.state == BreakerHalfOpen {
			b.cooldown = b.opts.Cooldown
			b.setState(BreakerClosed)
		}
	case b.state == BreakerHalfOpen:
		b.cooldown = min(2*b.cooldown, b.opts.MaxCooldown)
		b.open()
	default:
		b.failures++
		if b.failures >= b.opts.Failures {
			b.open()
		}
	}
}

// open opens the breaker for the current cooldown. b.mu is held.
func (b *Breaker) open() {
	b.failures = 0
	b.openUntil = b.opts.Now().Add(b.cooldown)
	b.setState(BreakerOpen)
}

// setState moves to s, starting a new generation. b.mu is held.
func (b *Breaker) setState(s BreakerState) {
	from := b.state
	b.state = s
	b.gen++
	b.probing = false
	if b.opts.OnStateChange != nil && from != s {
		b.opts.OnStateChange(from, s)
	}
}

// answered reports whether err is the store's answer rather than a failure.
func answered(err error) bool {
	return err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrFenced) ||
		errors.Is(err, ErrLocked) || errors.Is(err, ErrLockLost)
}

// call runs f through the breaker with the per-call deadline.
func (b *Breaker) call(ctx context.Context, f func(context.Context) error) error {
	gen, probe, err := b.admit()
	if err != nil {
		return err
	}
	cctx := ctx
	if b.opts.Timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, b.opts.Timeout)
		defer cancel()
	}
	err = f(cctx)
	b.done(ctx, gen, probe, err)
	return err
}

// Get calls the store's Get through the breaker.
func (b *Breaker) Get(ctx context.Context, key string) (e *Entry, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		e, err = b.next.Get(ctx, key)
		return err
	})
	return e, err
}

// Token calls the store's Token through the breaker.
func (b *Breaker) Token(ctx context.Context, key string) (t int64, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		t, err = b.next.Token(ctx, key)
		return err
	})
	return t, err
}

// Put calls the store's Put through the breaker. A Put that timed out may
// have been applied; see [Breaker].
func (b *Breaker) Put(ctx context.Context, key string, token int64, p *Page, ttl time.Duration) (fresh bool, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		fresh, err = b.next.Put(ctx, key, token, p, ttl)
		return err
	})
	return fresh, err
}

// Invalidate calls the store's Invalidate through the breaker.
func (b *Breaker) Invalidate(ctx context.Context, mode Mode, keys ...string) (found []bool, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		found, err = b.next.Invalidate(ctx, mode, keys...)
		return err
	})
	return found, err
}

// TagKeys calls the store's TagKeys through the breaker.
func (b *Breaker) TagKeys(ctx context.Context, tag string) (keys []string, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		keys, err = b.next.TagKeys(ctx, tag)
		return err
	})
	return keys, err
}

// Variants calls the store's Variants through the breaker.
func (b *Breaker) Variants(ctx context.Context, keys ...string) (vs [][]string, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		vs, err = b.next.Variants(ctx, keys...)
		return err
	})
	return vs, err
}

// TryLock calls the locker's TryLock through the breaker. The lock's
// Refresh and Release go through the breaker too.
func (b *Breaker) TryLock(ctx context.Context, key string, ttl time.Duration) (Lock, error) {
	var l Lock
	err := b.call(ctx, func(ctx context.Context) (err error) {
		l, err = b.next.TryLock(ctx, key, ttl)
		return err
	})
	if err != nil {
		return nil, err
	}
	return breakerLock{b: b, l: l}, nil
}

// Listen passes through to the wrapped backend's bus.
func (b *Breaker) Listen(ctx context.Context, fn func(Event)) error {
	return b.next.Listen(ctx, fn)
}

// breakerLock is a Lock whose calls go through a Breaker.
type breakerLock struct {
	b *Breaker
	l Lock
}

func (bl breakerLock) Refresh(ctx context.Context, ttl time.Duration) error {
	return bl.b.call(ctx, func(ctx context.Context) error { return bl.l.Refresh(ctx, ttl) })
}

func (bl breakerLock) Release(ctx context.Context) error {
	return bl.b.call(ctx, func(ctx context.Context) error { return bl.l.Release(ctx) })
}
