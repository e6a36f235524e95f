// Package isrbreaker is a circuit breaker in front of an [isr.Backend], for
// a shared store that can fail or hang (Redis): past a few failures in a
// row, store calls fail at once with isr.ErrUnavailable, and the Handler
// serves its hot cache or renders unstored instead of waiting for a
// timeout on every request.
package isrbreaker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Defaults of [Options].
const (
	DefaultFailures    = 5
	DefaultCooldown    = 2 * time.Second
	DefaultMaxCooldown = 30 * time.Second
	DefaultTimeout     = 500 * time.Millisecond
)

// State is the state of a [Breaker]. Its numeric value is the one
// exported as the isr_breaker_state gauge.
type State int

const (
	// Closed lets every call through and counts consecutive failures.
	Closed State = iota
	// HalfOpen lets one probe call through; the others fail at once.
	HalfOpen
	// Open fails every call at once with isr.ErrUnavailable.
	Open
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "unknown"
}

// Options configure a [Breaker]. The zero value selects every default.
type Options struct {
	// Failures is how many consecutive failed calls open the breaker.
	// Zero or less means DefaultFailures (5).
	Failures int
	// Cooldown is how long the breaker stays open the first time; each
	// failed probe doubles it, up to MaxCooldown. A successful probe resets
	// it. Zero or less means DefaultCooldown (2s).
	Cooldown time.Duration
	// MaxCooldown caps the cooldown. Zero or less means
	// DefaultMaxCooldown (30s), and never less than Cooldown.
	MaxCooldown time.Duration
	// Timeout is the deadline of each call (and of each Refresh and Release
	// of a lock it hands out), so that a hung store costs at most this
	// much per call even before the breaker opens. Zero means
	// DefaultTimeout (500ms); a negative value sets no deadline.
	Timeout time.Duration
	// Now is the clock that times the cooldown. If nil, time.Now.
	Now func() time.Time
	// OnStateChange, if set, is called at every state change, with the
	// breaker's lock held, so calls arrive in order: it must be fast and
	// must not call the Breaker. Metrics and logs hook in here.
	OnStateChange func(from, to State)
}

// Breaker is a circuit breaker in front of a [Backend], for a shared store
// that can fail or hang (Redis). It is itself an isr.Backend; Listen passes
// through untouched (the bus has its own reconnection and probing).
//
// Closed, it bounds each store and lock call by Timeout and counts
// consecutive failures: any error except isr.ErrNotFound, isr.ErrFenced,
// isr.ErrLocked, isr.ErrLockLost and isr.ErrTooManyVariants (answers, not
// failures), and except calls whose caller's
// context was done (the caller gave up; that says nothing of the store).
// After Failures of them in a row it opens: calls fail at once with
// isr.ErrUnavailable, so a hung store no longer costs a timeout per call. After
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
// Create one with [New]. It starts no goroutine and is safe for
// concurrent use.
type Breaker struct {
	next isr.Backend
	opts Options

	mu        sync.Mutex
	state     State
	gen       uint64        // incremented at each state change
	failures  int           // consecutive failures while closed
	cooldown  time.Duration // of the current or next opening
	openUntil time.Time     // end of the cooldown, while open
	probing   bool          // a half-open probe is in flight
}

var _ isr.Backend = (*Breaker)(nil)

// New returns a closed Breaker in front of b, configured by opts.
func New(b isr.Backend, opts Options) *Breaker {
	if opts.Failures <= 0 {
		opts.Failures = DefaultFailures
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = DefaultCooldown
	}
	if opts.MaxCooldown <= 0 {
		opts.MaxCooldown = DefaultMaxCooldown
	}
	opts.MaxCooldown = max(opts.MaxCooldown, opts.Cooldown)
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Breaker{next: b, opts: opts, cooldown: opts.Cooldown}
}

