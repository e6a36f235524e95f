package isrbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrbreaker"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

var errDown = errors.New("connection refused")

// flaky is a Backend (isrmem underneath) whose store and lock calls fail
// with err when it is set, or wait for gate when it is set (then return
// what the gate carries, or the context's error).
type flaky struct {
	isr.Backend

	mu        sync.Mutex
	err       error
	gate      chan error
	calls     int
	deadlines []time.Duration // time left on each call's context; -1 for none
	entered   chan struct{}   // receives once per call, if set
	changes   []string        // the breaker's state changes, "from>to"
}

func newFlaky() *flaky { return &flaky{Backend: isrmem.New(nil)} }

func (f *flaky) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// enter records a call and returns the error it must fail with, if any.
func (f *flaky) enter(ctx context.Context) error {
	f.mu.Lock()
	f.calls++
	left := time.Duration(-1)
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	f.deadlines = append(f.deadlines, left)
	err, gate, entered := f.err, f.gate, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case err := <-gate:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (f *flaky) Get(ctx context.Context, key string) (*isr.Entry, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	return f.Backend.Get(ctx, key)
}

func (f *flaky) Token(ctx context.Context, key string) (int64, error) {
	if err := f.enter(ctx); err != nil {
		return 0, err
	}
	return f.Backend.Token(ctx, key)
}

// gated starts a call of b (a Token) and returns once it waits in the
// backend for what is sent on gate; res receives its result.
func (f *flaky) gated(b *isrbreaker.Breaker) (gate, res chan error) {
	gate, res, entered := make(chan error), make(chan error, 1), make(chan struct{}, 1)
	f.mu.Lock()
	f.gate, f.entered = gate, entered
	f.mu.Unlock()
	go func() {
		_, err := b.Token(context.Background(), "/k")
		res <- err
	}()
	<-entered
	f.mu.Lock()
	f.gate, f.entered = nil, nil
	f.mu.Unlock()
	return gate, res
}

// record is the breaker's OnStateChange hook.
func (f *flaky) record(from, to isrbreaker.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, from.String()+">"+to.String())
}

// transitions returns the state changes recorded so far.
func (f *flaky) transitions() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.changes)
}

func newTestBreaker(f *flaky, clk *isrtest.Clock) *isrbreaker.Breaker {
	return isrbreaker.New(f, isrbreaker.Options{Now: clk.Now, OnStateChange: f.record})
}

// TestBreakerTransitions walks the breaker through its states with the
// defaults (5 failures, 2s cooldown doubling to 30s), one call per step.
func TestBreakerTransitions(t *testing.T) {
	type step struct {
		advance time.Duration
		backend error // what the backend answers
		wantErr error // what the caller gets
		reached bool  // the call reached the backend
		state   isrbreaker.State
	}
	fail := step{backend: errDown, wantErr: errDown, reached: true, state: isrbreaker.Closed}
	ok := step{reached: true, state: isrbreaker.Closed}
	open := step{wantErr: isr.ErrUnavailable, state: isrbreaker.Open}
	opening := fail
	opening.state = isrbreaker.Open
	failedProbe := func(after time.Duration) step {
		return step{advance: after, backend: errDown, wantErr: errDown, reached: true, state: isrbreaker.Open}
	}
	tests := []struct {
		name  string
		steps []step
		want  string // transitions
	}{
		{"four failures stay closed", []step{fail, fail, fail, fail}, "[]"},
		{"a success resets the count", []step{fail, fail, fail, fail, ok, fail, fail, fail, fail}, "[]"},
		{"answers are successes", []step{
			fail, fail, fail, fail,
			{backend: isr.ErrNotFound, wantErr: isr.ErrNotFound, reached: true},
			fail, fail, fail, fail,
			{backend: isr.ErrFenced, wantErr: isr.ErrFenced, reached: true},
			fail, fail, fail, fail,
			{backend: isr.ErrLocked, wantErr: isr.ErrLocked, reached: true},
			fail, fail, fail, fail,
			{backend: fmt.Errorf("wrapped: %w", isr.ErrLockLost), wantErr: isr.ErrLockLost, reached: true},
		}, "[]"},
		{"five failures open; calls fail at once", []step{fail, fail, fail, fail, opening, open, open}, "[closed>open]"},
		{"open until the cooldown is over", []step{
			fail, fail, fail, fail, opening,
			{advance: 1999 * time.Millisecond, wantErr: isr.ErrUnavailable, state: isrbreaker.Open},
			{advance: time.Millisecond, reached: true, state: isrbreaker.Closed},
			ok,
		}, "[closed>open open>half-open half-open>closed]"},
		{"a failed probe reopens with a doubled cooldown", []step{
			fail, fail, fail, fail, opening,
			failedProbe(2 * time.Second),
			{advance: 3999 * time.Millisecond, wantErr: isr.ErrUnavailable, state: isrbreaker.Open},
			failedProbe(time.Millisecond),
			{advance: 7999 * time.Millisecond, wantErr: isr.ErrUnavailable, state: isrbreaker.Open},
			failedProbe(time.Millisecond), // 16s next
			failedProbe(16 * time.Second), // capped at 30s from here
			{advance: 29 * time.Second, wantErr: isr.ErrUnavailable, state: isrbreaker.Open},
			failedProbe(time.Second),
			{advance: 30 * time.Second, reached: true, state: isrbreaker.Closed},
			// Closing reset the cooldown to 2s.
			fail, fail, fail, fail, opening,
			{advance: 2 * time.Second, reached: true, state: isrbreaker.Closed},
		}, "[closed>open open>half-open half-open>open open>half-open half-open>open open>half-open half-open>open " +
			"open>half-open half-open>open open>half-open half-open>open open>half-open half-open>closed " +
			"closed>open open>half-open half-open>closed]"},
		{"a probe answered not found closes", []step{
			fail, fail, fail, fail, opening,
			{advance: 2 * time.Second, backend: isr.ErrNotFound, wantErr: isr.ErrNotFound, reached: true, state: isrbreaker.Closed},
		}, "[closed>open open>half-open half-open>closed]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := newFlaky(), &isrtest.Clock{}
			b := newTestBreaker(f, clk)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				f.set(s.backend)
				before := f.count()
				_, err := b.Get(t.Context(), "/k")
				if s.wantErr == nil && err != nil && !errors.Is(err, isr.ErrNotFound) || s.wantErr != nil && !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: Get error %v, want %v", i, err, s.wantErr)
				}
				if reached := f.count() > before; reached != s.reached {
					t.Fatalf("step %d: reached the backend %v, want %v", i, reached, s.reached)
				}
				if got := b.State(); got != s.state {
					t.Fatalf("step %d: state %v, want %v", i, got, s.state)
				}
			}
			if got := f.transitions(); got != tt.want {
				t.Errorf("transitions %s, want %s", got, tt.want)
			}
		})
	}
}

