package isr

import (
	"context"
	"sync"
	"time"
)

// flights is a set of keys with work in flight in this process.
type flights struct {
	mu sync.Mutex
	m  map[string]bool
}

// start adds key and reports whether it was absent.
func (f *flights) start(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[key] {
		return false
	}
	if f.m == nil {
		f.m = map[string]bool{}
	}
	f.m[key] = true
	return true
}

func (f *flights) done(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
}

// backoffs remembers keys not to regenerate before a deadline.
type backoffs struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (b *backoffs) set(key string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]time.Time{}
	}
	if len(b.m) > 10000 {
		for k, t := range b.m {
			if until.After(t) {
				delete(b.m, k)
			}
		}
	}
	b.m[key] = until
}

// active reports whether key is backing off at now.
func (b *backoffs) active(key string, now time.Time) bool {
	_, ok := b.left(key, now)
	return ok
}

// left returns the time left of key's backoff at now, if it backs off.
func (b *backoffs) left(key string, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.m[key]
	if ok && !now.Before(t) {
		delete(b.m, key)
		return 0, false
	}
	return t.Sub(now), ok
}

func (b *backoffs) clear(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// waiters lets visitors wait for a page that another replica renders: the
// event announcing its write closes the key's channel.
type waiters struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// wait returns a channel closed at the next write event for key.
func (w *waiters) wait(key string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]chan struct{}{}
	}
	if len(w.m) > 10000 {
		// Channels of waiters that gave up are left behind; a spurious
		// wake-up only makes a waiter look at the store once more.
		for k, ch := range w.m {
			close(ch)
			delete(w.m, k)
		}
	}
	ch, ok := w.m[key]
	if !ok {
		ch = make(chan struct{})
		w.m[key] = ch
	}
	return ch
}

// wake wakes the waiters of key.
func (w *waiters) wake(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.m[key]; ok {
		close(ch)
		delete(w.m, key)
	}
}

// wakeAll wakes every waiter (after events may have been lost).
func (w *waiters) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, ch := range w.m {
		close(ch)
		delete(w.m, k)
	}
}

// everyMinute lets a repeated log line through at most once a minute.
type everyMinute struct {
	mu   sync.Mutex
	last time.Time
}

// allow reports whether the line may be logged at now.
func (e *everyMinute) allow(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.last.IsZero() && now.Sub(e.last) < time.Minute {
		return false
	}
	e.last = now
	return true
}

// Waits for another holder's render poll the store every pollMin at first,
// doubling up to pollMax, and wake at once on the key's write event.
const (
	pollMin = 25 * time.Millisecond
	pollMax = 250 * time.Millisecond
)

// A poll paces a loop that waits for another holder's work on a key: arm
// before each look at the store or the lock, so that a write between the
// look and the pause is not missed; pause between looks.
type poll struct {
	h     *Handler
	key   string
	every time.Duration
	woke  <-chan struct{}
}

func (h *Handler) newPoll(key string) *poll {
	return &poll{h: h, key: key, every: pollMin}
}

// arm subscribes to the key's next write event.
func (p *poll) arm() { p.woke = p.h.waits.wait(p.key) }

// pause waits for the key's write event, the poll interval (cut short at
// deadline, unless it is zero), or ctx, whichever comes first; it returns
// ctx's error if ctx is done.
func (p *poll) pause(ctx context.Context, deadline time.Time) error {
	d := p.every
	if !deadline.IsZero() {
		d = min(d, deadline.Sub(p.h.opts.Now()))
	}
	p.every = min(2*p.every, pollMax)
	select {
	case <-p.woke:
	case <-p.h.opts.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