// State returns the breaker's state. An open breaker whose cooldown is
// over stays open until the next call, which becomes the probe.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// admit decides whether a call may go through. It returns the generation
// the call belongs to, whether it is the half-open probe, and
// isr.ErrUnavailable if it must fail at once.
func (b *Breaker) admit() (gen uint64, probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && !b.opts.Now().Before(b.openUntil) {
		b.setState(HalfOpen)
	}
	switch {
	case b.state == Open, b.state == HalfOpen && b.probing:
		return 0, false, isr.ErrUnavailable
	case b.state == HalfOpen:
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
		if b.state == HalfOpen {
			b.cooldown = b.opts.Cooldown
			b.setState(Closed)
		}
	case b.state == HalfOpen:
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
	b.setState(Open)
}

// setState moves to s, starting a new generation. b.mu is held.
func (b *Breaker) setState(s State) {
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
	return err == nil || errors.Is(err, isr.ErrNotFound) || errors.Is(err, isr.ErrFenced) ||
		errors.Is(err, isr.ErrLocked) || errors.Is(err, isr.ErrLockLost) ||
		errors.Is(err, isr.ErrTooManyVariants)
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
func (b *Breaker) Get(ctx context.Context, key string) (e *isr.Entry, err error) {
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
func (b *Breaker) Put(ctx context.Context, key string, token int64, p *isr.Page, ttl time.Duration) (fresh bool, err error) {
	err = b.call(ctx, func(ctx context.Context) error {
		fresh, err = b.next.Put(ctx, key, token, p, ttl)
		return err
	})
	return fresh, err
}

// Fail calls the store's Fail through the breaker.
func (b *Breaker) Fail(ctx context.Context, key string, d time.Duration) error {
	return b.call(ctx, func(ctx context.Context) error { return b.next.Fail(ctx, key, d) })
}

// Invalidate calls the store's Invalidate through the breaker.
func (b *Breaker) Invalidate(ctx context.Context, mode isr.Mode, keys ...string) (found []bool, err error) {
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
func (b *Breaker) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	var l isr.Lock
	err := b.call(ctx, func(ctx context.Context) (err error) {
		l, err = b.next.TryLock(ctx, key, ttl)
		return err
	})
	if err != nil {
		return nil, err
	}
	return breakerLock{b: b, l: l}, nil
}

// TryLockToken is the wrapped backend's TryLockToken through the breaker
// (see isr.LockTokener), or TryLock, Get and Token through it when the
// backend has none.
func (b *Breaker) TryLockToken(ctx context.Context, key string, ttl time.Duration) (isr.Lock, *isr.Entry, int64, error) {
	lt, ok := b.next.(isr.LockTokener)
	if !ok {
		return isr.LockGetToken(ctx, b, key, ttl)
	}
	var (
		l     isr.Lock
		e     *isr.Entry
		token int64
	)
	err := b.call(ctx, func(ctx context.Context) (err error) {
		l, e, token, err = lt.TryLockToken(ctx, key, ttl)
		return err
	})
	if l != nil {
		l = breakerLock{b: b, l: l}
	}
	return l, e, token, err
}

// Listen passes through to the wrapped backend's bus.
func (b *Breaker) Listen(ctx context.Context, fn func(isr.Event)) error {
	return b.next.Listen(ctx, fn)
}

// breakerLock is an isr.Lock whose calls go through a Breaker.
type breakerLock struct {
	b *Breaker
	l isr.Lock
}

func (bl breakerLock) Refresh(ctx context.Context, ttl time.Duration) error {
	return bl.b.call(ctx, func(ctx context.Context) error { return bl.l.Refresh(ctx, ttl) })
}

func (bl breakerLock) Release(ctx context.Context) error {
	return bl.b.call(ctx, func(ctx context.Context) error { return bl.l.Release(ctx) })
}

// Confirm passes the call to the guarded backend, if it is an isr.Confirmer,
// without counting it: the confirmation has its own deadline, and the
// backend's listener, which acknowledges, does not go through the breaker.
func (b *Breaker) Confirm(ctx context.Context) (isr.Confirmation, error) {
	c, ok := b.next.(isr.Confirmer)
	if !ok {
		return isr.Confirmation{}, isr.ErrNoConfirm
	}
	return c.Confirm(ctx)
}