// trip opens b by failing Failures calls.
func trip(t *testing.T, b *isrbreaker.Breaker, f *flaky) {
	t.Helper()
	f.set(errDown)
	for range isrbreaker.DefaultFailures {
		_, _ = b.Token(t.Context(), "/k")
	}
	f.set(nil)
	if b.State() != isrbreaker.Open {
		t.Fatalf("state %v after %d failures, want open", b.State(), isrbreaker.DefaultFailures)
	}
}

// TestBreakerHalfOpenSingleProbe checks that while a probe is in flight,
// concurrent calls fail at once without reaching the backend.
func TestBreakerHalfOpenSingleProbe(t *testing.T) {
	f, clk := newFlaky(), &isrtest.Clock{}
	b := newTestBreaker(f, clk)
	trip(t, b, f)
	clk.Advance(isrbreaker.DefaultCooldown)
	gate, probed := f.gated(b)
	before := f.count()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := b.Get(t.Context(), "/k")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, isr.ErrUnavailable) {
			t.Fatalf("call during the probe: %v, want ErrUnavailable", err)
		}
	}
	if n := f.count() - before; n != 0 {
		t.Fatalf("%d calls reached the backend during the probe, want 0", n)
	}
	if b.State() != isrbreaker.HalfOpen {
		t.Fatalf("state %v during the probe, want half-open", b.State())
	}
	gate <- nil // the probe succeeds
	if err := <-probed; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if b.State() != isrbreaker.Closed {
		t.Fatalf("state %v after a successful probe, want closed", b.State())
	}
	if _, err := b.Token(t.Context(), "/k"); err != nil {
		t.Fatalf("Token once closed: %v", err)
	}
}

// TestBreakerCallerCancellation checks that calls whose caller gave up
// are not failures, in the closed and the half-open state.
func TestBreakerCallerCancellation(t *testing.T) {
	f, clk := newFlaky(), &isrtest.Clock{}
	b := newTestBreaker(f, clk)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f.set(context.Canceled)
	for range 3 * isrbreaker.DefaultFailures {
		if _, err := b.Get(ctx, "/k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get: %v, want context.Canceled", err)
		}
	}
	if b.State() != isrbreaker.Closed {
		t.Fatalf("state %v after cancelled calls, want closed", b.State())
	}

	trip(t, b, f)
	clk.Advance(isrbreaker.DefaultCooldown)
	f.set(context.Canceled)
	if _, err := b.Get(ctx, "/k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled probe: %v", err)
	}
	if b.State() != isrbreaker.HalfOpen {
		t.Fatalf("state %v after a cancelled probe, want still half-open", b.State())
	}
	f.set(nil)
	before := f.count()
	if _, err := b.Token(t.Context(), "/k"); err != nil {
		t.Fatalf("next probe: %v", err)
	}
	if f.count() != before+1 || b.State() != isrbreaker.Closed {
		t.Fatalf("the next call must probe and close: reached %d, state %v", f.count()-before, b.State())
	}
}

