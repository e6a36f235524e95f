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
	mu  sync.Mutex
	now time.Time
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

// Advance moves the clock forward by d (backward if d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.nowLocked().Add(d)
	return c.now
}

func (c *Clock) nowLocked() time.Time {
	if c.now.IsZero() {
		c.now = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return c.now
}
