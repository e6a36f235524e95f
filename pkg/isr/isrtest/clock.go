package isrtest

import (
	"sync"
	"time"
)

// A Clock is a fake clock for tests, safe for concurrent use. Its Now
// method can be passed wherever a func() time.Time is wanted. The zero
// Clock starts at 2000-01-01 00:00:00 UTC; use [NewClock] for another
// start.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []timer // pending After channels, in no order
}

// timer is a pending After: it fires once the clock reaches at.
type timer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock set to start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

// Advance moves the clock forward by d (backward if d is negative),
// fires the After channels whose time has come, and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.nowLocked().Add(d)
	pending := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			pending = append(pending, t)
			continue
		}
		t.ch <- c.now // buffered: never blocks
	}
	c.timers = pending
	return c.now
}

// After returns a channel that receives the clock's time once Advance has
// moved it d past now; at once if d is not positive. It can be passed
// wherever a time.After is wanted (isr.Options.After).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	now := c.nowLocked()
	if d <= 0 {
		ch <- now
		return ch
	}
	c.timers = append(c.timers, timer{at: now.Add(d), ch: ch})
	return ch
}

// Timers returns how many After channels wait for the clock: a test can
// wait for a goroutine to block on one before it advances the clock.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *Clock) nowLocked() time.Time {
	if c.now.IsZero() {
		c.now = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return c.now
}