// TestBreakerTimeout checks the per-call deadline: a hung call returns
// once it passes, counts as a failure, and the deadline is not set when
// Timeout is negative.
func TestBreakerTimeout(t *testing.T) {
	f := newFlaky()
	f.gate = make(chan error) // never sent to: every call hangs
	b := isrbreaker.New(f, isrbreaker.Options{Timeout: time.Millisecond, Failures: 2})
	for i := range 2 {
		if _, err := b.Get(t.Context(), "/k"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung call %d: %v, want context.DeadlineExceeded", i, err)
		}
	}
	if b.State() != isrbreaker.Open {
		t.Fatalf("state %v after two timeouts, want open", b.State())
	}

	f = newFlaky()
	b = isrbreaker.New(f, isrbreaker.Options{})
	_, _ = b.Get(t.Context(), "/k")
	if d := f.deadlines[0]; d <= 0 || d > isrbreaker.DefaultTimeout {
		t.Errorf("default deadline: %v left, want (0, %v]", d, isrbreaker.DefaultTimeout)
	}
	b = isrbreaker.New(f, isrbreaker.Options{Timeout: -1})
	_, _ = b.Get(t.Context(), "/k")
	if d := f.deadlines[1]; d != -1 {
		t.Errorf("Timeout -1: the call had a deadline %v away, want none", d)
	}
}

// TestBreakerStaleResults checks that the result of a call admitted
// before a state change is ignored: a call that started while closed and
// fails late, during a half-open probe, does not reopen the breaker.
func TestBreakerStaleResults(t *testing.T) {
	f, clk := newFlaky(), &isrtest.Clock{}
	b := newTestBreaker(f, clk)
	lateGate, late := f.gated(b) // admitted while closed
	trip(t, b, f)
	clk.Advance(isrbreaker.DefaultCooldown)
	probeGate, probe := f.gated(b) // the half-open probe
	lateGate <- errDown
	if err := <-late; !errors.Is(err, errDown) {
		t.Fatalf("late call: %v", err)
	}
	if b.State() != isrbreaker.HalfOpen {
		t.Fatalf("a late failure changed the state to %v, want still half-open", b.State())
	}
	probeGate <- nil
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if got, want := f.transitions(), "[closed>open open>half-open half-open>closed]"; got != want {
		t.Errorf("transitions %s, want %s", got, want)
	}
}

// TestBreakerLockAndListen checks that a lock's Refresh and Release go
// through the breaker, and that Listen passes through even when it is open.
func TestBreakerLockAndListen(t *testing.T) {
	f, clk := newFlaky(), &isrtest.Clock{}
	b := newTestBreaker(f, clk)
	l, err := b.TryLock(t.Context(), "/k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryLock(t.Context(), "/k", time.Minute); !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("second TryLock: %v, want ErrLocked", err)
	}
	trip(t, b, f)
	if err := l.Refresh(t.Context(), time.Minute); !errors.Is(err, isr.ErrUnavailable) {
		t.Fatalf("Refresh while open: %v, want ErrUnavailable", err)
	}
	if err := l.Release(t.Context()); !errors.Is(err, isr.ErrUnavailable) {
		t.Fatalf("Release while open: %v, want ErrUnavailable", err)
	}
	clk.Advance(isrbreaker.DefaultCooldown)
	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release as the probe: %v", err)
	}
	if b.State() != isrbreaker.Closed {
		t.Fatalf("state %v after the Release probe, want closed", b.State())
	}

	trip(t, b, f)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- b.Listen(ctx, func(ev isr.Event) {
			if ev.Kind == isr.EventReset {
				cancel()
			}
		})
	}()
	if err := <-done; err != nil {
		t.Fatalf("Listen while open: %v", err)
	}
}

// TestTryLockTokenFallback: over a backend without TryLockToken, the
// breaker's TryLockToken takes the lock, then reads the page or takes a
// token, each call through the breaker (a failing store is counted).
func TestTryLockTokenFallback(t *testing.T) {
	t.Parallel()
	f := newFlaky()
	b := newTestBreaker(f, isrtest.NewClock(time.Unix(1000, 0)))
	ctx := context.Background()
	l, e, token, err := b.TryLockToken(ctx, "/p", time.Minute)
	if err != nil || l == nil || e != nil || token != 1 {
		t.Fatalf("TryLockToken on a cold key = %v, %v, %d, %v; want the lock and token 1", l, e, token, err)
	}
	if _, _, _, err := b.TryLockToken(ctx, "/p", time.Minute); !errors.Is(err, isr.ErrLocked) {
		t.Fatalf("second TryLockToken: %v, want ErrLocked", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	f.set(errors.New("store down"))
	l, _, _, err = b.TryLockToken(ctx, "/p", time.Minute)
	if l == nil || err == nil {
		t.Fatalf("TryLockToken with the store failing after the lock = %v, %v; want the lock and the error", l, err)
	}
	if f.count() == 0 {
		t.Error("the failing calls did not reach the backend")
	}
}
